import json

import numpy as np
import pytest
from tiny_args import tiny_args
from typer.testing import CliRunner

from multiview.cli import app
from multiview.sim.predictions import THRESHOLDS
from multiview.sim.single import SCALAR_METRICS

runner = CliRunner()

TINY = tiny_args(n_test=50, steps=30, chunks=3, log_points=6)


def test_simulate_end_to_end_writes_the_results_directory(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["simulate", *TINY, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "train_acc",
        "test_acc_multi",
        "test_acc_single",
        "frac_classes_one_view",
        "frac_classes_all_views",
        "lottery_agreement",
        "memorization_flip_rate",
    ):
        assert key in summary["metrics"] and key + "_std" in summary["metrics"]
    ids = {p["id"] for p in summary["predictions"]}
    assert {"learn_subset", "lottery", "memorize", "single_view_half"} <= ids
    for p in summary["predictions"]:
        assert set(p) >= {"id", "claim", "measured", "expected", "holds"}
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["config"]["data"]["k"] == 4 and cfg["config"]["seeds"] == 4
    assert {"jax_version", "backend", "devices", "multiview_version"} <= set(cfg["run"])
    for fig in ("lambda.png", "learned_views.png", "accuracy.png"):
        assert (out / "figures" / fig).stat().st_size > 1000
    assert (out / "per_seed.npz").exists()
    # --json printed the same summary on stdout
    assert json.loads(result.stdout)["metrics"]["train_acc"] == summary["metrics"]["train_acc"]


def test_views_3_reports_the_same_metrics(tmp_path):
    args = [a if a != "8" else "10" for a in TINY]  # more patches for 3 views + off-target
    result = runner.invoke(
        app, ["simulate", *args, "--views", "3", "--out", str(tmp_path), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["metrics"]) == {m + s for m in SCALAR_METRICS for s in ("", "_std")}
    with np.load(tmp_path / "per_seed.npz") as f:
        assert f["learned"].shape[-1] == 3 and f["lambda_final"].shape[-1] == 3
    single = next(p for p in summary["predictions"] if p["id"] == "single_view_half")
    lo, hi = THRESHOLDS["single_view_low"] / 3, THRESHOLDS["single_view_high"] / 3
    assert single["expected"] == f"in [{lo:.3g}, {hi:.3g}]"  # the band scales with 1/V
    if not summary["convergence"]["converged"]:
        assert single["verdict"] == "not_converged"
    elif single["holds"]:
        assert lo <= single["interval"][0] and single["interval"][1] <= hi


@pytest.mark.parametrize(
    "args, field",
    [
        (["--d", "5"], "d"),
        (["--single-view-frac", "1.5"], "single_view_frac"),
        (["--q", "1"], "q"),
        (["--seeds", "-3"], "seeds"),
        (["--patches", "2"], "patches"),
        (["--preset", "nope"], "preset"),
    ],
)
def test_bad_config_values_give_one_clear_line_and_exit_code_2(args, field):
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and field in lines[0] and "error" in lines[0]


def test_resume_reuses_saved_blocks_and_the_old_option_name_still_works(tmp_path):
    out = tmp_path / "r"
    args = ["simulate", *TINY, "--seed-block", "2", "--out", str(out), "--quiet"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    blocks = sorted((out / "blocks").glob("seeds_*.npz"))
    assert len(blocks) == 2
    summary1 = (out / "summary.json").read_text()
    old_name = ["--seed-chunk" if a == "--seed-block" else a for a in args if a != "--quiet"]
    again = runner.invoke(app, [*old_name, "--resume"])
    assert again.exit_code == 0 and "reused" in again.output
    assert (out / "summary.json").read_text() == summary1
    changed = runner.invoke(app, [*args, "--resume", "--lr", "1.0"])
    assert changed.exit_code == 2 and "different config" in changed.output
