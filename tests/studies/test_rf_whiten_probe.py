"""experiments/rf_contrast/rf_whiten_probe.py: one random-feature model per feature map, a line each."""

import json

from experiments.rf_contrast import rf_whiten_probe
from multiview.cifar.fixtures import write_image_zip


def test_probe_writes_a_line_per_setting_and_refuses_bad_input(tmp_path, monkeypatch, capsys):
    probe = rf_whiten_probe
    monkeypatch.setattr(probe, "PROBES", ((4, 16, 2, None), (4, 16, 2, 0.1)))
    data = write_image_zip(
        tmp_path / "d.zip", classes=("a", "b"), per_class_train=8, per_class_test=4
    )
    out = tmp_path / "probe.jsonl"
    assert probe.main(["--data", str(data), "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["rf"]["whiten"] for line in lines] == [False, True]
    assert all(line["features"] == 16 and 0 <= line["test"] <= 100 for line in lines)
    capsys.readouterr()
    for bad in (
        ["--data", str(tmp_path / "absent.zip"), "--out", str(out)],
        ["--data", str(data), "--out", str(tmp_path)],
        ["--data", str(data), "--out", str(tmp_path / "no" / "x.jsonl")],
    ):
        assert probe.main(bad) == 2
        assert capsys.readouterr().err.count("\n") == 1
