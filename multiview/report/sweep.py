"""Phase-diagram figures of a sweep (:func:`multiview.experiments.sweep.run_sweep`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from multiview.experiments.sweep import grid_arrays
from multiview.io import write_json
from multiview.report import plots
from multiview.report.page import build_report

__all__ = ["HEATMAPS", "KD_HEATMAPS", "phase_diagram", "plot_heatmaps", "write_sweep"]

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


def _draw(grid: dict[str, Any], ax, metric: str):
    """One heatmap of ``metric`` over the grid on ``ax``; the image (for a colorbar)."""
    xf, xs = grid["x"]["field"], grid["x"]["values"]
    yf, ys = grid["y"]["field"], grid["y"]["values"]
    mean, _ = grid_arrays(grid, metric)
    lim = _LIMITS.get(metric, (0.0, 1.0))
    im = ax.imshow(mean, origin="lower", cmap="viridis", vmin=lim[0], vmax=lim[1], aspect="auto")
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


def _kd_metrics(grid: dict[str, Any]) -> list[str]:
    """The :data:`KD_HEATMAPS` metrics the grid's cells carry (none without ``--measure kd``)."""
    first = next(iter(grid["cells"].values()))["metrics"]
    return [m for m in KD_HEATMAPS if m in first]


def phase_diagram(grid: dict[str, Any], metrics=None, title: str | None = None):
    """Heatmaps of ``metrics`` (default :data:`HEATMAPS`) side by side: a matplotlib figure."""
    metrics = list(metrics or HEATMAPS)
    nx, ny = len(grid["x"]["values"]), len(grid["y"]["values"])
    fig, axes = plots.plt.subplots(
        1, len(metrics), figsize=(3 * (1.1 * nx + 2.3), 0.8 * ny + 2.2), squeeze=False
    )
    for ax, metric in zip(axes[0], metrics, strict=True):
        fig.colorbar(_draw(grid, ax, metric), ax=ax)
    fig.suptitle(title or "Where the multi-view theory holds at finite size", fontsize=11)
    fig.tight_layout()
    return fig


def plot_heatmaps(grid: dict[str, Any], out: Path) -> dict[str, Path]:
    """One PNG per metric of :data:`HEATMAPS` (and of :data:`KD_HEATMAPS` when the cells
    have them), a combined ``phase_diagram.png`` (and ``phase_diagram_kd.png``)."""
    out = Path(out)
    nx, ny = len(grid["x"]["values"]), len(grid["y"]["values"])
    kd = _kd_metrics(grid)
    paths = {}
    for metric in [*HEATMAPS, *kd]:
        fig, ax = plots.plt.subplots(figsize=(1.1 * nx + 2.5, 0.8 * ny + 2))
        fig.colorbar(_draw(grid, ax, metric), ax=ax)
        fig.tight_layout()
        paths[metric] = plots.save(fig, out / f"heatmap_{metric}.png")
    paths["phase_diagram"] = plots.save(phase_diagram(grid), out / "phase_diagram.png")
    if kd:
        fig = phase_diagram(grid, kd, "Where distillation transfers the views at finite size")
        paths["phase_diagram_kd"] = plots.save(fig, out / "phase_diagram_kd.png")
    return paths


def write_sweep(grid: dict[str, Any], out: Path) -> dict[str, Path]:
    """The run folder of a sweep: ``sweep.json`` and ``cells/*.json`` (as
    :func:`~multiview.experiments.sweep.run_sweep` writes them), the heatmaps and
    ``report.html``."""
    out = Path(out)
    for name, cell in grid["cells"].items():
        write_json(out / "cells" / f"{name}.json", cell)
    paths = {"sweep": write_json(out / "sweep.json", grid), **plot_heatmaps(grid, out)}
    paths["report"] = build_report(out)
    return paths
