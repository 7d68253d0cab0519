"""Verdicts (multiview.sim.predictions): graded from an interval over independent units."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from multiview.sim.predictions import (
    THRESHOLDS,
    VERDICTS,
    at_least,
    at_most,
    combine,
    from_ratio,
    from_units,
    headline,
    mark_not_converged,
    within,
)
from multiview.stats import bootstrap_interval, difference_interval, mean_interval

values = hnp.arrays(float, st.integers(1, 20), elements=st.floats(0, 1))
level = st.floats(0, 1)


def _inside(p, lo, hi):
    return lo <= p.interval[0] and p.interval[1] <= hi


@settings(max_examples=120, deadline=None)
@given(values, level, level)
def test_a_verdict_is_holds_only_when_its_whole_interval_meets_the_bar(v, a, b):
    lo, hi = min(a, b), max(a, b)
    for bar, (blo, bhi) in (
        (at_least(lo), (lo, math.inf)),
        (at_most(hi), (-math.inf, hi)),
        (within(lo, hi), (lo, hi)),
    ):
        p = from_units("x", "claim", "paper", v, bar)
        assert p.verdict in VERDICTS
        assert p.holds == (p.verdict == "holds")
        if p.verdict == "holds":
            assert _inside(p, blo, bhi)
        if p.verdict == "fails":
            assert p.interval[1] < blo or p.interval[0] > bhi
        if p.verdict == "inconclusive" and p.n >= 2:
            assert not _inside(p, blo, bhi)
            assert not (p.interval[1] < blo or p.interval[0] > bhi)


def test_a_single_unit_has_no_interval_and_is_never_decided():
    p = from_units("x", "claim", "paper", [0.9], at_least(0.5))
    assert p.n == 1 and p.verdict == "inconclusive" and "n = 1" in p.reason
    assert all(math.isnan(x) for x in p.interval)


def test_the_lottery_case_with_wide_spread_is_inconclusive_not_holds():
    # a mean above the bar with a spread that reaches below it: 8 seeds
    z = np.array([-1.5, -1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 1.5])
    v = 0.773 + 0.131 * z / z.std()  # mean 0.773, population std 0.131
    p = from_units("lottery", "claim", "paper", v, at_least(0.75))
    assert p.measured == pytest.approx(0.773) and p.measured_std == pytest.approx(0.131)
    assert p.interval[0] < 0.75 < p.interval[1] and p.verdict == "inconclusive"


def test_intervals_are_t_intervals_over_the_units():
    v = np.array([0.5, 0.6, 0.7, 0.8])
    est = mean_interval(v)
    half = 3.1824 * v.std(ddof=1) / 2
    assert est["n"] == 4 and est["mean"] == pytest.approx(0.65)
    assert (est["low"], est["high"]) == pytest.approx((0.65 - half, 0.65 + half))


def test_a_ratio_is_graded_by_a_paired_bootstrap_and_undefined_without_a_gain():
    gain = np.array([0.08, 0.09, 0.1, 0.085, 0.095])
    ref = np.array([0.1, 0.1, 0.11, 0.1, 0.1])
    p = from_ratio("f", "claim", "paper", gain, ref, at_least(0.8), "students")
    assert p.measured == pytest.approx(gain.mean() / ref.mean())
    assert p.interval[0] < p.measured < p.interval[1] and p.verdict == "holds"
    zero = from_ratio("f", "claim", "paper", gain, 0 * ref, at_least(0.8), "students")
    assert zero.verdict == "inconclusive" and "undefined" in zero.reason
    again = bootstrap_interval(lambda a, b: a.mean() / b.mean(), gain, ref)
    assert again["low"] == pytest.approx(p.interval[0])  # a fixed resampling seed


def test_welch_difference_interval_matches_its_formula():
    a, b = np.array([0.6, 0.62, 0.65, 0.61]), np.linspace(0.6, 0.7, 64)
    est = difference_interval(a, b)
    assert est["mean"] == pytest.approx(a.mean() - b.mean()) and est["n"] == 4
    assert est["low"] < est["mean"] < est["high"]


def test_combined_checks_fail_if_any_fails_and_hold_only_if_all_hold():
    good = from_units("a", "c", "paper", [0.99, 0.98, 0.99], at_least(0.9))
    bad = from_units("b", "c", "paper", [0.1, 0.12, 0.11], at_least(0.9))
    assert combine(good, good).verdict == "holds"
    assert combine(good, bad).verdict == "fails"
    assert combine(good, mark_not_converged(good, "r")).verdict == "not_converged"


def test_the_headline_counts_paper_rows_only_and_the_dict_is_json_ready():
    rows = [
        from_units("a", "c", "paper", [0.99, 0.98, 0.99], at_least(0.9)).to_dict(),
        from_units("b", "c", "control", [0.1, 0.12, 0.11], at_least(0.9)).to_dict(),
        from_units("c", "c", "diagnostic", [0.1, 0.12, 0.11], at_least(0.9)).to_dict(),
    ]
    assert headline(rows) == {
        "paper": 1, "holds": 1, "fails": 0, "inconclusive": 0, "not_converged": 0,
    }  # fmt: skip
    d = rows[0]
    assert {"kind", "n", "interval", "verdict", "holds", "unit", "reason"} <= set(d)
    assert d["holds"] is True and len(d["interval"]) == 2


def test_an_undefined_measurement_never_holds():
    nan = np.array([np.nan, np.nan])
    assert not from_units("x", "c", "paper", nan, at_least(0.0)).holds


def test_the_threshold_table_is_read_only_and_has_one_single_view_bar():
    assert THRESHOLDS["single_view_low"] / 2 == 0.40 and THRESHOLDS["single_view_high"] / 2 == 0.60
    assert not any("near_half" in k for k in THRESHOLDS)
    with pytest.raises(TypeError):
        THRESHOLDS["lottery"] = 0.0  # type: ignore[index]
