"""Run the benchmark suite, save the JSON beside this script and print Markdown tables.

    python -m benchmarks.run                 # default preset, 1..256 seeds, paper preset, torch
    python -m benchmarks.run --quick         # smoke run

The same numbers come from ``multiview bench --json``; this script only formats them for
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from multiview.bench import run_bench


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cpu_count']} cores, jax {m['jax_version']} ({m['backend']}), "
        f"load average {m['load_average_1min']:.1f} -> {m['load_average_1min_end']:.1f}",
        "",
        f"- matmul peak (4096^3 fp32, same run): {r['matmul_peak_flops'] / 1e9:.0f} GFLOP/s",
        f"- {r['compare_seeds']} seeds, preset {r['preset']!r}: "
        f"{r['achieved_flops'] / 1e9:.0f} GFLOP/s = **{100 * r['peak_fraction']:.0f}%** of peak",
        f"- speedup vs jitted per-seed loop: {r['speedup_vs_jax_loop']:.2f}x",
    ]
    if r.get("speedup_vs_torch_loop") is not None:
        lines.append(
            f"- speedup vs PyTorch per-seed loop ({r['torch_threads']} thread(s)): "
            f"**{r['speedup_vs_torch_loop']:.2f}x**"
        )
    if "bf16" in r:
        b = r["bf16"]
        lines.append(
            f"- bf16 matmuls: {b['speedup_vs_fp32']:.2f}x faster than fp32"
            + (
                f", {b['speedup_vs_torch_loop']:.2f}x vs PyTorch fp32"
                if "speedup_vs_torch_loop" in b
                else ""
            )
        )
        if "check" in b:
            c = b["check"]
            lines.append(
                f"  - check ({c['seeds']} seeds, {c['steps']} steps): prediction "
                f"agreement {100 * c['prediction_agreement']:.2f}%, max weight "
                f"rel. diff {c['max_weight_rel_diff']:.1e}"
            )
    lines += [
        "",
        "| seeds | ms / step | seed-steps / s | GFLOP/s | of peak |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in r["throughput"]:
        lines.append(
            f"| {row['seeds']} | {1e3 * row['step_s']:.2f} | "
            f"{row['seed_steps_per_s']:.0f} | {row['model_flops'] / 1e9:.0f} | "
            f"{100 * row['peak_fraction']:.0f}% |"
        )
    if "large" in r:
        lg = r["large"]
        lines += [
            "",
            f"Large preset {lg['preset']!r} "
            f"({lg['model_flops_per_seed_step'] / 1e9:.1f} GFLOP per seed-step):",
            "",
        ]
        for row in lg["throughput"]:
            extra = (
                f", {row['speedup_vs_torch_loop']:.2f}x vs PyTorch loop"
                if "speedup_vs_torch_loop" in row
                else ""
            )
            lines.append(
                f"- {row['seeds']} seeds: {1e3 * row['step_s']:.0f} ms/step, "
                f"{row['model_flops'] / 1e9:.0f} GFLOP/s "
                f"({100 * row['peak_fraction']:.0f}% of peak){extra}"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--json-in", type=Path, help="format an existing result instead of running")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    a = ap.parse_args()
    if a.json_in:
        r = json.loads(a.json_in.read_text())
    else:
        r = run_bench(a.preset, torch=False if a.no_torch else None, quick=a.quick, log=print)
        a.out.write_text(json.dumps(r, indent=2) + "\n")
    print(markdown(r))


if __name__ == "__main__":
    main()
