"""``gpu.md``: the Markdown of benchmarks/gpu.py's results (``markdown(results)``), rewritten
after every stage."""

from __future__ import annotations

import math

from gpu_variants import markdown as variants_markdown  # benchmarks/, this script's folder


def _f(x, fmt="{:.3f}"):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)


def markdown(r: dict) -> str:
    st = r["stages"]
    dev = st.get("device", {})
    lines = [
        f"# GPU benchmark ({'smoke, ' if r['smoke'] else ''}{', '.join(dev.get('devices', ['?']))}"
        f", {dev.get('backend', '?')}, jax {dev.get('jax', '?')})",
        "",
        f"Elapsed {r.get('elapsed_s', 0):.0f} s of a {r['budget_s']:.0f} s budget.",
        "",
    ]
    pk = st.get("peak", {})
    if pk.get("status") == "ok":
        lines += [
            f"Matmul peak ({pk['n']}^3, same run): fp32 default precision "
            f"{pk['fp32_default_flops'] / 1e12:.1f} TFLOP/s, fp32 highest "
            f"{pk['fp32_highest_flops'] / 1e12:.1f}, bf16 {pk['bf16_flops'] / 1e12:.1f}.",
            "",
        ]
    ss = st.get("sim_step", {})
    if ss.get("status") == "ok":
        lines += [
            f"Simulator GD step, preset {ss['preset']!r} "
            f"({ss['model_flops_per_seed_step'] / 1e6:.0f} MFLOP per seed-step):",
            "",
            "| matmul dtype | seeds | ms / step | seed-steps / s | TFLOP/s | of its dtype's peak "
            "| of the fp32 peak |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {w['dtype']} | {w['seeds']} | {1e3 * w['step_s']:.3f} | "
            f"{w['seed_steps_per_s']:.0f} | {w['model_flops'] / 1e12:.2f} | "
            f"{100 * w['peak_fraction']:.0f}% | {100 * w.get('fp32_peak_fraction', 0):.0f}% |"
            for w in ss["rows"]
        ]
        lines.append("")
    if st.get("step_variants", {}).get("status") == "ok":
        lines += variants_markdown(st["step_variants"])
    for name in ("simulate", "simulate_bf16_store"):
        sim = st.get(name, {})
        if sim.get("status") != "ok":
            continue
        holds = ", ".join(
            f"{k} {'holds' if v['holds'] else 'FAILS'}" for k, v in sim["predictions"].items()
        )
        lines += [
            f"`multiview simulate --seeds {sim['seeds']} --dtype {sim.get('dtype', 'float32')}`: "
            f"{sim['wall_s']:.1f} s wall (fresh process, compile included); {holds}.",
            "",
        ]
    cf = st.get("cifar", {})
    if cf.get("status") == "ok":
        lines += [
            f"CIFAR `{cf['preset']}` preset ({cf['train_images']} train / "
            f"{cf['test_images']} test images, {cf['epochs']} epochs; data load "
            f"{cf['load_s']:.0f} s):",
            "",
            "| model | test accuracy | seconds | train images/s |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {i} | {_f(m['test_accuracy'], '{:.4f}')} | {m['seconds']:.1f} | "
            f"{m['train_images_per_s']:.0f} |"
            for i, m in enumerate(cf["models"])
        ]
        lines += ["", f"Seconds per model (after the first): {cf['seconds_per_model']:.1f}.", ""]
    ce = st.get("cifar_epochs", {})
    if ce.get("status") == "ok" and ce["models"]:
        lines += [
            "Longer training, one model each: "
            + ", ".join(
                f"{m['epochs']} epochs {100 * m['test_accuracy']:.2f}% ({m['seconds']:.1f} s)"
                for m in ce["models"]
            )
            + ".",
            "",
        ]
    kd = st.get("kd_grid", {})
    if kd.get("status") == "ok":
        lines += [
            "Distillation grid cells (details in kd_grid.jsonl): "
            + ", ".join(f"{c['name']} ({c['status']})" for c in kd["cells"]),
            "",
        ]
    failed = [
        f"{k}: {v.get('error', v.get('why'))}"
        for k, v in st.items()
        if v.get("status") in ("failed", "skipped")
    ]
    if failed:
        lines += ["Not measured:", *[f"- {x}" for x in failed], ""]
    return "\n".join(lines)
