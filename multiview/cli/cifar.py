"""Command-line entry points: ``multiview cifar`` and ``multiview cifar-download``.

Plain functions with typer annotations; :func:`register` adds them to a typer app like every
other command group. They only parse, call and print; errors are
:class:`~multiview.errors.MultiviewError` subclasses that :func:`multiview.cli.common.add_command`
turns into one line and an exit code.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from multiview.cifar.config import SEED_PARALLEL, SKIPPABLE, TEACHER_MODES
from multiview.cifar.data import data_fingerprint, load_cifar, resolve_cache_dir
from multiview.cifar.download import ARCHIVES, download_cifar
from multiview.cifar.experiments import run_cifar
from multiview.cifar.presets import PRESETS, preset_config
from multiview.cifar.sizes import check_cifar_fits
from multiview.cifar.train import EpochReport
from multiview.cli.common import ProgressDisplay, add_command, console, interruptible
from multiview.cli.runs import ForceOpt, print_json, run_folder
from multiview.errors import ConfigError
from multiview.io import expand_user
from multiview.outdir import RunDir
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


def _kept(run: RunDir):
    """What an interrupt leaves, said at the moment of the interrupt (only what exists)."""

    def said() -> str:
        if run.staged:
            return f"the earlier run in {run.final} is untouched"
        if not any((run.path / "checkpoints").glob("*.npz")):
            return "no epoch had finished; nothing was kept"
        return (
            f"finished epochs are checkpointed in {run.path}; rerun with --resume "
            f"--out {run.path} to continue"
        )

    return said


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
        str | None,
        typer.Option(
            help="results folder: created if missing; one holding another run is refused "
            "unless --resume or --force (default runs/cifar-TIMESTAMP)"
        ),
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
    kd_teacher: Annotated[
        str | None,
        typer.Option(
            help=f"Where the KD and self-distillation teachers' logits come from: "
            f"{', '.join(TEACHER_MODES)}. consistent: the teachers run on each student's own "
            "augmented batch (the presets' default); precomputed: once, on the un-augmented "
            "images; both: a student of each, paired."
        ),
    ] = None,
    student_epochs_multiplier: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Students train this many times the single model's epochs; above 1 the run "
            "also trains single_long, each single model trained as long (the control).",
        ),
    ] = None,
    label_smoothing: Annotated[
        float | None,
        typer.Option(
            help="Label smoothing of every CNN (the singles, hence the teachers, and the "
            "students' hard term); the presets use 0: smoothed teachers teach worse."
        ),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Leave a part out (repeatable): {', '.join(SKIPPABLE)} (training the "
            "average, the random-feature models, the self-distilled students)."
        ),
    ] = None,
    labels: Annotated[str, typer.Option(help="CIFAR-100 labels: fine or coarse.")] = "fine",
    seed: Annotated[
        int, typer.Option(min=0, max=2**31 - 1, help="Base random seed, in [0, 2^31 - 1].")
    ] = 0,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Cache folder for decoded arrays (default $MULTIVIEW_DATA_DIR or "
            "~/.cache/multiview)."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume/--no-resume",
            help="continue the run in --out from its checkpoints (default: refuse a folder "
            "that holds another run)",
        ),
    ] = False,
    force: ForceOpt = False,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="print the summary as JSON on stdout (NaN as null)"),
    ] = False,
    quiet: Annotated[
        bool, typer.Option(help="no progress display and no messages on stderr")
    ] = False,
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
    if kd_teacher is not None:
        changes["distill__teacher"] = kd_teacher
    if student_epochs_multiplier is not None:
        changes["distill__epochs_multiplier"] = student_epochs_multiplier
    if label_smoothing is not None:
        changes["train__label_smoothing"] = label_smoothing
    if skip:
        changes["skip"] = tuple(dict.fromkeys(skip))
    cfg = base.replace(**changes)
    with run_folder(out, "cifar", resume=resume, force=force, config=asdict(cfg)) as run:
        dataset = load_cifar(data, cache_dir=resolve_cache_dir(data_dir), labels=labels)
        run.record_data(data_fingerprint(dataset))  # --resume with other data: refused
        n_train = dataset.train_x.shape[0]
        if train_subset is not None and train_subset > n_train:
            raise ConfigError(
                f"train_subset = {train_subset} is invalid: must be <= the {n_train} training "
                f"images of {data}"
            )
        check_cifar_fits(  # before any training: one line with the estimate
            cfg, dataset.num_classes, min(n_train, cfg.train_subset or n_train), len(dataset.test_y)
        )
        log = (lambda msg: None) if (quiet or json_output) else (lambda msg: console.print(msg))
        log(
            f"{dataset.name}: {n_train} train / {dataset.test_x.shape[0]} test images, "
            f"{dataset.num_classes} classes; preset {cfg.preset}, {cfg.seeds} seeds"
        )
        kept = _kept(run)
        with ProgressDisplay(enabled=not (quiet or json_output)) as display, interruptible(kept):
            summary = run_cifar(
                cfg, dataset, run.path, resume=resume, progress=_epoch_reporter(display), log=log
            )
        files = write_report(summary, run.path)
    if json_output:
        print_json(summary)
    else:
        typer.echo(format_table(summary))
        names = ", ".join(
            str(run.final / Path(files[k]).name) for k in ("summary", "table", "figure")
        )
        typer.echo(f"wrote {names} ({summary['wall_seconds']:.0f} s)")


def download_command(
    dataset: Annotated[str, typer.Option(help=f"One of {', '.join(ARCHIVES)}.")] = "cifar10",
    dest: Annotated[
        Path | None, typer.Option(help="Folder to unpack into (default: the cache folder's raw/).")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Cache folder.")] = None,
    url: Annotated[str | None, typer.Option(help="Mirror URL (default: the official).")] = None,
    md5: Annotated[str | None, typer.Option(help="Expected MD5 for --url.")] = None,
    force: Annotated[bool, typer.Option(help="Download again.")] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help='print {"dataset", "path"} as JSON on stdout')
    ] = False,
    quiet: Annotated[bool, typer.Option(help="print nothing but errors")] = False,
) -> None:
    """Download and unpack an official CIFAR python archive (needs internet; checksummed)."""
    if url is not None and md5 is None:
        raise ConfigError("--url needs --md5 (the archive is always checksummed)")
    target = expand_user(dest) if dest is not None else resolve_cache_dir(data_dir) / "raw"
    if target.exists() and not target.is_dir():
        raise ConfigError(f"--dest {target} is a file, not a folder")
    path = download_cifar(dataset, target, url=url, md5=md5, force=force)
    if json_output:
        print_json({"dataset": dataset, "path": path})
    elif not quiet:
        typer.echo(f"{dataset} ready at {path}; use --data {path}")


def register(app: typer.Typer) -> None:
    """Add ``cifar`` and ``cifar-download`` to ``app``."""
    add_command(app, "cifar", cifar_command)
    add_command(app, "cifar-download", download_command)
