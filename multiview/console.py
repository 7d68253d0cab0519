"""The ``multiview`` console script and ``python -m multiview``: Ctrl-C exits 130, always.

The command line imports JAX and matplotlib (seconds on a busy machine), so the SIGINT
handler is installed here, before those imports (this module and the package's lazy
``__init__`` import nothing heavy), and the command line is imported afterwards.

After an interrupt the process leaves with ``os._exit(130)`` once its output is flushed:
every result file is already complete on disk (atomic writes), and a normal interpreter
shutdown can crash (exit 139) while JAX's compile and dispatch threads are still running.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Callable
from typing import NoReturn

__all__ = ["main", "run"]

_interrupted: list[int] = []


def _on_sigint(signum, frame) -> None:
    _interrupted.append(signum)
    raise KeyboardInterrupt


def _exit_interrupted() -> NoReturn:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot interrupt the exit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(130)


def run(app: Callable[[], object]) -> NoReturn:
    """Run the typer ``app`` (standalone) and exit with its code; 130 after Ctrl-C."""
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        app()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    if _interrupted or code == 130:
        _exit_interrupted()
    sys.exit(code)


def main() -> NoReturn:
    """Entry point: import the command line with Ctrl-C already handled, then run it."""
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        cli = importlib.import_module("multiview.cli")  # seconds: JAX, matplotlib
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted while starting: nothing was done\n")
        _exit_interrupted()
    run(cli.app)
