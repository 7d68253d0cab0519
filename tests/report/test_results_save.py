"""The API's results: ``save`` keeps the command line's folder contract (another run is
refused unless ``force=True``, and replaced only once complete), predictions print as a
table, one number format, and tables wrap rather than cut."""

import dataclasses
import io
import json

import pytest
from rich.console import Console

import multiview as mv
from multiview.errors import ConfigError
from multiview.prediction_list import Predictions
from multiview.report.page_parts import fmt_mean_std
from multiview.report.tables import fmt_measured, verdict_table
from multiview.stats import format_mean_std

TINY = dict(seeds=2, steps=30, n_train=40, n_test=50, d=64, k=4, chunks=1, log_points=4)


@pytest.fixture(scope="module")
def two_runs():
    first = mv.simulate(mv.preset("quick", **TINY), progress=False)
    # another run: another config and other numbers (no second training needed)
    other = dataclasses.replace(first.config, seeds=3)
    metrics = {k: v + 1.0 for k, v in first.metrics.items()}
    return first, dataclasses.replace(first, config=other, metrics=metrics)


def test_save_refuses_another_run_unless_force(two_runs, tmp_path):
    first, second = two_runs
    out = first.save(tmp_path / "run")
    before = (out / "summary.json").read_text()
    with pytest.raises(ConfigError, match=r"holds another run .*force=True"):
        second.save(out)
    assert (out / "summary.json").read_text() == before  # the earlier result is intact
    second.save(out, force=True)
    assert mv.load(out) == second and (out / "summary.json").read_text() != before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    assert json.loads((out / "config.json").read_text())["config"]["seeds"] == 3


def test_save_into_an_empty_folder_needs_no_force(two_runs, tmp_path):
    (tmp_path / "empty").mkdir()
    assert mv.load(two_runs[0].save(tmp_path / "empty")) == two_runs[0]


def test_predictions_print_as_a_table(two_runs):
    preds = two_runs[0].predictions
    assert isinstance(preds, Predictions) and preds == tuple(preds)
    text = Predictions(preds).table(width=80)
    lines = text.splitlines()
    assert len(lines) >= len(preds) + 2 and all(len(line) <= 80 for line in lines)
    paper = [p for p in preds if p.kind == "paper"]
    assert f"{preds.held()} of {len(paper)} paper predictions hold" in text
    for p in preds:
        assert p.id in text
    assert str(preds) == repr(preds) and "\n" in repr(preds)
    assert "multiview-verdicts" in preds._repr_html_()
    assert "multiview-verdicts" in two_runs[0]._repr_html_()


def test_one_number_format_for_mean_and_std():
    assert format_mean_std(0.857, 0.000333) == "0.857 ± 0.000"
    assert fmt_mean_std(0.857, 0.000333) == "0.857 ± 0.000"
    # a verdict table shows the graded quantity in the same 3 decimals (its interval beside)
    assert fmt_measured({"measured": 0.857, "measured_std": 0.000333}) == "0.857"
    assert format_mean_std(float("nan"), 0.1) == "n/a" and format_mean_std(0.5) == "0.500"


def test_a_long_expectation_wraps_in_its_column_instead_of_being_cut():
    expected = "recovered fraction >= 0.8 (teacher gain 0.123) and every view of every class"
    pred = {"id": "kd_transfer", "measured": 0.5, "expected": expected, "holds": False}
    buf = io.StringIO()
    Console(file=buf, width=60, color_system=None).print(verdict_table([pred]))
    text = buf.getvalue()
    assert "…" not in text and all(len(line) <= 60 for line in text.splitlines())
    words = [w for w in expected.split() if len(w) > 3]
    assert all(w in text for w in words)  # wrapped over lines, every word still there
