"""experiments/cifar_train_average/cifar_train_average.py: the trained average retrained from a run folder, in the
pipeline's recipe (reproducing the folder exactly) and with members moving at a single's pace."""

import json

import pytest

from experiments.cifar_train_average import cifar_train_average
from multiview.cifar.data import load_cifar
from multiview.cifar.experiments import run_cifar
from multiview.cifar.fixtures import write_image_zip
from multiview.cifar.presets import preset_config
from multiview.report.cifar import write_report


@pytest.mark.slow  # ~20 s: a whole tiny run_cifar, then four retrainings
def test_retrained_averages_reproduce_the_run_and_pair_with_it(tmp_path, monkeypatch, capsys):
    script = cifar_train_average
    monkeypatch.setenv("MULTIVIEW_DATA_DIR", str(tmp_path / "cache"))
    data = write_image_zip(
        tmp_path / "d.zip", classes=("a", "b", "c"), per_class_train=16, per_class_test=8
    )
    cfg = preset_config("tiny", seeds=4, ensemble_size=2, train_average_runs=2)
    run = tmp_path / "run"
    summary = run_cifar(cfg, load_cifar(data), run)
    write_report(summary, run)
    assert script.config_from_summary(summary["config"]) == cfg  # the folder's own config
    out = tmp_path / "avg.jsonl"
    args = ["--data", str(data), "--run", str(run), "--out", str(out)]
    assert script.main([*args, "--variants", "pipeline,lrK"]) == 0
    pipeline, lr_k = (
        json.loads(x, parse_constant=lambda c: 1 / 0) for x in out.read_text().splitlines()
    )
    assert pipeline["reproduced"] == 0.0  # the same initialization, data order and recipe
    assert pipeline["lr"] == cfg.train.lr and lr_k["lr"] == 2 * cfg.train.lr
    assert lr_k["epochs"] == cfg.train.epochs and "reproduced" not in lr_k
    assert lr_k["differences"]["vs_ensemble"]["n"] == 2 and len(lr_k["runs"]["train"]) == 2
    groups = [summary["runs"]["single"][:2], summary["runs"]["single"][2:]]
    assert lr_k["members"] == [100 * sum(g) / 2 for g in groups]
    assert (run / "checkpoints" / "train_average-lrK.npz").exists()
    assert (run / "checkpoints" / "train_average.npz").exists()  # the folder's own: kept
    before = out.read_bytes()
    assert script.main([*args, "--variants", "lrK"]) == 0 and out.read_bytes() == before
    assert script.variant_config(cfg, "epochsK").train.epochs == 2 * cfg.train.epochs
    # The singles retrained from run_cifar's stream are the folder's singles.
    again = script._train(cfg, load_cifar(data), 1, 4, 1, tmp_path / "s.npz", lambda m: None)
    assert again["test"] == [100 * a for a in summary["runs"]["single"]]
    # --epochs E: singles and averages retrained from E epochs, paired with each other.
    assert script.main([*args, "--variants", "lrK", "--epochs", "2"]) == 0
    longer = json.loads(out.read_text().splitlines()[-1])
    assert (
        longer["single_epochs"] == 2
        and longer["epochs"] == 2
        and len(longer["singles"]["test"]) == 4
    )
    assert longer["members"][0] == sum(longer["singles"]["test"][:2]) / 2
    assert (run / "checkpoints" / "train_average-lrK-e2.npz").exists()
    capsys.readouterr()
    for bad in (
        ["--variants", "nope"],
        ["--run", str(tmp_path / "absent")],
        ["--out", str(tmp_path)],
        ["--data", str(tmp_path / "absent.zip"), "--out", str(tmp_path / "new.jsonl")],
    ):
        assert script.main([*args, *bad]) == 2
        assert capsys.readouterr().err.count("\n") == 1
