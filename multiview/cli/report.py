"""``multiview report RUN [RUN_B]``: (re)build a run's ``report.html``, or compare two runs.

A shim over :mod:`multiview.report.html`; register it with ``register(app)`` or
``app.command("report")(report_command)``. Errors print one line, ``error: ...``, on stderr
and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from multiview.cli.common import add_command
from multiview.cli.runs import print_json
from multiview.report.html import ReportError, build_comparison, build_report

__all__ = ["report_command", "register"]


def report_command(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="a run folder (rebuild its report.html), or two to compare",
            metavar="RUN",
            show_default=False,
        ),
    ],
    out: Annotated[
        Optional[Path],  # noqa: UP045 - typer needs Optional here
        typer.Option(
            "--out",
            help="where to write the page (default: RUN/report.html, or "
            "RUN_A/compare-NAME.html for two runs, NAME being RUN_B's folder name)",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='print {"report": PATH} as JSON on stdout')
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="print nothing but errors")] = False,
) -> None:
    """Write a self-contained HTML page of one run, or of two runs side by side (config
    differences, prediction and metric deltas). Works on any earlier run folder."""
    try:
        if len(runs) == 1:
            path = build_report(runs[0], out)
        elif len(runs) == 2:
            name_b = runs[1].resolve().name or "run"
            path = build_comparison(runs[0], runs[1], out or runs[0] / f"compare-{name_b}.html")
        else:
            raise ReportError(
                f"give one run folder (its report) or two (a comparison), not {len(runs)}"
            )
    except (ReportError, OSError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        print_json({"report": path})
    elif not quiet:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app``."""
    add_command(app, "report", report_command)
