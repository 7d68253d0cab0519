"""The one-call GPU measurement (benchmarks/gpu.sh) must not burn device time on a typo: its
smoke mode runs every stage on the CPU at tiny sizes, and on a CPU without --smoke it stops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from benchmarks import gpu, gpu_report, gpu_variants
from multiview.cifar.fixtures import write_image_zip

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu.sh"
GPU_RUN = ROOT / "benchmarks" / "gpu_run.sh"


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "JAX_PLATFORMS": "cpu"}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_gpu_script_refuses_a_cpu_without_smoke(tmp_path):
    proc = _run("--out", str(tmp_path), "--skip", "peak", timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: JAX sees only a CPU")
    assert json.loads((tmp_path / "gpu.json").read_text())["stages"]["device"]["backend"] == "cpu"


def test_gpu_script_refuses_an_unwritable_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = _run("--smoke", "--out", str(blocker / "sub"), timeout=60)
    assert proc.returncode == 2
    assert "not a writable folder" in proc.stderr


def test_gpu_script_refuses_unknown_step_parts(tmp_path):
    proc = _run("--smoke", "--out", str(tmp_path), "--step-parts", "kernels,nope", timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "--step-parts takes some of kernels,xla" in proc.stderr
    assert not (tmp_path / "gpu.json").exists()  # refused before any stage


@pytest.mark.slow
def test_gpu_run_script_smoke_runs_the_table_and_every_stage(tmp_path):
    """benchmarks/gpu_run.sh, the one device call, on the CPU: the tiny CIFAR table, then
    gpu.sh --smoke with every stage; what comes back fits the device tool's 8 files."""
    data = tmp_path / "tiny.zip"
    write_image_zip(data, classes=tuple("abcdefghij"), per_class_train=8, per_class_test=4)
    out, work = tmp_path / "out", tmp_path / "work"
    env = {**os.environ, "PYTHON": sys.executable, "JAX_PLATFORMS": "cpu", "SMOKE": "1"}
    env.update(PRESET="tiny", SKIP="", GPU_RUN_WORK=str(work))
    proc = subprocess.run(
        ["bash", str(GPU_RUN), str(out), str(data), "300", "500"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    back = sorted(p.name for p in out.iterdir())
    assert back == sorted(
        ["gpu.json", "gpu.md", "gpu_log.txt", "table.md", "summary.json", "figure1.png"]
        + ["report.html", "extra.tar.gz"]
    )
    assert "single: 2 run(s)" in (work / "cifar_log.txt").read_text()
    with tarfile.open(out / "extra.tar.gz") as tar:  # a cut table's paired data comes back
        names = set(tar.getnames())  # and the distillation cells' lines when kd_grid ran
        assert {"cifar_log.txt", "cifar/checkpoints/runs.json", "bench/kd_grid.jsonl"} <= names
        assert "bench/isolated.json" in names  # the kernels' child, for a cut stage
    # what is run on the returned folder afterwards: filed in a new run folder, read against
    # the targets (benchmarks/file_gpu_results.py; tests/benchmarks/test_file_gpu_results.py: details)
    results = tmp_path / "results"
    filed = subprocess.run(
        [
            sys.executable,
            str(GPU_RUN.with_name("file_gpu_results.py")),
            str(out),
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert filed.returncode == 0, filed.stderr
    run = results / "gpu_run1"
    assert {"gpu.json", "table.md", "summary.json", "verdicts.md"} <= {
        p.name for p in run.iterdir()
    }
    assert (run / "extra" / "cifar" / "checkpoints" / "runs.json").exists()
    assert "10-seed Figure-1 table: complete, 2 single models" in (run / "verdicts.md").read_text()
    tmp_path = work / "bench"
    result = json.loads((tmp_path / "gpu.json").read_text())
    stages = result["stages"]
    assert set(stages) == {
        "device",
        "peak",
        "sim_step",
        "step_variants",
        "simulate",
        "cifar",
        "simulate_bf16_store",
        "cifar_epochs",
        "kd_grid",
    }
    assert all(s["status"] == "ok" for s in stages.values()), stages
    rows = stages["sim_step"]["rows"]
    assert [(r["dtype"], r["seeds"]) for r in rows] == [
        ("float32", 2),
        ("float32", 4),
        ("bfloat16", 2),
        ("bfloat16", 4),
        ("bfloat16-store", 2),
    ]
    assert all(r["step_s"] > 0 for r in rows)
    variants = stages["step_variants"]
    names = ["baseline", "vjp_pre", "vjp_pre_triton", "mixed_vjp_pre_triton", "bf16_store"]
    names += ["bf16_vjp_pre", "bf16_vjp_pre_triton"]
    # first, in a child process beside its own baseline, the kernels, each under the tiles
    # that timed fastest alone ("pallas@<tiles>" unless the default; mixed_pallas: pallas's)
    kernels = ["pallas", "bf16_pallas", "mixed_pallas"]
    got = [(r["variant"].partition("@")[0], r["seeds"], r.get("process")) for r in variants["rows"]]
    assert got == (
        [(v, 2, "child") for v in ["baseline", *kernels]]
        + [(v, 2, None) for v in names]
        + [(v, 4, None) for v in names]
    )
    tuned = {r["variant"].partition("@")[0]: r["variant"] for r in variants["rows"]}
    assert tuned["mixed_pallas"].partition("@")[2] == tuned["pallas"].partition("@")[2]
    names += [r["variant"] for r in variants["rows"] if r["variant"].partition("@")[0] in kernels]
    # on the card, each program timed at the first seed count is checked against the baseline
    # at "highest" precision (here the CPU's); the second seed count is timed only
    checked = [r for r in variants["rows"] if r["seeds"] == 2]
    assert all(r["agrees"] and r["update_error"] <= r["update_tolerance"] for r in checked)
    assert not any("update_error" in r for r in variants["rows"] if r["seeds"] == 4)
    tuning = variants["kernel_tuning"]
    assert [r["dtype"] for r in tuning] == ["float32"] * 2 + ["bfloat16"] * 2
    assert all(r["kernel_s"] > 0 and r["peak_fraction"] > 0 for r in tuning)
    assert all(r["step_s"] > 0 and r["peak_fraction"] > 0 for r in variants["rows"])
    assert variants["copy_bandwidth_bytes_per_s"] > 0 and not variants["skipped_seeds"]
    assert set(variants["hlo"]) == set(names)
    for v, h in variants["hlo"].items():  # the kernel in the interpreter: full chunks, tail
        assert h["gemm"] == (3 if "pallas" in v else 2) and h["fp32_passes_written"] > 0, v
    for v in names:
        assert (tmp_path / "hlo" / f"{v}.txt").read_text().startswith("HloModule")
    assert stages["simulate"]["predictions"], "simulate reported no verdicts"
    assert stages["simulate_bf16_store"]["dtype"] == "bfloat16-store"
    assert [m["epochs"] for m in stages["cifar_epochs"]["models"]] == [2, 3]
    assert 0.0 <= stages["cifar"]["mean_accuracy"] <= 1.0
    cells = [json.loads(line) for line in (tmp_path / "kd_grid.jsonl").read_text().splitlines()]
    assert cells and "kd_transfer" in cells[0]["predictions"]
    # a cell of a named regime (the smoke one: `separated`) takes its KD settings, as
    # `multiview theorems --preset` does; the spec's own settings override them
    assert cells[0]["theorems"]["kd_loss"] == "logits" and cells[0]["theorems"]["kd_weight"] == 0.2
    assert cells[0]["theorems"]["student_steps"] == 20
    md = (tmp_path / "gpu.md").read_text()
    assert "kernel alone" in md and "| bfloat16 | 64x128x256w8s3 |" in md
    assert "(tolerance 1e-05: agrees) |" in md and "DIFFERS" not in md
    assert "| float32 | 4 |" in md and "| bf16_vjp_pre | 4 |" in md and "| bf16_store | 2 |" in md


def test_a_cut_kernel_child_still_gives_its_tuning_rows(tmp_path, monkeypatch):
    # The child writes its JSON after tuning; cut later (the GPU run's clock), the stage keeps
    # the tuning rows and says the child was cut, instead of losing the child's work.
    partial = {"rows": [], "errors": [], "hlo": {}, "kernels": [{"dtype": "float32"}]}

    def cut(cmd, **kw):
        (tmp_path / "isolated.json").write_text(json.dumps(partial))
        raise subprocess.TimeoutExpired(cmd, kw["timeout"])

    monkeypatch.setattr(gpu_variants.subprocess, "run", cut)
    errors: list[str] = []
    rows, hlo, kernels = gpu_variants._isolated("quick", 2, 2, 1, tmp_path, errors, 60.0)
    assert (rows, hlo, kernels) == ([], {}, [{"dtype": "float32"}])
    assert errors == ["isolated kernels: cut after 60 s"]
    # an earlier run's file is not taken for this one's
    monkeypatch.setattr(
        gpu_variants.subprocess,
        "run",
        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "boom"),
    )
    errors = []
    assert gpu_variants._isolated("quick", 2, 2, 1, tmp_path, errors, 60.0) == ([], {}, [])
    assert errors == ["isolated kernels: exit 1: boom"]


def test_the_stage_saves_the_kernels_rows_before_the_xla_block(tmp_path, monkeypatch):
    # Cut during the XLA variants (here: they raise), gpu.json already holds the kernels'
    # rows as a "partial" stage, and gpu.md shows them.
    row = {"variant": "pallas", "seeds": 2, "step_s": 1e-3, "best_step_s": 1e-3}
    monkeypatch.setattr(
        gpu_variants, "_isolated", lambda *a: ([{**row, "process": "child"}], {}, [])
    )

    def cut(*a, **kw):
        raise RuntimeError("cut")

    monkeypatch.setattr(gpu_variants, "_time_block", cut)
    saved = []

    class Run:
        smoke, out, step_parts = True, tmp_path, gpu_variants.STEP_PARTS
        results = {"smoke": True, "budget_s": 1, "stages": {"peak": {}}}

        def left(self):
            return 100.0

        def save(self):
            saved.append(json.loads(json.dumps(self.results["stages"]["step_variants"])))

    run = Run()
    with pytest.raises(RuntimeError, match="cut"):
        gpu_variants.step_variants(run)
    assert [s["status"] for s in saved] == ["partial"]
    assert [r["variant"] for r in saved[0]["rows"]] == ["pallas"]
    md = gpu_report.markdown({**run.results, "elapsed_s": 1})
    assert "| pallas (child process) | 2 | 1.000 |" in md


@pytest.mark.slow
def test_second_call_script_runs_one_part_of_the_stage_and_packs_it(tmp_path):
    """benchmarks/gpu_step_call.sh, the second device call for a stage the first call's clock
    cut, on the CPU: the peak and the kernels' part only, in at most 8 files."""
    env = {**os.environ, "PYTHON": sys.executable, "JAX_PLATFORMS": "cpu", "SMOKE": "1"}
    out = tmp_path / "out"
    proc = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_step_call.sh"), str(out), "kernels", "150"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == [
        "extra.tar.gz",
        "gpu.json",
        "gpu.md",
        "gpu_log.txt",
    ]
    stages = json.loads((out / "gpu.json").read_text())["stages"]
    assert set(stages) == {"device", "peak", "step_variants"}
    rows = stages["step_variants"]["rows"]
    assert {r.get("process") for r in rows} == {"child"} and len(rows) == 4
    with tarfile.open(out / "extra.tar.gz") as tar:
        assert "isolated.json" in tar.getnames()


def test_a_stage_that_fails_late_keeps_the_rows_it_saved(tmp_path):
    run = gpu.Run(tmp_path, 100.0, True)

    def stage():
        run.results["stages"]["step_variants"] = {"status": "partial", "rows": [{"v": 1}]}
        raise RuntimeError("late")

    run.stage("step_variants", stage)
    got = json.loads((tmp_path / "gpu.json").read_text())["stages"]["step_variants"]
    assert got["status"] == "failed" and got["rows"] == [{"v": 1}]
    assert got["error"] == "RuntimeError: late"
