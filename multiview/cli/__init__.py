"""The ``multiview`` command line. It parses, calls the experiments, prints and writes files.

One typer app (:data:`multiview.cli.common.app`); each command group lives in its own module
with a ``register(app)`` that adds its commands through
:func:`multiview.cli.common.add_command` (one error handler for all), and every group,
CIFAR included, is registered here the same way. Every config field is an option of every
experiment command (generated from the config dataclasses), on top of ``--preset``. Errors
the user can fix print one line and exit non-zero (2 for bad configuration or data), never
a traceback; Ctrl-C exits 130 after saying what was kept.
"""

import typer
from rich.markup import escape

from multiview.cli import bench, cifar, report, simulate, sweep, theorems
from multiview.cli.common import app, console
from multiview.signals import run

__all__ = ["app", "main", "run_command_line"]

for _group in (simulate, theorems, sweep, bench, cifar, report):
    _group.register(app)


def run_command_line() -> int:
    """Run the command line on ``sys.argv`` and return its exit code.

    Like typer's standalone mode, except that a usage error (an unknown option, a value of
    the wrong type) is one line on stderr, as every other error is, and exit code 2.
    """
    command = typer.main.get_command(app)
    try:
        result = command.main(prog_name="multiview", standalone_mode=False)
    except typer.Abort:
        return 130
    except Exception as err:
        if not (
            hasattr(err, "format_message") and isinstance(getattr(err, "exit_code", None), int)
        ):
            raise
        if not err.format_message().strip():  # no arguments: the help was shown
            return err.exit_code
        ctx = getattr(err, "ctx", None)
        where = f" ({ctx.command_path} --help lists the options)" if ctx is not None else ""
        console.print(f"[bold red]error:[/] {escape(err.format_message())}{where}", highlight=False)
        return err.exit_code
    return result if isinstance(result, int) else 0


def main() -> None:
    """Run the command line with Ctrl-C and SIGTERM handled (:mod:`multiview.signals`). The
    console script and ``python -m multiview`` start from :mod:`multiview.console` instead,
    which handles them from before this package (and JAX) is imported."""
    run(run_command_line)
