"""The ``multiview`` console script and ``python -m multiview``: the command line, with
Ctrl-C (exit 130) and SIGTERM (exit 143) handled from before JAX is imported.

The signal handlers (:mod:`multiview.signals`) are installed first, then the command line is
imported: that import takes seconds (JAX, matplotlib), and a Ctrl-C during it is recorded
and then reported as "interrupted while starting" instead of a traceback.
"""

from __future__ import annotations

from typing import NoReturn

from multiview.signals import install, run

install()  # before the import below: it loads JAX and matplotlib

from multiview.cli import run_command_line  # noqa: E402 - after the signal handlers, on purpose

__all__ = ["main"]


def main() -> NoReturn:
    """Entry point: run the command line (a signal that arrived while it was imported
    exits at once: nothing was done)."""
    run(run_command_line)
