"""Progress of the Python API: a bar that works in a terminal and in a Jupyter notebook.

In a terminal, a ``rich`` progress bar on stderr (as the command line shows). In a notebook,
an HTML bar updated in place through ``IPython.display`` (``display_id``), so a notebook's
captured output holds HTML and plain text, never terminal control codes, and no
``ipywidgets`` is needed. With ``progress=False`` nothing is shown.

Every display has the interface the experiments call: ``display(label)`` starts a stage and
returns its ``on_chunk(done, total)`` callback, ``note(text)`` prints a line, ``block(start,
stop, reused)`` reports a finished block of seeds and ``epoch(name, epoch, epochs, info)``
advances a CIFAR training group.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["NotebookProgress", "TerminalProgress", "in_notebook", "progress_display"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), without importing IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class TerminalProgress:
    """A ``rich`` bar per training stage on stderr (spinner, label, bar, done/total, time)."""

    def __init__(self, enabled: bool = True, console: Console | None = None):
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            disable=not enabled,
        )
        self.tasks: dict[str, Any] = {}
        self.current: tuple[Any, str] | None = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, label: str) -> Callable[[int, int], None]:
        task = self.progress.add_task(f"{label} (compiling)", total=None)
        self.current = (task, label)

        def update(done: int, total: int) -> None:
            self.progress.update(task, description=label, completed=done, total=total)

        return update

    def note(self, text: str) -> None:
        if not self.progress.disable:
            self.progress.console.print(text, highlight=False, markup=False)

    def block(self, start: int, stop: int, reused: bool) -> None:
        self.note(f"seeds {start}..{stop - 1}: {'reused from disk' if reused else 'done'}")
        if self.current is not None:
            # The bar stays full and says what is done; the next block's first chunk
            # restarts it (a last block must not leave a "next block" bar at 0).
            task, label = self.current
            self.progress.update(task, description=f"{label}: seeds 0..{stop - 1} done")

    def epoch(self, name: str, epoch: int, epochs: int, info: str) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=epochs)
        self.progress.update(self.tasks[name], completed=epoch, description=f"{name}  {info}")


class NotebookProgress:
    """One HTML table of bars (one row per stage) and notes, redrawn in place in a notebook.

    The output is a ``display_data`` message with ``text/html`` and a ``text/plain``
    fallback, updated by ``display_id``: readable in Jupyter, in nbconvert and in captured
    output alike.
    """

    def __init__(self):
        self.rows: dict[str, tuple[int, int | None]] = {}
        self.notes: list[str] = []
        self.handle = None

    def __enter__(self):
        self.handle = self._display().display(self._bundle(), raw=True, display_id=True)
        return self

    def __exit__(self, *exc):
        self._redraw()
        return False

    def _display(self):
        return sys.modules["IPython.display"]

    def _bundle(self) -> dict[str, str]:
        cells, plain = [], []
        for label, (done, total) in self.rows.items():
            frac = done / total if total else 0.0
            count = f"{done}/{total}" if total else "compiling"
            cells.append(
                f"<tr><td style='padding-right:1em'>{html.escape(label)}</td><td>"
                f"<progress value='{frac:.3f}' max='1' style='width:16em'></progress></td>"
                f"<td style='padding-left:1em'>{count}</td></tr>"
            )
            plain.append(f"{label}: {count}")
        notes = "".join(f"<div>{html.escape(n)}</div>" for n in self.notes[-20:])
        return {
            "text/html": f"<table>{''.join(cells)}</table>{notes}",
            "text/plain": "\n".join(plain + self.notes[-20:]),
        }

    def _redraw(self) -> None:
        if self.handle is not None:
            self.handle.update(self._bundle(), raw=True)

    def __call__(self, label: str) -> Callable[[int, int], None]:
        self.rows[label] = (0, None)
        self._redraw()

        def update(done: int, total: int) -> None:
            self.rows[label] = (done, total)
            self._redraw()

        return update

    def note(self, text: str) -> None:
        self.notes.append(text)
        self._redraw()

    def block(self, start: int, stop: int, reused: bool) -> None:
        self.note(f"seeds {start}..{stop - 1}: {'reused from disk' if reused else 'done'}")

    def epoch(self, name: str, epoch: int, epochs: int, info: str) -> None:
        self.rows[f"{name}  {info}"] = (epoch, epochs)
        self._redraw()


@contextmanager
def progress_display(progress: Any = True) -> Iterator[Any]:
    """The display for a ``progress`` argument of the API, opened for a ``with`` block:
    ``True`` (a notebook bar in Jupyter, a terminal bar elsewhere), ``False`` (nothing), or
    an already open object with the display interface (e.g. the command line's), used as it
    is (and left open)."""
    if progress is True or progress is False or progress is None:
        made = NotebookProgress() if progress is True and in_notebook() else None
        made = made or TerminalProgress(enabled=bool(progress))
        with made as display:
            yield display
    else:
        yield progress
