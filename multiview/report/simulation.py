"""The results directory of a simulation: config.json, summary.json, per_seed.npz, figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from multiview.io import run_metadata, save_npz, write_json
from multiview.report import plots
from multiview.report.page import build_report
from multiview.report.prediction_plots import plot_lottery, plot_memorization, plot_training_curves
from multiview.report.run_tables import write_run_tables
from multiview.sim.config import SimConfig, config_to_dict
from multiview.sim.predictions import THRESHOLDS

__all__ = ["write_config", "write_simulation", "write_simulation_figures"]


def write_config(out: Path, cfg: SimConfig | dict[str, Any], **extra: Any) -> Path:
    """``out/config.json``: the resolved config, versions, backend, devices, git commit."""
    body = config_to_dict(cfg) if isinstance(cfg, SimConfig) else cfg
    return write_json(out / "config.json", {"config": body, **extra, "run": run_metadata()})


def write_simulation(result, out: Path) -> dict[str, Path]:
    """Write a :class:`~multiview.experiments.simulate.SimulationResult` (or anything with its
    ``config``, ``summary``, ``history``, ``weights`` and ``per_seed``) to ``out``:
    ``config.json``, ``summary.json``, ``per_seed.npz``, ``per_seed.csv`` and ``history.csv``
    (:mod:`multiview.report.run_tables`), ``figures/`` and ``report.html``."""
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
    paths.update(write_run_tables(out, result.per_seed, hist.steps, hist.records))
    paths.update(write_simulation_figures(result, out / "figures"))
    paths["report"] = build_report(out)
    return paths


def write_simulation_figures(result, fig_dir: Path) -> dict[str, Path]:
    """Every figure of a simulation into ``fig_dir``: the Lambda trajectories (with the
    learned threshold), the learned-view map, the accuracy distributions, and one figure per
    prediction that needs one: the lottery, memorization, and the training curves."""
    hist, per_seed, cfg = result.history, result.per_seed, result.config
    threshold = float(result.per_seed["learned_cut"][0])  # the run's learned-view cut
    figures = {
        "fig_lambda": (
            plots.plot_lambda_trajectories(hist.steps, hist.records["lambda"], threshold=threshold),
            "lambda.png",
        ),
        "fig_views": (plots.plot_learned_view_map(per_seed["learned"]), "learned_views.png"),
        "fig_acc": (
            plots.plot_accuracy_distributions(per_seed, expected_single=1.0 / cfg.data.views),
            "accuracy.png",
        ),
        "fig_lottery": (
            plot_lottery(
                per_seed["lambda_init"],
                per_seed["lambda_final"],
                per_seed["learned"],
                THRESHOLDS["lottery"],
            ),
            "lottery.png",
        ),
        "fig_memorization": (
            plot_memorization(
                per_seed["memorization_flip_rate"],
                per_seed["memorization_flip_rate_learned"],
                THRESHOLDS["memorize"],
            ),
            "memorization.png",
        ),
    }
    if {"loss", "acc"} <= set(hist.records):
        figures["fig_curves"] = (
            plot_training_curves(hist.steps, hist.records["loss"], hist.records["acc"]),
            "training_curves.png",
        )
    return {key: plots.save(fig, fig_dir / name) for key, (fig, name) in figures.items()}
