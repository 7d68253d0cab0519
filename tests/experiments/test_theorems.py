import json

import jax
import numpy as np
import pytest
from tiny_args import tiny_args
from typer.testing import CliRunner

from multiview.cli import app
from multiview.experiments.average import as_wide_model
from multiview.experiments.ensemble import theory_single_view
from multiview.experiments.theorems import run_theorems
from multiview.sim.config import ModelConfig, TheoremsConfig
from multiview.sim.model import forward
from multiview.stats import group_seeds

runner = CliRunner()


def test_groups_are_disjoint_and_theory_curve_is_one_minus_two_to_minus_k():
    g = group_seeds(16, 4)
    assert g.shape == (4, 4) and len(np.unique(g)) == 16
    np.testing.assert_allclose(theory_single_view([1, 2, 4, 8]), [0.5, 0.75, 0.9375, 0.99609375])


def test_average_as_wide_model_has_the_same_predictions():
    cfg = ModelConfig(width=2, init_std=0.5)
    w = 0.5 * jax.random.normal(jax.random.key(0), (3, 4, 2, 8))  # (K, k, m, d)
    x = jax.random.normal(jax.random.key(1), (6, 5, 8))
    avg = np.mean([np.asarray(forward(cfg, w[i], x)) for i in range(3)], axis=0)
    wide = np.asarray(forward(cfg, as_wide_model(w), x))
    np.testing.assert_allclose(wide, 3 * avg, rtol=1e-5)


@pytest.fixture(scope="module")
def tiny_theorems(tiny_config):
    th = TheoremsConfig(
        ensemble_sizes=(1, 2),
        teacher_size=2,
        kd_students=2,
        average_size=2,
        average_groups=1,
        sd_pairs=1,
    )
    return run_theorems(tiny_config, th, parts=("ensemble", "average", "kd", "sd"))


def test_each_experiment_runs_at_tiny_size(tiny_theorems, tiny_config):
    r = tiny_theorems
    assert r["ensemble"]["K"] == [1, 2]
    assert r["kd"]["student"]["test_acc_single"].shape == (1,)  # 3 seeds -> one group of 2
    assert r["sd"]["student"]["learned"].shape == (1, tiny_config.data.k, 2)
    assert r["average"]["average"]["test_acc_multi"].shape == (1,)
    diag = r["kd"]["diagnostics"]
    assert set(diag) >= {"teacher_contrast", "student_noise", "student_lambda", "oracle"}
    assert {"score_present", "prob_absent"} <= set(diag["teacher_contrast"])
    assert len(diag["oracle"]["variants"]) == 6
    for v in diag["oracle"]["variants"]:
        assert set(v) >= {"share", "lambda_scale", "recovered_fraction", "frac_classes_all_views"}
    assert diag["objective"]["paper_objective"]
    assert "teacher_contrast" in r["sd"]["diagnostics"]
    ids = {p["id"] for p in r["predictions"]}
    assert {
        "ensemble_gain",
        "ensemble_curve",
        "train_average_no_gain",
        "train_wide_no_gain",
        "single_view_half",
        "kd_transfer",
        "kd_all_views",
        "kd_ensemble_no_gain",
        "self_distill_gain",
        "self_distill_union",
        "learn_subset",
    } <= ids


def test_every_prediction_is_typed_with_n_an_interval_and_a_verdict(tiny_theorems):
    """Each prediction has its kind, n, interval and verdict; holds only with an interval
    inside its bar; the KD/SD ones name their objective; no quantity has two bars."""
    preds = tiny_theorems["predictions"]
    ids = [p["id"] for p in preds]
    assert len(ids) == len(set(ids))
    for p in preds:
        assert p["kind"] in ("paper", "control", "diagnostic")
        assert p["verdict"] in ("holds", "fails", "inconclusive", "not_converged")
        assert p["holds"] == (p["verdict"] == "holds")
        lo, hi = p["interval"]
        if p["verdict"] == "holds":
            assert np.isfinite(lo) and np.isfinite(hi) and p["n"] >= 2
        if p["id"].startswith(("kd_", "self_distill")):
            assert "paper_objective" in p["objective"]
    conv = tiny_theorems["convergence"]
    if not conv["converged"]:
        dependent = [p for p in preds if p["kind"] == "paper"]
        assert all(p["verdict"] == "not_converged" for p in dependent)
    views = next(p for p in preds if p["id"] == "kd_all_views")
    assert set(views["details"]["sensitivity"]) == {"x0.5", "x2"}


def test_a_second_theorems_run_compiles_no_training_or_scoring_again(
    tiny_config, tiny_theorems, compile_log
):
    th = TheoremsConfig(
        ensemble_sizes=(1, 2),
        teacher_size=2,
        kd_students=2,
        average_size=2,
        average_groups=1,
        sd_pairs=1,
    )
    with compile_log as log:
        run_theorems(tiny_config, th, parts=("ensemble", "average", "kd", "sd"))
    assert log.count("train_chunk") == 0 and log.count("predict_scores") == 0, log.names


def test_theorems_command_writes_report_and_summary(tmp_path):
    out = tmp_path / "th"
    result = runner.invoke(
        app,
        [
            "theorems",
            *tiny_args(),
            "--ensemble-sizes",
            "1,2",
            "--teacher-size",
            "2",
            "--kd-students",
            "1",
            "--average-size",
            "2",
            "--average-groups",
            "1",
            "--sd-pairs",
            "1",
            "--quiet",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    for p in summary["predictions"]:
        assert set(p) >= {"id", "claim", "measured", "expected", "holds"}
    report = (out / "report.md").read_text()
    assert "| id | claim |" in report and "ensemble_gain" in report
    assert "## Distillation diagnostics" in report and "Oracle-teacher control" in report
    assert {"kd", "sd"} <= set(summary["diagnostics"])
    assert "oracle" in summary["diagnostics"]["kd"]
    for fig in (
        "ensemble_curve.png",
        "views_per_method.png",
        "method_accuracy.png",
        "kd_vs_single_lambda.png",
    ):
        assert (out / "figures" / fig).exists()


def test_bad_experiment_values_exit_2(tmp_path):
    result = runner.invoke(app, ["distill", "--kd-loss", "magic"])
    assert result.exit_code == 2 and "kd_loss" in result.output
    result = runner.invoke(app, ["ensemble", "--ensemble-sizes", "1,x"])
    assert result.exit_code == 2 and "ensemble_sizes" in result.output


def test_preset_brings_its_experiment_settings_and_options_override_them(monkeypatch, tmp_path):
    import multiview.cli.theorems as cli_theorems

    seen = {}

    def fake(cfg, th, parts, out, quiet, **more):
        seen["cfg"], seen["th"] = cfg, th
        return {"predictions": [], "methods": {}}

    monkeypatch.setattr(cli_theorems, "run_and_write", fake)
    args = ["distill", "--preset", "separated", "--quiet", "--out", str(tmp_path / "a")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen["cfg"].data.k == 20 and seen["th"].kd_loss == "logits"
    assert seen["th"].student_steps == 8000 and seen["th"].kd_weight == 0.2
    result = runner.invoke(app, [*args[:-1], str(tmp_path / "b"), "--kd-weight", "0.5"])
    assert result.exit_code == 0, result.output
    assert seen["th"].kd_weight == 0.5 and seen["th"].kd_loss == "logits"
