"""The Python API (multiview.api, multiview.results, multiview.plotting): presets with
overrides, typed results whose save/load round-trips with the command line's run folders,
the notebook verdict table, figures."""

from __future__ import annotations

import html
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.figure
import numpy as np
import pytest
from rich.console import Console
from run_folders import tiny_runs

import multiview as mv
from multiview.outdir import MARKER
from multiview.report.tables import verdict_table
from multiview.results import SimulationRun

#: The run of tests/run_folders.py (its command line options), as overrides of the quick preset.
OVERRIDES = dict(seeds=2, steps=30, n_test=50, n_train=40, d=64, k=4, chunks=1, log_points=4)
THEOREM_1 = ["learn_subset", "lottery", "memorize", "single_view_half"]


@pytest.fixture(scope="module")
def sim_run() -> SimulationRun:
    return mv.simulate(mv.preset("quick", **OVERRIDES, noise_scale=1.5), progress=False)


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    return tiny_runs(tmp_path_factory)


def test_preset_overrides_any_field_by_name():
    cfg = mv.preset("quick", noise_scale=2.0, seeds=4, lr=0.5)
    assert (cfg.data.noise_scale, cfg.seeds, cfg.train.lr) == (2.0, 4, 0.5)
    assert cfg.data.k == mv.PRESETS["quick"].data.k
    with pytest.raises(mv.ConfigError, match="unknown config field 'nope'"):
        mv.preset("quick", nope=1)
    with pytest.raises(mv.ConfigError):
        mv.preset("quick", seeds=0)
    assert mv.theorems_config(ensemble_sizes=(1, 2)).ensemble_sizes == (1, 2)


def test_simulate_returns_typed_predictions(sim_run):
    assert [p.id for p in sim_run.predictions] == THEOREM_1
    assert all(isinstance(p, mv.Prediction) for p in sim_run.predictions)
    assert "learn_subset" in repr(sim_run.predictions)  # print(r.predictions) is readable
    S, k, V = 2, 4, sim_run.config.data.views
    assert sim_run.per_seed["learned"].shape == (S, k, V)
    assert sim_run.trajectories["lambda"].shape == (S, len(sim_run.steps), k, V)
    assert sim_run.metrics["test_acc_single"] == pytest.approx(
        np.mean(sim_run.per_seed["test_acc_single"])
    )
    with pytest.raises(AttributeError):
        sim_run.config = None  # frozen


def test_the_same_run_from_the_api_and_the_cli_writes_the_same_folder(sim_run, cli_runs, tmp_path):
    cli = cli_runs[0]  # `multiview simulate ... --noise-scale 1.5 --out cli`
    assert (cli / "report.html").is_file()
    loaded = mv.load(cli)
    assert loaded == sim_run  # same config, predictions, metrics, per-seed arrays, weights
    saved = sim_run.save(tmp_path / "api")
    files = lambda d: sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())  # noqa: E731
    claim = (MARKER,)  # the command line's record of whose folder it is
    assert [f for f in files(saved) if f not in claim] == [
        f for f in files(cli) if not f.startswith("blocks/") and f not in claim
    ]
    assert mv.load(saved) == sim_run
    assert json.loads((saved / "summary.json").read_text()) == json.loads(
        (cli / "summary.json").read_text()
    )


def test_repr_html_has_one_row_per_prediction(sim_run):
    page = sim_run._repr_html_()
    assert page.count("<tr><td>") == len(sim_run.predictions)
    for p in sim_run.predictions:
        assert html.escape(p.claim) in page and html.escape(p.expected) in page
    assert "\x1b" not in page and "&lt;span" not in page  # n/a is markup, not escaped text


def test_figures_of_a_simulation(sim_run):
    for plot in (mv.plot_lambda, mv.plot_learned_views, mv.plot_accuracy):
        fig = plot(sim_run)
        assert isinstance(fig, matplotlib.figure.Figure) and fig.axes
        matplotlib.pyplot.close(fig)


def test_ensemble_result_round_trips_reuses_single_models_and_plots(tmp_path):
    cfg = mv.preset("quick", **{**OVERRIDES, "seeds": 4})
    th = mv.theorems_config(ensemble_sizes=(1, 2, 4))
    r = mv.ensemble(cfg, th, progress=False)
    assert [p.id for p in r.predictions][: len(THEOREM_1)] == THEOREM_1
    assert "ensemble_curve" in {p.id for p in r.predictions}
    assert r.ensemble_curve["K"] == [1, 2, 4]
    assert mv.ensemble(th=th, sim=r.simulation, progress=False) == r  # reused == retrained
    out = r.save(tmp_path / "ens")
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    loaded = mv.load(out)
    assert isinstance(loaded, mv.TheoremsRun) and loaded == r
    assert mv.load(loaded.save(tmp_path / "copy")) == r
    fig = mv.plot_ensemble_curve(loaded)
    assert isinstance(fig, matplotlib.figure.Figure)
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match="per-seed arrays"):
        mv.plot_lambda(loaded)


def test_the_api_does_not_shadow_the_cifar_package():
    import multiview.cifar.presets as cifar_presets  # noqa: PLC0415 - the import form under test

    assert cifar_presets.PRESETS and callable(mv.cifar_experiments)


def test_load_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(mv.DataError, match="summary.json"):
        mv.load(tmp_path)


def test_cli_verdict_table_fits_80_columns(cli_runs):
    """`multiview simulate` with COLUMNS=80 (tests/run_folders.py): one line per prediction,
    no line wider than 80; the claims are left to the report and --verbose."""
    out = cli_runs[0]
    stdout = out.with_name(out.name + ".stdout").read_text()
    lines = stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 80
    summary = json.loads((out / "summary.json").read_text())
    for p in summary["predictions"]:
        rows = [line for line in lines if line.strip().startswith(p["id"] + " ")]
        assert len(rows) == 1 and p["expected"] in rows[0], (p["id"], stdout)
        assert p["claim"] not in stdout


def test_verbose_table_adds_the_claims_and_still_fits(sim_run):
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(sim_run.verdicts(verbose=True))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "claim" in text and sim_run.predictions[0].claim.split()[0] in text


def test_compact_table_of_every_theorem_fits_80_columns():
    """Every prediction of a real all-in-one run (tests/data/theorems_run), one line each at
    width 80."""
    data = Path(__file__).parent / "data" / "theorems_run" / "summary.json"
    preds = json.loads(data.read_text())["predictions"]
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(verdict_table(preds))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    for p in preds:
        assert len([line for line in lines if line.strip().startswith(p["id"] + " ")]) == 1


@pytest.mark.slow
def test_api_runs_without_a_notebook_and_prints_no_control_codes():
    """`python -c "import multiview as mv; ..."` as the README shows it, output captured."""
    code = (
        "import multiview as mv; "
        f"r = mv.simulate(mv.preset('quick', **{OVERRIDES!r})); print(r.predictions)"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "learn_subset" in proc.stdout and "paper predictions hold" in proc.stdout  # the table
    assert "\x1b" not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_sweep_result_round_trips(tmp_path):
    cfg = mv.preset("quick", **OVERRIDES)
    r = mv.sweep(cfg, ("noise_scale", [1.0, 2.0]), "lr=0.5", ensemble_size=2, progress=False)
    assert len(r.grid["cells"]) == 2
    mean, std = r.metric("single_view")
    assert mean.shape == std.shape == (1, 2)
    out = r.save(tmp_path / "sweep")
    for name in ("sweep.json", "phase_diagram.png", "report.html"):
        assert (out / name).is_file()
    assert mv.load(out) == r
    fig = mv.plot_phase_diagram(r)
    assert isinstance(fig, matplotlib.figure.Figure)
    matplotlib.pyplot.close(fig)
    assert Path(out / "cells").is_dir()
