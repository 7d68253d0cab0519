"""Progress of the Python API: a bar that works in a terminal and in a Jupyter notebook.

In a terminal, a ``rich`` progress bar on stderr (as the command line shows). In a notebook,
an HTML bar updated in place through ``IPython.display`` (``display_id``), so a notebook's
captured output holds HTML and plain text, never terminal control codes, and no
``ipywidgets`` is needed. With ``progress=False`` nothing is shown.

Every display has the interface the experiments call: ``display(label)`` starts a stage and
returns its ``on_chunk(done, total)`` callback, ``skip(label, count)`` counts stages reused
from disk, ``note(text)`` prints a line, ``block(start, stop, reused)`` reports a finished
block of seeds and ``epoch(name, epoch, epochs, info)`` advances a CIFAR training group.
"""

from __future__ import annotations

import html
import sys
import time
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
    TimeRemainingColumn,
)

__all__ = [
    "NotebookProgress",
    "TerminalProgress",
    "expect_stages",
    "in_notebook",
    "progress_display",
]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), without importing IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _clock(seconds: float) -> str:
    """``H:MM:SS``, as rich's time columns write it."""
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class _Stages:
    """The bookkeeping both displays share: the overall count (``expect``), the rows of each
    stage, and each row's time remaining.

    A stage is one ``display(label)`` call; its first row is named ``label``. When its
    trainer starts over (a second model, the next block of seeds: fewer steps done than
    last reported, or another total) the finished row stays and a new row follows, named
    by :meth:`name_next` or ``label (run n)``: no bar restarts under one label. A row's time
    remaining is its rate since its first report, which comes after compiling.
    """

    def __init__(self):
        self.total: int | None = None
        self.unit = "stage"
        self.auto = True
        self.started = 0
        self.label = ""
        self.rows: dict[str, dict[str, Any]] = {}  # row -> {"first", "done", "total"}
        self.current: dict[str, str] = {}  # stage -> its row now
        self.runs: dict[str, int] = {}  # stage -> rows so far
        self.next_name: dict[str, str] = {}  # stage -> the name of its next row
        self.finished = False

    def completed(self) -> int:
        """The overall bar's count: stages before the running one (all once finished)."""
        if self.finished:
            return self.total or 0
        return max(self.started - 1, 0) if self.auto else self.started

    def expect(self, total: int, unit: str = "stage", auto: bool = True) -> None:
        self.total, self.unit, self.auto = total, unit, auto

    def overall(self) -> str:
        """``stage 3/13: KD students`` (or ``cells 2/4 done (last: ...)``)."""
        if self.auto:
            return f"{self.unit} {min(self.started, self.total or 0)}/{self.total}: {self.label}"
        last = f" (last: {self.label})" if self.label else ""
        return f"{self.unit}s {self.started}/{self.total} done{last}"

    def start(self, label: str) -> str:
        """A new stage: its name (``label``, or ``label (n)`` if a stage had it before)."""
        if self.auto:
            self.started += 1
            self.label = label
        stage, n = label, 1
        while stage in self.rows:
            n += 1
            stage = f"{label} ({n})"
        self.rows[stage] = {"first": None, "done": 0, "total": None}
        self.current[stage], self.runs[stage] = stage, 1
        return stage

    def skip(self, label: str, count: int) -> str:
        """``count`` stages reused from disk: counted as done, one finished row for all."""
        if self.auto:
            self.started += count
            self.label = f"{label} (reused)"
        row = f"{label}: reused from disk"
        self.rows[row] = {"first": None, "done": 1, "total": 1}
        return row

    def name_next(self, stage: str, name: str) -> None:
        self.next_name[stage] = name

    def report(self, stage: str, done: int, total: int, now: float) -> tuple[str, bool]:
        """Record ``done`` of ``total`` for ``stage``: (its row, whether the row is new)."""
        key = self.current[stage]
        row = self.rows[key]
        new = row["total"] is not None and (done < row["done"] or total != row["total"])
        if new:
            self.runs[stage] += 1
            key = self.next_name.pop(stage, None) or f"{stage} (run {self.runs[stage]})"
            self.current[stage] = key
            row = self.rows[key] = {"first": None, "done": 0, "total": None}
        if row["first"] is None:
            row["first"] = (now, done)
        row.update(done=done, total=total)
        return key, new

    def remaining(self, key: str, now: float) -> str:
        """``0:01:23`` left at the row's rate since its first report; ``compiling`` before
        that report, ``-:--:--`` until a second one gives a rate."""
        r = self.rows[key]
        if not r["total"]:
            return "compiling"
        if r["first"] is None:  # a row counted by someone else (CIFAR epochs)
            return ""
        (t0, d0), done = r["first"], r["done"]
        if done >= r["total"]:
            return "done"
        if now <= t0 or done <= d0:
            return "-:--:--"
        return _clock((r["total"] - done) * (now - t0) / (done - d0))


class TerminalProgress:
    """A ``rich`` bar per training stage on stderr (spinner, label, bar, done/total, elapsed,
    time remaining), under one overall bar when the number of stages is known
    (:meth:`expect`): ``stage 3/13: KD students``.

    A stage's bar says ``compiling`` until its first chunk returns; the time remaining is
    rich's estimate from the steps done since that first chunk, so compilation does not
    count. When a stage's trainer starts over under the same label (a second model, the
    next block of seeds), the finished bar stays and a new row follows.
    """

    def __init__(self, enabled: bool = True, console: Console | None = None):
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            disable=not enabled,
            speed_estimate_period=3600.0,  # the whole run since compilation, not 30 s
        )
        self.stages = _Stages()
        self.overall_task: Any = None
        self.tasks: dict[str, Any] = {}  # row (or CIFAR group) -> rich task
        self.current: str | None = None  # the stage that reported last

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if exc[0] is None and self.overall_task is not None and self.stages.auto:
            self.stages.finished = True
            self._overall()
        return self.progress.__exit__(*exc)

    def expect(self, total: int, unit: str = "stage", auto: bool = True) -> None:
        """Show an overall bar of ``total`` stages (``auto``: each :meth:`__call__` starts
        the next one) or of ``total`` units that :meth:`advance` counts (sweep cells). One
        stage or none needs no overall bar: its own bar is the whole run."""
        if total < 2:
            return
        self.stages.expect(total, unit, auto)
        self.overall_task = self.progress.add_task(self.stages.overall(), total=total)

    def advance(self, label: str = "") -> None:
        """One more of the expected units is done (``label``: which)."""
        self.stages.started += 1
        self.stages.label = label
        self._overall()

    def _overall(self) -> None:
        if self.overall_task is not None:
            self.progress.update(
                self.overall_task,
                completed=self.stages.completed(),
                description=self.stages.overall(),
            )

    def __call__(self, label: str) -> Callable[[int, int], None]:
        stage = self.stages.start(label)
        self._overall()
        self.tasks[stage] = self.progress.add_task(f"{stage} (compiling)", total=None)
        self.current = stage

        def update(done: int, total: int) -> None:
            key, new = self.stages.report(stage, done, total, time.monotonic())
            if new:  # started over: the finished bar stays, a new row follows
                self.tasks[key] = self.progress.add_task(key, total=total)
            self.current = stage
            self.progress.update(self.tasks[key], description=key, completed=done, total=total)

        return update

    def skip(self, label: str, count: int = 1) -> None:
        """``count`` stages reused from disk (a resumed run): the overall bar counts them as
        done and one finished row says so (``KD students: reused from disk``)."""
        row = self.stages.skip(label, count)
        self._overall()
        self.tasks[row] = self.progress.add_task(row, total=1, completed=1)

    def note(self, text: str) -> None:
        if not self.progress.disable:
            self.progress.console.print(text, highlight=False, markup=False)

    def block(self, start: int, stop: int, reused: bool) -> None:
        self.note(f"seeds {start}..{stop - 1}: {'reused from disk' if reused else 'done'}")
        if self.current is not None:
            # The finished bar says which seeds it trained; the next block gets its own row.
            key = self.stages.current[self.current]
            done = f"{self.current}: seeds {start}..{stop - 1}"
            self.progress.update(self.tasks[key], description=done)
            self.stages.name_next(self.current, f"{self.current}: seeds {stop}..")

    def epoch(self, name: str, epoch: int, epochs: int, info: str) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=epochs)
        self.progress.update(self.tasks[name], completed=epoch, description=f"{name}  {info}")


class NotebookProgress:
    """One HTML table of bars (an overall row, then one row per stage: label, bar,
    done/total, time remaining) and notes, redrawn in place in a notebook.

    The output is a ``display_data`` message with ``text/html`` and a ``text/plain``
    fallback, updated by ``display_id``: readable in Jupyter, in nbconvert and in captured
    output alike. Rows and times follow the terminal display's rules.
    """

    def __init__(self):
        self.stages = _Stages()
        self.order: list[str] = []
        self.notes: list[str] = []
        self.handle = None

    def __enter__(self):
        self.handle = self._display().display(self._bundle(), raw=True, display_id=True)
        return self

    def __exit__(self, *exc):
        if exc[0] is None and self.stages.total is not None and self.stages.auto:
            self.stages.finished = True
        if exc[0] is None and not self.order and not self.notes:
            self.notes.append("nothing to train: every result was reused")
        self._redraw()
        return False

    def _display(self):
        return sys.modules["IPython.display"]

    def _rows(self) -> list[tuple[str, int, int | None, str]]:
        now = time.monotonic()
        rows = []
        if self.stages.total:
            rows.append((self.stages.overall(), self.stages.completed(), self.stages.total, ""))
        for key in self.order:
            r = self.stages.rows[key]
            rows.append((key, r["done"], r["total"], self.stages.remaining(key, now)))
        return rows

    def _bundle(self) -> dict[str, str]:
        cells, plain = [], []
        for label, done, total, left in self._rows():
            frac = done / total if total else 0.0
            count = f"{done}/{total}" if total else "compiling"
            left = f"{left} left" if left and left not in ("compiling", "done") else left
            cells.append(
                f"<tr><td style='padding-right:1em'>{html.escape(label)}</td><td>"
                f"<progress value='{frac:.3f}' max='1' style='width:16em'></progress></td>"
                f"<td style='padding-left:1em'>{count}</td>"
                f"<td style='padding-left:1em'>{html.escape(left)}</td></tr>"
            )
            plain.append(f"{label}: {count}" + (f" ({left})" if left else ""))
        notes = "".join(f"<div>{html.escape(n)}</div>" for n in self.notes[-20:])
        table = f"<table>{''.join(cells)}</table>" if cells else ""
        return {
            "text/html": table + notes or "<div>starting</div>",
            "text/plain": "\n".join(plain + self.notes[-20:]) or "starting",
        }

    def _redraw(self) -> None:
        if self.handle is not None:
            self.handle.update(self._bundle(), raw=True)

    def expect(self, total: int, unit: str = "stage", auto: bool = True) -> None:
        """As :meth:`TerminalProgress.expect`."""
        if total < 2:
            return
        self.stages.expect(total, unit, auto)
        self._redraw()

    def advance(self, label: str = "") -> None:
        """As :meth:`TerminalProgress.advance`."""
        self.stages.started += 1
        self.stages.label = label
        self._redraw()

    def __call__(self, label: str) -> Callable[[int, int], None]:
        stage = self.stages.start(label)
        self.order.append(stage)
        self._redraw()

        def update(done: int, total: int) -> None:
            key, new = self.stages.report(stage, done, total, time.monotonic())
            if new:
                self.order.append(key)
            self._redraw()

        return update

    def skip(self, label: str, count: int = 1) -> None:
        """As :meth:`TerminalProgress.skip`."""
        self.order.append(self.stages.skip(label, count))
        self._redraw()

    def note(self, text: str) -> None:
        self.notes.append(text)
        self._redraw()

    def block(self, start: int, stop: int, reused: bool) -> None:
        self.note(f"seeds {start}..{stop - 1}: {'reused from disk' if reused else 'done'}")

    def epoch(self, name: str, epoch: int, epochs: int, info: str) -> None:
        key = f"{name}  {info}"
        self.stages.rows[key] = {"first": None, "done": epoch, "total": epochs}
        self.order = [k for k in self.order if not k.startswith(f"{name}  ")] + [key]
        self._redraw()


def expect_stages(display: Any, total: int, unit: str = "stage", auto: bool = True) -> None:
    """Tell ``display`` how many stages (or units) to expect, if it draws an overall bar (a
    display passed in by a caller may not)."""
    if callable(getattr(display, "expect", None)):
        display.expect(total, unit, auto)


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
