"""End to end: `multiview cifar` at tiny size runs every experiment and writes the report."""

import json

import pytest
from typer.testing import CliRunner

from multiview.cifar.config import PRESETS, CifarConfig, preset_config
from multiview.cifar.experiments import METHODS, ensemble_groups
from multiview.cifar.fixtures import write_image_zip
from multiview.cli import app as multiview_app
from multiview.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def app():
    return multiview_app  # the app users run: CIFAR is registered like every command group


@pytest.fixture(scope="module")
def tiny_zip(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "set.zip"
    return write_image_zip(
        path, classes=("a", "b", "c", "d"), per_class_train=24, per_class_test=10
    )


def _run(app, *args):
    return CliRunner().invoke(app, ["cifar", *map(str, args)], catch_exceptions=True)


def test_tiny_run_produces_every_method_table_and_chart(app, tiny_zip, tmp_path):
    out = tmp_path / "run"
    res = _run(
        app,
        "--preset",
        "tiny",
        "--data",
        tiny_zip,
        "--out",
        out,
        "--data-dir",
        tmp_path / "cache",
        "--seeds",
        "3",
        "--ensemble-size",
        "2",
        "--quiet",
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["methods"]) == set(METHODS)
    for m in METHODS:
        stats = summary["methods"][m]
        assert set(stats) == {"mean", "std"} and 0.0 <= stats["mean"] <= 1.0
    assert len(summary["runs"]["single"]) == 3 and len(summary["runs"]["ensemble"]) == 1
    assert len(summary["runs"]["kd"]) == 3 and len(summary["runs"]["self_distill"]) == 3
    assert summary["data"]["n_train"] == 96 and summary["metadata"]["jax_version"]
    assert (out / "figure1.png").stat().st_size > 1000
    assert "| ensemble |" in (out / "table.md").read_text()
    assert "knowledge distillation" in res.output
    assert {p.name for p in (out / "checkpoints").iterdir()} == {
        "single.npz",
        "kd.npz",
        "self_distill.npz",
        "train_average.npz",
    }

    # Resuming finds every model trained and gives the same answer.
    again = _run(
        app,
        "--preset",
        "tiny",
        "--data",
        tiny_zip,
        "--out",
        out,
        "--data-dir",
        tmp_path / "cache",
        "--seeds",
        "3",
        "--ensemble-size",
        "2",
        "--json",
        "--quiet",
        "--resume",
    )
    assert again.exit_code == 0, again.output
    resumed = json.loads(again.output)
    assert resumed["runs"] == summary["runs"]


def test_missing_data_is_one_clear_error(app, tmp_path):
    res = _run(app, "--data", tmp_path / "absent", "--out", tmp_path / "o")
    assert res.exit_code == DataError.exit_code and "Traceback" not in res.output
    assert res.output.startswith("error:") and "not found" in res.output


def test_corrupt_zip_is_one_clear_error(app, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    res = _run(app, "--data", bad, "--out", tmp_path / "o", "--data-dir", tmp_path / "c")
    assert res.exit_code == DataError.exit_code and res.output.startswith("error:")


def test_bad_preset_and_values(app, tiny_zip, tmp_path):
    res = _run(app, "--preset", "huge", "--data", tiny_zip, "--out", tmp_path / "o")
    assert res.exit_code == ConfigError.exit_code and "preset" in res.output
    with pytest.raises(ConfigError, match="ensemble_size"):
        CifarConfig(seeds=2, ensemble_size=3)
    with pytest.raises(ConfigError, match="train.epochs"):
        preset_config("tiny", train__epochs=0)


def test_presets_match_the_issue():
    cpu, gpu = preset_config("cpu-small"), preset_config("gpu")
    assert cpu.seeds == 5 and cpu.ensemble_size == 5 and cpu.train_subset is not None
    assert cpu.net.arch == "tiny" and cpu.test_subset is None
    assert gpu.seeds == 10 and gpu.net.arch == "airbench" and gpu.train_subset is None
    assert gpu.train.mixed_precision and set(PRESETS) >= {"cpu-small", "gpu"}


def test_ensemble_groups_are_disjoint_runs_of_k():
    assert ensemble_groups(5, 2) == [[0, 1], [2, 3]]


@pytest.mark.slow
def test_gpu_preset_code_path_at_tiny_size(app, tiny_zip, tmp_path):
    """The gpu preset (airbench, bf16, flip TTA, vmapped seeds) on CPU with tiny data."""
    res = _run(
        app,
        "--preset",
        "gpu",
        "--data",
        tiny_zip,
        "--out",
        tmp_path / "g",
        "--data-dir",
        tmp_path / "c",
        "--seeds",
        "2",
        "--epochs",
        "1",
        "--seed-parallel",
        "vmap",
        "--json",
        "--quiet",
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["config"]["net"]["arch"] == "airbench"
    assert summary["config"]["train"]["mixed_precision"] is True
    assert set(summary["methods"]) == set(METHODS)
