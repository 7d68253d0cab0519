"""The core run (Theorem 1): many independently initialised single models on shared data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from multiview.sim import metrics as M
from multiview.sim.blocks import collect_blocks
from multiview.sim.config import SimConfig
from multiview.sim.data import Datasets, make_datasets
from multiview.sim.distributed import plan_distributed, train_process_blocks
from multiview.sim.grading import convergence, cut_sensitivity, gate
from multiview.sim.metrics import view_cut
from multiview.sim.predictions import THRESHOLDS, Prediction, at_least, from_units, within
from multiview.sim.seeds import data_key
from multiview.sim.single import summarize_metrics, view_metrics
from multiview.sim.train import History

__all__ = [
    "SimulationResult",
    "single_model_predictions",
    "remeasure_views",
    "simulation_summary",
    "run_simulation",
    "run_distributed_simulation",
]


class SimulationResult(NamedTuple):
    """Everything a simulation produced.

    Attributes:
        config: the resolved configuration.
        data: features, training set and test sets.
        weights: ``(S, k, m, d)`` trained weights.
        history: trajectories (``lambda``, ``phi`` ``(S, T, k, V)``, ``loss``, ``acc``,
            ``noise_corr`` ``(S, T)``).
        per_seed: dict of per-seed metric arrays ``(S, ...)``.
        summary: ``{"metrics": {...}, "predictions": [...]}`` (JSON-ready).
    """

    config: SimConfig
    data: Datasets
    weights: jax.Array
    history: History
    per_seed: dict[str, np.ndarray]
    summary: dict[str, Any]


def single_model_predictions(cfg: SimConfig, per_seed: dict[str, np.ndarray]) -> list[Prediction]:
    """The Theorem-1 predictions, graded over the seeds of this run (``not_converged`` when
    the single models do not fit: :func:`multiview.sim.grading.convergence`)."""
    V = cfg.data.views
    T = THRESHOLDS
    cut = float(per_seed["learned_cut"][0])
    lam = per_seed["lambda_final"]
    subset_bar = at_least(T["learn_subset"])
    preds = [
        from_units(
            "learn_subset",
            f"a single model learns exactly one of the {V} views of most classes",
            "paper",
            per_seed["frac_classes_one_view"],
            subset_bar,
            details={
                "learned_cut": cut,
                "sensitivity": cut_sensitivity(
                    lambda c: M.view_counts(M.learned_views(lam, c))["one"],
                    cut,
                    subset_bar,
                    "seeds",
                ),
            },
        ),
        from_units(
            "lottery",
            "the learned view is the one with the largest initial correlation",
            "paper",
            per_seed["lottery_agreement"],
            at_least(T["lottery"]),
        ),
        from_units(
            "memorize",
            "single-view training samples of an unlearned view are memorized "
            "(fresh noise flips them)",
            "paper",
            per_seed["memorization_flip_rate"],
            at_least(T["memorize"]),
        ),
        from_units(
            "single_view_half",
            f"a single model's single-view test accuracy is about 1/{V} (it knows one view "
            f"of {V} per class)",
            "paper",
            per_seed["test_acc_single"],
            within(T["single_view_low"] / V, T["single_view_high"] / V),
        ),
    ]
    return gate(preds, convergence(cfg, per_seed))


def remeasure_views(cfg: SimConfig, datasets: Datasets, weights, per_seed: dict) -> dict:
    """``per_seed`` with its view metrics measured again at the cut of all its seeds (blocks
    of seeds were measured at their own cuts; a run has one)."""
    lam = per_seed["lambda_final"]
    cut = view_cut(lam, cfg.model.varrho)
    if np.all(per_seed["learned_cut"] == cut):
        return per_seed
    lam0 = per_seed["lambda_init"]
    return {**per_seed, **view_metrics(cfg, datasets, weights, lam, lam0, cut)}


def simulation_summary(cfg: SimConfig, per_seed: dict[str, np.ndarray]) -> dict[str, Any]:
    """The JSON-ready summary of a simulation: metrics, the convergence gate, the learned
    cut and the graded predictions."""
    return {
        "metrics": summarize_metrics(per_seed),
        "convergence": convergence(cfg, per_seed),
        "learned_cut": float(per_seed["learned_cut"][0]),
        "predictions": [p.to_dict() for p in single_model_predictions(cfg, per_seed)],
    }


def run_simulation(
    cfg: SimConfig,
    *,
    on_chunk: Callable[[int, int], None] | None = None,
    out: Path | None = None,
    seed_block: int = 0,
    resume: bool = False,
    on_block: Callable[[int, int, bool], None] | None = None,
) -> SimulationResult:
    """Train ``cfg.seeds`` models and measure Theorem 1's predictions.

    Arguments:
        cfg: the configuration.
        on_chunk: progress callback of the trainer, ``(steps_done, total)``.
        out: if given, each block of seeds is written to ``out/blocks/seeds_A_B.npz``
            (atomically) as soon as it is done, so an interrupted sweep loses nothing finished.
        seed_block: train at most this many seeds at once (0: all together).
        resume: reuse blocks already in ``out/blocks`` (made with the same config).
        on_block: called as ``on_block(start, stop, reused)`` after each block of seeds.
    """
    datasets = make_datasets(cfg.data, data_key(cfg))
    merged = collect_blocks(
        cfg,
        datasets,
        out=out,
        seed_block=seed_block,
        resume=resume,
        on_chunk=on_chunk,
        on_block=on_block,
    )
    weights = jnp.asarray(merged.pop("weights"))
    steps = merged.pop("steps")
    history = History(
        steps,
        {k[len("history_") :]: merged.pop(k) for k in list(merged) if k.startswith("history_")},
    )
    merged = remeasure_views(cfg, datasets, weights, merged)
    summary = simulation_summary(cfg, merged)
    return SimulationResult(cfg, datasets, weights, history, merged, summary)


def run_distributed_simulation(
    cfg: SimConfig,
    out: Path,
    *,
    seed_block: int = 0,
    resume: bool = False,
    on_chunk: Callable[[int, int], None] | None = None,
    on_block: Callable[[int, int, bool], None] | None = None,
    check_memory: bool = True,
) -> SimulationResult | None:
    """Train this process's share of ``cfg.seeds`` and, on process 0, merge everything.

    Starts ``jax.distributed`` from the environment if it asks for it (see
    :func:`multiview.sim.parallel.maybe_initialize_distributed`); with one process this is
    ``run_simulation(cfg, out=out, seed_block=seed_block, resume=resume)``.

    Arguments:
        cfg: the configuration (the same in every process).
        out: results directory shared by all processes (blocks go to ``out/blocks``).
        seed_block: seeds per block (0: one block per process).
        resume: keep blocks already in ``out/blocks`` (made with the same config).
        on_chunk: the trainer's progress callback, as for :func:`run_simulation`.
        on_block: called after each block of seeds, as for :func:`run_simulation`.
        check_memory: see :func:`multiview.sim.distributed.plan_distributed`.

    Returns:
        The merged :class:`SimulationResult` on process 0, None on the others.
    """
    out = Path(out)
    index, count, block, mine = plan_distributed(cfg, seed_block, check_memory)
    if count == 1:
        return run_simulation(
            cfg, on_chunk=on_chunk, out=out, seed_block=block, resume=resume, on_block=on_block
        )
    train_process_blocks(cfg, out, mine, resume=resume, on_chunk=on_chunk, on_block=on_block)
    if index != 0:
        return None
    return run_simulation(cfg, out=out, seed_block=block, resume=True)
