"""Predictions of the theory, each with a verdict computed from measured per-seed values.

:data:`THRESHOLDS` is the one table of the bars the verdicts use; experiments, reports and
tests read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from multiview.stats import mean_std

__all__ = ["THRESHOLDS", "Prediction", "at_least", "at_most", "band", "compare"]

#: The bar of every verdict (mean over seeds unless said otherwise).
THRESHOLDS = MappingProxyType(
    {
        # Theorem 1: single models
        "learn_subset": 0.75,  # classes with exactly one view learned >=
        "lottery": 0.75,  # learned view = larger initial Lambda >=
        "memorize": 0.5,  # fresh noise flips memorized single-view samples >=
        "single_view_low": 0.7,  # single-view accuracy >= this / V ...
        "single_view_high": 1.4,  # ... and <= this / V
        "single_view_near_half_low": 0.40,  # the paper's 1/2: single-model single-view
        "single_view_near_half_high": 0.60,  # ... accuracy in [low, high] (theorems runs)
        "multi_view_accuracy": 0.97,  # multi-view test accuracy >=
        "train_accuracy": 0.99,  # training accuracy >=
        # Theorems 2-4: ensembles, training the average, distillation
        "ensemble_single_view": 0.95,  # 8-ensemble single-view accuracy >=
        "ensemble_view_coverage": 0.95,  # 8-ensemble (class, view) coverage >=
        "train_average_gap": 0.05,  # |average - single| single-view accuracy <=
        "train_wide_gap": 0.05,  # |K-times wider model - single| single-view accuracy <=
        "kd_recovered_fraction": 0.8,  # KD student recovers >= this of the ensemble's gain
        "kd_all_views": 0.8,  # KD student learns all views of >= this of classes
        "kd_ensemble_gain": 0.02,  # an ensemble of KD students adds <=
        "self_distill_gain_fraction": 0.5,  # SD gain >= this x the 2-ensemble's gain
        "self_distill_union": 0.75,  # SD student covers the union for >= this of classes
        # Kernel baselines (overall accuracy on the mixture)
        "kernel_ensemble_gain": 0.02,  # ensemble - single >=
        "kernel_kd_recovered_fraction": 0.25,  # KD recovers < this of the ensemble's gain
        "kernel_average_gap": 0.0,  # trained average - ensemble >=
        # Gaussian-like control and view ablation
        "gaussian_ensemble_gain": 0.01,  # |ensemble - single| <=
        "ablation_single": 0.6,  # single model with its learned view removed <=
        "ablation_ensemble": 0.9,  # ensemble (and KD student) with either view removed >=
    }
)


@dataclass(frozen=True)
class Prediction:
    """One claim of the theory with what a run measured.

    ``measured`` is the mean over seeds (``measured_std`` the spread); ``expected`` is the
    condition as text; ``holds`` is computed from the measured numbers only.
    """

    id: str
    claim: str
    measured: float
    measured_std: float
    expected: str
    holds: bool
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "claim": self.claim,
            "measured": self.measured,
            "measured_std": self.measured_std,
            "expected": self.expected,
            "holds": bool(self.holds),
            "details": self.details,
        }


def _checks(extra_checks) -> tuple[bool, dict[str, Any]]:
    ok, details = True, {}
    for name, values, threshold in extra_checks or ():
        m, _ = mean_std(values)
        details[name] = m
        details[name + "_min"] = threshold
        ok = ok and bool(m >= threshold)
    return ok, details


def at_least(id, claim, values, threshold, extra_checks=None) -> Prediction:
    m, s = mean_std(values)
    ok, details = _checks(extra_checks)
    return Prediction(id, claim, m, s, f">= {threshold:g}", bool(m >= threshold) and ok, details)


def at_most(id, claim, values, threshold, extra_checks=None) -> Prediction:
    m, s = mean_std(values)
    ok, details = _checks(extra_checks)
    return Prediction(id, claim, m, s, f"<= {threshold:g}", bool(m <= threshold) and ok, details)


def band(id, claim, values, lo, hi, extra_checks=None) -> Prediction:
    m, s = mean_std(values)
    ok, details = _checks(extra_checks)
    expected = f"in [{lo:.3g}, {hi:.3g}]"
    return Prediction(id, claim, m, s, expected, bool(lo <= m <= hi) and ok, details)


def compare(id, claim, values, expected: str, holds: bool, details=None) -> Prediction:
    """A prediction whose verdict the caller computed from measured values."""
    m, s = mean_std(np.asarray(values, dtype=float))
    return Prediction(id, claim, m, s, expected, bool(holds), dict(details or {}))
