"""Shared plumbing of the ``multiview`` command line: the typer app, config options, progress
bars, result printing. Command modules import from here (not from :mod:`multiview.cli`,
which imports them), so there is no import cycle.
"""

import functools
import inspect
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from multiview.config import FIELD_HELP, all_fields, preset, with_overrides
from multiview.errors import ConfigError, MultiviewError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="multiview: watch the multi-view theory of ensembles and distillation happen.",
)
console = Console(stderr=True, soft_wrap=True)


@app.callback()
def _root() -> None:
    """multiview: watch the multi-view theory of ensembles and distillation happen."""

out_console = Console()


# --------------------------------------------------------------------------- plumbing


def _fail(err: MultiviewError) -> None:
    console.print(f"[bold red]error:[/] {err}", highlight=False)
    raise typer.Exit(err.exit_code)


def _option(name: str, typ: type, help_text: str, panel: str) -> inspect.Parameter:
    if typ is tuple:  # ensemble_sizes: a comma-separated list on the command line
        typ = str
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Optional[typ],  # noqa: UP045 - typer needs Optional here
            typer.Option(help=help_text, rich_help_panel=panel),
        ],
    )


def _theorems_config(values: dict[str, Any]):
    from multiview.config import TheoremsConfig

    given = {k: v for k, v in values.items() if v is not None}
    if isinstance(given.get("ensemble_sizes"), str):
        try:
            given["ensemble_sizes"] = tuple(int(v) for v in given["ensemble_sizes"].split(","))
        except ValueError:
            raise ConfigError(
                f"ensemble_sizes = {given['ensemble_sizes']!r} is invalid: must be a "
                "comma-separated list of integers, e.g. 1,2,4,8,16"
            ) from None
    return TheoremsConfig(**given)


def with_config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``func(cfg: SimConfig, [th: TheoremsConfig,] **rest)`` ``--preset`` and one option
    per config field (and per experiment field when it takes ``th``).

    The wrapper resolves the preset, applies the given fields and validates once; a
    :class:`MultiviewError` anywhere becomes one line and the error's exit code.
    """
    from dataclasses import fields as dc_fields

    from multiview.config import TheoremsConfig

    sig = inspect.signature(func)
    wants_th = "th" in sig.parameters
    rest = [p for name, p in sig.parameters.items() if name not in ("cfg", "th")]
    params = [
        inspect.Parameter(
            "preset_name",
            inspect.Parameter.KEYWORD_ONLY,
            default="default",
            annotation=Annotated[
                str, typer.Option("--preset", help="named preset: default, quick, paper")
            ],
        )
    ]
    taken = {p.name for p in rest}
    field_names = [name for name, _, _ in all_fields() if name not in taken]
    params += [
        _option(name, typ, FIELD_HELP.get(name, name), "Config fields")
        for name, typ, _ in all_fields()
        if name not in taken
    ]
    th_names = [f.name for f in dc_fields(TheoremsConfig)] if wants_th else []
    params += [
        _option(name, type(getattr(TheoremsConfig(), name)), name.replace("_", " "),
                "Experiment fields")
        for name in th_names
    ]

    @functools.wraps(func)
    def wrapper(**kwargs):
        try:
            overrides = {n: kwargs.pop(n) for n in field_names}
            cfg = with_overrides(preset(kwargs.pop("preset_name")), **overrides)
            if wants_th:
                kwargs["th"] = _theorems_config({n: kwargs.pop(n) for n in th_names})
            return func(cfg, **kwargs)
        except MultiviewError as err:
            _fail(err)

    wrapper.__signature__ = sig.replace(
        parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in rest] + params
    )
    return wrapper


def catch_errors(func):
    """Turn a :class:`MultiviewError` from a command without config options into one line."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MultiviewError as err:
            _fail(err)

    return wrapper


def make_progress(enabled: bool = True) -> Progress:
    """The progress display of every command: spinner, label, bar, done/total, elapsed."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
    )


class StageProgress:
    """One progress bar per training stage; ``progress(label)`` returns its callback."""

    def __init__(self, enabled: bool = True):
        self.progress = make_progress(enabled)

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, label: str):
        task = self.progress.add_task(f"{label} (compiling)", total=None)

        def update(done: int, total: int) -> None:
            self.progress.update(task, description=label, completed=done, total=total)

        return update


class TrainingProgress:
    """A rich progress bar: 'compiling' until the first chunk returns, then steps done."""

    def __init__(self, label: str, enabled: bool = True):
        self.label = label
        self.progress = make_progress(enabled)
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        self.task = self.progress.add_task(f"{self.label}: compiling + first chunk", total=None)
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def block(self, start: int, stop: int, reused: bool) -> None:
        """Report a finished block of seeds (a new bar starts for the next block)."""
        what = "reused from disk" if reused else "done"
        if not self.progress.disable:
            self.progress.console.print(f"seeds {start}..{stop - 1}: {what}", highlight=False)
        self.progress.reset(self.task, description=f"{self.label}: next block", total=None)

    def __call__(self, done: int, total: int) -> None:
        self.progress.update(self.task, description=f"{self.label}: steps", completed=done,
                             total=total)


def _out_dir(out: Optional[Path], prefix: str) -> Path:  # noqa: UP045
    from multiview.io import default_run_dir

    return Path(out) if out is not None else default_run_dir(prefix)


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


def print_predictions(predictions: list[dict[str, Any]], title="Predictions") -> None:
    from multiview.report import fmt_measured

    table = Table(title=title)
    for col in ("id", "claim", "measured", "expected", "verdict"):
        table.add_column(col)
    for p in predictions:
        verdict = "[green]holds[/]" if p["holds"] else "[red]fails[/]"
        table.add_row(p["id"], p["claim"], fmt_measured(p), p["expected"], verdict)
    out_console.print(table)


JsonOpt = Annotated[bool, typer.Option("--json", help="print summary.json to stdout")]
OutOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--out", help="results directory (default runs/<name>-<timestamp>)"),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="no progress display")]
SeedChunkOpt = Annotated[
    int,
    typer.Option(
        "--seed-chunk", min=0, help="train at most this many seeds at once; each block is "
        "saved as soon as it is done (0: all seeds in one block)"
    ),
]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="reuse the blocks of seeds already saved in --out")
]


def _interruptible(run: Callable[[], Any], out: Path) -> Any:
    """Run; on Ctrl-C say what was kept and exit 130 (no traceback)."""
    try:
        return run()
    except KeyboardInterrupt:
        console.print(
            f"\n[yellow]interrupted[/]: finished blocks of seeds are saved in {out}/chunks; "
            f"rerun with --resume --out {out} to continue",
            highlight=False,
        )
        raise typer.Exit(130) from None


def _finish(summary: dict[str, Any], out: Path, as_json: bool, started: float) -> None:
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2, default=float) + "\n")
    else:
        if "metrics" in summary:
            print_metrics(summary["metrics"])
        print_predictions(summary["predictions"])
    console.print(f"results in [bold]{out}[/] ({time.time() - started:.1f} s)", highlight=False)


