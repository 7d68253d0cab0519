"""The ``multiview`` command line. It parses, calls the experiments, prints and writes files.

Every config field is an option of every experiment command (generated from the config
dataclasses), on top of ``--preset``. Errors the user can fix (a bad value, missing data)
print one line and exit non-zero (2 for bad configuration or data), never a traceback.
"""

import time
from typing import Annotated

import typer

from multiview._cli_common import (  # noqa: F401 - re-exported for command modules
    JsonOpt,
    OutOpt,
    QuietOpt,
    ResumeOpt,
    SeedChunkOpt,
    TrainingProgress,
    _finish,
    _interruptible,
    _out_dir,
    app,
    catch_errors,
    console,
    print_metrics,
    print_predictions,
    with_config_options,
)
from multiview.config import SimConfig

# --------------------------------------------------------------------------- commands


@app.command()
@with_config_options
def simulate(
    cfg: SimConfig,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    seed_chunk: SeedChunkOpt = 0,
    resume: ResumeOpt = False,
    distributed: Annotated[
        bool,
        typer.Option(
            "--distributed",
            help="one process of a jax.distributed job (MULTIVIEW_COORDINATOR / "
            "MULTIVIEW_NUM_PROCESSES / MULTIVIEW_PROCESS_ID, or Slurm): each process trains "
            "its share of the seeds into --out, process 0 merges",
        ),
    ] = False,
):
    """Train many single models from independent seeds and check Theorem 1."""
    from multiview.distributed import run_distributed_simulation
    from multiview.experiments.simulate import run_simulation
    from multiview.parallel import plan_seed_chunk
    from multiview.report import write_simulation

    started = time.time()
    out = _out_dir(out, "simulate")
    with TrainingProgress(f"{cfg.seeds} seeds", enabled=not (quiet or as_json)) as bar:
        if distributed:
            run = lambda: run_distributed_simulation(  # noqa: E731
                cfg, out, seed_chunk=seed_chunk, resume=resume, on_chunk=bar,
                on_block=bar.block,
            )
        else:
            chunk = plan_seed_chunk(cfg, seed_chunk)  # memory check; auto-chunk if needed
            run = lambda: run_simulation(  # noqa: E731
                cfg, on_chunk=bar, out=out, seed_chunk=chunk, resume=resume,
                on_block=bar.block,
            )
        result = _interruptible(run, out)
    if result is None:  # a process other than 0 of a distributed job: its blocks are saved
        return
    write_simulation(result, out)
    _finish(result.summary, out, as_json, started)


def _register_optional() -> None:
    """Commands that live in their own modules (registered if those modules exist)."""
    import importlib

    for module in (
        "multiview.cli_theorems",
        "multiview.cli_sweep",
        "multiview.bench_cli",
        "multiview.cifar.cli",
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
            continue
        if hasattr(mod, "cifar_command"):
            app.command("cifar")(catch_errors(mod.cifar_command))
            app.command("cifar-download")(catch_errors(mod.download_command))
        else:
            mod.register(app)


_register_optional()


def main() -> None:
    """Entry point of the ``multiview`` console script."""
    app()


if __name__ == "__main__":
    main()
