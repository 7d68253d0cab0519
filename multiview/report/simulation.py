"""The results directory of a simulation: config.json, summary.json, per_seed.npz, figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from multiview.io import run_metadata, save_npz, write_json
from multiview.report import plots
from multiview.report.html import build_report
from multiview.sim.config import SimConfig, config_to_dict

__all__ = ["write_config", "write_simulation", "write_simulation_figures"]


def write_config(out: Path, cfg: SimConfig | dict[str, Any], **extra: Any) -> Path:
    """``out/config.json``: the resolved config, versions, backend, devices, git commit."""
    body = config_to_dict(cfg) if isinstance(cfg, SimConfig) else cfg
    return write_json(out / "config.json", {"config": body, **extra, "run": run_metadata()})


def write_simulation(result, out: Path) -> dict[str, Path]:
    """Write a :class:`~multiview.experiments.simulate.SimulationResult` (or anything with its
    ``config``, ``summary``, ``history``, ``weights`` and ``per_seed``) to ``out``:
    ``config.json``, ``summary.json``, ``per_seed.npz``, ``figures/`` and ``report.html``."""
    out = Path(out)
    paths = {"config": write_config(out, result.config)}
    paths["summary"] = write_json(out / "summary.json", result.summary)
    hist = result.history
    paths["per_seed"] = save_npz(
        out / "per_seed.npz",
        steps=hist.steps,
        weights=np.asarray(result.weights),
        **{f"history_{k}": v for k, v in hist.records.items()},
        **{k: np.asarray(v) for k, v in result.per_seed.items()},
    )
    paths.update(write_simulation_figures(result, out / "figures"))
    paths["report"] = build_report(out)
    return paths


def write_simulation_figures(result, fig_dir: Path) -> dict[str, Path]:
    lam = result.history.records["lambda"]
    V = result.config.data.views
    return {
        "fig_lambda": plots.save(
            plots.plot_lambda_trajectories(result.history.steps, lam), fig_dir / "lambda.png"
        ),
        "fig_views": plots.save(
            plots.plot_learned_view_map(result.per_seed["learned"]), fig_dir / "learned_views.png"
        ),
        "fig_acc": plots.save(
            plots.plot_accuracy_distributions(result.per_seed, expected_single=1.0 / V),
            fig_dir / "accuracy.png",
        ),
    }
