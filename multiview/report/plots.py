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
    steps: np.ndarray,
    lam: np.ndarray,
    seeds=(0, 1, 2),
    classes=(0, 1, 2),
    title=None,
    threshold: float | None = None,
):
    """Lambda_{i,l}(t) of a few (seed, class) pairs.

    The y axis is symmetric-log: linear below the initial scale, so a Lambda of exactly 0
    (no neuron positively correlated with the view) is drawn at 0 instead of dropping out.

    Arguments:
        steps: ``(T,)`` step counts (0 is drawn at the left edge of the log axis).
        lam: ``(S, T, k, V)`` trajectories.
        threshold: the Lambda a view must reach to count as learned (the run's cut,
            :func:`multiview.sim.metrics.view_cut`),
            drawn as a dashed line when given.
    """
    seeds = [s for s in seeds if s < lam.shape[0]]
    classes = [c for c in classes if c < lam.shape[2]]
    V = lam.shape[3]
    fig, axes = plt.subplots(
        len(seeds), len(classes), figsize=(3.0 * len(classes), 2.3 * len(seeds)), squeeze=False
    )
    x = np.maximum(steps, 0.5)
    shown = np.asarray(lam)[seeds][:, :, classes]
    positive = shown[shown > 0]
    floor = float(np.percentile(positive, 5)) if positive.size else 1e-3
    linthresh = 10.0 ** np.floor(np.log10(max(floor, 1e-6)))
    for a, s in enumerate(seeds):
        for b, c in enumerate(classes):
            ax = axes[a, b]
            for v in range(V):
                ax.plot(x, lam[s, :, c, v], color=VIEW_COLORS[v % 6], label=f"view {v + 1}")
            if threshold is not None:
                ax.axhline(threshold, color="k", ls="--", lw=0.8, label="learned")
            ax.set_xscale("log")
            ax.set_yscale("symlog", linthresh=linthresh)
            ax.set_ylim(bottom=0)
            ax.set_title(f"seed {s}, class {c}", fontsize=10)
            if a == len(seeds) - 1:
                ax.set_xlabel("step")
            if b == 0:
                ax.set_ylabel(r"$\Lambda_{i,l}(t)$")
    axes[0, 0].legend(fontsize=8, loc="upper left")
    line = f" (dashed: the learned cut, {threshold:.3g})" if threshold is not None else ""
    fig.suptitle(title or f"Per-view feature correlations over training{line}", fontsize=11)
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
    ax.legend(fontsize=8, loc="upper left")
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
    axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Lambda per view: a single model and a KD student (seed 0 of each)")
    fig.tight_layout()
    return fig


def plot_method_accuracy(methods: dict[str, tuple[float, float]], title=None, ylabel=None):
    """Accuracy (mean, std) per method as horizontal bars from 0: one row per method, so
    long names stay readable, the value written past the end of its error bar.

    Arguments:
        methods: ``{name: (mean, std)}`` in the order to draw (top to bottom).
        ylabel: the accuracy axis label (the horizontal axis here).
    """
    names = list(methods)
    means = np.array([methods[n][0] for n in names], dtype=float)
    stds = np.nan_to_num(np.array([methods[n][1] for n in names], dtype=float))
    fig, ax = plt.subplots(figsize=(7.2, 0.42 * len(names) + 1.4))
    rows = np.arange(len(names))
    ax.barh(rows, means, xerr=stds, capsize=3, color="#4c72b0", height=0.6)
    for i, (m, sd) in enumerate(zip(means, stds, strict=True)):
        if np.isfinite(m):
            ax.text(m + sd + 0.012, i, f"{m:.3f}", va="center", fontsize=9)
    ax.set_yticks(rows, names)
    ax.invert_yaxis()
    top = np.nanmax(means + stds) if np.isfinite(means).any() else 1.0
    ax.set_xlim(0, max(1.0, top + 0.12))
    ax.set_xlabel(ylabel or "single-view test accuracy")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or "Accuracy by method (mean ± std)", fontsize=11)
    fig.tight_layout()
    return fig
