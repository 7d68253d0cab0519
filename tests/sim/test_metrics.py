"""Measurements of trained seeds (multiview.sim.metrics) and the one mean ± std."""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from multiview.sim import metrics as M
from multiview.sim.config import ModelConfig
from multiview.sim.model import forward
from multiview.stats import accuracy, group_seeds, mean_std, mean_std_dict

FINITE = st.floats(-1e3, 1e3, allow_nan=False, width=32)
learned_arrays = hnp.arrays(bool, hnp.array_shapes(min_dims=3, max_dims=3, max_side=5))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(float, st.integers(1, 30), elements=st.one_of(FINITE, st.just(np.nan))))
def test_mean_std_is_the_population_std_of_the_finite_values(v):
    m, s = mean_std(v)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        assert np.isnan(m) and np.isnan(s)
    else:
        np.testing.assert_allclose([m, s], [finite.mean(), finite.std(ddof=0)])
        assert mean_std_dict(v) == {"mean": m, "std": s}


@settings(max_examples=60, deadline=None)
@given(learned_arrays)
def test_view_counts_partition_the_classes_when_views_exceed_one(learned):
    c = M.view_counts(learned)
    n = learned.sum(-1)
    np.testing.assert_allclose(c["one"], (n == 1).mean(-1))
    np.testing.assert_allclose(c["none"], (n == 0).mean(-1))
    if learned.shape[-1] > 1:
        assert np.all(c["one"] + c["all"] + c["none"] <= 1 + 1e-12)


@settings(max_examples=60, deadline=None)
@given(learned_arrays, st.integers(0, 2**31 - 1))
def test_lottery_agreement_is_one_when_the_larger_initial_view_always_wins(learned, seed):
    lam0 = np.random.default_rng(seed).random(learned.shape)
    winner = np.eye(learned.shape[-1], dtype=bool)[np.argmax(lam0, -1)]  # (S, k, V)
    agree = M.lottery_agreement(winner, lam0)
    assert np.all(agree == 1.0)
    got = M.lottery_agreement(learned, lam0)
    one = learned.sum(-1) == 1
    assert np.all(np.isnan(got) == (one.sum(-1) == 0))
    assert np.all((got[np.isfinite(got)] >= 0) & (got[np.isfinite(got)] <= 1))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, (3, 4, 2), elements=st.floats(0, 50, width=32)), st.floats(0.5, 5))
def test_a_learned_view_is_at_or_above_one_absolute_cut_anchored_on_half_varrho(lam, varrho):
    cut = M.view_cut(lam, varrho)
    assert cut >= 0.5 * varrho
    strong = lam.astype(float)[lam >= 0.5 * varrho]
    if strong.size:
        assert cut == pytest.approx(max(0.5 * varrho, 0.5 * float(np.median(strong))))
    got = M.learned_views(lam, cut)
    assert np.array_equal(got, lam >= cut)  # absolute: no view is judged against its class


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float32, (2, 5, 3), elements=FINITE), st.integers(0, 2**31 - 1))
def test_accuracy_counts_argmax_hits(scores, seed):
    y = np.random.default_rng(seed).integers(0, 3, 5)
    acc = accuracy(scores, y)
    assert acc.shape == (2,) and np.all((acc >= 0) & (acc <= 1))
    np.testing.assert_allclose(acc, [(np.argmax(s, -1) == y).mean() for s in scores])


def test_predict_in_batches_equals_the_model_on_all_samples_at_once():
    model = ModelConfig(width=2, init_std=0.3)
    w = 0.3 * jax.random.normal(jax.random.key(0), (3, 4, 2, 16))
    x = jax.random.normal(jax.random.key(1), (7, 5, 16))
    batched = M.predict(model, w, x, batch=3)
    whole = np.stack([np.asarray(forward(model, w[s], x)) for s in range(3)])
    assert batched.shape == (3, 7, 4)
    np.testing.assert_allclose(batched, whole, rtol=1e-5, atol=1e-6)
    assert M.predict_fn(model) is M.predict_fn(ModelConfig(width=2, init_std=0.3))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 8))
def test_groups_are_disjoint_consecutive_runs(n, K):
    g = group_seeds(n, K)
    assert g.shape == (n // K, K)
    assert len(np.unique(g)) == g.size and (g.size == 0 or g.max() < n)
    if g.size:
        assert np.all(np.diff(g, axis=1) == 1)


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(float, 4, elements=st.floats(0, 1)),
    hnp.arrays(float, 4, elements=st.floats(0, 1)),
    st.floats(0, 1),
)
def test_overall_accuracy_lies_between_the_two_test_accuracies(multi, single, mu):
    o = M.overall_accuracy(multi, single, mu)
    lo, hi = np.minimum(multi, single), np.maximum(multi, single)
    assert np.all((o >= lo - 1e-12) & (o <= hi + 1e-12))
