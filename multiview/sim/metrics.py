"""Measurements of trained seeds: feature correlations, learned views, accuracy, memorization.

Shapes: ``S`` seeds, ``k`` classes, ``m`` neurons per class, ``V`` views, ``d`` dimensions.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from multiview.sim.config import ModelConfig
from multiview.sim.data import Dataset
from multiview.sim.model import correlations, forward

__all__ = [
    "view_lambda",
    "view_phi",
    "view_cut",
    "learned_views",
    "view_counts",
    "lottery_agreement",
    "predict",
    "predict_fn",
    "memorization",
    "ensemble_scores",
    "overall_accuracy",
]


def view_lambda(w: jax.Array, features: jax.Array) -> jax.Array:
    """Lambda_{i,l} = max_r <w_{i,r}, v_{i,l}>^+ : ``(..., k, V)`` from ``w (..., k, m, d)``."""
    return jnp.maximum(correlations(w, features), 0.0).max(axis=-2)


def view_phi(w: jax.Array, features: jax.Array) -> jax.Array:
    """Phi_{i,l} = sum_r <w_{i,r}, v_{i,l}>^+ : ``(..., k, V)``."""
    return jnp.maximum(correlations(w, features), 0.0).sum(axis=-2)


def view_cut(lam_single: np.ndarray, varrho: float, ratio: float = 0.5) -> float:
    """The absolute Lambda above which a view counts as learned, anchored on single models.

    ``max(varrho / 2, ratio * median)``, where the median is over the single models' views
    that reached the smoothed ReLU's linear regime (``Lambda >= varrho / 2``; ``lam_single``
    ``(S, k, V)`` final Lambda). One cut serves every model of a run (single models,
    students, averages), so "learned" means the same height everywhere and cannot be met by
    a view that trails a collapsed model's other view, as a relative cut could.
    """
    lam = np.asarray(lam_single, dtype=float).ravel()
    strong = lam[np.isfinite(lam) & (lam >= 0.5 * varrho)]
    if strong.size == 0:
        return 0.5 * varrho
    return float(max(0.5 * varrho, ratio * np.median(strong)))


def learned_views(lam: np.ndarray, cut: float) -> np.ndarray:
    """Which views were learned: ``(..., k, V)`` bool, ``Lambda >= cut`` from final Lambda
    ``(..., k, V)`` and the run's :func:`view_cut`."""
    return np.asarray(lam) >= cut


def view_counts(learned: np.ndarray) -> dict[str, np.ndarray]:
    """Per seed, the fractions of classes with exactly one, all, and no views learned.

    Arguments:
        learned: ``(S, k, V)`` bool.

    Returns:
        dict of ``(S,)`` arrays ``one``, ``all``, ``none``.
    """
    n = np.asarray(learned).sum(axis=-1)
    V = learned.shape[-1]
    return {
        "one": (n == 1).mean(axis=-1),
        "all": (n == V).mean(axis=-1),
        "none": (n == 0).mean(axis=-1),
    }


def lottery_agreement(learned: np.ndarray, lam0: np.ndarray) -> np.ndarray:
    """Per seed, among classes with exactly one view learned, the fraction where that view had
    the largest initial Lambda: ``(S,)`` (NaN for a seed with no such class)."""
    one = learned.sum(axis=-1) == 1  # (S, k)
    winner = np.argmax(learned, axis=-1)
    predicted = np.argmax(lam0, axis=-1)
    hit = (winner == predicted) & one
    with np.errstate(invalid="ignore", divide="ignore"):
        return hit.sum(-1) / one.sum(-1)


def predict(model: ModelConfig, w: jax.Array, x: jax.Array, batch: int = 2000) -> np.ndarray:
    """Scores of every seed: ``(S, n, k)`` from ``w (S, k, m, d)``, ``x (n, P, d)``.

    Evaluated in batches of samples so a large test set does not materialise a huge
    ``(S, n, k, m, P)`` pre-activation at once.
    """
    f = predict_fn(model)
    outs = [np.asarray(f(w, x[i : i + batch])) for i in range(0, x.shape[0], batch)]
    return np.concatenate(outs, axis=1)


@functools.lru_cache(maxsize=32)
def predict_fn(model: ModelConfig):
    """Jitted ``(w (S, k, m, d), x (n, P, d)) -> scores (S, n, k)``, one per model config."""

    def predict_scores(wi, xb):
        return forward(model, wi, xb)

    return jax.jit(jax.vmap(predict_scores, in_axes=(0, None)))


def memorization(
    model: ModelConfig,
    w: jax.Array,
    train: Dataset,
    redrawn: list[Dataset],
    learned: np.ndarray,
) -> dict[str, np.ndarray]:
    """How much single-view training samples rely on their memorized noise.

    For each seed, take the single-view training samples that are classified correctly;
    split them by whether this seed learned the sample's surviving view. Redraw the samples'
    Gaussian noise (each of ``redrawn``) and count the predictions that turn wrong.

    Arguments:
        model: model configuration.
        w: ``(S, k, m, d)`` weights.
        train: the training set.
        redrawn: the training set with fresh noise, one or more times.
        learned: ``(S, k, V)`` learned views.

    Returns:
        dict of ``(S,)`` arrays: ``flip_unlearned`` (flip rate where the surviving view was
        not learned: the theory says these were memorized), ``flip_learned`` (the control),
        ``n_unlearned`` (how many such samples each seed has).
    """
    y = np.asarray(train.y)
    single = np.asarray(train.single)
    view = np.asarray(train.view)
    orig_ok = np.argmax(predict(model, w, train.x), -1) == y[None]  # (S, n)
    lv = learned[:, y, np.maximum(view, 0)]  # (S, n): surviving view learned?
    base = single[None] & orig_ok
    unl = base & ~lv
    lrn = base & lv
    flips = np.zeros(orig_ok.shape)
    for r in redrawn:
        flips += np.argmax(predict(model, w, r.x), -1) != y[None]
    flips /= len(redrawn)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "flip_unlearned": (flips * unl).sum(-1) / unl.sum(-1),
            "flip_learned": (flips * lrn).sum(-1) / lrn.sum(-1),
            "n_unlearned": unl.sum(-1),
        }


def ensemble_scores(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Average member scores: ``(G, n, k)`` from per-seed scores ``(S, n, k)`` and groups
    ``(G, K)``."""
    return scores[groups].mean(axis=1)


def overall_accuracy(acc_multi, acc_single, mu: float) -> np.ndarray:
    """Accuracy on the mixture D = (1 - mu) D_m + mu D_s from the two test accuracies."""
    return (1.0 - mu) * np.asarray(acc_multi) + mu * np.asarray(acc_single)
