"""The ``step_variants`` stage of benchmarks/gpu.py (logic in multiview/bench/step_variants.py).

Times the trainer's GD step and the variants of it still in question (``TIMED``: the bf16
pre-activation store, now the trainer's ``bfloat16-store``, the custom VJPs that keep only
the fp32 or bf16 tensor, with cuBLAS and with Triton GEMMs, and the hand-fused Pallas weight
gradient) at 1,024 and 4,096 seeds of the default
preset, in interleaved rounds on the same card; measures the
copy bandwidth, so each time can be read as "GEMMs at the matmul peak plus this many fp32
passes over the pre-activation tensor"; and writes each variant's compiled HLO (the timed
program itself: no extra compilation) to ``OUT/hlo/<variant>.txt`` with a summary of its
kernels. 4,096 seeds are skipped when the stage has used ``CAP_S`` already.

Run alone it times the variants on whatever JAX sees (the CPU numbers of
benchmarks/results/step_variants_cpu.md):

    python benchmarks/gpu_variants.py --seeds 8,64 --steps 10 --rounds 5
"""

from __future__ import annotations

import argparse
import math
import os
import time

import jax
import jax.numpy as jnp

from multiview.bench import bench_config, machine_info, model_flops_per_seed_step
from multiview.bench.hlo import hlo_summary
from multiview.bench.step_variants import (
    VARIANTS,
    copy_bandwidth,
    hlo_text,
    implied_passes,
    tensor_bytes,
    time_variants,
)

#: Run 2 settled the GEMM-layout and saved-derivative variants (no gain, and 0.6x); the
#: stage times the trainer's two steps and the custom VJPs and kernel that might lift them.
TIMED = (
    "baseline",
    "vjp_pre",
    "vjp_pre_triton",
    "bf16_store",
    "bf16_vjp_pre",
    "bf16_vjp_pre_triton",
    "pallas",
    "bf16_pallas",
)
SEEDS = (1024, 4096)
SMOKE_SEEDS = (2, 4)
CAP_S = 25.0  # start the next seed count only under this many seconds into the stage
NEXT_S = 20.0  # ... and only with this much of the run's budget left


def _time_block(cfg, seeds: int, steps: int, rounds: int, errors: list[str]) -> list[dict]:
    """All variants interleaved; if that fails, each alone, so one failing variant (a
    compile error, memory) does not cost the others' numbers on a one-shot device run."""
    try:
        return time_variants(cfg, seeds, steps, rounds, TIMED)
    except Exception as e:
        errors.append(f"{seeds} seeds, interleaved: {type(e).__name__}: {e}"[:1000])
    rows = []
    for v in TIMED:
        try:
            rows += time_variants(cfg, seeds, steps, rounds, (v,))
        except Exception as e:
            errors.append(f"{seeds} seeds, {v}: {type(e).__name__}: {e}"[:1000])
    return rows


def step_variants(run) -> dict:
    """The stage: ``run`` is benchmarks/gpu.py's ``Run`` (results so far, clock, out dir)."""
    t0 = time.perf_counter()
    cfg = bench_config("quick" if run.smoke else "default")
    steps, rounds = (2, 3) if run.smoke else (50, 5)
    pk = run.results["stages"].get("peak", {})
    peak, peak16 = (pk.get(k, float("nan")) for k in ("fp32_default_flops", "bf16_flops"))
    flops = model_flops_per_seed_step(cfg)
    bandwidth = copy_bandwidth(2**20 if run.smoke else 2**28)  # 2 GiB of traffic on a GPU
    print(f"  copy bandwidth {bandwidth / 1e12:.2f} TB/s", flush=True)
    hlo_dir = run.out / "hlo"
    hlo_dir.mkdir(exist_ok=True)
    rows, hlo, skipped, errors = [], {}, [], []
    for i, seeds in enumerate(SMOKE_SEEDS if run.smoke else SEEDS):
        if i and not run.smoke and (time.perf_counter() - t0 > CAP_S or run.left() < NEXT_S):
            skipped.append(seeds)
            continue
        block = _time_block(cfg, seeds, steps, rounds, errors)
        base = next((r["step_s"] for r in block if r["variant"] == "baseline"), float("nan"))
        for r in block:
            r["model_flops"] = seeds * flops / r["step_s"]
            r["peak_fraction"] = r["model_flops"] / peak
            r["bf16_peak_fraction"] = r["model_flops"] / peak16
            r["speedup_vs_baseline"] = base / r["step_s"]
            r["implied_fp32_passes"] = implied_passes(r["step_s"], cfg, seeds, peak, bandwidth)
            rows.append(r)
            print(
                f"  {r['variant']:>10} {seeds:5d} seeds: {1e3 * r['step_s']:8.3f} ms/step, "
                f"{r['model_flops'] / 1e12:7.2f} TFLOP/s, {100 * r['peak_fraction']:.0f}% of "
                f"fp32 peak, {100 * r['bf16_peak_fraction']:.0f}% of bf16 peak, "
                f"{r['speedup_vs_baseline']:.2f}x baseline",
                flush=True,
            )
        if i == 0:  # the programs just timed: compiled already, so this costs no device time
            # Under the seed mesh the compiled HLO is one device's share of the seeds.
            local = -(-seeds // jax.local_device_count())
            big = tensor_bytes(cfg, local) // 4
            for v in sorted({r["variant"] for r in block}, key=TIMED.index):
                try:
                    text = hlo_text(cfg, v, seeds, steps)
                    (hlo_dir / f"{v}.txt").write_text(text)
                    hlo[v] = {"seeds": seeds, **hlo_summary(text, big)}
                except Exception as e:
                    errors.append(f"HLO of {v}: {type(e).__name__}: {e}"[:1000])
                    continue
                hlo[v]["fp32_passes_written"] = hlo[v].get("big_bytes_written", 0) / (4 * big)
    return {
        "preset": "quick" if run.smoke else "default",
        "steps_per_call": steps,
        "rounds": rounds,
        "model_flops_per_seed_step": flops,
        "peak_fp32_flops": peak,
        "copy_bandwidth_bytes_per_s": bandwidth,
        "rows": rows,
        "hlo": hlo,
        "skipped_seeds": skipped,
        "errors": errors,
    }


def markdown(st: dict) -> list[str]:
    """gpu.md lines of a finished stage."""
    nan = float("nan")
    lines = [
        f"Step variants (multiview/bench/step_variants.py), preset {st['preset']!r}, median of "
        f"{st['rounds']} interleaved calls of {st['steps_per_call']} steps; copy bandwidth "
        f'{st["copy_bandwidth_bytes_per_s"] / 1e12:.2f} TB/s. "fp32 passes": the time beyond '
        "the GEMMs at the fp32 peak, in reads or writes of the fp32 pre-activation tensor at "
        "that bandwidth.",
        "",
        "| variant | seeds | ms / step | TFLOP/s | of fp32 peak | of bf16 peak | vs baseline "
        "| fp32 passes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in st["rows"]:
        frac, passes = r.get("peak_fraction", nan), r.get("implied_fp32_passes", nan)
        frac16 = r.get("bf16_peak_fraction", nan)
        lines.append(
            f"| {r['variant']} | {r['seeds']} | {1e3 * r['step_s']:.3f} | "
            f"{r['model_flops'] / 1e12:.2f} | "
            f"{'–' if math.isnan(frac) else f'{100 * frac:.0f}%'} | "
            f"{'–' if math.isnan(frac16) else f'{100 * frac16:.0f}%'} | "
            f"{r['speedup_vs_baseline']:.2f}x | {'–' if math.isnan(passes) else f'{passes:.1f}'} |"
        )
    if st["hlo"]:
        lines += [
            "",
            "Compiled programs (OUT/hlo/<variant>.txt): kernels, of which GEMMs, transposes and "
            "copies, and the full writes of the pre-activation tensor (fp32 units) per step:",
            "",
            "| variant | kernels | GEMMs | transpose | copy | tensor writes (fp32 passes) |",
            "|---|---|---|---|---|---|",
        ]
        for v, h in st["hlo"].items():
            lines.append(
                f"| {v} | {h.get('kernels', 0)} | {h.get('gemm', 0)} | {h.get('transpose', 0)} | {h.get('copy', 0)} | "
                f"{h.get('fp32_passes_written', 0):.1f} |"
            )
    if st.get("skipped_seeds"):
        lines += ["", f"Skipped (stage time cap): {st['skipped_seeds']} seeds."]
    if st.get("errors"):
        lines += ["", "Step-variant errors:", *[f"- {e}" for e in st["errors"]]]
    lines.append("")
    return lines


def main() -> None:
    """Time the variants here and print a Markdown table (no files written)."""
    ap = argparse.ArgumentParser(description="time the GD-step variants on this machine")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--seeds", default="8,64", help="comma-separated seed counts")
    ap.add_argument("--steps", type=int, default=10, help="steps per timed call")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved timed calls")
    ap.add_argument("--matmul", type=int, default=2048, help="n of the n^3 peak matmul")
    a = ap.parse_args()
    cfg = bench_config(a.preset)
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
        for r in time_variants(cfg, int(s), a.steps, a.rounds, VARIANTS)
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
