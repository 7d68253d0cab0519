"""Predictions of the theory, each with a verdict computed from measured per-seed values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from multiview.metrics import mean_std

__all__ = ["Prediction", "at_least", "at_most", "band", "compare"]


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
