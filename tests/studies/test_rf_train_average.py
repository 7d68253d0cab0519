"""experiments/rf_contrast/rf_train_average.py: both parameterizations of training the average, paired with
rf_full_data.py's members and ensembles, reproducing its train_average runs exactly."""

import json

from experiments.rf_contrast import rf_full_data, rf_train_average
from multiview.cifar.fixtures import write_image_zip
from multiview.cifar.presets import preset_config


def test_train_average_reproduces_and_pairs(tmp_path, monkeypatch, capsys):
    full_script, script = rf_full_data, rf_train_average
    settings = {"t": (preset_config("tiny").rf, ((0.5, 1.0),))}
    monkeypatch.setattr(full_script, "SETTINGS", settings)
    monkeypatch.setattr(script, "SETTINGS", settings)
    data = write_image_zip(
        tmp_path / "d.zip", classes=("a", "b", "c"), per_class_train=16, per_class_test=8
    )
    full, out = tmp_path / "full.jsonl", tmp_path / "avg.jsonl"
    common = ["--data", str(data), "--settings", "t"]
    assert full_script.main([*common, "--out", str(full), "--seeds", "4", "--k", "2"]) == 0
    args = [*common, "--full", str(full), "--out", str(out)]
    assert script.main(args) == 0
    (line,) = out.read_text().splitlines()
    record = json.loads(line, parse_constant=lambda c: 1 / 0)
    assert record["reproduced"] == 0.0  # the same features, keys and heads as rf_full_data
    assert (
        len(record["runs"]["concat_head"]) == 2
        and record["differences"]["concat_vs_ensemble"]["n"] == 2
    )
    before = out.read_bytes()
    assert script.main(args) == 0 and out.read_bytes() == before  # resumed: skipped
    capsys.readouterr()
    (tmp_path / "bad.jsonl").write_text("{\n")
    for bad in (
        ["--settings", "nope"],
        ["--full", str(tmp_path / "bad.jsonl")],
        ["--full", str(tmp_path / "absent.jsonl")],
        ["--out", str(tmp_path)],
        ["--data", str(tmp_path / "absent.zip"), "--out", str(tmp_path / "new.jsonl")],
    ):
        assert script.main([*args, *bad]) == 2
        assert capsys.readouterr().err.count("\n") == 1
