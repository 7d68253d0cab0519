"""The self-contained HTML report of a run folder and the comparison of two runs.

Two real (tiny) ``multiview simulate`` runs, differing only in ``--noise-scale``, are made once
per test run by the console script (see ``run_folders.py``); a real ``theorems`` run folder (its JSON and Markdown) is
kept in ``tests/data/theorems_run``.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import stat
from pathlib import Path

import pytest
import typer
from run_folders import tiny_runs
from typer.testing import CliRunner

from multiview.cli.report import report_command
from multiview.report.page import ReportError, build_comparison, build_report, flatten

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    return tiny_runs(tmp_path_factory)


@pytest.fixture
def theorems_run(tmp_path, runs) -> Path:
    """The stored theorems run folder, with the figures of a real simulate run."""
    run = tmp_path / "theorems"
    shutil.copytree(DATA / "theorems_run", run)
    shutil.copytree(runs[0] / "figures", run / "figures")
    return run


def _rows(page: str, table_class: str) -> list[str]:
    table = re.search(rf'<table class="{table_class}">(.*?)</table>', page, re.S)
    assert table, f"no table.{table_class}"
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(1), re.S).group(1)
    return re.findall(r"<tr[ >].*?</tr>", body, re.S)


def _check_self_contained(page: str) -> None:
    srcs = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert srcs and all(s.startswith("data:") for s in srcs), [s[:40] for s in srcs]
    assert "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page


def test_report_of_a_simulate_run(runs):
    run = runs[0]
    path = build_report(run)
    assert path == run / "report.html"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert not [p for p in run.iterdir() if p.name.startswith(".report.html")]  # no tmp left
    page = path.read_text()
    summary = json.loads((run / "summary.json").read_text())
    rows = _rows(page, "verdicts")
    assert len(rows) == len(summary["predictions"]) > 0
    for row, p in zip(rows, summary["predictions"], strict=True):
        want = p["verdict"]
        assert f'class="{want}"' in row and f">{want.replace('_', ' ')}<" in row
        assert html.escape(p["claim"]) in row and html.escape(p["expected"]) in row
        if p["measured"] is None:
            assert "n/a" in row
    # the metrics, config (dotted keys) and provenance are there
    assert 'table class="kv metrics"' in page and "test_acc_single" in page
    assert "<code>data.noise_scale</code>" in page
    config = json.loads((run / "config.json").read_text())
    assert config["run"]["jax_version"] in page and config["run"]["backend"] in page
    # every figure, inlined as a PNG data URI with a caption
    figures = sorted(p.name for p in (run / "figures").glob("*.png"))
    imgs = re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)
    assert len(imgs) == len(figures) == 6  # Lambda, views, accuracy, lottery, memorization, curves
    assert page.count("<figcaption>") == len(figures)
    for name in figures:
        assert f"figures/{name}" in page
    _check_self_contained(page)


def test_report_of_a_theorems_run(theorems_run):
    page = build_report(theorems_run).read_text()
    summary = json.loads((theorems_run / "summary.json").read_text())
    rows = _rows(page, "verdicts")
    assert len(rows) == len(summary["predictions"]) == 20
    fails = sum(not p["holds"] for p in summary["predictions"])
    assert sum('class="fails"' in r for r in rows) == fails
    methods = _rows(page, "methods")
    assert len(methods) == len(summary["methods"])
    assert "<code>theorems.kd_loss</code>" in page  # the experiment settings of config.json
    assert "report.md (source)" in page
    _check_self_contained(page)


def test_strings_from_the_files_are_escaped(tmp_path):
    run = tmp_path / "evil"
    run.mkdir()
    claim = '<script>alert("x")</script> & <b>bold</b>'
    (run / "summary.json").write_text(
        json.dumps(
            {
                "predictions": [
                    {
                        "id": "<i>id</i>",
                        "claim": claim,
                        "measured": float("nan"),
                        "measured_std": None,
                        "expected": "<= 0.5",
                        "holds": None,
                    }
                ],
                "metrics": {"<img src=x>": 1.0, "nan_metric": float("nan")},
            }
        )
    )
    (run / "config.json").write_text(json.dumps({"config": {"data": {"k": "<k>"}}}))
    (run / "report.md").write_text("</pre><script>bad()</script>")
    page = build_report(run).read_text()
    assert "<script" not in page and "<img src=x>" not in page and "<i>id</i>" not in page
    assert html.escape(claim) in page and "&lt;= 0.5" in page
    assert "&lt;k&gt;" in page
    row = _rows(page, "verdicts")[0]
    assert 'class="unknown"' in row and "n/a" in row  # holds: null, measured: NaN


@pytest.mark.parametrize(
    "content, what",
    [
        (None, "no such file"),
        ("{not json", "cannot read it as JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"predictions": [1]}', "not a list of objects"),
    ],
)
def test_missing_or_corrupt_summary_is_a_clear_error(tmp_path, content, what):
    run = tmp_path / "run"
    run.mkdir()
    if content is not None:
        (run / "summary.json").write_text(content)
    with pytest.raises(ReportError, match=what) as err:
        build_report(run)
    assert isinstance(err.value, ValueError) and "summary.json" in str(err.value)
    assert not (run / "report.html").exists()


def test_optional_files_are_omitted(tmp_path):
    run = tmp_path / "bare"
    run.mkdir()
    (run / "summary.json").write_text('{"predictions": []}')
    (run / "figures").mkdir()
    (run / "figures" / "broken.png").write_bytes(b"not a png")
    page = build_report(run).read_text()
    assert "<img" not in page and "unreadable" in page
    assert "Config" not in page and "Metrics" not in page


def test_comparison_lists_the_differing_field(runs, tmp_path):
    out = build_comparison(runs[0], runs[1], tmp_path / "cmp.html")
    page = out.read_text()
    diff = _rows(page, "config-diff")
    assert len(diff) == 1 and "<code>data.noise_scale</code>" in diff[0]
    assert ">1.5<" in diff[0] and ">2.0<" in diff[0]
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert len(_rows(page, "prediction-diff")) == len(summary["predictions"])
    assert _rows(page, "metrics-diff")
    _check_self_contained(page)


def test_flatten():
    assert flatten({"data": {"k": 10, "noise_scale": 1.5}, "seeds": 2, "e": {}}) == {
        "data.k": 10,
        "data.noise_scale": 1.5,
        "seeds": 2,
        "e": {},
    }


def test_sweep_and_cifar_folders(tmp_path, runs):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    cells = {
        f"noise_scale={x}_seeds={y}": {
            "x": ["noise_scale", x],
            "y": ["seeds", y],
            "metrics": {"single_view": [0.5, 0.1], "ensemble_gain": [None, None]},
        }
        for x in (1.0, 2.0)
        for y in (2, 4)
    }
    (sweep / "sweep.json").write_text(
        json.dumps(
            {
                "x": {"field": "noise_scale", "values": [1.0, 2.0]},
                "y": {"field": "seeds", "values": [2, 4]},
                "base_config": {"seeds": 2},
                "cells": cells,
            }
        )
    )
    shutil.copy(runs[0] / "figures" / "accuracy.png", sweep / "phase_diagram.png")
    page = build_report(sweep).read_text()
    assert page.count('<table class="sweep">') == 2  # one grid per metric
    assert len(_rows(page, "sweep")) == 2 and page.count("0.500 ± 0.100") == 4
    assert page.count("<img") == 1 and "Phase diagram" in page

    cifar = tmp_path / "cifar"
    cifar.mkdir()
    (cifar / "summary.json").write_text(
        json.dumps(
            {
                "preset": "smoke",
                "methods": {"single": {"mean": 0.5, "std": 0.01}},
                "runs": {"single": [0.49, 0.51]},
                "gains_points": {"ensemble": 2.5},
                "wall_seconds": 12.345,
                "config": {"seed": 0},
                "metadata": {"backend": "cpu"},
            }
        )
    )
    page = build_report(cifar).read_text()
    assert "cifar run" in page and "12.35" in page and "gains points" in page
    assert len(_rows(page, "methods")) == 1


def test_report_command(runs, tmp_path):
    app = typer.Typer()
    app.command()(report_command)
    app.command("other")(lambda: None)  # two commands, so "report" is a sub-command
    cli = CliRunner()
    res = cli.invoke(app, ["report-command", str(runs[0])])
    assert res.exit_code == 0, res.output
    assert (runs[0] / "report.html").exists()
    res = cli.invoke(app, ["report-command", str(runs[0]), str(runs[1])])
    assert res.exit_code == 0, res.output
    beside = runs[0].parent / f"compare-{runs[0].name}-{runs[1].name}.html"
    assert res.stdout.strip() == str(beside) and beside.exists()  # beside the runs
    assert not list(runs[0].glob("compare-*")) and not list(runs[1].glob("compare-*"))
    out = tmp_path / "x" / "c.html"
    assert (
        cli.invoke(app, ["report-command", str(runs[0]), str(runs[1]), "--out", str(out)]).exit_code
        == 0
        and out.exists()
    )
    res = cli.invoke(app, ["report-command", str(tmp_path / "missing")])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "missing" in lines[0]
    res = cli.invoke(app, ["report-command", *map(str, runs), str(runs[0]), "--out", str(out)])
    assert res.exit_code == 0 and "C = " in out.read_text()  # any number of runs
