"""Verdicts (multiview.sim.predictions): computed from the measured numbers only."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from multiview.sim.predictions import THRESHOLDS, at_least, at_most, band, compare
from multiview.stats import mean_std

values = hnp.arrays(float, st.integers(1, 20), elements=st.floats(0, 1))
level = st.floats(0, 1)


@settings(max_examples=80, deadline=None)
@given(values, level)
def test_at_least_and_at_most_hold_exactly_on_their_side_of_the_threshold(v, t):
    m, s = mean_std(v)
    hi, lo = at_least("x", "claim", v, t), at_most("x", "claim", v, t)
    assert hi.holds == (m >= t) and lo.holds == (m <= t)
    assert (hi.measured, hi.measured_std) == (m, s)
    assert hi.expected == f">= {t:g}" and lo.expected == f"<= {t:g}"


@settings(max_examples=80, deadline=None)
@given(values, level, level, values, level)
def test_band_holds_inside_the_band_and_only_if_every_extra_check_holds(v, a, b, w, t):
    lo, hi = min(a, b), max(a, b)
    p = band("x", "claim", v, lo, hi, extra_checks=[("w", w, t)])
    m = mean_std(v)[0]
    assert p.holds == (lo <= m <= hi and mean_std(w)[0] >= t)
    assert p.details == {"w": mean_std(w)[0], "w_min": t}


@settings(max_examples=40, deadline=None)
@given(values, st.booleans())
def test_compare_keeps_the_callers_verdict_and_the_dict_is_json_ready(v, holds):
    d = compare("x", "claim", v, "rule", holds, {"a": 1.0}).to_dict()
    assert d["holds"] is holds and d["measured"] == mean_std(v)[0]
    assert set(d) == {"id", "claim", "measured", "measured_std", "expected", "holds", "details"}


def test_an_undefined_measurement_never_holds():
    nan = np.array([np.nan, np.nan])
    assert not at_least("x", "c", nan, 0.0).holds and not at_most("x", "c", nan, 1.0).holds


def test_the_threshold_table_is_read_only_and_in_range():
    assert all(0 <= t <= 2 for t in THRESHOLDS.values())
    assert THRESHOLDS["single_view_low"] < THRESHOLDS["single_view_high"]
    try:
        THRESHOLDS["lottery"] = 0.0  # type: ignore[index]
    except TypeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("THRESHOLDS must not be writable")
