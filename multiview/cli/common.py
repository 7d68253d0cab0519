"""Shared plumbing of the ``multiview`` command line: the typer app, one way to register a
command (with the one error handler), config options, the one progress display, the one
interrupt handler, result printing. Command modules import from here (not from
:mod:`multiview.cli`, which imports them), so there is no import cycle.
"""

from __future__ import annotations

import errno
import functools
import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from multiview.cli.config_options import with_config_options
from multiview.cli.runs import print_json
from multiview.errors import DamagedFileWarning, MultiviewError
from multiview.progress import TerminalProgress
from multiview.report.tables import verdict_table
from multiview.signals import caused_by_interrupt, interrupt_reported, stop_word
from multiview.stats import format_mean_std

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
    epilog="Exit codes: 0 done; 1 a write the machine refused (a full disk: the files written "
    "before it are intact); 2 bad input, found before any compute; 130 Ctrl-C; 143 SIGTERM.",
)
console = Console(stderr=True, soft_wrap=True)
out_console = Console()


def _flag_type_hidden(display_type_rich: Callable[..., Any]) -> Callable[..., Any]:
    """Typer's help column of value types, empty for an on/off flag (typer >= 0.2x writes
    ``<bool>`` beside every flag, ``--help`` included, though a flag takes no value)."""

    @functools.wraps(display_type_rich)
    def shown(self, ctx):
        return None if getattr(self, "is_flag", False) else display_type_rich(self, ctx)

    return shown


if hasattr(typer.core.TyperOption, "display_type_rich"):
    typer.core.TyperOption.display_type_rich = _flag_type_hidden(
        typer.core.TyperOption.display_type_rich
    )


def _print_version(value: bool) -> None:
    if value:
        out_console.print(f"multiview {installed_version('multiview')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="print the version and exit",
        ),
    ] = False,
) -> None:
    """multiview: watch the multi-view theory of ensembles and distillation happen."""


# --------------------------------------------------------------------------- registration


def add_command(target: typer.Typer, name: str, func: Callable[..., Any]) -> None:
    """Register ``func`` as command ``name`` of ``target``: the one way commands are added.

    A :class:`~multiview.errors.MultiviewError` anywhere in the command (bad configuration,
    missing data) becomes one line on stderr and the error's exit code, never a traceback;
    an ``OSError`` (a full disk, a file that vanished) is one line naming the file, exit 1;
    Ctrl-C (or SIGTERM) outside the command's own :func:`interruptible` block exits 130
    (143) with one line; a damaged file the run recomputes is one ``warning:`` line.
    """

    @functools.wraps(func)
    def command(*args, **kwargs):
        try:
            with warnings.catch_warnings():
                warnings.showwarning = functools.partial(_show_warning, warnings.showwarning)
                warnings.simplefilter("always", DamagedFileWarning)  # said, never raised
                return func(*args, **kwargs)
        except MultiviewError as err:
            console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
            raise typer.Exit(err.exit_code) from None
        except OSError as err:
            if caused_by_interrupt(err):
                _report_interrupt("no new result was completed")
            verb = "write" if err.errno in _WRITE_ERRNOS else "access"
            where = f" {err.filename}" if err.filename else ""
            console.print(
                f"[bold red]error:[/] cannot {verb}{escape(where)} "
                f"({escape(err.strerror or str(err))}); every file written before it is intact",
                highlight=False,
            )
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            _report_interrupt("no new result was completed")
        except Exception as exc:  # a Ctrl-C that library code re-raised as another error
            if _backend_failed(exc):
                platforms = os.environ.get("JAX_PLATFORMS", "")
                console.print(
                    f"[bold red]error:[/] JAX could not start its backend"
                    f"{escape(f' (JAX_PLATFORMS={platforms!r})' if platforms else '')}: "
                    f"{escape(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)}; "
                    "unset JAX_PLATFORMS or install that platform's jax plugin",
                    highlight=False,
                )
                raise typer.Exit(2) from None
            if not caused_by_interrupt(exc):
                raise
            _report_interrupt("no new result was completed")

    target.command(name)(command)


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def _backend_failed(exc: BaseException) -> bool:
    """Whether ``exc`` came from JAX starting its backend (a platform that is not there)."""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "backends" and code.co_filename.endswith("xla_bridge.py"):
            return True
        tb = tb.tb_next
    return False


def _show_warning(default, message, category, *where, **more) -> None:
    """A :class:`DamagedFileWarning` as one line; any other warning as ``default`` prints it."""
    if issubclass(category, DamagedFileWarning):
        console.print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False)
    else:
        default(message, category, *where, **more)


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
    console.print(f"\n[yellow]{stop_word()}[/]: {escape(said)}", highlight=False)
    console.file.flush()
    interrupt_reported()
    raise typer.Exit(130) from None


# --------------------------------------------------------------------------- progress


class ProgressDisplay(TerminalProgress):
    """The progress display of every command: an overall bar (``stage 3/13: KD students``,
    when the command knows its stages), one bar per training stage (spinner, label, bar,
    done/total, elapsed, time remaining after compilation), lines for finished blocks of
    seeds, per-epoch bars for CIFAR.

    ``display(label)`` starts a stage and returns its ``on_chunk(done, total)`` callback
    ('compiling' until the first chunk returns); :meth:`block` reports a finished block of
    seeds (the next block gets its own row); :meth:`epoch` advances a CIFAR group.
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
        table.add_row(name, format_mean_std(value, std))
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
