"""End to end: `multiview cifar` at tiny size runs every experiment and writes the report."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import multiview.cifar.experiments as experiments_module
from multiview.cifar.config import CifarConfig
from multiview.cifar.experiments import (
    METHODS,
    PAIRING,
    paired_differences,
    runs_summary,
    versus_ensemble,
)
from multiview.cifar.fixtures import write_image_zip
from multiview.cifar.presets import PRESETS, preset_config
from multiview.cli import app as multiview_app
from multiview.errors import ConfigError, DataError
from multiview.report.cifar import format_table
from multiview.stats import group_seeds

ROOT = Path(__file__).resolve().parents[2]
#: Methods a run has only when asked for (``--kd-teacher both``, a student epoch multiplier).
OPTIONAL = {"kd_precomputed", "self_distill_precomputed", "single_long"}
QUIET = {"capture_output": True, "text": True, "timeout": 120}


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
    assert set(summary["methods"]) == set(METHODS) - OPTIONAL
    assert summary["teacher_modes"] == {"kd": "consistent", "self_distill": "consistent"}
    for m in set(METHODS) - OPTIONAL:
        stats = summary["methods"][m]
        assert set(stats) == {"mean", "std"} and 0.0 <= stats["mean"] <= 1.0
    assert len(summary["runs"]["single"]) == 3 and len(summary["runs"]["ensemble"]) == 1
    assert len(summary["runs"]["kd"]) == 3 and len(summary["runs"]["self_distill"]) == 3
    assert summary["data"]["n_train"] == 96 and summary["metadata"]["jax_version"]
    assert (out / "figure1.png").stat().st_size > 1000
    table = (out / "table.md").read_text()
    assert "| ensemble |" in table and "95% CI" in table and "Pairing:" in table
    diffs = summary["differences"]
    assert set(diffs) == set(PAIRING) - OPTIONAL
    assert diffs["kd"]["n"] == 3 and diffs["ensemble"]["n"] == 1 and diffs["rf_kd"]["n"] == 3
    assert diffs["rf_concat_head"]["n"] == diffs["rf_train_average"]["n"] == 1
    fit = summary["train_accuracy"]  # each run's accuracy on its own training images
    assert {m: len(v) for m, v in fit.items()} == {
        "single": 3,
        "train_average": 1,
        "rf_single": 3,
        "rf_train_average": 1,
        "rf_concat_head": 1,
    }
    assert all(0.0 <= a <= 1.0 for v in fit.values() for a in v)
    assert "Training-set accuracy" in table and "RF single" in table
    assert set(summary["versus_ensemble"]) == {
        "train_average",
        "rf_train_average",
        "rf_concat_head",
    }
    assert "Trained averages vs the ensemble" in table
    whole = summary["whole_ensemble"]  # all 3 singles in one ensemble (the groups hold 2)
    assert whole["models"] == 3 and 0 <= whole["ensemble"] <= 1 and 0 <= whole["rf_ensemble"] <= 1
    assert "Ensemble of all 3 single models" in table
    base = {"kd": "single", "self_distill": "single", "rf_kd": "rf_fresh_single"}
    for m in ("kd", "self_distill", "rf_kd"):  # paired: student i - its baseline i
        expect = np.subtract(summary["runs"][m], summary["runs"][base[m]])
        assert diffs[m]["mean"] == pytest.approx(100 * expect.mean(), abs=1e-6)
    assert "knowledge distillation" in res.output
    assert {p.name for p in (out / "checkpoints").iterdir()} == {
        "single.npz",
        "kd.npz",
        "self_distill.npz",
        "train_average.npz",
        "runs.json",  # the per-run accuracies as they finished: a cut run keeps its pairs
    }
    progress = json.loads((out / "checkpoints" / "runs.json").read_text())
    assert progress["runs"] == summary["runs"] and progress["groups"] == [[0, 1]]
    assert progress["whole_ensemble"] == whole

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


def test_cpu_small_and_gpu_presets_have_their_documented_sizes():
    cpu, gpu = preset_config("cpu-small"), preset_config("gpu")
    assert cpu.seeds == 6 and cpu.ensemble_size == 3 and cpu.train_subset is not None
    assert cpu.net.arch == "tiny" and cpu.test_subset is None
    assert gpu.seeds == 10 and gpu.net.arch == "airbench" and gpu.train_subset is None
    assert gpu.train.mixed_precision and set(PRESETS) >= {"cpu-small", "gpu"}


@pytest.mark.parametrize("name", ["cpu-small", "cpu", "gpu"])
def test_preset_gives_every_difference_an_interval(name):
    c = preset_config(name)
    assert c.seeds // c.ensemble_size >= 2  # ensembles have a spread
    assert min(c.train_average_runs, c.seeds // c.ensemble_size) >= 2  # so do averages
    assert c.train_average_runs <= c.seeds // c.ensemble_size  # and none goes unpaired


def test_cpu_preset_fits_its_budget():
    cpu = preset_config("cpu")
    assert cpu.train_subset is not None and cpu.test_subset is None and cpu.net.arch == "tiny"

    def work(c):  # single-model epochs; a consistent student also runs its teachers forward
        k = c.ensemble_size
        per_seed = 1 + (1 + k / 3) + (1 + 1 / 3)  # single, KD student, self-distilled student
        return c.train.epochs * (c.seeds * per_seed + c.train_average_runs * k)

    assert work(cpu) <= 1.5 * work(preset_config("cpu-small"))


def test_whole_ensemble_line_only_when_it_is_not_the_ensemble_row():
    runs = {"single": [0.5, 0.6, 0.55, 0.65], "ensemble": [0.6, 0.7]}
    summary = {**runs_summary(runs, [[0, 1], [2, 3]]), "config": {"ensemble_size": 2}}
    whole = {"models": 4, "ensemble": 0.71}
    table = format_table({**summary, "whole_ensemble": whole})
    assert "Ensemble of all 4 single models" in table and "71.00 (+13.50 vs" in table
    assert "Ensemble of all" not in format_table(summary)  # a cut run's table has none
    same = {**summary, "config": {"ensemble_size": 4}, "whole_ensemble": whole}
    assert "Ensemble of all" not in format_table(same)  # S == K: the ensemble row itself


def test_paired_differences_pair_by_seed_and_group():
    runs = {
        "single": [0.50, 0.60, 0.55, 0.65],
        "ensemble": [0.60, 0.66],
        "kd": [0.52, 0.61, 0.58, 0.66],
        "self_distill": [0.50, 0.60, 0.55, 0.65],
        "train_average": [0.56],
    }
    runs.update({f"rf_{m}": v for m, v in runs.items()})
    d = paired_differences(runs, group_seeds(4, 2).tolist())
    assert d["ensemble"]["mean"] == pytest.approx(100 * np.mean([0.60 - 0.55, 0.66 - 0.60]))
    assert d["ensemble"]["n"] == 2
    assert d["kd"]["mean"] == pytest.approx(100 * np.mean([0.02, 0.01, 0.03, 0.01]))
    assert d["kd"]["low"] > 0  # consistent gains: the interval excludes 0
    assert d["self_distill"]["mean"] == pytest.approx(0) and d["self_distill"]["n"] == 4
    assert d["train_average"]["n"] == 1 and d["train_average"]["mean"] == pytest.approx(1.0)
    assert d["rf_kd"]["mean"] == pytest.approx(d["kd"]["mean"])  # no rf_fresh_single: vs rf_single
    runs["rf_fresh_single"] = [0.52, 0.61, 0.58, 0.66]
    d = paired_differences(runs, group_seeds(4, 2).tolist())
    assert d["rf_kd"]["mean"] == pytest.approx(0) and d["rf_kd"]["pairing"] == PAIRING["rf_kd"]
    # Trained averages against the ensemble: run j vs ensemble j, as many pairs as both have.
    v = versus_ensemble(runs)
    assert set(v) == {"train_average", "rf_train_average"}  # no rf_concat_head runs here
    assert v["train_average"]["n"] == 1 and v["train_average"]["mean"] == pytest.approx(-4.0)
    runs["rf_concat_head"] = [0.70, 0.64]
    v = versus_ensemble(runs)["rf_concat_head"]
    assert v["n"] == 2 and v["mean"] == pytest.approx(100 * np.mean([0.10, -0.02]))


def test_a_run_cut_after_a_method_keeps_that_methods_runs(app, tiny_zip, tmp_path, monkeypatch):
    real = experiments_module.train_models

    def stop_at_self_distillation(*args, name, **kwargs):
        if name == "self_distill":  # e.g. a device's time limit, mid-table
            raise KeyboardInterrupt
        return real(*args, name=name, **kwargs)

    monkeypatch.setattr(experiments_module, "train_models", stop_at_self_distillation)
    out = tmp_path / "cut"
    res = _run(app, "--preset", "tiny", "--data", tiny_zip, "--out", out, "--seeds", "3",
               "--data-dir", tmp_path / "cache", "--quiet")  # fmt: skip
    assert res.exit_code != 0 and not (out / "summary.json").exists()
    runs = json.loads((out / "checkpoints" / "runs.json").read_text())["runs"]
    assert set(runs) == {"single", "ensemble", "kd"} and len(runs["kd"]) == 3
    # ... and their table, with the paired intervals of what finished
    script = [
        sys.executable,
        str(ROOT / "experiments" / "cifar_distillation" / "cifar_partial_table.py"),
    ]
    table = subprocess.run([*script, str(out / "checkpoints" / "runs.json")], **QUIET)
    assert table.returncode == 0, table.stderr
    assert "| knowledge distillation |" in table.stdout and "| 3 |" in table.stdout
    assert "self-distillation |" not in table.stdout and "Seconds: single" in table.stdout
    (tmp_path / "bad.json").write_text("{")
    bad = subprocess.run([*script, str(tmp_path / "bad.json")], **QUIET)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_ensembles_are_built_from_disjoint_runs_of_k_models():
    assert group_seeds(5, 2).tolist() == [[0, 1], [2, 3]]


@pytest.mark.slow
def test_gpu_preset_code_path_at_tiny_size(app, tmp_path):
    """The gpu preset (airbench, bf16, flip TTA, vmapped seeds) on CPU with tiny data.

    Two images a class: the full-width net's bf16 convolutions run slowly on a CPU, and
    this test is about the code path, not the accuracy (96 + 40 images took 60 s)."""
    data = write_image_zip(
        tmp_path / "set.zip", classes=("a", "b", "c", "d"), per_class_train=2, per_class_test=2
    )
    res = _run(
        app,
        "--preset",
        "gpu",
        "--data",
        data,
        "--out",
        tmp_path / "g",
        "--data-dir",
        tmp_path / "c",
        "--seeds",
        "2",
        "--ensemble-size",  # else training the average trains 2 x 10 members
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
    assert set(summary["methods"]) == set(METHODS) - OPTIONAL
