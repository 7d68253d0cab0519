"""``gpu.md``: the Markdown of benchmarks/gpu.py's results (``markdown(results)``), rewritten
after every stage."""

from __future__ import annotations

import math

from benchmarks.gpu_variants import check_cell


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
    if st.get("step_variants", {}).get("status") in ("ok", "partial"):
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


def variants_markdown(st: dict) -> list[str]:
    """gpu.md lines of the ``step_variants`` stage (finished, or ``partial``: cut)."""
    nan = float("nan")
    lines = [
        f"Step variants (benchmarks/step_variants.py), preset {st['preset']!r}, median of "
        f"{st['rounds']} interleaved calls of {st['steps_per_call']} steps; copy bandwidth "
        f'{st["copy_bandwidth_bytes_per_s"] / 1e12:.2f} TB/s. "fp32 passes": the time beyond '
        "the GEMMs at the fp32 peak, in reads or writes of the fp32 pre-activation tensor at "
        'that bandwidth. "update error" (first seed count): one more call of the timed chunk '
        "from 30x the initial weights, max |dw - dw_ref| / max |dw_ref| over the worst seed, "
        'against the baseline compiled at "highest" precision; a variant agrees within the larger '
        "of its tolerance and 4x the baseline's own error.",
        "",
        "| variant | seeds | ms / step | TFLOP/s | of fp32 peak | of bf16 peak | vs baseline "
        "| fp32 passes | update error (tolerance) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in st["rows"]:
        frac, passes = r.get("peak_fraction", nan), r.get("implied_fp32_passes", nan)
        frac16 = r.get("bf16_peak_fraction", nan)
        lines.append(
            f"| {r['variant']}{' (child process)' if r.get('process') == 'child' else ''} | "
            f"{r['seeds']} | {1e3 * r['step_s']:.3f} | "
            f"{r['model_flops'] / 1e12:.2f} | "
            f"{'–' if math.isnan(frac) else f'{100 * frac:.0f}%'} | "
            f"{'–' if math.isnan(frac16) else f'{100 * frac16:.0f}%'} | "
            f"{r['speedup_vs_baseline']:.2f}x | {'–' if math.isnan(passes) else f'{passes:.1f}'} | "
            f"{check_cell(r) or '–'} |"
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
    if st.get("kernel_tuning"):
        lines += [
            "",
            "The fused weight-gradient kernel alone, per candidate tiles "
            "(benchmarks/tune_wgrad.py; the fastest of each dtype is the one timed in the "
            "step above; fraction: of the matmul peak of its operand dtype):",
            "",
            "| dtype | tiles | us / call | TFLOP/s | of peak | compile + first call (s) |",
            "|---|---|---|---|---|---|",
        ]
        for r in st["kernel_tuning"]:
            if "kernel_s" not in r:
                why = r.get("error") or r.get("skipped", "")
                lines.append(f"| {r['dtype']} | {r['tiles']} | – | – | – | {why[:200]} |")
                continue
            frac = r.get("peak_fraction", nan)
            lines.append(
                f"| {r['dtype']} | {r['tiles']} | {1e6 * r['kernel_s']:.1f} | "
                f"{r['flops'] / 1e12:.1f} | {'–' if math.isnan(frac) else f'{100 * frac:.0f}%'} "
                f"| {r['first_call_s']:.1f} |"
            )
    if st.get("skipped_seeds"):
        lines += ["", f"Skipped (stage time cap): {st['skipped_seeds']} seeds."]
    if st.get("errors"):
        lines += ["", "Step-variant errors:", *[f"- {e}" for e in st["errors"]]]
    lines.append("")
    return lines
