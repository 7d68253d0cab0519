"""CLI commands of the ensemble / distillation experiments and the all-in-one report."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import typer

from multiview._cli_common import (
    JsonOpt,
    OutOpt,
    QuietOpt,
    StageProgress,
    _finish,
    _out_dir,
    console,
    with_config_options,
)
from multiview.config import SimConfig, TheoremsConfig

__all__ = ["register", "StageProgress", "run_and_write"]


def run_and_write(cfg: SimConfig, th: TheoremsConfig, parts, out: Path, quiet: bool):
    """Run the requested parts with progress bars and write the report into ``out``."""
    from multiview.experiments.theorems import run_theorems
    from multiview.report import write_theorems

    with StageProgress(enabled=not quiet) as progress:
        try:
            res = run_theorems(cfg, th, progress=progress, parts=parts)
        except KeyboardInterrupt:
            console.print("\n[yellow]interrupted[/]: nothing of this report was written")
            raise typer.Exit(130) from None
    return write_theorems(res, out, dataclasses.asdict(th))


def _command(parts: tuple[str, ...], prefix: str, doc: str):
    def command(
        cfg: SimConfig,
        th: TheoremsConfig,
        out: OutOpt = None,
        as_json: JsonOpt = False,
        quiet: QuietOpt = False,
    ):
        started = time.time()
        out_dir = _out_dir(out, prefix)
        summary = run_and_write(cfg, th, parts, out_dir, quiet or as_json)
        _finish({"predictions": summary["predictions"], **(
            {"methods": summary["methods"]} if as_json else {})}, out_dir, as_json, started)
        if not as_json:
            console.print(f"report: {out_dir / 'report.md'}", highlight=False)

    command.__doc__ = doc
    command.__name__ = prefix.replace("-", "_")
    return with_config_options(command)


COMMANDS = {
    "ensemble": (("ensemble",), "Ensembles of K independently trained models (Theorem 2)."),
    "train-average": (("average",), "Train the average of K models jointly: no gain."),
    "distill": (("kd",), "Knowledge distillation from an ensemble into one model (Theorem 3)."),
    "self-distill": (("sd",), "Self-distillation: a fresh model distilled from one (Theorem 4)."),
    "theorems": (
        ("ensemble", "average", "kd", "sd", "rf", "gaussian", "ablation"),
        "Everything: every prediction with its verdict, report.md, summary.json, figures.",
    ),
}


def register(app: typer.Typer) -> None:
    for name, (parts, doc) in COMMANDS.items():
        app.command(name)(_command(parts, name, doc))

