"""The core run (Theorem 1): many independently initialised single models on shared data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from multiview.sim.blocks import collect_blocks
from multiview.sim.config import SimConfig
from multiview.sim.data import Datasets, make_datasets
from multiview.sim.distributed import plan_distributed, train_process_blocks
from multiview.sim.predictions import THRESHOLDS, Prediction, at_least, band
from multiview.sim.seeds import data_key
from multiview.sim.single import summarize_metrics
from multiview.sim.train import History

__all__ = [
    "SimulationResult",
    "single_model_predictions",
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
    """The Theorem-1 predictions, measured over the seeds of this run."""
    V = cfg.data.views
    T = THRESHOLDS
    lo, hi = T["single_view_low"] / V, T["single_view_high"] / V
    return [
        at_least(
            "learn_subset",
            f"a single model learns exactly one of the {V} views of most classes",
            per_seed["frac_classes_one_view"],
            T["learn_subset"],
        ),
        at_least(
            "lottery",
            "the learned view is the one with the largest initial correlation",
            per_seed["lottery_agreement"],
            T["lottery"],
        ),
        at_least(
            "memorize",
            "single-view training samples of an unlearned view are memorized "
            "(fresh noise flips them)",
            per_seed["memorization_flip_rate"],
            T["memorize"],
        ),
        band(
            "single_view_half",
            f"single-view test accuracy ~ 1/{V}, multi-view ~ 1, train = 1",
            per_seed["test_acc_single"],
            lo,
            hi,
            extra_checks=[
                ("test_acc_multi", per_seed["test_acc_multi"], T["multi_view_accuracy"]),
                ("train_acc", per_seed["train_acc"], T["train_accuracy"]),
            ],
        ),
    ]


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
    summary = {
        "metrics": summarize_metrics(merged),
        "predictions": [p.to_dict() for p in single_model_predictions(cfg, merged)],
    }
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
        on_chunk, on_block: progress callbacks, as for :func:`run_simulation`.
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
