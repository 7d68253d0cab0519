import json

import numpy as np
import pytest
import typer
from tiny_args import tiny_args
from typer.testing import CliRunner

from multiview.errors import ConfigError
from multiview.experiments.sweep import cell_name, grid_arrays, parse_axis, run_sweep
from multiview.report.sweep import plot_heatmaps


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
