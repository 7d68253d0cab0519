"""Phase-diagram figures of a sweep (:func:`multiview.experiments.sweep.run_sweep`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from multiview.experiments.sweep import grid_arrays
from multiview.report import plots

__all__ = ["HEATMAPS", "KD_HEATMAPS", "plot_heatmaps"]

HEATMAPS = {
    "single_view": "single-view test accuracy (single model)",
    "one_view": "fraction of classes with exactly one view learned",
    "ensemble_gain": "ensemble gain in single-view accuracy",
}
#: The distillation cells (``multiview sweep --measure kd``), drawn when the grid has them.
KD_HEATMAPS = {
    "kd_recovered": "KD: fraction of the teacher's single-view gain recovered",
    "kd_all_views": "KD: fraction of classes with every view learned",
    "teacher_contrast": "teacher: tempered prob. of present / absent off-target class",
}
_LIMITS = {
    "ensemble_gain": (-0.1, 0.5),
    "kd_recovered": (-0.2, 1.0),
    "teacher_contrast": (0.5, 3.0),
}


def plot_heatmaps(grid: dict[str, Any], out: Path) -> dict[str, Path]:
    """One PNG per metric of :data:`HEATMAPS` (and of :data:`KD_HEATMAPS` when the cells
    have them), a combined ``phase_diagram.png`` (and ``phase_diagram_kd.png``)."""
    plt = plots.plt
    out = Path(out)
    xf, xs = grid["x"]["field"], grid["x"]["values"]
    yf, ys = grid["y"]["field"], grid["y"]["values"]

    def draw(ax, metric):
        mean, _ = grid_arrays(grid, metric)
        lim = _LIMITS.get(metric, (0.0, 1.0))
        im = ax.imshow(
            mean, origin="lower", cmap="viridis", vmin=lim[0], vmax=lim[1], aspect="auto"
        )
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = mean[i, j]
                ax.text(
                    j,
                    i,
                    "n/a" if np.isnan(v) else f"{v:.2f}",
                    ha="center",
                    va="center",
                    color="white" if np.isnan(v) or v < np.mean(lim) else "black",
                    fontsize=9,
                )
        ax.set_xticks(range(len(xs)), [str(v) for v in xs])
        ax.set_yticks(range(len(ys)), [str(v) for v in ys])
        ax.set_xlabel(xf)
        ax.set_ylabel(yf)
        ax.set_title({**HEATMAPS, **KD_HEATMAPS}[metric], fontsize=9)
        return im

    first = next(iter(grid["cells"].values()))["metrics"]
    kd = {m: t for m, t in KD_HEATMAPS.items() if m in first}
    paths = {}
    for metric in {**HEATMAPS, **kd}:
        fig, ax = plt.subplots(figsize=(1.1 * len(xs) + 2.5, 0.8 * len(ys) + 2))
        fig.colorbar(draw(ax, metric), ax=ax)
        fig.tight_layout()
        paths[metric] = plots.save(fig, out / f"heatmap_{metric}.png")
    fig, axes = plt.subplots(1, 3, figsize=(3 * (1.1 * len(xs) + 2.3), 0.8 * len(ys) + 2.2))
    for ax, metric in zip(axes, HEATMAPS, strict=True):
        fig.colorbar(draw(ax, metric), ax=ax)
    fig.suptitle("Where the multi-view theory holds at finite size", fontsize=11)
    fig.tight_layout()
    paths["phase_diagram"] = plots.save(fig, out / "phase_diagram.png")
    if kd:
        fig, axes = plt.subplots(
            1, len(kd), figsize=(3 * (1.1 * len(xs) + 2.3), 0.8 * len(ys) + 2.2), squeeze=False
        )
        for ax, metric in zip(axes[0], kd, strict=True):
            fig.colorbar(draw(ax, metric), ax=ax)
        fig.suptitle("Where distillation transfers the views at finite size", fontsize=11)
        fig.tight_layout()
        paths["phase_diagram_kd"] = plots.save(fig, out / "phase_diagram_kd.png")
    return paths
