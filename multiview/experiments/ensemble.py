"""Ensembles (Theorem 2): average the outputs of K independently trained models.

Groups of K are formed from one vmapped sweep of single models, with disjoint seeds per
group: seeds ``[gK, (g+1)K)`` form group g. The theory: a single-view test sample is
misclassified only if no member learned its surviving view, so with V views and independent
lotteries the single-view accuracy is ``1 - (1 - 1/V)^K``: ``1 - 2^-K`` for V = 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from multiview.sim.config import SimConfig, TheoremsConfig
from multiview.sim.data import Datasets
from multiview.sim.metrics import ensemble_scores
from multiview.stats import accuracy, group_seeds

__all__ = ["ensemble_curve", "theory_single_view", "run_ensemble"]


def theory_single_view(K: np.ndarray | int, views: int = 2) -> np.ndarray:
    """The theory's single-view accuracy of a K-ensemble: ``1 - (1 - 1/V)^K`` (``1 - 2^-K``
    for V = 2).

    Each member learns one view of V uniformly at random, independently: a sample is right
    when at least one member learned its surviving view.
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
            accuracy(ensemble_scores(scores_multi, groups), datasets.test_multi.y)
        )
        out["acc_single"].append(
            accuracy(ensemble_scores(scores_single, groups), datasets.test_single.y)
        )
        out["view_coverage"].append(learned[groups].any(axis=1).mean(axis=(1, 2)))
    out["theory_single"] = theory_single_view(np.array(out["K"]), cfg.data.views)
    return out


def run_ensemble(cfg: SimConfig, th: TheoremsConfig, sim, scores: dict[str, np.ndarray]) -> dict:
    """Ensembles of K = ``th.ensemble_sizes`` from the sweep ``sim`` (a
    :class:`~multiview.experiments.simulate.SimulationResult`) with per-seed ``scores``
    (:func:`multiview.sim.single.model_scores`): accuracies and view coverage."""
    return ensemble_curve(
        cfg,
        sim.data,
        scores["multi"],
        scores["single"],
        sim.per_seed["learned"],
        th.ensemble_sizes,
    )
