"""Figures (PNG) of simulation results. matplotlib with the non-interactive Agg backend
(except in a Jupyter kernel, whose inline backend shows the figures the API returns)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from multiview.io import atomic_write_bytes  # noqa: E402

__all__ = [
    "plot_lambda_trajectories",
    "plot_learned_view_map",
    "plot_accuracy_distributions",
    "save",
]

VIEW_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def save(fig, path: str | Path) -> Path:
    """Save ``fig`` as PNG atomically (:func:`multiview.io.atomic_write_bytes`: a full disk is
    one line naming the file, nothing half-written) and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def plot_lambda_trajectories(
    steps: np.ndarray, lam: np.ndarray, seeds=(0, 1, 2), classes=(0, 1, 2), title=None
):
    """Lambda_{i,l}(t) of a few (seed, class) pairs.

    Arguments:
        steps: ``(T,)`` step counts (0 is drawn at the left edge of the log axis).
        lam: ``(S, T, k, V)`` trajectories.
    """
    seeds = [s for s in seeds if s < lam.shape[0]]
    classes = [c for c in classes if c < lam.shape[2]]
    V = lam.shape[3]
    fig, axes = plt.subplots(
        len(seeds), len(classes), figsize=(3.2 * len(classes), 2.4 * len(seeds)), squeeze=False
    )
    x = np.maximum(steps, 0.5)
    for a, s in enumerate(seeds):
        for b, c in enumerate(classes):
            ax = axes[a, b]
            for v in range(V):
                ax.plot(x, lam[s, :, c, v], color=VIEW_COLORS[v % 6], label=f"view {v + 1}")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"seed {s}, class {c}", fontsize=9)
            if a == len(seeds) - 1:
                ax.set_xlabel("step")
            if b == 0:
                ax.set_ylabel(r"$\Lambda_{i,l}(t)$")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title or "Per-view feature correlations: one view wins, the other stalls")
    fig.tight_layout()
    return fig


def plot_learned_view_map(learned: np.ndarray, title=None):
    """Seeds x classes map of which view was learned.

    Arguments:
        learned: ``(S, k, V)`` bool.
    """
    S, k, V = learned.shape
    n = learned.sum(-1)
    code = np.where(n == 1, np.argmax(learned, -1), np.where(n == 0, V + 1, V))
    colors = VIEW_COLORS[:V] + ["#444444", "#dddddd"]
    fig, ax = plt.subplots(figsize=(min(2 + 0.35 * k, 12), min(1.5 + 0.12 * S, 10)))
    ax.imshow(
        code,
        aspect="auto",
        cmap=ListedColormap(colors),
        vmin=0,
        vmax=V + 1,
        interpolation="nearest",
    )
    ax.set_xlabel("class")
    ax.set_ylabel("seed")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[v]) for v in range(V + 2)]
    labels = [f"view {v + 1} only" for v in range(V)] + ["all views", "no view"]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.set_title(title or "Which view each seed learned, per class")
    fig.tight_layout()
    return fig


def plot_accuracy_distributions(per_seed: dict[str, np.ndarray], expected_single=None):
    """Histograms over seeds of train, multi-view and single-view test accuracy."""
    names = [
        ("train_acc", "train"),
        ("test_acc_multi", "multi-view test"),
        ("test_acc_single", "single-view test"),
    ]
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    bins = np.linspace(0, 1, 41)
    for (key, label), color in zip(names, ["#555555", "#1f77b4", "#d62728"], strict=True):
        ax.hist(per_seed[key], bins=bins, alpha=0.6, label=label, color=color)
    if expected_single is not None:
        ax.axvline(expected_single, color="#d62728", ls="--", lw=1, label="theory, single-view")
    ax.set_xlabel("accuracy")
    ax.set_ylabel("seeds")
    ax.legend(fontsize=8)
    ax.set_title("Accuracy over seeds")
    fig.tight_layout()
    return fig


def plot_ensemble_curve(K, acc_single, acc_multi, theory):
    """Single-view (and multi-view) accuracy vs ensemble size, against 1 - 2^-K.

    Arguments:
        K: ensemble sizes ``(nK,)``.
        acc_single, acc_multi: lists of ``(G,)`` arrays per K (groups of disjoint seeds).
        theory: ``(nK,)`` the theory's single-view curve.
    """
    stats = [
        [(float(np.mean(a)), float(np.std(a))) for a in accs] for accs in (acc_single, acc_multi)
    ]
    return plot_ensemble_stats(K, stats[0], stats[1], theory)


def plot_ensemble_stats(K, single, multi, theory):
    """:func:`plot_ensemble_curve` from ``(mean, std)`` pairs per K (``multi`` may be None),
    as a run's ``summary.json`` stores them."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for stats, label, color in (
        (single, "single-view test", "#d62728"),
        (multi, "multi-view test", "#1f77b4"),
    ):
        if stats is None:
            continue
        m, s = [ms[0] for ms in stats], [ms[1] for ms in stats]
        ax.errorbar(K, m, yerr=s, marker="o", capsize=3, label=label, color=color)
    ax.plot(K, theory, "k--", label=r"theory $1 - 2^{-K}$")
    ax.set_xscale("log", base=2)
    ax.set_xticks(K, [str(k) for k in K])
    ax.set_xlabel("ensemble size K")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Ensembles recover the views single models miss")
    fig.tight_layout()
    return fig


def plot_views_per_method(counts: dict[str, dict[str, float]], views: int):
    """Stacked bars: fraction of classes with no / one / all views learned, per method.

    Arguments:
        counts: ``{method: {"none": f0, "one": f1, "all": fV}}`` (fractions of classes).
    """
    methods = list(counts)
    fig, ax = plt.subplots(figsize=(1.3 * len(methods) + 2, 3.6))
    bottom = np.zeros(len(methods))
    for key, label, color in (
        ("one", "exactly one view", "#1f77b4"),
        ("all", f"all {views} views", "#2ca02c"),
        ("none", "no view", "#bbbbbb"),
    ):
        vals = np.array([counts[m].get(key, 0.0) for m in methods])
        ax.bar(methods, vals, bottom=bottom, label=label, color=color)
        bottom += vals
    ax.set_ylabel("fraction of classes")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title("Views learned per class")
    fig.tight_layout()
    return fig


def plot_student_vs_plain(steps, lam_plain, lam_student, classes=(0, 1, 2), student_steps=None):
    """Lambda trajectories of a plain single model and a KD student (seed 0 of each).

    Arguments:
        steps: ``(T,)``; lam_plain, lam_student: ``(S, T, k, V)``; ``student_steps``: the
            student's own record steps when it trains for another number of steps.
    """
    classes = [c for c in classes if c < lam_plain.shape[2]]
    V = lam_plain.shape[3]
    fig, axes = plt.subplots(2, len(classes), figsize=(3.2 * len(classes), 5), squeeze=False)
    xs = (steps, steps if student_steps is None else student_steps)
    for row, (lam, name) in enumerate(((lam_plain, "single model"), (lam_student, "KD student"))):
        x = np.maximum(xs[row], 0.5)
        for b, c in enumerate(classes):
            ax = axes[row, b]
            for v in range(V):
                ax.plot(x, lam[0, :, c, v], color=VIEW_COLORS[v % 6], label=f"view {v + 1}")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{name}, class {c}", fontsize=9)
            if row == 1:
                ax.set_xlabel("step")
            if b == 0:
                ax.set_ylabel(r"$\Lambda_{i,l}(t)$")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Lambda per view: a single model and a KD student (seed 0 of each)")
    fig.tight_layout()
    return fig


def plot_method_accuracy(methods: dict[str, tuple[float, float]], title=None, ylabel=None):
    """Bar chart of accuracy (mean, std) per method."""
    names = list(methods)
    means = [methods[n][0] for n in names]
    stds = [methods[n][1] for n in names]
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 3.6))
    ax.bar(names, means, yerr=stds, capsize=4, color="#4c72b0")
    for i, m in enumerate(means):
        ax.text(i, m + 0.01, f"{m:.3f}", ha="center", fontsize=8)
    lo = max(0.0, min(means) - 0.15)
    ax.set_ylim(lo, min(1.02, max(means) + 0.08))
    ax.set_ylabel(ylabel or "single-view test accuracy")
    ax.set_title(title or "Accuracy by method (mean ± std)")
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    fig.tight_layout()
    return fig
