"""Progress with an ETA: an overall "stage i/N" bar, compiling as its own state, a time left
from the steps per second after compilation, and no bar that restarts under one label, in a
terminal and in a notebook alike."""

import io
import sys
import types

import pytest
from rich.console import Console

from multiview.experiments.theorems import run_theorems, stage_count
from multiview.progress import NotebookProgress, TerminalProgress
from multiview.sim.config import TheoremsConfig


def _terminal() -> TerminalProgress:
    console = Console(file=io.StringIO(), width=160, force_terminal=False)
    return TerminalProgress(console=console)


def _rows(display: TerminalProgress) -> dict[str, tuple[float, float | None]]:
    return {t.description: (t.completed, t.total) for t in display.progress.tasks}


def test_terminal_bars_count_stages_say_compiling_and_never_restart():
    with _terminal() as display:
        display.expect(2)
        first = display("training the average")
        assert "training the average (compiling)" in _rows(display)
        assert "stage 1/2: training the average" in _rows(display)
        first(300, 600)
        first(600, 600)
        first(100, 200)  # the same stage trains a second model: a new row, the first stays
        rows = _rows(display)
        assert rows["training the average"] == (600, 600)
        assert rows["training the average (run 2)"] == (100, 200)
        display("KD students")(10, 50)
        assert _rows(display)["stage 2/2: KD students"] == (1, 2)
    assert _rows(display)["stage 2/2: KD students"] == (2, 2)  # all done at the end


def test_a_single_stage_draws_no_overall_bar():
    with _terminal() as display:
        display.expect(1)
        display("single models")(5, 10)
    assert list(_rows(display)) == ["single models"]


def test_terminal_shows_rich_time_remaining_after_compilation():
    display = _terminal()
    columns = [type(c).__name__ for c in display.progress.columns]
    assert "TimeRemainingColumn" in columns and "TimeElapsedColumn" in columns
    # rich's speed leaves out the first sample (the chunk that compiled)
    assert display.progress.speed_estimate_period >= 600


def test_next_block_of_seeds_gets_its_own_row():
    with _terminal() as display:
        chunk = display("single models")
        chunk(10, 10)
        display.block(0, 4, reused=False)
        chunk(5, 10)
        rows = _rows(display)
        assert rows["single models: seeds 0..3"] == (10, 10)
        assert rows["single models: seeds 4.."] == (5, 10)
        chunk(10, 10)
        display.block(4, 8, reused=False)
        assert "single models: seeds 4..7" in _rows(display)


def test_stages_reused_from_disk_count_and_say_so(monkeypatch):
    with _terminal() as display:
        display.expect(4)
        display.skip("single models", 1)
        display.skip("KD students", 2)
        rows = _rows(display)
        assert rows["single models: reused from disk"] == (1, 1)
        assert rows["KD students: reused from disk"] == (1, 1)
        display("self-distillation")(1, 10)
        assert _rows(display)["stage 4/4: self-distillation"] == (3, 4)
    shown = _fake_ipython(monkeypatch)
    with NotebookProgress() as display:
        display.expect(2)
        display.skip("single models", 1)
        display("KD students")
    assert "single models: reused from disk: 1/1" in shown[-1]["text/plain"]
    assert "stage 2/2: KD students: 2/2" in shown[-1]["text/plain"]


def _fake_ipython(monkeypatch) -> list[dict]:
    shown: list[dict] = []

    class Handle:
        def update(self, bundle, raw=True):
            shown.append(bundle)

    def display(bundle, raw=True, display_id=True):
        shown.append(bundle)
        return Handle()

    monkeypatch.setitem(sys.modules, "IPython.display", types.SimpleNamespace(display=display))
    return shown


def test_notebook_rows_have_the_overall_bar_and_a_time_left(monkeypatch):
    shown = _fake_ipython(monkeypatch)
    now = [0.0]
    monkeypatch.setattr("multiview.progress.time.monotonic", lambda: now[0])
    with NotebookProgress() as display:
        display.expect(3)
        step = display("single models")
        assert "compiling" in shown[-1]["text/plain"]
        now[0] = 100.0
        step(10, 100)  # compiled: the clock starts here, not at 0
        now[0] = 110.0
        step(30, 100)  # 20 steps in 10 s, 70 left -> 35 s
        assert "stage 1/3: single models: 0/3" in shown[-1]["text/plain"]
        assert "30/100 (0:00:35 left)" in shown[-1]["text/plain"]
        step(100, 100)
        step(5, 50)  # a restart: its own row
    html = shown[-1]["text/html"]
    assert "single models (run 2)" in html and "<progress" in html
    assert "0:00:35" not in html and "3/3" in shown[-1]["text/plain"]


@pytest.mark.slow
def test_stage_count_is_the_number_of_stages_a_run_shows(tiny_config):
    labels: list[str] = []
    th = TheoremsConfig(
        ensemble_sizes=(1, 2), teacher_size=2, kd_students=2, average_size=2, average_groups=1
    )
    parts = ("ensemble", "average", "kd", "sd")
    run_theorems(tiny_config, th, parts=parts, progress=lambda label: labels.append(label))
    assert len(labels) == stage_count(parts) == 5
    assert stage_count(("rf", "gaussian"), sim_given=True) == 8
