"""The ``multiview`` command line. It parses, calls the experiments, prints and writes files.

One typer app (:data:`multiview.cli.common.app`); each command group lives in its own module
with a ``register(app)`` that adds its commands through
:func:`multiview.cli.common.add_command` (one error handler for all), and every group,
CIFAR included, is registered here the same way. Every config field is an option of every
experiment command (generated from the config dataclasses), on top of ``--preset``. Errors
the user can fix print one line and exit non-zero (2 for bad configuration or data), never
a traceback; Ctrl-C exits 130 after saying what was kept.
"""

from multiview.cli import bench, cifar, report, simulate, sweep, theorems
from multiview.cli.common import app
from multiview.console import run

__all__ = ["app", "main"]

for _group in (simulate, theorems, sweep, bench, cifar, report):
    _group.register(app)


def main() -> None:
    """Entry point of the ``multiview`` command line (see :mod:`multiview.console`, which
    the console script and ``python -m multiview`` call: Ctrl-C exits 130 every time)."""
    run(app)
