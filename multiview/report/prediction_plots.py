"""Figures of a simulation's predictions that :mod:`multiview.report.plots` does not draw:
the lottery (which view wins, against the initial correlations), memorization (flip rates
under fresh noise, learned vs unlearned views) and the training curves of the saved
histories. Each returns a matplotlib figure; :func:`multiview.report.plots.save` writes it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from multiview.report.plots import VIEW_COLORS

__all__ = ["plot_lottery", "plot_memorization", "plot_training_curves"]

_ONE, _OTHER = "#1f77b4", "#b0b0b0"


def plot_lottery(lam0: np.ndarray, lam: np.ndarray, learned: np.ndarray, threshold=None):
    """The lottery: did the view that won have the larger initial correlation?

    One point per (seed, class). x: the initial Lambda of the view that ended strongest minus
    the largest initial Lambda of the other views (> 0: the initial leader won). y: the
    final Lambda of that view over the runner-up's, on a symmetric log axis. Classes with
    exactly one view learned (what the lottery prediction scores) are blue; the others grey.

    Arguments:
        lam0, lam: ``(S, k, V)`` initial and final Lambda.
        learned: ``(S, k, V)`` bool, which views were learned.
        threshold: the lottery bar (a fraction), shown in the title when given.
    """
    lam0, lam, learned = (np.asarray(a, dtype=float) for a in (lam0, lam, learned))
    win = np.argmax(lam, axis=-1)[..., None]  # (S, k, 1)
    others = np.ones(lam.shape, bool)
    np.put_along_axis(others, win, False, axis=-1)
    init_win = np.take_along_axis(lam0, win, -1)[..., 0]
    init_other = np.where(others, lam0, -np.inf).max(-1)
    final_win = np.take_along_axis(lam, win, -1)[..., 0]
    final_other = np.where(others, lam, -np.inf).max(-1)
    x, y = (init_win - init_other).ravel(), (final_win - final_other).ravel()
    one = (learned.sum(-1) == 1).ravel()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.scatter(x[~one], y[~one], s=18, c=_OTHER, marker="x", label="other classes")
    ax.scatter(x[one], y[one], s=22, c=_ONE, label="one view learned")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yscale("symlog", linthresh=max(1e-3, float(np.nanmedian(np.abs(y))) / 10 or 1e-3))
    ax.set_xlabel(r"initial $\Lambda$ of the winning view $-$ best other view")
    ax.set_ylabel(r"final $\Lambda$: winner $-$ runner-up")
    agree = float(np.mean(x[one] > 0)) if one.any() else float("nan")
    told = "no class has exactly one view learned" if not one.any() else f"{agree:.0%}"
    bar = f" (bar {threshold:.0%})" if threshold is not None else ""
    ax.set_title(
        f"Lottery: the initially larger view wins in {told}{bar} of the\n"
        "classes with one view learned, pooled over seeds (blue right of 0)",
        fontsize=10,
    )
    ax.legend(fontsize=9, loc="upper left")
    fig.tight_layout()
    return fig


def plot_memorization(flip_unlearned: np.ndarray, flip_learned: np.ndarray, threshold=None):
    """Memorization: the share of correctly classified single-view training samples whose
    prediction turns wrong when their noise is redrawn, per seed, for samples whose
    surviving view the seed did not learn (memorized, the theory says) and did learn (the
    control). One line per seed joins its two rates.

    Arguments:
        flip_unlearned, flip_learned: ``(S,)`` flip rates (NaN: the seed has no such sample).
        threshold: the memorization bar on the unlearned rate, drawn when given.
    """
    a, b = np.asarray(flip_unlearned, float), np.asarray(flip_learned, float)
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    jitter = np.linspace(-0.06, 0.06, len(a)) if len(a) > 1 else np.zeros(len(a))
    for j, u, v in zip(jitter, a, b, strict=True):
        ax.plot([j, 1 + j], [u, v], color="#c8c8c8", lw=0.8, zorder=1)
    ax.scatter(jitter, a, c=VIEW_COLORS[1], s=26, zorder=2, label="view not learned")
    ax.scatter(1 + jitter, b, c=VIEW_COLORS[0], s=26, zorder=2, label="view learned")
    for pos, vals in ((0, a), (1, b)):
        if np.isfinite(vals).any():
            ax.hlines(np.nanmean(vals), pos - 0.2, pos + 0.2, color="k", lw=2)
    if threshold is not None:
        ax.axhline(threshold, color="k", ls="--", lw=0.8, label=f"bar {threshold:g}")
    ax.set_xticks([0, 1], ["surviving view\nnot learned", "surviving view\nlearned"])
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel("flip rate under fresh noise")
    ax.set_title(
        "Memorization: fresh noise flips the single-view samples\n"
        "whose surviving view was not learned (one line per seed)",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def plot_training_curves(steps: np.ndarray, loss: np.ndarray, acc: np.ndarray):
    """Training loss and training accuracy over the steps (log axis, step 0 at the left
    edge): the median over seeds and the band between the 10th and 90th percentiles.

    Arguments:
        steps: ``(T,)`` logged steps.
        loss, acc: ``(S, T)`` per-seed histories.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    x = np.maximum(np.asarray(steps, float), 0.5)  # the logged steps are log-spaced
    for ax, values, name in ((axes[0], loss, "training loss"), (axes[1], acc, "training accuracy")):
        v = np.asarray(values, float)
        lo, mid, hi = np.nanpercentile(v, [10, 50, 90], axis=0)
        ax.fill_between(x, lo, hi, color=VIEW_COLORS[0], alpha=0.25, lw=0, label="10-90%")
        ax.plot(x, mid, color=VIEW_COLORS[0], marker=".", label="median")
        ax.set_xscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[1].set_ylim(-0.02, 1.02)
    axes[0].legend(fontsize=9, loc="upper right")
    fig.suptitle(f"Training curves over {np.asarray(loss).shape[0]} seeds", fontsize=11)
    fig.tight_layout()
    return fig
