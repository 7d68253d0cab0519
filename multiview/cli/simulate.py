"""``multiview simulate``: many single models from independent seeds, Theorem 1."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from multiview.cli.common import (
    JsonOpt,
    OutOpt,
    ProgressDisplay,
    QuietOpt,
    ResumeOpt,
    SeedBlockOpt,
    SeedChunkAlias,
    add_command,
    finish,
    interruptible,
    out_dir,
    with_config_options,
)
from multiview.errors import ConfigError
from multiview.experiments.simulate import run_distributed_simulation, run_simulation
from multiview.report.simulation import write_simulation
from multiview.sim.blocks import BLOCKS_DIR
from multiview.sim.config import SimConfig
from multiview.sim.parallel import plan_seed_block

__all__ = ["simulate", "register"]

DistributedOpt = Annotated[
    bool,
    typer.Option(
        "--distributed",
        help="one process of a jax.distributed job (MULTIVIEW_COORDINATOR / "
        "MULTIVIEW_NUM_PROCESSES / MULTIVIEW_PROCESS_ID, or Slurm): each process trains "
        "its share of the seeds into --out, process 0 merges",
    ),
]


def simulate(
    cfg: SimConfig,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    seed_block: SeedBlockOpt = 0,
    seed_chunk: SeedChunkAlias = 0,
    resume: ResumeOpt = False,
    distributed: DistributedOpt = False,
):
    """Train many single models from independent seeds and check Theorem 1."""
    if seed_block and seed_chunk and seed_block != seed_chunk:
        raise ConfigError("--seed-chunk is the old name of --seed-block: give one of them")
    seed_block = seed_block or seed_chunk
    started = time.time()
    out = out_dir(out, "simulate")
    kept = (
        f"finished blocks of seeds are saved in {out}/{BLOCKS_DIR}; "
        f"rerun with --resume --out {out} to continue"
    )
    with ProgressDisplay(enabled=not (quiet or as_json)) as display, interruptible(kept):
        on_chunk = display(f"{cfg.seeds} seeds")
        if distributed:
            result = run_distributed_simulation(
                cfg,
                out,
                seed_block=seed_block,
                resume=resume,
                on_chunk=on_chunk,
                on_block=display.block,
            )
        else:
            block = plan_seed_block(cfg, seed_block)  # memory check; cut into blocks if needed
            result = run_simulation(
                cfg,
                on_chunk=on_chunk,
                out=out,
                seed_block=block,
                resume=resume,
                on_block=display.block,
            )
    if result is None:  # a process other than 0 of a distributed job: its blocks are saved
        return
    write_simulation(result, out)
    finish(result.summary, out, as_json, started)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to ``app``."""
    add_command(app, "simulate", with_config_options(simulate))
