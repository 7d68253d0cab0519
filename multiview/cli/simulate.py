"""``multiview simulate``: many single models from independent seeds, Theorem 1."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from multiview.api import simulate as simulate_run
from multiview.cli.common import (
    JsonOpt,
    OutOpt,
    ProgressDisplay,
    QuietOpt,
    ResumeOpt,
    SeedBlockOpt,
    SeedChunkAlias,
    VerboseOpt,
    add_command,
    finish,
    interruptible,
    out_dir,
    with_config_options,
)
from multiview.errors import ConfigError
from multiview.sim.blocks import BLOCKS_DIR
from multiview.sim.config import SimConfig

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
    verbose: VerboseOpt = False,
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
        run = simulate_run(
            cfg,
            out=out,
            progress=display,
            seed_block=seed_block,
            resume=resume,
            distributed=distributed,
        )
    if run is None:  # a process other than 0 of a distributed job: its blocks are saved
        return
    finish(run.summary, out, as_json, started, verbose=verbose)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to ``app``."""
    add_command(app, "simulate", with_config_options(simulate))
