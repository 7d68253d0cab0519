"""The ``step_variants`` stage of benchmarks/gpu.py (logic in benchmarks/step_variants.py).

Times the trainer's GD step and the variants of it still in question: first, at 1,024 seeds
in a child process beside its own baseline, the hand-fused Pallas weight gradient
(``ISOLATED``: fp32, bf16, and fp32 operands with a bf16 store), each with the tiles that
timed fastest for the kernel alone (benchmarks/tune_wgrad.py); then (``TIMED``) the bf16
pre-activation store, now the trainer's ``bfloat16-store``, and the custom VJPs that keep only
the fp32 or bf16 tensor, with cuBLAS and with Triton GEMMs, at 1,024 and 4,096 seeds of the
default preset, in interleaved rounds on the same card. After each part the rows so far are
saved (a ``partial`` stage), so a run cut at its limit keeps them. It
measures the copy bandwidth, so each time can be read as "GEMMs at the matmul peak plus this
many fp32 passes over the pre-activation tensor", and writes each variant's compiled HLO (the
timed program itself: no extra compilation) to ``OUT/hlo/<variant>.txt`` with a summary of
its kernels. At 1,024 seeds every timed program is also checked on the card: one more call of
its chunk, from 30x the initial weights, must move the weights as the baseline compiled at
"highest" precision does (benchmarks/variant_runs.py; an update error and its tolerance
per row), so a kernel that is fast but wrong on Triton reads as wrong. 4,096 seeds are
skipped when the 1,024-seed block took over ``CAP_S``.

Run alone it times the variants on whatever JAX sees (the CPU numbers of
benchmarks/results/step_variants_cpu.md):

    python -m benchmarks.gpu_variants --seeds 8,64 --steps 10 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from benchmarks.fused_wgrad import CANDIDATES
from benchmarks.hlo import hlo_summary
from benchmarks.step_variants import (
    PALLAS_DTYPE,
    VARIANTS,
    copy_bandwidth,
    implied_passes,
    tensor_bytes,
)
from benchmarks.tune_wgrad import tune_tiles
from benchmarks.variant_runs import hlo_text, time_variants
from multiview.bench import bench_config, machine_info, model_flops_per_seed_step
from multiview.io import atomic_write_text

#: Run 2 settled the GEMM-layout and saved-derivative variants (no gain, and 0.6x); the
#: stage times the trainer's two steps and the custom VJPs and kernel that might lift them.
TIMED = (
    "baseline",
    "vjp_pre",
    "vjp_pre_triton",
    "mixed_vjp_pre_triton",
    "bf16_store",
    "bf16_vjp_pre",
    "bf16_vjp_pre_triton",
)
#: Hand-written kernels run in a child process (first seed count only) beside its own
#: baseline: a fault in one (an illegal address is sticky on a CUDA context) must not take
#: the rest of the one-shot device run with it. They go first: the strict step bar rests on
#: them, and run 2 has read XLA's own programs.
ISOLATED = ("pallas", "bf16_pallas", "mixed_pallas")
ISOLATED_TIMEOUT_S = 180  # and never past the stage's budget + 50 s
#: The stage's two parts, in the order they run (gpu.sh ``--step-parts``): a second device
#: call can run the one a first call's clock cut.
STEP_PARTS = ("kernels", "xla")
TUNE_BUDGET_S = 20.0  # per kernel dtype: compiling candidates stops after this
SEEDS = (1024, 4096)
SMOKE_SEEDS = (2, 4)
CAP_S = 25.0  # start the next seed count only if the first XLA block took under this
NEXT_S = 20.0  # ... and only with this much of the run's budget left


def _time_block(
    cfg, seeds: int, steps: int, rounds: int, errors: list[str], variants=TIMED, check=False
) -> list[dict]:
    """All variants interleaved (with ``check``: each timed program's updates against the
    baseline's at "highest" precision, on this device); if that fails, each alone and
    unchecked, so one failing variant (a compile error, memory) does not cost the others'
    numbers on a one-shot device run."""
    try:
        return time_variants(cfg, seeds, steps, rounds, variants, check=check)
    except Exception as e:
        errors.append(f"{seeds} seeds, interleaved: {type(e).__name__}: {e}"[:1000])
    rows = []
    for v in variants:
        try:
            rows += time_variants(cfg, seeds, steps, rounds, (v,))
        except Exception as e:
            errors.append(f"{seeds} seeds, {v}: {type(e).__name__}: {e}"[:1000])
    return rows


def check_cell(r: dict) -> str:
    """The on-card check of a row: "1.2e-06 (tolerance 1e-05: agrees)", "check failed: ...",
    or "" for a row that was not checked."""
    if "check_error" in r:
        return f"check failed: {r['check_error'][:80]}"
    if "update_error" not in r:
        return ""
    if r["variant"] == "baseline":  # the same program at "highest" precision is the reference
        why = "the device's own rounding"
    else:
        why = f"tolerance {r['update_tolerance']:.0e}: {'agrees' if r['agrees'] else 'DIFFERS'}"
    return f"{r['update_error']:.1e} ({why})"


def _save_hlo(cfg, seeds: int, steps: int, variants, hlo_dir: Path, errors: list[str]) -> dict:
    """Write each variant's compiled program (already compiled by its timing: no device
    time) to ``hlo_dir/<variant>.txt``; return their kernel summaries."""
    # Under the seed mesh the compiled HLO is one device's share of the seeds.
    big = tensor_bytes(cfg, -(-seeds // jax.local_device_count())) // 4
    hlo = {}
    for v in variants:
        try:
            text = hlo_text(cfg, v, seeds, steps)
            (hlo_dir / f"{v}.txt").write_text(text)
            hlo[v] = {"seeds": seeds, **hlo_summary(text, big)}
        except Exception as e:
            errors.append(f"HLO of {v}: {type(e).__name__}: {e}"[:1000])
            continue
        hlo[v]["fp32_passes_written"] = hlo[v].get("big_bytes_written", 0) / (4 * big)
    return hlo


def _isolated(preset: str, seeds: int, steps: int, rounds: int, out: Path, errors, timeout):
    """:data:`ISOLATED` and a baseline timed in a child process (this file's ``main``, with
    ``--tune``); returns its rows (``"process": "child"``), HLO summaries and kernel-tuning
    rows. The child writes its JSON after tuning and again at the end, so a child cut by
    ``timeout`` (seconds) or by a fault still gives what it measured, with an error."""
    variants = ",".join(("baseline", *ISOLATED))
    result = out / "isolated.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "benchmarks.gpu_variants", "--preset", preset]
    cmd += ["--seeds", str(seeds), "--steps", str(steps), "--rounds", str(rounds)]
    cmd += ["--variants", variants, "--json", str(result), "--hlo-dir", str(out / "hlo"), "--tune"]
    # the repository root on the path: ``-m benchmarks.gpu_variants`` runs from any folder
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if proc.returncode != 0:
            errors.append(f"isolated kernels: exit {proc.returncode}: {proc.stderr[-800:]}")
    except subprocess.TimeoutExpired:
        errors.append(f"isolated kernels: cut after {timeout:.0f} s")
    if not result.exists():
        return [], {}, []
    got = json.loads(result.read_text())
    errors += got["errors"]
    return [{**r, "process": "child"} for r in got["rows"]], got["hlo"], got["kernels"]


def _kernel_fractions(rows: list[dict], peaks: dict) -> list[dict]:
    """Kernel-tuning rows with ``peak_fraction``: the kernel's FLOP/s over the matmul peak
    of its operand dtype timed in this run (fp32 at default precision: TF32 on a GPU)."""
    key = {"float32": "fp32_default_flops", "bfloat16": "bf16_flops"}
    for r in rows:
        if "flops" in r:
            r["peak_fraction"] = r["flops"] / peaks.get(key[r["dtype"]], float("nan"))
    return rows


def _tuned(variants: tuple[str, ...], cfg, seeds: int, errors: list[str], smoke: bool):
    """``variants`` with each kernel variant renamed to carry its fastest tiles
    (``bf16_pallas@<label>``), and the tuning rows. Tiles are tuned once per operand dtype:
    ``mixed_pallas`` (fp32 operands, bf16 store) takes ``pallas``'s."""
    out, rows, best = [], [], {}
    for v in variants:
        if v not in PALLAS_DTYPE:
            out.append(v)
            continue
        dtype = PALLAS_DTYPE[v]
        if dtype not in best:
            candidates = CANDIDATES[dtype][:2] if smoke else CANDIDATES[dtype]
            try:
                best[dtype], got = tune_tiles(cfg, seeds, dtype, candidates, budget_s=TUNE_BUDGET_S)
                rows += got
            except Exception as e:
                errors.append(f"tuning {dtype}: {type(e).__name__}: {e}"[:1000])
                best[dtype] = CANDIDATES[dtype][0]
        out.append(v if best[dtype] == CANDIDATES[dtype][0] else f"{v}@{best[dtype].label}")
    return tuple(out), rows


def _add_block(block, rows, cfg, seeds, peak, peak16, bandwidth) -> None:
    """Append ``block``'s rows to ``rows`` with their FLOP/s, peak fractions, speed-up over
    the block's own baseline and implied passes, printing a line each."""
    flops = model_flops_per_seed_step(cfg)
    base = next((r["step_s"] for r in block if r["variant"] == "baseline"), float("nan"))
    for r in block:
        r["model_flops"] = seeds * flops / r["step_s"]
        r["peak_fraction"] = r["model_flops"] / peak
        r["bf16_peak_fraction"] = r["model_flops"] / peak16
        r["speedup_vs_baseline"] = base / r["step_s"]  # the same process's baseline
        r["implied_fp32_passes"] = implied_passes(r["step_s"], cfg, seeds, peak, bandwidth)
        rows.append(r)
        check = check_cell(r)
        print(
            f"  {r['variant']:>10} {seeds:5d} seeds: {1e3 * r['step_s']:8.3f} ms/step, "
            f"{r['model_flops'] / 1e12:7.2f} TFLOP/s, {100 * r['peak_fraction']:.0f}% "
            f"of fp32 peak, {100 * r['bf16_peak_fraction']:.0f}% of bf16 peak, "
            f"{r['speedup_vs_baseline']:.2f}x baseline"
            + (f", update error {check}" if check else "")
            + (" (child process)" if r.get("process") == "child" else ""),
            flush=True,
        )


def step_variants(run) -> dict:
    """The stage: ``run`` is benchmarks/gpu.py's ``Run`` (results so far, clock, out dir).

    The hand-written kernels go first (the open question; run 2 read XLA's programs), then
    the XLA variants; after each part the stage's rows so far are saved as a ``partial``
    stage, so a run cut at its limit keeps them."""
    preset = "quick" if run.smoke else "default"
    cfg = bench_config(preset)
    steps, rounds = (2, 3) if run.smoke else (50, 5)
    pk = run.results["stages"].get("peak", {})
    peak, peak16 = (pk.get(k, float("nan")) for k in ("fp32_default_flops", "bf16_flops"))
    bandwidth = copy_bandwidth(2**20 if run.smoke else 2**28)  # 2 GiB of traffic on a GPU
    print(f"  copy bandwidth {bandwidth / 1e12:.2f} TB/s", flush=True)
    hlo_dir = run.out / "hlo"
    hlo_dir.mkdir(exist_ok=True)
    st = {
        "preset": preset,
        "steps_per_call": steps,
        "rounds": rounds,
        "model_flops_per_seed_step": model_flops_per_seed_step(cfg),
        "peak_fp32_flops": peak,
        "copy_bandwidth_bytes_per_s": bandwidth,
        "rows": [],
        "hlo": {},
        "kernel_tuning": [],
        "skipped_seeds": [],
        "errors": [],
    }
    rows, errors = st["rows"], st["errors"]

    def partial() -> None:
        run.results["stages"]["step_variants"] = {"status": "partial", **st}
        run.save()

    all_seeds = SMOKE_SEEDS if run.smoke else SEEDS
    if "kernels" in run.step_parts:
        timeout = ISOLATED_TIMEOUT_S if run.smoke else min(ISOLATED_TIMEOUT_S, run.left() + 50)
        child = _isolated(preset, all_seeds[0], steps, rounds, run.out, errors, max(60.0, timeout))
        _add_block(child[0], rows, cfg, all_seeds[0], peak, peak16, bandwidth)
        st["hlo"].update(child[1])
        st["kernel_tuning"] += _kernel_fractions(child[2], pk)
        partial()
    t0 = time.perf_counter()
    for i, seeds in enumerate(all_seeds if "xla" in run.step_parts else ()):
        if i and not run.smoke and (time.perf_counter() - t0 > CAP_S or run.left() < NEXT_S):
            st["skipped_seeds"].append(seeds)
            continue
        block = _time_block(cfg, seeds, steps, rounds, errors, check=i == 0)
        _add_block(block, rows, cfg, seeds, peak, peak16, bandwidth)
        if i == 0:  # the programs just timed: compiled already, so this costs no device time
            got = _save_hlo(cfg, seeds, steps, [r["variant"] for r in block], hlo_dir, errors)
            st["hlo"].update(got)
        partial()
    return st


def main() -> None:
    """Time the variants here and print a Markdown table (no files written); with ``--json``
    (the stage's child process) write the rows, errors and HLO summaries there instead."""
    ap = argparse.ArgumentParser(description="time the GD-step variants on this machine")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--seeds", default="8,64", help="comma-separated seed counts")
    ap.add_argument("--steps", type=int, default=10, help="steps per timed call")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved timed calls")
    ap.add_argument("--matmul", type=int, default=2048, help="n of the n^3 peak matmul")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated")
    ap.add_argument("--json", type=Path, help="write {rows, errors, hlo} here; no table")
    ap.add_argument("--hlo-dir", type=Path, help="with --json: save the programs here")
    ap.add_argument("--tune", action="store_true", help="with --json: tune the kernels' tiles")
    a = ap.parse_args()
    cfg = bench_config(a.preset)
    variants = tuple(a.variants.split(","))
    if a.json:
        errors: list[str] = []
        seeds = [int(x) for x in a.seeds.split(",")]
        kernels: list[dict] = []
        if a.tune:
            smoke = jax.default_backend() == "cpu"  # the interpreter: two candidates
            variants, kernels = _tuned(variants, cfg, seeds[0], errors, smoke)
            # what the parent reads if this process is cut before the timings end
            got = {"rows": [], "errors": errors, "hlo": {}, "kernels": kernels}
            atomic_write_text(a.json, json.dumps(got))  # a cut process leaves a whole file
        rows = [
            r
            for n in seeds
            for r in _time_block(cfg, n, a.steps, a.rounds, errors, variants, n == seeds[0])
        ]
        hlo = {}
        if a.hlo_dir:  # the parent saves the baseline's program (its XLA block)
            done = [
                r["variant"] for r in rows if r["seeds"] == seeds[0] and r["variant"] != "baseline"
            ]
            hlo = _save_hlo(cfg, seeds[0], a.steps, done, a.hlo_dir, errors)
        got = {"rows": rows, "errors": errors, "hlo": hlo, "kernels": kernels}
        atomic_write_text(a.json, json.dumps(got))
        return
    flops = model_flops_per_seed_step(cfg)
    load0 = os.getloadavg()
    x = jax.random.normal(jax.random.key(0), (a.matmul, a.matmul), jnp.float32)
    mm = jax.jit(lambda m: m @ m)
    mm(x).block_until_ready()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        mm(x).block_until_ready()
        best = min(best, time.perf_counter() - t)
    peak = 2 * a.matmul**3 / best
    bandwidth = copy_bandwidth(2**25)
    rows = [
        r
        for s in a.seeds.split(",")
        for r in time_variants(cfg, int(s), a.steps, a.rounds, variants)
    ]
    m = machine_info()
    print(
        f"{m['cpu']}, {m['cpu_count']} cores, jax {m['jax_version']} ({m['backend']}); load "
        f"average (1/5/15 min) {'/'.join(f'{v:.2f}' for v in load0)} before, "
        f"{'/'.join(f'{v:.2f}' for v in os.getloadavg())} after; matmul peak ({a.matmul}^3 "
        f"fp32) {peak / 1e9:.0f} GFLOP/s, copy bandwidth {bandwidth / 1e9:.1f} GB/s; preset "
        f"{a.preset!r}, median (best) of {a.rounds} interleaved calls of {a.steps} steps.\n"
    )
    print("| variant | seeds | ms / step, median (best) | GFLOP/s | of matmul peak | vs baseline |")
    print("|---|---|---|---|---|---|")
    base = {r["seeds"]: r["step_s"] for r in rows if r["variant"] == "baseline"}
    for r in rows:
        gf = r["seeds"] * flops / r["step_s"]
        print(
            f"| {r['variant']} | {r['seeds']} | {1e3 * r['step_s']:.2f} "
            f"({1e3 * r['best_step_s']:.2f}) | {gf / 1e9:.0f} | {100 * gf / peak:.0f}% | "
            f"{base[r['seeds']] / r['step_s']:.2f}x |"
        )


if __name__ == "__main__":
    main()
