"""The project's statistics helpers: mean ± std and the paired 95% t-interval."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multiview.stats import (
    mean_std,
    paired_interval,
    ratio_interval,
    rounded_interval,
    t_quantile_975,
)

finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
pairs = st.integers(2, 12).flatmap(
    lambda n: st.tuples(
        st.lists(finite, min_size=n, max_size=n), st.lists(finite, min_size=n, max_size=n)
    )
)


def test_t_quantiles_known_values():
    # Standard tables (and scipy.stats.t.ppf(0.975, df)).
    for df, t in ((1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (11, 2.2010),
                  (30, 2.0423), (40, 2.0211), (60, 2.0003), (120, 1.9799)):  # fmt: skip
        assert t_quantile_975(df) == pytest.approx(t, abs=2e-4)
    assert t_quantile_975(10**6) == pytest.approx(1.95996, abs=1e-4)
    qs = [t_quantile_975(d) for d in range(1, 200)]
    assert all(a > b for a, b in zip(qs, qs[1:], strict=False))  # decreasing to z
    with pytest.raises(ValueError):
        t_quantile_975(0)


def test_paired_interval_known_value():
    d = paired_interval([3.0, 4.0, 5.0], [1.0, 1.0, 1.0])  # differences 2, 3, 4: sd 1
    assert d["n"] == 3 and d["mean"] == pytest.approx(3.0)
    assert d["half_width"] == pytest.approx(4.3027 / math.sqrt(3), abs=1e-4)
    assert d["low"] == pytest.approx(3.0 - d["half_width"])


def test_paired_interval_edge_cases():
    one = paired_interval([2.0], [1.0])
    assert one["n"] == 1 and one["mean"] == 1.0 and math.isnan(one["half_width"])
    assert paired_interval([], [])["n"] == 0
    assert paired_interval([1.0, np.nan, 3.0], [0.0, 0.0, 0.0])["n"] == 2  # NaN pair left out
    with pytest.raises(ValueError):
        paired_interval([1.0, 2.0], [1.0])


@settings(max_examples=60, deadline=None)
@given(pairs, finite)
def test_paired_interval_symmetry_and_shift(ab, shift):
    a, b = ab
    d, r = paired_interval(a, b), paired_interval(b, a)
    assert d["n"] == r["n"] == len(a)
    assert d["mean"] == pytest.approx(-r["mean"], abs=1e-9)
    assert d["half_width"] == pytest.approx(r["half_width"], abs=1e-9)
    assert d["low"] <= d["mean"] <= d["high"]
    # A common shift of both members of every pair changes nothing.
    s = paired_interval(np.add(a, shift), np.add(b, shift))
    assert s["mean"] == pytest.approx(d["mean"], abs=1e-6)
    assert s["half_width"] == pytest.approx(d["half_width"], abs=1e-6)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 10), st.integers(0, 2**31 - 1))
def test_paired_interval_covers_95_percent(n, seed):
    # Pairs share a large per-seed effect (which pairing removes); the true difference is 0.5.
    rng = np.random.default_rng(seed)
    trials = 2000
    common = rng.normal(0, 5, (trials, n))
    a = common + 0.5 + rng.normal(0, 1, (trials, n))
    b = common + rng.normal(0, 1, (trials, n))
    hits = 0
    for i in range(trials):
        d = paired_interval(a[i], b[i])
        hits += d["low"] <= 0.5 <= d["high"]
    assert 0.93 <= hits / trials <= 0.97  # binomial sd ~0.005


def test_mean_std_is_population_std():
    assert mean_std([1.0, 3.0]) == (2.0, 1.0)


def test_rounded_interval_is_strict_json():
    one_pair = rounded_interval(paired_interval([1.23456], [1.0]))
    assert one_pair == {"mean": 0.2346, "low": None, "high": None, "half_width": None, "n": 1}
    unbounded = rounded_interval(ratio_interval([1.0, 3.0], [0.1, 0.3]), digits=2)
    assert unbounded["low"] is None and unbounded["n_numerator"] == 2
    json.dumps(one_pair, allow_nan=False)
