"""The kernel baselines' settings (KernelConfig) reach the kernel runs from the Python API,
the command line's ``kernels.NAME=VALUE`` overrides and a config file's ``[kernels]`` table;
a bad value is one line and exit 2, and the defaults leave every file as it was."""

import json

import pytest
from tiny_args import tiny_args
from typer.testing import CliRunner

import multiview as mv
from multiview.cli import app
from multiview.sim.config_file import parse_overrides

runner = CliRunner()

#: A tiny simulator and the smallest kernel runs (random features only).
SIM = dict(seeds=4, steps=20, n_test=40, n_train=40, d=64, k=4, patches=8, width=2, chunks=1)
KC = mv.KernelConfig(seeds=2, rf_width=8, rf_steps=5, kinds=("rf",))


def test_kernel_config_is_public_and_its_defaults_are_unchanged():
    assert "KernelConfig" in mv.__all__
    kc = mv.KernelConfig()
    assert (kc.seeds, kc.rf_width, kc.rf_steps, kc.ntk_steps, kc.kinds) == (
        16,
        256,
        4000,
        500,
        ("rf", "ntk"),
    )


def test_the_api_runs_the_kernel_baselines_with_the_given_settings(tmp_path):
    cfg = mv.preset("quick", **SIM)
    th = mv.theorems_config(teacher_size=2)
    run = mv.theorems(cfg, th, parts=("rf",), kc=KC, out=tmp_path / "r", progress=False)
    methods = run.summary["methods"]
    assert "rf_single" in methods and not any(m.startswith("ntk_") for m in methods)
    recorded = json.loads((tmp_path / "r" / "config.json").read_text())["kernels"]
    assert recorded["rf_width"] == 8 and recorded["kinds"] == ["rf"]


def _capture(monkeypatch) -> dict:
    seen: dict = {}

    def run_and_write(cfg, th, parts, out, quiet, **more):
        seen.update(parts=parts, kc=more.get("kc"))
        return {"predictions": []}

    monkeypatch.setattr("multiview.cli.theorems.run_and_write", run_and_write)
    return seen


def test_the_command_line_sets_kernel_fields_by_override_and_config_file(tmp_path, monkeypatch):
    seen = _capture(monkeypatch)
    file = tmp_path / "k.toml"
    file.write_text('[kernels]\nrf_width = 8\nkinds = ["rf"]\n')
    args = [
        "theorems",
        *tiny_args(),
        "--teacher-size",
        "2",
        "--config",
        str(file),
        "kernels.rf_steps=5",
        "--quiet",
    ]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert (seen["kc"].rf_width, seen["kc"].rf_steps, seen["kc"].kinds) == (8, 5, ("rf",))
    assert "rf" in seen["parts"]
    marker = json.loads((tmp_path / "r" / ".multiview-run.json").read_text())
    assert marker["config"]["kernels"]["rf_width"] == 8


def test_without_kernel_settings_the_command_line_passes_the_defaults(tmp_path, monkeypatch):
    seen = _capture(monkeypatch)
    result = runner.invoke(
        app,
        ["theorems", *tiny_args(), "--teacher-size", "2", "--quiet", "--out", str(tmp_path / "r")],
    )
    assert result.exit_code == 0, result.output
    assert seen["kc"] == mv.KernelConfig()
    marker = json.loads((tmp_path / "r" / ".multiview-run.json").read_text())
    assert "kernels" not in marker["config"]


@pytest.mark.parametrize(
    ("command", "override", "needle"),
    [
        ("theorems", "kernels.rf_width=0", "rf_width = 0 is invalid"),
        ("theorems", "kernels.rf_width=wide", "rf_width = 'wide' is invalid"),
        ("theorems", "kernels.kinds=svm", "kinds = ('svm',) is invalid"),
        ("theorems", "kernels.bogus=1", "unknown config field 'kernels.bogus'"),
        ("ensemble", "kernels.rf_width=8", "runs no kernel baselines"),
    ],
)
def test_a_bad_kernel_setting_is_one_line_and_exit_2(tmp_path, command, override, needle):
    out = tmp_path / "x"
    result = runner.invoke(app, [command, *tiny_args(), override, "--out", str(out)])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and needle in lines[0], result.output
    assert not out.exists()


def test_kernel_overrides_are_typed():
    over = parse_overrides(
        ["kernels.rf_width=64", "kernels.kinds=rf,ntk", "kernels.eig_floor=1e-5"]
    )
    assert over.kernels == {"rf_width": 64, "kinds": ("rf", "ntk"), "eig_floor": 1e-5}
    assert over.sim == {} and over.theorems == {}
