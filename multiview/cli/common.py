"""Shared plumbing of the ``multiview`` command line: the typer app, one way to register a
command (with the one error handler), config options, the one progress display, the one
interrupt handler, result printing. Command modules import from here (not from
:mod:`multiview.cli`, which imports them), so there is no import cycle.
"""

from __future__ import annotations

import functools
import inspect
import time
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields as dc_fields
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from multiview.cli.runs import print_json
from multiview.console import caused_by_interrupt, interrupt_reported
from multiview.errors import ConfigError, MultiviewError
from multiview.progress import TerminalProgress
from multiview.report.tables import verdict_table
from multiview.sim.config import (
    PRESETS,
    TheoremsConfig,
    all_fields,
    field_help,
    preset,
    scale_schedule,
    theorems_preset,
    with_overrides,
)

__all__ = [
    "app",
    "console",
    "out_console",
    "add_command",
    "with_config_options",
    "ProgressDisplay",
    "interruptible",
    "finish",
    "print_metrics",
    "print_predictions",
    "JsonOpt",
    "OutOpt",
    "QuietOpt",
    "VerboseOpt",
    "ResumeOpt",
    "SeedBlockOpt",
    "SeedChunkAlias",
]

app = typer.Typer(
    add_completion=False,
    rich_markup_mode="markdown",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="multiview: watch the multi-view theory of ensembles and distillation happen.",
)
console = Console(stderr=True, soft_wrap=True)
out_console = Console()


@app.callback()
def _root() -> None:
    """multiview: watch the multi-view theory of ensembles and distillation happen."""


# --------------------------------------------------------------------------- registration


def add_command(target: typer.Typer, name: str, func: Callable[..., Any]) -> None:
    """Register ``func`` as command ``name`` of ``target``: the one way commands are added.

    A :class:`~multiview.errors.MultiviewError` anywhere in the command (bad configuration,
    missing data) becomes one line on stderr and the error's exit code, never a traceback;
    Ctrl-C outside the command's own :func:`interruptible` block exits 130 with one line.
    """

    @functools.wraps(func)
    def command(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MultiviewError as err:
            console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            _report_interrupt("no new result was completed")
        except Exception as exc:  # a Ctrl-C that library code re-raised as another error
            if not caused_by_interrupt(exc):
                raise
            _report_interrupt("no new result was completed")

    target.command(name)(command)


@contextmanager
def interruptible(kept: str | Callable[[], str]) -> Iterator[None]:
    """The one Ctrl-C handler: say what was kept (``kept``, or ``kept()`` evaluated at the
    interrupt, so it names only what exists) and exit 130, no traceback."""
    try:
        yield
    except KeyboardInterrupt:
        _report_interrupt(kept)
    except Exception as exc:  # a Ctrl-C that library code re-raised as another error
        if not caused_by_interrupt(exc):
            raise
        _report_interrupt(kept)


def _report_interrupt(kept: str | Callable[[], str]) -> NoReturn:
    """Say what an interrupt kept (``kept``, or ``kept()``) and exit 130."""
    said = kept() if callable(kept) else kept
    console.print(f"\n[yellow]interrupted[/]: {escape(said)}", highlight=False)
    console.file.flush()
    interrupt_reported()
    raise typer.Exit(130) from None


# --------------------------------------------------------------------------- config options


def _option(
    name: str, typ: type, help_text: str, panel: str, default: Any, note: str = ""
) -> inspect.Parameter:
    if typ is tuple:  # ensemble_sizes: a comma-separated list on the command line
        typ = str
        default = ",".join(map(str, default))
    help_text = f"{help_text} (default: {default}{note})"
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Optional[typ],  # noqa: UP045 - typer needs Optional here
            typer.Option(help=help_text, rich_help_panel=panel),
        ],
    )


_PRESET_NOTE = " in the default preset"


def _theorems_config(values: dict[str, Any], preset_name: str = "default") -> TheoremsConfig:
    given = {k: v for k, v in values.items() if v is not None}
    if isinstance(given.get("ensemble_sizes"), str):
        try:
            given["ensemble_sizes"] = tuple(int(v) for v in given["ensemble_sizes"].split(","))
        except ValueError:
            raise ConfigError(
                f"ensemble_sizes = {given['ensemble_sizes']!r} is invalid: must be a "
                "comma-separated list of integers, e.g. 1,2,4,8,16"
            ) from None
    return theorems_preset(preset_name, **given)  # the preset's settings, options win


def with_config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``func(cfg: SimConfig, [th: TheoremsConfig,] **rest)`` ``--preset`` and one option
    per config field (and per experiment field when it takes ``th``).

    The wrapper resolves the preset, applies the given fields and validates once; without
    ``--steps`` the preset's steps scale with k and N (:func:`~multiview.sim.config.scale_schedule`).
    Errors are reported by :func:`add_command`.
    """
    sig = inspect.signature(func)
    hints = typing.get_type_hints(func, include_extras=True)  # string annotations resolved
    wants_th = "th" in sig.parameters
    rest = [
        p.replace(annotation=hints.get(name, p.annotation))
        for name, p in sig.parameters.items()
        if name not in ("cfg", "th")
    ]
    params = [
        inspect.Parameter(
            "preset_name",
            inspect.Parameter.KEYWORD_ONLY,
            default="default",
            annotation=Annotated[
                str,
                typer.Option(
                    "--preset",
                    help="named preset the config fields start from: " + ", ".join(PRESETS),
                ),
            ],
        )
    ]
    taken = {p.name for p in rest}
    field_names = [name for name, _, _ in all_fields() if name not in taken]
    params += [
        _option(name, typ, field_help(name), "Config fields", default, _PRESET_NOTE)
        for name, typ, default in all_fields()
        if name not in taken
    ]
    th_names = [f.name for f in dc_fields(TheoremsConfig)] if wants_th else []
    params += [
        _option(name, type(value), field_help(name), "Experiment fields", value)
        for name, value in ((n, getattr(TheoremsConfig(), n)) for n in th_names)
    ]

    @functools.wraps(func)
    def wrapper(**kwargs):
        overrides = {n: kwargs.pop(n) for n in field_names}
        name = kwargs.pop("preset_name")
        cfg = with_overrides(preset(name), **overrides)
        if overrides.get("steps") is None:  # not given: the preset's schedule, scaled
            cfg = scale_schedule(preset(name), cfg)
        if wants_th:
            kwargs["th"] = _theorems_config({n: kwargs.pop(n) for n in th_names}, name)
        return func(cfg, **kwargs)

    wrapper.__signature__ = sig.replace(
        parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in rest] + params
    )
    return wrapper


# --------------------------------------------------------------------------- progress


class ProgressDisplay(TerminalProgress):
    """The progress display of every command: one bar per training stage (spinner, label,
    bar, done/total, elapsed), lines for finished blocks of seeds, per-epoch bars for CIFAR.

    ``display(label)`` starts a stage and returns its ``on_chunk(done, total)`` callback
    ('compiling' until the first chunk returns); :meth:`block` reports a finished block of
    seeds and restarts the current stage's bar; :meth:`epoch` advances a CIFAR group.
    """

    def __init__(self, enabled: bool = True):
        super().__init__(enabled, console=console)


# --------------------------------------------------------------------------- output


def print_metrics(metrics: dict[str, float], title="Metrics (mean ± std over seeds)") -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        if name.endswith("_std"):
            continue
        std = metrics.get(name + "_std")
        table.add_row(name, f"{value:.3f}" + (f" ± {std:.3f}" if std is not None else ""))
    out_console.print(table)


def print_predictions(
    predictions: list[dict[str, Any]], title="Predictions", verbose: bool = False
) -> None:
    """One line per prediction (id, measured, expected, verdict), the claims with ``verbose``."""
    out_console.print(verdict_table(predictions, title=title, verbose=verbose))


def finish(
    summary: dict[str, Any],
    out: Path,
    as_json: bool,
    started: float,
    quiet: bool = False,
    verbose: bool = False,
) -> None:
    """Print the summary (tables, or strict JSON on stdout) and where the results are
    (on stderr, unless ``quiet``); ``verbose`` adds each prediction's claim."""
    if as_json:
        print_json(summary)
    else:
        if "metrics" in summary:
            print_metrics(summary["metrics"])
        print_predictions(summary["predictions"], verbose=verbose)
    if not quiet:
        console.print(
            f"results in [bold]{escape(str(out))}[/] ({time.time() - started:.1f} s)",
            highlight=False,
        )


JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        "--as-json",
        help="print the summary as JSON on stdout (NaN and infinities as null); "
        "no progress display",
    ),
]
OutOpt = Annotated[
    Optional[str],  # noqa: UP045 - a str, so that --out '' is refused (Path('') is '.')
    typer.Option(
        "--out",
        help="results folder: created if missing; one holding another run is refused unless "
        "--resume or --force (default runs/COMMAND-TIMESTAMP)",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", help="no progress display and no messages on stderr")
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", help="the verdict table with each prediction's claim")
]
SeedBlockOpt = Annotated[
    int,
    typer.Option(
        "--seed-block",
        min=0,
        help="train at most this many seeds at once; each block is "
        "saved as soon as it is done (0: all seeds in one block)",
    ),
]
#: The former name of ``--seed-block``, still accepted (hidden from ``--help``).
SeedChunkAlias = Annotated[int, typer.Option("--seed-chunk", min=0, hidden=True)]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="reuse the blocks of seeds already saved in --out")
]
