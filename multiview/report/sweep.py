"""Phase-diagram figures of a sweep (:func:`multiview.experiments.sweep.run_sweep`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from multiview.experiments.sweep import grid_arrays
from multiview.io import write_json
from multiview.report import plots
from multiview.report.html import build_report

__all__ = ["HEATMAPS", "phase_diagram", "plot_heatmaps", "write_sweep"]

HEATMAPS = {
    "single_view": "single-view test accuracy (single model)",
    "one_view": "fraction of classes with exactly one view learned",
    "ensemble_gain": "ensemble gain in single-view accuracy",
}


def _draw(grid: dict[str, Any], ax, metric: str):
    """One heatmap of ``metric`` over the grid on ``ax``; the image (for a colorbar)."""
    xf, xs = grid["x"]["field"], grid["x"]["values"]
    yf, ys = grid["y"]["field"], grid["y"]["values"]

    mean, _ = grid_arrays(grid, metric)
    lim = (-0.1, 0.5) if metric == "ensemble_gain" else (0.0, 1.0)
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
    ax.set_title(HEATMAPS[metric], fontsize=9)
    return im


def phase_diagram(grid: dict[str, Any]):
    """The three heatmaps of :data:`HEATMAPS` side by side: a matplotlib figure."""
    nx, ny = len(grid["x"]["values"]), len(grid["y"]["values"])
    fig, axes = plots.plt.subplots(1, 3, figsize=(3 * (1.1 * nx + 2.3), 0.8 * ny + 2.2))
    for ax, metric in zip(axes, HEATMAPS, strict=True):
        fig.colorbar(_draw(grid, ax, metric), ax=ax)
    fig.suptitle("Where the multi-view theory holds at finite size", fontsize=11)
    fig.tight_layout()
    return fig


def plot_heatmaps(grid: dict[str, Any], out: Path) -> dict[str, Path]:
    """One PNG per metric of :data:`HEATMAPS` and a combined ``phase_diagram.png``."""
    out = Path(out)
    nx, ny = len(grid["x"]["values"]), len(grid["y"]["values"])
    paths = {}
    for metric in HEATMAPS:
        fig, ax = plots.plt.subplots(figsize=(1.1 * nx + 2.5, 0.8 * ny + 2))
        fig.colorbar(_draw(grid, ax, metric), ax=ax)
        fig.tight_layout()
        paths[metric] = plots.save(fig, out / f"heatmap_{metric}.png")
    paths["phase_diagram"] = plots.save(phase_diagram(grid), out / "phase_diagram.png")
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
