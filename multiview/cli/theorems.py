"""CLI commands of the ensemble / distillation experiments and the all-in-one report."""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from multiview.cli.common import (
    JsonOpt,
    OutOpt,
    ProgressDisplay,
    QuietOpt,
    VerboseOpt,
    add_command,
    console,
    finish,
    interruptible,
    with_config_options,
)
from multiview.cli.runs import ForceOpt, run_folder
from multiview.experiments.theorems import (
    PART_STAGES,
    PARTS,
    SINGLE_MODELS,
    check_settings,
    run_theorems,
    stage_count,
)
from multiview.report.theorems import write_theorems
from multiview.sim.blocks import BLOCKS_DIR
from multiview.sim.config import SimConfig, TheoremsConfig, config_to_dict
from multiview.sim.experiment_config import KernelConfig, recorded_kernels
from multiview.sim.stages import STAGES_DIR

__all__ = ["COMMANDS", "register", "run_and_write"]


StageResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="continue the run in --out: the single models and every experiment already "
        "finished there are reused, not trained again (the same results, bit for bit)",
    ),
]


def run_and_write(
    cfg: SimConfig,
    th: TheoremsConfig,
    parts,
    out: Path,
    quiet: bool,
    resume: bool = False,
    kept: str | Callable[[], str] | None = None,
    kc: KernelConfig | None = None,
):
    """Run the requested parts with progress bars and write the report into ``out``; each
    finished stage is saved there as it finishes (``resume``: reused), and an interrupt
    says what was ``kept`` (default: the stages saved in ``out``). ``kc``: the kernel
    baselines' settings (None: the defaults)."""
    check_settings(cfg, th, parts)  # before anything is trained
    kept = _kept(out) if kept is None else kept
    with ProgressDisplay(enabled=not quiet) as display:
        display.expect(stage_count(parts, kc=kc))
        with interruptible(kept):
            res = run_theorems(
                cfg, th, progress=display, parts=parts, out=out, resume=resume, kc=kc
            )
    with interruptible(kept):  # every stage is saved: a resumed run only writes the report
        return write_theorems(res, out, dataclasses.asdict(th), kernels=recorded_kernels(kc))


def _kept(out: Path) -> Callable[[], str]:
    """What an interrupt leaves in ``out``, said at the moment of the interrupt: only what
    exists."""

    def said() -> str:
        names = {path.stem for path in (out / STAGES_DIR).glob("*.npz")}
        done = [label for part, (label, _) in PART_STAGES.items() if part in names]
        if any((out / BLOCKS_DIR).glob("seeds_*.npz")):
            done.insert(0, SINGLE_MODELS)
        if not done:
            return "no stage had finished; nothing was kept"
        return (
            f"{len(done)} finished stage(s) are saved in {out} ({', '.join(done)}); "
            f"rerun with --resume --out {out} to continue"
        )

    return said


def _replaced(final: Path) -> str:
    return f"the earlier run in {final} is untouched (--force replaces it only when complete)"


def _command(parts: tuple[str, ...], prefix: str, doc: str):
    def command(
        cfg: SimConfig,
        th: TheoremsConfig,
        kc: KernelConfig | None = None,
        out: OutOpt = None,
        as_json: JsonOpt = False,
        quiet: QuietOpt = False,
        resume: StageResumeOpt = False,
        force: ForceOpt = False,
        verbose: VerboseOpt = False,
    ):
        started = time.time()
        check_settings(cfg, th, parts)  # one line before the folder is touched
        recorded = {"sim": config_to_dict(cfg), "theorems": dataclasses.asdict(th)}
        if (kernels := recorded_kernels(kc)) is not None:
            recorded["kernels"] = kernels
        with run_folder(out, prefix, resume=resume, force=force, config=recorded) as run:
            kept = _replaced(run.final) if run.staged else _kept(run.path)
            summary = run_and_write(
                cfg, th, parts, run.path, quiet or as_json, resume=resume, kept=kept, kc=kc
            )
        shown = {"predictions": summary["predictions"]}
        if as_json:
            shown["methods"] = summary["methods"]
        finish(shown, run.final, as_json, started, quiet, verbose=verbose)
        if not (as_json or quiet):
            console.print(f"report: {run.final / 'report.html'}", highlight=False)

    command.__doc__ = doc
    command.__name__ = prefix.replace("-", "_")
    if "rf" not in parts:  # no kernel baselines: no kernels.NAME=VALUE overrides
        sig = inspect.signature(command)
        command.__signature__ = sig.replace(
            parameters=[p for p in sig.parameters.values() if p.name != "kc"]
        )
    return with_config_options(command)


#: Command name -> (the parts of :func:`run_theorems` it runs, its help).
COMMANDS = {
    "ensemble": (("ensemble",), "Ensembles of K independently trained models (Theorem 2)."),
    "train-average": (("average",), "Train the average of K models jointly: no gain."),
    "distill": (("kd",), "Knowledge distillation from an ensemble into one model (Theorem 3)."),
    "self-distill": (("sd",), "Self-distillation: a fresh model distilled from one (Theorem 4)."),
    "theorems": (
        PARTS,
        "Everything: every prediction with its verdict, report.md, summary.json, figures.",
    ),
}


def register(app: typer.Typer) -> None:
    """Add the experiment commands and ``theorems`` to ``app``."""
    for name, (parts, doc) in COMMANDS.items():
        add_command(app, name, _command(parts, name, doc))
