"""Figures (PNG) of simulation results. matplotlib with the non-interactive Agg backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

__all__ = [
    "plot_lambda_trajectories",
    "plot_learned_view_map",
    "plot_accuracy_distributions",
    "save",
]

VIEW_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def save(fig, path: str | Path) -> Path:
    """Save ``fig`` as PNG atomically-enough (to a temp name, then rename) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


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
    ax.imshow(code, aspect="auto", cmap=ListedColormap(colors), vmin=0, vmax=V + 1,
              interpolation="nearest")
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
    names = [("train_acc", "train"), ("test_acc_multi", "multi-view test"),
             ("test_acc_single", "single-view test")]
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
