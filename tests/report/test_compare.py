"""Comparing any number of runs: metrics with interval and n, a difference coloured only when
its interval excludes 0, shared seeds said and paired, the page beside the runs; and the
per-seed / history CSV files every run folder writes."""

import csv
import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from multiview.cli import app
from multiview.report.compare import build_comparison, default_comparison_path
from multiview.report.run_tables import read_per_seed, write_run_tables
from multiview.stats import welch_interval

runner = CliRunner()


def _run(root, name, values, seeds=None, data_seed=0, noise=1.5):
    """A run folder with the files a simulate run writes that the page reads."""
    out = root / name
    out.mkdir()
    seeds = seeds or len(values)
    cfg = {"data": {"k": 4, "noise_scale": noise}, "model": {"width": 2}, "seeds": seeds}
    cfg["data_seed"] = data_seed
    cfg["init_seed"] = 1
    (out / "config.json").write_text(json.dumps({"config": cfg, "run": {}}))
    v = np.asarray(values, float)
    summary = {
        "metrics": {"test_acc_single": float(v.mean()), "test_acc_single_std": float(v.std())},
        "predictions": [{"id": "p", "claim": "c", "measured": float(v.mean()), "holds": True}],
    }
    (out / "summary.json").write_text(json.dumps(summary))
    write_run_tables(out, {"test_acc_single": v}, np.arange(3), {"loss": np.ones((seeds, 3))})
    return out


def _delta_cells(page: str) -> list[str]:
    return re.findall(r'<td class="num ?(\w*)">([^<]*)<span class="na">\(([^)]*)\)', page)


def test_three_runs_intervals_colours_and_shared_seeds(tmp_path):
    base = [0.50, 0.52, 0.48, 0.51, 0.49, 0.50, 0.53, 0.47]
    a = _run(tmp_path, "a", base)
    b = _run(tmp_path, "b", base[:6])  # the same config but fewer seeds: the same models
    c = _run(tmp_path, "c", [x + 0.2 for x in base], data_seed=5)  # another data set
    d = _run(tmp_path, "d", [x + 0.002 * (-1) ** i for i, x in enumerate(base)], data_seed=7)
    result = runner.invoke(app, ["report", *map(str, (a, b, c, d))])
    assert result.exit_code == 0, result.output
    out = default_comparison_path([a, b, c, d])
    assert result.stdout.strip() == str(out) and out.parent == tmp_path
    assert not [p for r in (a, b, c, d) for p in r.iterdir() if p.name.startswith("compare")]
    page = out.read_text()
    assert "A and B share seeds 0–5" in page and "same models" in page
    assert "C and" not in page.split("<h2>Seeds</h2>")[1].split("<h2>")[0]
    cells = _delta_cells(page)
    assert len(cells) == 3  # B, C, D against A
    (cls_b, text_b, how_b), (cls_c, _, how_c), (cls_d, _, how_d) = cells
    assert cls_b == "" and "+0.000 [+0.000, +0.000]" in text_b and how_b == "paired, n 6"
    assert cls_c == "pos" and how_c == "Welch, n 16"  # the interval excludes 0
    assert cls_d == "" and how_d == "Welch, n 16"  # a difference inside the noise: no colour
    assert "(n 8)" in page and "(n 6)" in page
    assert page.count('alt="metrics"') == 1  # the figure


def test_a_comparison_needs_two_runs_and_refuses_a_missing_one(tmp_path):
    a = _run(tmp_path, "a", [0.5, 0.6])
    with pytest.raises(ValueError, match="two run folders or more"):
        build_comparison([a], tmp_path / "x.html")
    result = runner.invoke(app, ["report", str(a), str(tmp_path / "missing")])
    assert result.exit_code == 2 and "missing" in result.output


def test_welch_interval_matches_the_textbook_value():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    d = welch_interval(a.mean(), a.std(), 3, b.mean(), b.std(), 3)
    # equal sample variances 1: se = sqrt(2/3), df = 4, t = 2.7764
    assert d["mean"] == 3.0 and d["half_width"] == pytest.approx(2.7764 * np.sqrt(2 / 3))
    assert np.isnan(welch_interval(0.5, 0.1, 1, 0.6, 0.1, 5)["low"])  # one value: none


def test_run_tables_are_csv_with_one_row_per_seed_and_step(tmp_path):
    per_seed = {"acc": np.array([0.5, np.nan, 0.25]), "learned": np.zeros((3, 4, 2))}
    records = {"loss": np.arange(6.0).reshape(3, 2), "lambda": np.zeros((3, 2, 4, 2))}
    paths = write_run_tables(tmp_path, per_seed, np.array([0, 10]), records)
    with open(paths["per_seed_csv"], newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["seed", "acc"] and rows[2] == ["1", "nan"]  # (S, k, V) arrays left out
    with open(paths["history_csv"], newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["seed", "step", "loss"] and len(rows) == 1 + 3 * 2
    assert rows[4] == ["1", "10", "3.0"]
    back = read_per_seed(tmp_path)
    assert np.array_equal(back["acc"], per_seed["acc"], equal_nan=True)
