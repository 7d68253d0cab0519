import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multiview.sim.config import DataConfig
from multiview.sim.data import make_datasets, make_features, redraw_noise, sample


def _draw(cfg, n=64, seed=0, mu=None):
    feats = make_features(cfg, jax.random.key(seed))
    return feats, sample(cfg, feats, jax.random.key(seed + 1), n, single_view_frac=mu)


configs = st.builds(
    lambda k, V, C, s, mu, jitter, extra: DataConfig(
        k=k,
        views=V,
        d=max(k * V, 24),
        patches=C * (V + s) + extra,
        patches_per_feature=C,
        off_target=s,
        single_view_frac=mu,
        strength_jitter=jitter,
        n_train=8,
        n_test=8,
    ),
    k=st.integers(2, 6),
    V=st.integers(2, 3),
    C=st.integers(1, 3),
    s=st.integers(0, 2),
    mu=st.sampled_from([0.0, 0.3, 1.0]),
    jitter=st.sampled_from([0.0, 0.2]),
    extra=st.integers(0, 3),
)


def test_features_are_orthonormal():
    cfg = DataConfig(k=5, views=3, d=40, patches=12)
    f = np.asarray(make_features(cfg, jax.random.key(0))).reshape(15, 40)
    np.testing.assert_allclose(f @ f.T, np.eye(15), atol=1e-5)


@settings(max_examples=10, deadline=None)
@given(cfg=configs, seed=st.integers(0, 1000))
def test_generator_invariants(cfg, seed):
    feats, ds = _draw(cfg, n=32, seed=seed)
    k, V, C = cfg.k, cfg.views, cfg.patches_per_feature
    y, single, view = np.asarray(ds.y), np.asarray(ds.single), np.asarray(ds.view)
    coef, pf = np.asarray(ds.coef), np.asarray(ds.patch_feature)
    hi = 1.0 + cfg.strength_jitter + 1e-5
    for n in range(32):
        own = coef[n, y[n]]
        if single[n]:
            assert 0 <= view[n] < V
            strong = own[view[n]]
            assert cfg.view_strength * (1 - 1e-5) <= strong <= cfg.view_strength * hi
            weak = np.delete(own, view[n])
            assert np.all(weak <= cfg.weak_view * hi) and np.all(weak >= cfg.weak_view * 0.99999)
        else:
            assert view[n] == -1
            assert np.all(own >= cfg.view_strength * (1 - 1e-5)) and np.all(own <= hi)
        # exactly s off-target features (fixed mode), of other classes, with their strength
        others = np.delete(coef[n], y[n], axis=0)
        assert (others > 0).sum() == cfg.off_target
        s_nom = cfg.off_target_single if single[n] else cfg.off_target_multi
        assert np.all(others[others > 0] <= s_nom * hi)
        # disjoint patches: every present feature owns exactly C patches
        present = np.nonzero(coef[n].reshape(-1) > 0)[0]
        counts = np.bincount(pf[n][pf[n] >= 0], minlength=k * V)
        assert set(np.nonzero(counts)[0]) == set(present)
        assert np.all(counts[present] == C)


def test_patch_signal_carries_its_feature_with_the_right_sum():
    cfg = DataConfig(k=4, views=2, d=32, patches=10, off_target=2)
    feats, ds = _draw(cfg, n=20)
    F = np.asarray(feats).reshape(8, 32)
    signal = np.asarray(ds.x - ds.noise)  # (n, P, d)
    proj = signal @ F.T  # (n, P, F): with gamma = 0 only the patch's own feature is non-zero
    pf = np.asarray(ds.patch_feature)
    coef = np.asarray(ds.coef).reshape(20, 8)
    for n in range(20):
        for f in range(8):
            np.testing.assert_allclose(proj[n, pf[n] == f, f].sum(), coef[n, f], atol=1e-4)
        np.testing.assert_allclose(proj[n, pf[n] == -1], 0.0, atol=1e-5)
        assert np.all(proj[n][pf[n] >= 0].max(-1) > 0)


def test_single_view_samples_have_one_strong_view():
    cfg = DataConfig(k=3, d=24, patches=8, weak_view=0.05)
    _, ds = _draw(cfg, n=50, mu=1.0)
    coef = np.asarray(ds.coef)
    own = coef[np.arange(50), np.asarray(ds.y)]  # (n, V)
    assert np.all(np.asarray(ds.single))
    assert np.all((own >= 0.5).sum(-1) == 1)
    assert np.all(np.argmax(own, -1) == np.asarray(ds.view))


def test_noise_has_the_configured_scale_and_redraw_keeps_the_signal():
    cfg = DataConfig(k=4, d=256, patches=8, noise_scale=2.0)
    _, ds = _draw(cfg, n=100)
    norms = np.linalg.norm(np.asarray(ds.noise), axis=-1)
    np.testing.assert_allclose(norms.mean(), 2.0, rtol=0.03)
    again = redraw_noise(cfg, ds, jax.random.key(9))
    np.testing.assert_allclose(again.x - again.noise, ds.x - ds.noise, atol=1e-5)
    assert not np.allclose(again.noise, ds.noise)


def test_deterministic_in_its_key_and_different_across_keys():
    cfg = DataConfig(k=4, d=32, patches=8)
    a = make_datasets(cfg, jax.random.key(3))
    b = make_datasets(cfg, jax.random.key(3))
    c = make_datasets(cfg, jax.random.key(4))
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.allclose(a.train.x, c.train.x)


def test_single_view_fraction_is_mu():
    cfg = DataConfig(k=4, d=32, patches=8, single_view_frac=0.3)
    _, ds = _draw(cfg, n=4000)
    assert abs(float(jnp.mean(ds.single)) - 0.3) < 0.03


@pytest.mark.parametrize("mode", ["fixed", "bernoulli"])
def test_off_target_modes(mode):
    cfg = DataConfig(k=10, d=64, patches=16, off_target=2, off_target_mode=mode)
    _, ds = _draw(cfg, n=2000)
    coef = np.asarray(ds.coef).reshape(2000, -1)
    n_off = (coef > 0).sum(-1) - cfg.views
    if mode == "fixed":
        assert np.all(n_off == 2)
    else:  # each of the 18 other features w.p. 2/10, capped at the free slots (6)
        binom = np.random.default_rng(0).binomial(18, 0.2, 200_000)
        assert abs(n_off.mean() - np.minimum(binom, cfg.max_off_target).mean()) < 0.1
        assert n_off.max() <= cfg.max_off_target
