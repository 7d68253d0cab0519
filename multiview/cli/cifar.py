"""Command-line entry points: ``multiview cifar`` and ``multiview cifar-download``.

Plain functions with typer annotations; :func:`register` adds them to a typer app like every
other command group. They only parse, call and print; errors are
:class:`~multiview.errors.MultiviewError` subclasses that :func:`multiview.cli.common.add_command`
turns into one line and an exit code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from multiview.cifar.config import PRESETS, SEED_PARALLEL, preset_config
from multiview.cifar.data import load_cifar, resolve_cache_dir
from multiview.cifar.download import ARCHIVES, download_cifar
from multiview.cifar.experiments import run_cifar
from multiview.cifar.train import EpochReport
from multiview.cli.common import ProgressDisplay, add_command, console, interruptible
from multiview.errors import ConfigError
from multiview.io import default_run_dir, to_jsonable
from multiview.report.cifar import format_table, write_report

__all__ = ["cifar_command", "download_command", "register"]


def _epoch_reporter(display: ProgressDisplay):
    """The ``progress`` callback of :func:`run_cifar`: one bar per training group."""

    def report(r: EpochReport) -> None:
        done_before = r.resumed and bool(np.isnan(r.loss).all())
        info = (
            "already trained (checkpoint)"
            if done_before
            else f"loss {r.loss.mean():.3f}  train acc {r.accuracy.mean():.3f}"
        )
        display.epoch(r.name, r.epoch, r.epochs, info)

    return report


def cifar_command(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="CIFAR data: a cifar-10-batches-py or cifar-100-python folder, or an "
            "image folder (dir or .zip).",
        ),
    ],
    preset: Annotated[str, typer.Option(help=f"Preset: {', '.join(PRESETS)}.")] = "cpu-small",
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default runs/cifar-<time>).")
    ] = None,
    seeds: Annotated[int | None, typer.Option(min=1, help="Single models (seeds).")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="CNN training epochs.")] = None,
    ensemble_size: Annotated[
        int | None, typer.Option(min=1, help="K: models per ensemble and per trained average.")
    ] = None,
    train_subset: Annotated[
        int | None, typer.Option(min=1, help="Class-balanced training subset size.")
    ] = None,
    seed_parallel: Annotated[
        str | None, typer.Option(help=f"How seeds share the device: {', '.join(SEED_PARALLEL)}.")
    ] = None,
    labels: Annotated[str, typer.Option(help="CIFAR-100 labels: fine or coarse.")] = "fine",
    seed: Annotated[int, typer.Option(help="Base random seed.")] = 0,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Cache folder for decoded arrays (default $MULTIVIEW_DATA_DIR or "
            "~/.cache/multiview)."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Continue from checkpoints in OUT.")
    ] = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
) -> None:
    """Figure-1 experiments on CIFAR: single, ensemble, KD, self-distillation, training the
    average, random-feature baselines. Writes OUT/summary.json, table.md, figure1.png."""
    changes: dict = {"labels": labels, "seed": seed}
    base = preset_config(preset)
    if seeds is not None:
        changes["seeds"] = seeds
        if ensemble_size is None:
            changes["ensemble_size"] = min(base.ensemble_size, seeds)
    if ensemble_size is not None:
        changes["ensemble_size"] = ensemble_size
    if train_subset is not None:
        changes["train_subset"] = train_subset
    if epochs is not None:
        changes["train__epochs"] = epochs
        changes["train__warmup_epochs"] = min(base.train.warmup_epochs, epochs)
    if seed_parallel is not None:
        changes["train__seed_parallel"] = seed_parallel
    cfg = base.replace(**changes)
    out_dir = out if out is not None else default_run_dir("cifar")
    dataset = load_cifar(data, cache_dir=resolve_cache_dir(data_dir), labels=labels)
    log = (lambda msg: None) if quiet else (lambda msg: console.print(msg))
    log(
        f"{dataset.name}: {dataset.train_x.shape[0]} train / {dataset.test_x.shape[0]} test "
        f"images, {dataset.num_classes} classes; preset {cfg.preset}, {cfg.seeds} seeds"
    )
    kept = f"finished epochs are checkpointed in {out_dir}; rerun with the same --out to resume"
    with ProgressDisplay(enabled=not quiet) as display, interruptible(kept):
        summary = run_cifar(
            cfg, dataset, out_dir, resume=resume, progress=_epoch_reporter(display), log=log
        )
    files = write_report(summary, out_dir)
    if json_output:
        typer.echo(json.dumps(to_jsonable(summary), indent=2))
    else:
        typer.echo(format_table(summary))
        typer.echo(
            f"wrote {files['summary']}, {files['table']}, {files['figure']} "
            f"({summary['wall_seconds']:.0f} s)"
        )


def download_command(
    dataset: Annotated[str, typer.Option(help=f"One of {', '.join(ARCHIVES)}.")] = "cifar10",
    dest: Annotated[
        Path | None, typer.Option(help="Folder to unpack into (default: the cache folder's raw/).")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Cache folder.")] = None,
    url: Annotated[str | None, typer.Option(help="Mirror URL (default: the official).")] = None,
    md5: Annotated[str | None, typer.Option(help="Expected MD5 for --url.")] = None,
    force: Annotated[bool, typer.Option(help="Download again.")] = False,
) -> None:
    """Download and unpack an official CIFAR python archive (needs internet; checksummed)."""
    if url is not None and md5 is None:
        raise ConfigError("--url needs --md5 (the archive is always checksummed)")
    target = dest if dest is not None else resolve_cache_dir(data_dir) / "raw"
    path = download_cifar(dataset, target, url=url, md5=md5, force=force)
    typer.echo(f"{dataset} ready at {path}; use --data {path}")


def register(app: typer.Typer) -> None:
    """Add ``cifar`` and ``cifar-download`` to ``app``."""
    add_command(app, "cifar", cifar_command)
    add_command(app, "cifar-download", download_command)
