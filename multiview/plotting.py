"""Figures of the API's results: each function takes a result and returns a matplotlib figure
(the same figures the run folders hold). Show one in a notebook by leaving it as a cell's
value, or save it with ``fig.savefig(path)``.
"""

from __future__ import annotations

from typing import Any

from multiview.report import plots, prediction_plots
from multiview.report.sweep import phase_diagram
from multiview.results import SimulationRun, SweepRun, TheoremsRun
from multiview.sim.predictions import THRESHOLDS

__all__ = [
    "plot_accuracy",
    "plot_ensemble_curve",
    "plot_lambda",
    "plot_learned_views",
    "plot_lottery",
    "plot_memorization",
    "plot_phase_diagram",
    "plot_training_curves",
]


def _simulation(run: SimulationRun | TheoremsRun) -> SimulationRun:
    sim = run.simulation if isinstance(run, TheoremsRun) else run
    if not isinstance(sim, SimulationRun):
        raise ValueError(
            "this figure needs the single models' per-seed arrays: a SimulationRun, or a "
            "TheoremsRun made in this process (a loaded theorems folder does not store them)"
        )
    return sim


def plot_lambda(run: SimulationRun | TheoremsRun, seeds=(0, 1, 2), classes=(0, 1, 2)):
    """Lambda_{i,l}(t), the largest correlation of each view with its class's neurons over
    training, for a few (seed, class) pairs: the lottery of Theorem 1 in action."""
    sim = _simulation(run)
    return plots.plot_lambda_trajectories(
        sim.steps,
        sim.trajectories["lambda"],
        seeds=seeds,
        classes=classes,
        threshold=0.5 * sim.config.model.varrho,
    )


def plot_lottery(run: SimulationRun | TheoremsRun):
    """The lottery of Theorem 1: per (seed, class), the initial Lambda gap of the view that
    won over the best other view; right of 0, the initially larger view won."""
    ps = _simulation(run).per_seed
    return prediction_plots.plot_lottery(
        ps["lambda_init"], ps["lambda_final"], ps["learned"], THRESHOLDS["lottery"]
    )


def plot_memorization(run: SimulationRun | TheoremsRun):
    """Memorization: flip rates under fresh noise of the single-view training samples whose
    surviving view was not learned, against those whose view was, one line per seed."""
    ps = _simulation(run).per_seed
    return prediction_plots.plot_memorization(
        ps["memorization_flip_rate"], ps["memorization_flip_rate_learned"], THRESHOLDS["memorize"]
    )


def plot_training_curves(run: SimulationRun | TheoremsRun):
    """Training loss and accuracy over the steps (median and 10-90% band over seeds)."""
    sim = _simulation(run)
    return prediction_plots.plot_training_curves(
        sim.steps, sim.trajectories["loss"], sim.trajectories["acc"]
    )


def plot_learned_views(run: SimulationRun | TheoremsRun):
    """Seeds x classes map of which view each single model learned."""
    return plots.plot_learned_view_map(_simulation(run).per_seed["learned"])


def plot_accuracy(run: SimulationRun | TheoremsRun):
    """Histograms over seeds of train, multi-view and single-view test accuracy."""
    sim = _simulation(run)
    return plots.plot_accuracy_distributions(
        sim.per_seed, expected_single=1.0 / sim.config.data.views
    )


def plot_ensemble_curve(run: TheoremsRun):
    """Single-view (and multi-view) test accuracy against ensemble size K, with the theory's
    ``1 - 2^-K`` (mean ± std over groups of disjoint seeds)."""
    curve = run.ensemble_curve
    K = curve["K"]
    single = [(d["mean"], d["std"]) for d in curve["single_view"]]
    multi_stats: list[Any] = [run.methods.get(f"ensemble_{k}", {}).get("multi_view") for k in K]
    multi = None if None in multi_stats else [(d["mean"], d["std"]) for d in multi_stats]
    return plots.plot_ensemble_stats(K, single, multi, curve["theory_single"])


def plot_phase_diagram(run: SweepRun):
    """The sweep's three heatmaps (single-view accuracy, one-view fraction, ensemble gain)."""
    return phase_diagram(run.grid)
