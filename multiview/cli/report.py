"""``multiview report RUN [RUN ...]``: (re)build a run's ``report.html``, or compare runs.

A shim over :mod:`multiview.report.page`; register it with ``register(app)`` or
``app.command("report")(report_command)``. Errors print one line, ``error: ...``, on stderr
and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from multiview.cli.common import add_command
from multiview.cli.runs import print_json
from multiview.report.compare import default_comparison_path
from multiview.report.page import ReportError, build_comparison, build_report

__all__ = ["report_command", "register"]


def report_command(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="a run folder (rebuild its report.html), or two or more to compare (the "
            "first is the reference of every difference)",
            metavar="RUN...",
            show_default=False,
        ),
    ],
    out: Annotated[
        Optional[Path],  # noqa: UP045 - typer needs Optional here
        typer.Option(
            "--out",
            help="where to write the page (default: RUN/report.html for one run; for "
            "several, compare-A-B-....html beside the first run's folder, never inside a run)",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='print {"report": PATH} as JSON on stdout')
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="print nothing but errors")] = False,
) -> None:
    """Write a self-contained HTML page of one run, or compare any number of runs: which
    seeds they share, config differences, every metric with its interval and n, differences
    to the first run with their 95% intervals, predictions and figures side by side. Works on
    any earlier run folder."""
    try:
        if len(runs) == 1:
            path = build_report(runs[0], out)
        else:
            path = build_comparison(runs, out or default_comparison_path(runs))
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
