"""``multiview simulate``: many single models from independent seeds, Theorem 1."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from multiview.api import plan_simulation
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
    console,
    finish,
    interruptible,
    with_config_options,
)
from multiview.cli.runs import ForceOpt, run_folder
from multiview.errors import ConfigError
from multiview.sim.blocks import BLOCKS_DIR
from multiview.sim.config import SimConfig, config_to_dict
from multiview.sim.launch import (
    COORDINATOR_TIMEOUT_ENV,
    coordinator_timeout,
    distributed_env,
    maybe_initialize_distributed,
)

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


def _kept(out: Path) -> Callable[[], str]:
    """What an interrupt leaves, said at the moment of the interrupt (only what exists)."""

    def said() -> str:
        blocks = sorted((out / BLOCKS_DIR).glob("seeds_*.npz")) if out.is_dir() else []
        if not blocks:
            return "no block of seeds had finished; nothing was kept"
        return (
            f"{len(blocks)} finished block(s) of seeds are saved in {out / BLOCKS_DIR}; "
            f"rerun with --resume --out {out} to continue"
        )

    return said


def simulate(
    cfg: SimConfig,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    seed_block: SeedBlockOpt = 0,
    seed_chunk: SeedChunkAlias = 0,
    resume: ResumeOpt = False,
    force: ForceOpt = False,
    distributed: DistributedOpt = False,
    verbose: VerboseOpt = False,
):
    """Train many single models from independent seeds and check Theorem 1."""
    if seed_block and seed_chunk and seed_block != seed_chunk:
        raise ConfigError("--seed-chunk is the old name of --seed-block: give one of them")
    if distributed and force:
        raise ConfigError("--force is invalid with --distributed: replace the run by hand")
    seed_block = seed_block or seed_chunk
    started = time.time()
    if distributed:
        launch = distributed_env()  # bad launch variables stop here, before anything is written
        if launch is not None and not (quiet or as_json):
            console.print(
                "waiting for the processes of the distributed job (coordinator "
                f"{launch.get('coordinator_address', 'from Slurm')}, up to "
                f"{coordinator_timeout()} s: {COORDINATOR_TIMEOUT_ENV} sets it)",
                highlight=False,
            )
        maybe_initialize_distributed()  # before --out is created: a failure leaves no folder
    block = plan_simulation(cfg, seed_block, distributed=distributed)  # before --out is made
    # Processes of a distributed job share --out: each one may find the others' blocks.
    claim = {"resume": True, "lock": False} if distributed else {"resume": resume, "force": force}
    with run_folder(out, "simulate", config=config_to_dict(cfg), **claim) as run:
        with (
            ProgressDisplay(enabled=not (quiet or as_json)) as display,
            interruptible(_kept(run.path) if not run.staged else _replaced(run.final)),
        ):
            # The API does the work (the memory plan, the resume checks, the run folder's
            # files); the CLI claims the folder, shows progress and prints.
            result = simulate_run(
                cfg,
                out=run.path,
                progress=display,
                seed_block=block,
                resume=resume,
                distributed=distributed,
            )
        if result is None:  # a process other than 0 of a distributed job: its blocks are saved
            return
    finish(result.summary, run.final, as_json, started, quiet, verbose=verbose)
    if not (as_json or quiet):
        console.print(f"report: {run.final / 'report.html'}", highlight=False)


def _replaced(final: Path) -> str:
    return f"the earlier run in {final} is untouched (--force replaces it only when complete)"


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to ``app``."""
    add_command(app, "simulate", with_config_options(simulate))
