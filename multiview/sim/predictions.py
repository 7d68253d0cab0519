"""Predictions of the theory, each graded from measured independent units with an interval.

Every prediction carries:

- ``kind``: ``paper`` (a claim of the paper), ``control`` (the Gaussian-like data, the
  kernel models) or ``diagnostic`` (an inferred check such as the view ablation); only
  ``paper`` rows count in a report's headline;
- ``measured``: the graded quantity itself (a fraction, a gap or an accuracy: whatever the
  bar is on), ``interval`` its 95% interval and ``n`` the independent units behind it
  (seeds, disjoint ensembles, students, pairs: ``unit`` says which);
- ``verdict``: ``holds`` when the whole interval is on the right side of the bar, ``fails``
  when the whole interval is on the wrong side, ``inconclusive`` when it straddles the bar
  (or there is no interval: ``n < 2``), ``not_converged`` when the models a prediction rests
  on did not fit their data (the verdict would grade an unfinished run).

:data:`THRESHOLDS` is the one table of the bars; experiments, reports and tests read it from
here, and no quantity is graded by two of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from multiview.stats import bootstrap_interval, mean_interval, mean_std

__all__ = [
    "THRESHOLDS",
    "KINDS",
    "VERDICTS",
    "Bar",
    "at_least",
    "at_most",
    "within",
    "Prediction",
    "grade",
    "from_units",
    "from_ratio",
    "combine",
    "mark_not_converged",
    "headline",
]

#: The bar of every verdict. Units: accuracies and fractions in [0, 1].
THRESHOLDS = MappingProxyType(
    {
        # Convergence gate: the single models a Theorem-1-dependent verdict rests on must fit
        "converged_train": 0.99,  # training accuracy (mean over seeds) >=
        "converged_multi_view": 0.97,  # multi-view test accuracy (mean over seeds) >=
        # Learned views: Lambda >= max(varrho / 2, ratio x the single models' median learned
        # Lambda); view-count verdicts are reported again at these multiples of the cut
        "learned_cut_ratio": 0.5,
        "learned_cut_sensitivity": (0.5, 2.0),
        # Theorem 1: single models
        "learn_subset": 0.75,  # classes with exactly one view learned >=
        "lottery": 0.75,  # learned view = larger initial Lambda >=
        "memorize": 0.5,  # fresh noise flips memorized single-view samples >=
        "single_view_low": 0.8,  # single-view accuracy in [0.8 / V, 1.2 / V]: the paper's
        "single_view_high": 1.2,  # ~1/2 for V = 2, i.e. [0.40, 0.60]
        # Theorems 2-4: ensembles, training the average, distillation
        "ensemble_single_view": 0.95,  # 8-ensemble single-view accuracy >=
        "ensemble_view_coverage": 0.95,  # 8-ensemble (class, view) coverage >=
        "ensemble_curve_tolerance": 0.05,  # |error_K - (1 - c)^K| <=, c = measured coverage
        "train_average_gap": 0.05,  # |average - single| single-view accuracy <=
        "train_wide_gap": 0.05,  # |K-times wider model - single| single-view accuracy <=
        "kd_recovered_fraction": 0.8,  # KD student recovers >= this of the ensemble's gain
        "kd_all_views": 0.8,  # KD student learns all views of >= this of classes
        "student_multi_view": 0.97,  # a student counts its views only at this multi-view acc
        "kd_ensemble_gain": 0.02,  # an ensemble of KD students adds <=
        "self_distill_gain_fraction": 0.8,  # SD gain >= this x the 2-ensemble's gain
        "self_distill_union": 0.75,  # SD student covers the union for >= this of classes
        # Kernel baselines (overall accuracy on the mixture)
        "kernel_ensemble_gain": 0.02,  # ensemble - its members >=
        "kernel_kd_recovered_fraction": 0.25,  # KD recovers a fraction in [-this, this]
        "kernel_average_tolerance": 0.01,  # trained average - ensemble >= -this
        # Gaussian-like control
        "gaussian_ensemble_gain": 0.01,  # |ensemble - its members| <=
        "gaussian_fit": 0.99,  # the control's singles must fit their training set ...
        "gaussian_ceiling": 0.95,  # ... and stay <= this on test (room for a gain)
        # Diagnostics
        "ablation_single": 0.6,  # single model with its learned view removed <=
        "ablation_ensemble": 0.9,  # ensemble (and KD student) with either view removed >=
    }
)

KINDS = ("paper", "control", "diagnostic")
VERDICTS = ("holds", "fails", "inconclusive", "not_converged")


@dataclass(frozen=True)
class Bar:
    """A bar: ``at_least`` ``lo``, ``at_most`` ``hi``, or ``within`` ``[lo, hi]``."""

    lo: float = -math.inf
    hi: float = math.inf

    def text(self) -> str:
        if math.isinf(self.hi):
            return f">= {self.lo:g}"
        if math.isinf(self.lo):
            return f"<= {self.hi:g}"
        return f"in [{self.lo:.3g}, {self.hi:.3g}]"

    def verdict(self, low: float, high: float) -> str:
        """``holds`` if ``[low, high]`` lies inside the bar, ``fails`` if it lies wholly
        outside, ``inconclusive`` otherwise (and when the interval is undefined)."""
        if not (np.isfinite(low) and np.isfinite(high)):
            return "inconclusive"
        if self.lo <= low and high <= self.hi:
            return "holds"
        if high < self.lo or low > self.hi:
            return "fails"
        return "inconclusive"


def at_least(lo: float) -> Bar:
    return Bar(lo=lo)


def at_most(hi: float) -> Bar:
    return Bar(hi=hi)


def within(lo: float, hi: float) -> Bar:
    return Bar(lo=lo, hi=hi)


@dataclass(frozen=True)
class Prediction:
    """One claim with what a run measured and its verdict.

    ``measured`` is the graded quantity (its mean over units, or a ratio of means),
    ``interval`` its 95% interval over ``n`` independent ``unit``s, ``measured_std`` the
    spread of the per-unit values (descriptive). ``holds`` is true only when ``verdict`` is
    ``holds``. ``objective`` names the distillation objective of a KD / SD prediction.
    """

    id: str
    claim: str
    kind: str
    measured: float
    interval: tuple[float, float]
    n: int
    unit: str
    expected: str
    verdict: str
    measured_std: float = float("nan")
    reason: str = ""
    objective: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {self.kind!r}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}")

    @property
    def holds(self) -> bool:
        return self.verdict == "holds"

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "kind": self.kind,
            "claim": self.claim,
            "measured": self.measured,
            "measured_std": self.measured_std,
            "interval": [float(self.interval[0]), float(self.interval[1])],
            "n": int(self.n),
            "unit": self.unit,
            "expected": self.expected,
            "verdict": self.verdict,
            "holds": self.holds,
            "reason": self.reason,
            "details": self.details,
        }
        if self.objective is not None:
            out["objective"] = self.objective
        return out


def _reason(verdict: str, n: int, unit: str) -> str:
    if verdict == "inconclusive" and n < 2:
        return f"n = {n} {unit}: no interval; more independent units are needed"
    if verdict == "inconclusive":
        return "the 95% interval straddles the bar"
    return ""


def grade(
    id: str,
    claim: str,
    kind: str,
    bar: Bar,
    estimate: dict[str, float],
    unit: str,
    *,
    std: float = float("nan"),
    details: dict[str, Any] | None = None,
    objective: dict[str, Any] | None = None,
    bounds: tuple[float, float] | None = None,
) -> Prediction:
    """A prediction from an estimate ``{"mean", "low", "high", "n"}`` against ``bar``.

    ``bounds`` clips the interval to the quantity's range (e.g. ``(0, 1)`` for a fraction).
    """
    low, high = float(estimate["low"]), float(estimate["high"])
    if bounds is not None and np.isfinite(low) and np.isfinite(high):
        low, high = max(low, bounds[0]), min(high, bounds[1])
    n = int(estimate["n"])
    verdict = bar.verdict(low, high)
    return Prediction(
        id,
        claim,
        kind,
        float(estimate["mean"]),
        (low, high),
        n,
        unit,
        bar.text(),
        verdict,
        std,
        _reason(verdict, n, unit),
        objective,
        dict(details or {}),
    )


def from_units(
    id: str,
    claim: str,
    kind: str,
    values,
    bar: Bar,
    unit: str = "seeds",
    *,
    bounds: tuple[float, float] | None = (0.0, 1.0),
    details: dict[str, Any] | None = None,
    objective: dict[str, Any] | None = None,
) -> Prediction:
    """Grade the mean of one value per independent unit (``values (n,)``; NaN units are left
    out) by its 95% t-interval."""
    est = mean_interval(values)
    _, std = mean_std(values)
    return grade(
        id, claim, kind, bar, est, unit, std=std, details=details, objective=objective,
        bounds=bounds,
    )  # fmt: skip


def _ratio_of_mean_gaps(num, den) -> float:
    d = float(np.mean(den))
    return float(np.mean(num)) / d if d > 0 else float("nan")


def from_ratio(
    id: str,
    claim: str,
    kind: str,
    gain,
    reference_gain,
    bar: Bar,
    unit: str,
    *,
    details: dict[str, Any] | None = None,
    objective: dict[str, Any] | None = None,
) -> Prediction:
    """Grade the fraction ``mean(gain) / mean(reference_gain)`` (e.g. the share of an
    ensemble's gain a student recovers) by a paired bootstrap over the units
    (``gain``, ``reference_gain``: ``(n,)``, one pair per unit). Inconclusive, with the reason,
    when the reference gains nothing (the fraction is undefined)."""
    g = np.asarray(gain, dtype=float)
    r = np.asarray(reference_gain, dtype=float)
    keep = np.isfinite(g) & np.isfinite(r)
    g, r = g[keep], r[keep]
    est = bootstrap_interval(_ratio_of_mean_gaps, g, r)
    info = {
        "gain": float(np.mean(g)) if g.size else float("nan"),
        "reference_gain": float(np.mean(r)) if r.size else float("nan"),
        **(details or {}),
    }
    pred = grade(id, claim, kind, bar, est, unit, details=info, objective=objective)
    if not (r.size and np.mean(r) > 0):
        nan = float("nan")
        pred = replace(
            pred,
            interval=(nan, nan),
            verdict="inconclusive",
            reason="the reference gains nothing here, so the recovered fraction is undefined",
        )
    return pred


def combine(primary: Prediction, *checks: Prediction) -> Prediction:
    """``primary`` that must hold together with ``checks``: holds if every one holds, fails
    if any fails, inconclusive otherwise. The checks go to ``details["checks"]``."""
    verdicts = [primary.verdict] + [c.verdict for c in checks]
    if "not_converged" in verdicts:
        verdict = "not_converged"
    elif "fails" in verdicts:
        verdict = "fails"
    elif all(v == "holds" for v in verdicts):
        verdict = "holds"
    else:
        verdict = "inconclusive"
    reasons = [f"{c.id}: {c.reason}" for c in checks if c.reason]
    reason = "; ".join(([primary.reason] if primary.reason else []) + reasons)
    details = {**primary.details, "checks": [c.to_dict() for c in checks]}
    return replace(primary, verdict=verdict, reason=reason, details=details)


def mark_not_converged(pred: Prediction, reason: str) -> Prediction:
    """The same prediction graded ``not_converged`` (its numbers kept for the record)."""
    return replace(pred, verdict="not_converged", reason=reason)


def headline(predictions: list[dict[str, Any]]) -> dict[str, int]:
    """Counts of the ``paper`` predictions by verdict: ``{"paper": M, "holds": ..., ...}``."""
    paper = [p for p in predictions if p.get("kind", "paper") == "paper"]
    out = {"paper": len(paper)}
    for v in VERDICTS:
        out[v] = sum(p["verdict"] == v for p in paper)
    return out
