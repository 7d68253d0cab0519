"""CLI commands of the ensemble / distillation experiments and the all-in-one report."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import typer

from multiview.cli.common import (
    JsonOpt,
    NewOutOpt,
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
from multiview.experiments.theorems import PARTS, check_settings, run_theorems, stage_count
from multiview.report.theorems import write_theorems
from multiview.sim.config import SimConfig, TheoremsConfig, config_to_dict

__all__ = ["COMMANDS", "register", "run_and_write"]


def run_and_write(cfg: SimConfig, th: TheoremsConfig, parts, out: Path, quiet: bool):
    """Run the requested parts with progress bars and write the report into ``out``."""
    check_settings(cfg, th, parts)  # before anything is trained
    with ProgressDisplay(enabled=not quiet) as display:
        display.expect(stage_count(parts))
        with interruptible("nothing of this report was written"):
            res = run_theorems(cfg, th, progress=display, parts=parts)
    return write_theorems(res, out, dataclasses.asdict(th))


def _command(parts: tuple[str, ...], prefix: str, doc: str):
    def command(
        cfg: SimConfig,
        th: TheoremsConfig,
        out: NewOutOpt = None,
        as_json: JsonOpt = False,
        quiet: QuietOpt = False,
        force: ForceOpt = False,
        verbose: VerboseOpt = False,
    ):
        started = time.time()
        check_settings(cfg, th, parts)  # one line before the folder is touched
        recorded = {"sim": config_to_dict(cfg), "theorems": dataclasses.asdict(th)}
        with run_folder(out, prefix, force=force, config=recorded) as run:
            summary = run_and_write(cfg, th, parts, run.path, quiet or as_json)
        shown = {"predictions": summary["predictions"]}
        if as_json:
            shown["methods"] = summary["methods"]
        finish(shown, run.final, as_json, started, quiet, verbose=verbose)
        if not (as_json or quiet):
            console.print(f"report: {run.final / 'report.html'}", highlight=False)

    command.__doc__ = doc
    command.__name__ = prefix.replace("-", "_")
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
