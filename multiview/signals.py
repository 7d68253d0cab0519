"""Ctrl-C and SIGTERM for the command line: Ctrl-C exits 130, always, and SIGTERM
(``timeout``, Slurm, a job scheduler) is handled the same way and exits 143.

The command line imports JAX and matplotlib (seconds on a busy machine), so the console
script (:mod:`multiview.console`) calls :func:`install` before those imports: this module
and the package's lazy ``__init__`` import nothing heavy. Until :func:`run` starts the
command, a signal is only recorded (an import half done must not be interrupted).

After an interrupt the process leaves with ``os._exit(130)`` (143 after SIGTERM) once its output is flushed:
every result file is already complete on disk (atomic writes), and a normal interpreter
shutdown can crash (exit 139) while JAX's compile and dispatch threads are still running.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import NoReturn

__all__ = [
    "install",
    "run",
    "interrupt_reported",
    "caused_by_interrupt",
    "stop_word",
]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_interrupted: list[int] = []
# Set once the command has said what an interrupt kept: otherwise the exit says it. A
# Ctrl-C while the options are parsed never reaches the command's handler, and typer (0.29)
# turns it into a silent exit code 130 that looks like the command's own.
_reported: list[bool] = [False]
_raising: list[bool] = [False]  # False while starting: an interrupt is only recorded
# Python code that runs inside the runtime's callbacks: an exception raised there is printed
# ("Exception ignored in ...") and dropped, so the interrupt is sent again a moment later.
_CALLBACKS = frozenset({"_xla_gc_callback", "__del__", "_remove"})


def _in_callback(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_name in _CALLBACKS:
            return True
        frame = frame.f_back
    return False


def _on_signal(signum, frame) -> None:
    _interrupted.append(signum)
    if not _raising[0]:
        return  # imports half done must not be interrupted (extensions can crash)
    if _in_callback(frame):
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        return
    raise KeyboardInterrupt  # SIGTERM too: every command's Ctrl-C handling applies


def install() -> None:
    """Handle Ctrl-C and SIGTERM from now on; until :func:`run` starts the command, a
    signal is only recorded."""
    for sig in _SIGNALS:
        signal.signal(sig, _on_signal)


def _terminated() -> bool:
    return bool(_interrupted) and _interrupted[-1] == signal.SIGTERM


def stop_word() -> str:
    """How the run was stopped, for the one line that says what was kept."""
    return "terminated (SIGTERM)" if _terminated() else "interrupted"


def _exit_interrupted(message: str = "") -> NoReturn:
    for sig in _SIGNALS:  # a second signal cannot interrupt the exit
        signal.signal(sig, signal.SIG_IGN)
    if message:
        sys.stderr.write(f"\n{message}\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(143 if _terminated() else 130)


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is a Ctrl-C or was raised because of one. The handler's
    ``KeyboardInterrupt`` can land inside library code that wraps what it catches: JAX,
    comparing pytree metadata when the signal arrives, re-raises it as a ``ValueError`` whose
    ``__cause__`` is the interrupt (seen once in CI: exit 1 and a traceback, not 130).

    The chain is followed as Python prints it: ``raise ... from None`` ends it, so the
    ``typer.Exit(130)`` a handler raises after reporting an interrupt is not one again."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return False


def interrupt_reported() -> None:
    """Called by the command's Ctrl-C handler once it has printed what was kept, so that
    the exit adds nothing; without it an exit code 130 says "nothing was done"."""
    _reported[0] = True


def run(command_line: Callable[[], int | None]) -> NoReturn:
    """Run ``command_line()`` (it returns the exit code, or exits) and exit with its code;
    130 after Ctrl-C, 143 after SIGTERM."""
    install()
    if _interrupted:  # while starting (the imports): nothing was done
        _exit_interrupted(f"{stop_word()} while starting: nothing was done")
    _raising[0] = True
    try:
        code = command_line() or 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        if not caused_by_interrupt(exc):
            raise
        code = 130
    if code == 130:  # the command said what was kept, or it never started
        _exit_interrupted("" if _reported[0] else f"{stop_word()}: nothing was done")
    if _interrupted:  # interrupted outside a command (parsing the options)
        _exit_interrupted(f"{stop_word()}: nothing was done")
    sys.exit(code)
