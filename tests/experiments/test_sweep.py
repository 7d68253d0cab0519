"""

A sweep killed midway and resumed gives the results of an uninterrupted run.

All runs share one small config, so the in-process ones compile once (conftest's 4 CPU
devices pad a 1-seed block and the 3-seed sweep to the same 4-seed shapes).
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import typer
from tiny_args import tiny_args
from typer.testing import CliRunner

from multiview.errors import ConfigError
from multiview.experiments.simulate import run_simulation
from multiview.experiments.sweep import cell_name, grid_arrays, parse_axis, run_sweep
from multiview.report.sweep import plot_heatmaps
from multiview.sim.config import preset, with_overrides


def test_parse_axis_casts_to_the_field_type():
    assert parse_axis("noise_scale=1,1.5") == ("noise_scale", [1.0, 1.5])
    assert parse_axis("n_train=100,200") == ("n_train", [100, 200])
    assert parse_axis("off-target-mode=fixed,bernoulli") == (
        "off_target_mode",
        ["fixed", "bernoulli"],
    )
    for bad, msg in (
        ("bogus=1", "not a config field"),
        ("n_train=1.5", "n_train"),
        ("n_train", "FIELD=v1"),
        ("d=", "at least one"),
        ("d=8,8", "distinct"),
    ):
        with pytest.raises(ConfigError, match=msg):
            parse_axis(bad)


def _fake_measure(calls):
    def measure(cfg, ensemble_size, on_chunk):
        calls.append((cfg.data.noise_scale, cfg.data.n_train))
        v = cfg.data.noise_scale / 10 + cfg.data.n_train / 1000
        return {
            "ensemble_size": ensemble_size,
            "metrics": {
                "single_view": (v, 0.01),
                "one_view": (0.5, 0.1),
                "ensemble_gain": (0.1, 0.0),
            },
        }

    return measure


def test_sweep_resumes_skipping_cells_on_disk(tiny_config, tmp_path):
    x, y = ("noise_scale", [1.0, 2.0]), ("n_train", [20, 40])
    calls = []
    grid = run_sweep(tiny_config, x, y, tmp_path, measure=_fake_measure(calls))
    assert len(calls) == 4 and len(list((tmp_path / "cells").glob("*.json"))) == 4
    # Lose one cell (as if interrupted), resume: only that cell runs again.
    (tmp_path / "cells" / f"{cell_name('noise_scale', 2.0, 'n_train', 40)}.json").unlink()
    calls.clear()
    seen = []
    grid2 = run_sweep(
        tiny_config,
        x,
        y,
        tmp_path,
        resume=True,
        measure=_fake_measure(calls),
        on_cell=lambda name, reused: seen.append(reused),
    )
    assert calls == [(2.0, 40)] and sorted(seen) == [False, True, True, True]
    assert json.loads(json.dumps(grid2["cells"])) == json.loads(json.dumps(grid["cells"]))
    mean, _ = grid_arrays(grid2, "single_view")
    np.testing.assert_allclose(mean, [[0.12, 0.22], [0.14, 0.24]])  # rows: y values
    # Without --resume everything is recomputed; a different base config refuses to resume.
    calls.clear()
    run_sweep(tiny_config, x, y, tmp_path, measure=_fake_measure(calls))
    assert len(calls) == 4
    with pytest.raises(ConfigError, match="different config"):
        run_sweep(
            tiny_config.__class__(data=tiny_config.data, seeds=5),
            x,
            y,
            tmp_path,
            resume=True,
            measure=_fake_measure([]),
        )
    paths = plot_heatmaps(grid2, tmp_path)
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths.values())


def test_sweep_rejects_same_field_and_invalid_cells(tiny_config, tmp_path):
    with pytest.raises(ConfigError, match="two different fields"):
        run_sweep(tiny_config, ("d", [64]), ("d", [32]), tmp_path)
    with pytest.raises(ConfigError, match="cell d=4"):
        run_sweep(tiny_config, ("d", [4]), ("k", [4]), tmp_path, measure=_fake_measure([]))


def _app():
    from multiview.cli.sweep import register

    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


TINY = tiny_args(n_test=50, log_points=4)


def test_sweep_cli_runs_a_tiny_grid_and_resumes(tmp_path):
    runner = CliRunner()
    args = [
        "sweep",
        "--x",
        "noise_scale=1.0",
        "--y",
        "lr=15",
        "--ensemble-size",
        "2",
        "--out",
        str(tmp_path),
        "--quiet",
        *TINY,
    ]
    r = runner.invoke(_app(), args)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "phase_diagram.png").exists()
    cell = json.loads((tmp_path / "cells" / "noise_scale=1.0__lr=15.0.json").read_text())
    assert set(cell["metrics"]) >= {"single_view", "one_view", "ensemble_gain"}
    r = runner.invoke(_app(), [*args, "--resume"])
    assert r.exit_code == 0 and "reused" not in r.output  # quiet
    r = runner.invoke(_app(), ["sweep", "--x", "bogus=1", "--y", "lr=1", "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert "not a config field" in r.output and "Traceback" not in r.output


def test_kd_cells_map_where_distillation_transfers(tmp_path):
    from typer.testing import CliRunner

    from multiview.cli import app

    out = tmp_path / "kd"
    args = ["sweep", "--x", "varrho=1,2", "--y", "init_std=0.1", "--measure", "kd"]
    args += tiny_args()
    args += ["--ensemble-size", "2", "--teacher-size", "2", "--kd-students", "1"]
    result = CliRunner().invoke(app, [*args, "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    grid = json.loads((out / "sweep.json").read_text())
    for cell in grid["cells"].values():
        assert {"kd_recovered", "kd_all_views", "teacher_contrast"} <= set(cell["metrics"])
        assert cell["theorems"]["teacher_size"] == 2
    assert (out / "phase_diagram_kd.png").exists()
    bad = CliRunner().invoke(app, [*args, "--measure", "magic", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "measure" in bad.output


OPTS = dict(
    k=3,
    d=16,
    patches=6,
    n_train=24,
    n_test=20,
    off_target=1,
    width=2,
    steps=400,
    chunks=40,
    log_points=6,
    seeds=3,
)
CFG = with_overrides(preset("default"), **OPTS)


@pytest.fixture(scope="module")
def whole():
    """The uninterrupted sweep, all seeds at once."""
    return run_simulation(CFG)


def _assert_same(a, b):
    np.testing.assert_allclose(np.asarray(a.weights), np.asarray(b.weights), rtol=1e-5, atol=1e-7)
    for name in b.history.records:
        np.testing.assert_allclose(
            a.history.records[name], b.history.records[name], rtol=1e-5, atol=1e-7, err_msg=name
        )
    for name in ("learned", "test_acc_multi", "test_acc_single", "train_acc"):
        np.testing.assert_array_equal(a.per_seed[name], b.per_seed[name], err_msg=name)
    assert a.summary["metrics"] == pytest.approx(
        b.summary["metrics"], rel=1e-6, abs=1e-9, nan_ok=True
    )
    assert [p["holds"] for p in a.summary["predictions"]] == [
        p["holds"] for p in b.summary["predictions"]
    ]


class _CtrlC(KeyboardInterrupt):
    pass


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, whole):
    def stop_after_first(start, stop, reused):
        raise _CtrlC  # Ctrl-C right after the first block was saved

    with pytest.raises(KeyboardInterrupt):
        run_simulation(CFG, out=tmp_path, seed_block=1, on_block=stop_after_first)
    assert [p.name for p in (tmp_path / "blocks").glob("seeds_*.npz")] == [
        "seeds_000000_000001.npz"
    ]
    blocks = []
    resumed = run_simulation(
        CFG,
        out=tmp_path,
        seed_block=1,
        resume=True,
        on_block=lambda a, b, r: blocks.append((a, b, r)),
    )
    assert blocks == [(0, 1, True), (1, 2, False), (2, 3, False)]
    _assert_same(resumed, whole)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cli_sweep_stopped_by_ctrl_c_then_resumed(tmp_path, sig, code):
    """`multiview simulate --seed-block 1`, SIGINT (Ctrl-C) or SIGTERM (a scheduler) once a
    block is on disk, then resume: the results of an uninterrupted run."""
    seeds = 12  # enough blocks that the signal lands while later blocks still train
    cfg = with_overrides(CFG, seeds=seeds)
    opts = [
        a
        for key, v in {**OPTS, "seeds": seeds}.items()
        for a in (f"--{key.replace('_', '-')}", str(v))
    ]
    cmd = [
        sys.executable,
        "-m",
        "multiview",
        "simulate",
        *opts,
        "--seed-block",
        "1",
        "--out",
        str(tmp_path),
        "--quiet",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "XLA_FLAGS": ""},
    )
    blocks = tmp_path / "blocks"
    first = blocks / "seeds_000000_000001.npz"
    deadline = time.time() + 90
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err  # it was interrupted midway, not finished
    assert "--resume" in err and not (tmp_path / "summary.json").exists()
    saved = sorted(p.name for p in blocks.glob("seeds_*.npz"))
    assert 1 <= len(saved) < seeds
    assert saved == [f"seeds_{s:06d}_{s + 1:06d}.npz" for s in range(len(saved))]
    reused = []
    resumed = run_simulation(
        cfg, out=tmp_path, seed_block=1, resume=True, on_block=lambda a, b, r: reused.append(r)
    )
    assert reused == [True] * len(saved) + [False] * (seeds - len(saved))
    _assert_same(resumed, run_simulation(cfg))
