"""experiments/rf_contrast/rf_full_data.py: the pipeline's random-feature protocol, one feature set at a time."""

import json

import pytest

from experiments.rf_contrast import rf_full_data
from multiview.cifar.data import load_cifar
from multiview.cifar.experiments import prepare_data, run_cifar
from multiview.cifar.fixtures import write_image_zip
from multiview.cifar.presets import preset_config


@pytest.fixture(scope="module")
def tiny_zip(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "set.zip"
    return write_image_zip(path, classes=("a", "b", "c"), per_class_train=16, per_class_test=8)


@pytest.mark.slow  # run_cifar trains the tiny CNNs too (~40 s on 2 cores)
def test_the_script_reproduces_the_pipelines_random_feature_rows(tiny_zip, tmp_path):
    # Same seeds, feature keys, data orders and teacher as run_cifar's rf_* rows: the script
    # streams the features instead of caching them, and must not change a single accuracy.
    cfg = preset_config("tiny", seeds=4, ensemble_size=2, train_average_runs=2)
    data = prepare_data(load_cifar(str(tiny_zip)), cfg)
    pipeline = run_cifar(cfg, data, tmp_path / "run")["runs"]
    kd = (cfg.distill.alpha, cfg.distill.temperature)
    mine = rf_full_data.run_setting(data, cfg.rf, (kd,), 4, 2, 2, lambda _m: None)["runs"]
    pct = {k: [100 * v for v in vals] for k, vals in pipeline.items()}
    assert mine["single"] == pytest.approx(pct["rf_single"], abs=1e-9)
    assert mine["ensemble"] == pytest.approx(pct["rf_ensemble"], abs=1e-9)
    assert mine["fresh"] == pytest.approx(pct["rf_fresh_single"], abs=1e-9)
    assert mine[f"kd_a{kd[0]:g}_t{kd[1]:g}"] == pytest.approx(pct["rf_kd"], abs=1e-9)
    assert mine["train_average"] == pytest.approx(pct["rf_train_average"], abs=1e-9)


def test_results_file_resumes_by_setting_and_bad_input_is_one_line(
    tiny_zip, tmp_path, monkeypatch, capsys
):
    script = rf_full_data
    tiny = preset_config("tiny").rf
    monkeypatch.setattr(script, "SETTINGS", {"t": (tiny, ((0.5, 1.0),))})
    out = tmp_path / "rf.jsonl"
    args = ["--data", str(tiny_zip), "--out", str(out), "--settings", "t", "--seeds", "2"]
    assert script.main([*args, "--k", "2"]) == 0
    (line,) = out.read_text().splitlines()
    record = json.loads(line, parse_constant=pytest.fail)  # strict JSON: no NaN
    assert record["differences"]["ensemble_vs_members"]["low"] is None  # one group: no interval
    assert record["config"]["features"] == tiny.dim and len(record["runs"]["single"]) == 2
    assert record["differences"]["kd_a0.5_t1_vs_fresh"]["n"] == 2
    (fit,) = record["runs"]["train_average_train"]  # one group of 2: one joint model
    assert 0 <= fit <= 100
    before = out.read_bytes()
    assert script.main([*args, "--k", "2"]) == 0 and out.read_bytes() == before  # skipped
    assert "already in" in capsys.readouterr().out
    # a line written before RFConfig had `whiten` ran without it: still the same setting
    old = {**record, "config": {**record["config"], "rf": dict(record["config"]["rf"])}}
    del old["config"]["rf"]["whiten"], old["config"]["rf"]["whiten_eps"]
    out.write_text(json.dumps(old) + "\n")
    assert script.main([*args, "--k", "2"]) == 0 and len(out.read_text().splitlines()) == 1
    assert "already in" in capsys.readouterr().out
    assert script.main([*args, "--k", "1"]) == 0  # another configuration: a second line
    assert len(out.read_text().splitlines()) == 2
    (tmp_path / "bad.jsonl").write_text("not json\n")
    for bad in (
        ["--settings", "nope"],
        ["--k", "3"],
        ["--average-runs", "-1"],
        ["--out", str(tmp_path)],
        ["--out", str(tmp_path / "bad.jsonl")],
        ["--data", str(tmp_path / "absent.zip")],
    ):
        assert script.main([*args, *bad]) == 2
        assert capsys.readouterr().err.count("\n") == 1
