"""Ensembles (Theorem 2): average the outputs of K independently trained models.

Groups of K are formed from one vmapped sweep of single models, with disjoint seeds per
group: seeds ``[gK, (g+1)K)`` form group g. The theory: a single-view test sample is
misclassified only if no member learned its surviving view, so with V = 2 views and
independent lotteries the single-view accuracy is ``1 - 2^-K``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from multiview import metrics as M
from multiview.config import SimConfig
from multiview.data import Datasets

__all__ = ["ensemble_scores", "group_seeds", "ensemble_curve", "theory_single_view"]


def group_seeds(n_seeds: int, K: int, max_groups: int | None = None) -> np.ndarray:
    """``(G, K)`` disjoint seed indices: group g holds seeds ``gK .. gK + K - 1``."""
    G = n_seeds // K
    if max_groups is not None:
        G = min(G, max_groups)
    return np.arange(G * K).reshape(G, K)


def ensemble_scores(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Average member scores: ``(G, n, k)`` from per-seed scores ``(S, n, k)``, groups ``(G, K)``."""
    return scores[groups].mean(axis=1)


def theory_single_view(K: np.ndarray | int, views: int = 2) -> np.ndarray:
    """The theory's single-view accuracy of a K-ensemble: ``1 - V^-K``... for V = 2, 1 - 2^-K.

    Each member learns one view of V uniformly at random, independently: a sample is right
    when at least one member learned its surviving view, ``1 - (1 - 1/V)^K``.
    """
    return 1.0 - (1.0 - 1.0 / views) ** np.asarray(K, dtype=float)


def ensemble_curve(
    cfg: SimConfig,
    datasets: Datasets,
    scores_multi: np.ndarray,
    scores_single: np.ndarray,
    learned: np.ndarray,
    sizes: tuple[int, ...] = (1, 2, 4, 8, 16),
) -> dict[str, Any]:
    """Accuracy and view coverage of ensembles of each size.

    Arguments:
        cfg: the configuration (views).
        datasets: test sets (labels).
        scores_multi: ``(S, n, k)`` single-model scores on the multi-view test set.
        scores_single: ``(S, n, k)`` on the single-view test set.
        learned: ``(S, k, V)`` learned views of each seed.
        sizes: ensemble sizes K (those with at least one full group are kept).

    Returns:
        dict with ``K`` (list), and per K lists of ``(G,)`` arrays: ``acc_multi``,
        ``acc_single``, ``view_coverage`` (fraction of (class, view) pairs learned by at least
        one member), and ``theory_single``.
    """
    S = scores_multi.shape[0]
    out: dict[str, Any] = {"K": [], "acc_multi": [], "acc_single": [], "view_coverage": []}
    for K in sizes:
        if K > S:
            continue
        groups = group_seeds(S, K)
        out["K"].append(K)
        out["acc_multi"].append(
            M.accuracy(ensemble_scores(scores_multi, groups), datasets.test_multi.y)
        )
        out["acc_single"].append(
            M.accuracy(ensemble_scores(scores_single, groups), datasets.test_single.y)
        )
        out["view_coverage"].append(learned[groups].any(axis=1).mean(axis=(1, 2)))
    out["theory_single"] = theory_single_view(np.array(out["K"]), cfg.data.views)
    return out
