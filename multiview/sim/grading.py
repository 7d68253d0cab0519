"""What a verdict rests on: the convergence gate, the learned-view cut and its sensitivity.

A Theorem-1-dependent verdict is only meaningful on single models that fit their data; a
view-count verdict only as stable as its cut. These helpers say both, for the experiments
that build predictions (:mod:`multiview.experiments.simulate`,
:mod:`multiview.experiments.theorems`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from multiview.sim import metrics as M
from multiview.sim.config import SimConfig
from multiview.sim.predictions import THRESHOLDS, Bar, Prediction, from_units, mark_not_converged

__all__ = ["convergence", "gate", "cut_sensitivity", "student_view_fraction"]


def convergence(cfg: SimConfig, per_seed: dict[str, np.ndarray]) -> dict[str, Any]:
    """Whether the single models fit: mean training accuracy and multi-view test accuracy
    over seeds against :data:`THRESHOLDS` (``converged_train``, ``converged_multi_view``).

    Returns ``{"train_acc", "test_acc_multi", "train_bar", "multi_view_bar", "converged",
    "hint"}``; ``hint`` says what to raise when they do not fit (empty when they do).
    """
    T = THRESHOLDS
    train = float(np.nanmean(per_seed["train_acc"]))
    multi = float(np.nanmean(per_seed["test_acc_multi"]))
    ok = train >= T["converged_train"] and multi >= T["converged_multi_view"]
    steps = cfg.train.steps
    hint = (
        ""
        if ok
        else (
            f"the single models did not converge (training accuracy {train:.3f}, needs >= "
            f"{T['converged_train']:g}; multi-view test accuracy {multi:.3f}, needs >= "
            f"{T['converged_multi_view']:g}): train longer (--steps {2 * steps}) or with a "
            f"larger step (--lr, now {cfg.train.lr:g}); a model that fits its training set but "
            f"not the multi-view test set needs more samples (--n-train, about 20 k = "
            f"{20 * cfg.data.k})"
        )
    )
    return {
        "train_acc": train,
        "test_acc_multi": multi,
        "train_bar": T["converged_train"],
        "multi_view_bar": T["converged_multi_view"],
        "converged": bool(ok),
        "hint": hint,
    }


def gate(preds: list[Prediction], conv: dict[str, Any]) -> list[Prediction]:
    """``preds`` as they are when the single models converged, else every one graded
    ``not_converged`` with the hint as its reason."""
    if conv["converged"]:
        return preds
    return [mark_not_converged(p, conv["hint"]) for p in preds]


def cut_sensitivity(
    values_at: Callable[[float], np.ndarray], cut: float, bar: Bar, unit: str
) -> dict[str, Any]:
    """A view-count verdict again at each multiple of the cut in
    ``THRESHOLDS["learned_cut_sensitivity"]``.

    ``values_at(cut)`` returns the per-unit values ``(n,)`` at a given cut. Returns
    ``{"x0.5": {"cut", "measured", "interval", "verdict"}, ...}``.
    """
    out = {}
    for factor in THRESHOLDS["learned_cut_sensitivity"]:
        p = from_units("sensitivity", "", "diagnostic", values_at(cut * factor), bar, unit)
        out[f"x{factor:g}"] = {
            "cut": cut * factor,
            "measured": p.measured,
            "interval": list(p.interval),
            "verdict": p.verdict,
        }
    return out


def student_view_fraction(
    lam_final: np.ndarray, test_acc_multi: np.ndarray, cut: float, which: str
) -> np.ndarray:
    """Per student, the fraction of classes with ``which`` (``"all"``) views learned at
    ``cut``, or 0 for a student whose multi-view accuracy is under
    ``THRESHOLDS["student_multi_view"]``: a collapsed student learns nothing that counts.

    Arguments:
        lam_final: ``(n, k, V)`` the students' final Lambda.
        test_acc_multi: ``(n,)`` their multi-view test accuracy.
    """
    frac = M.view_counts(M.learned_views(lam_final, cut))[which]
    ok = np.asarray(test_acc_multi) >= THRESHOLDS["student_multi_view"]
    return np.where(ok, frac, 0.0)
