"""The Figure-1-style outputs of a CIFAR run: a table (mean +- std over runs and each
method's paired difference to its single model with a 95% t-interval), a bar chart, files."""

from __future__ import annotations

import io
from pathlib import Path

from multiview.io import atomic_write_bytes, atomic_write_text, run_metadata, write_json
from multiview.report.page import build_report
from multiview.report.plots import plt
from multiview.stats import INTERVAL_CONVENTION, STD_CONVENTION

__all__ = ["LABELS", "format_table", "plot_bars", "write_report"]

LABELS = {
    "single": "single model",
    "ensemble": "ensemble",
    "kd": "knowledge distillation",
    "kd_precomputed": "knowledge distillation, precomputed teacher",
    "self_distill": "self-distillation",
    "self_distill_precomputed": "self-distillation, precomputed teacher",
    "single_long": "single model, as long as the students",
    "train_average": "training the average",
    "rf_single": "RF single",
    "rf_ensemble": "RF ensemble",
    "rf_kd": "RF knowledge distillation",
    "rf_train_average": "RF training the average",
    "rf_concat_head": "RF training the average, one head on the concatenated features",
    "rf_fresh_single": "RF single on the RF students' features",
}


def _difference_cell(d: dict | None) -> str:
    if d is None:
        return ""
    if d["n"] < 2 or d["half_width"] is None or d["half_width"] != d["half_width"]:
        return f"{d['mean']:+.2f} (n = {d['n']}, no interval)"
    mark = " *" if d["low"] > 0 or d["high"] < 0 else ""
    return f"{d['mean']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}]{mark}"


def _share_label(key: str) -> str:
    method, _, over = key.partition(" over ")
    return LABELS[method] + (f" (over the {LABELS[over]})" if over else "")


def _share_cell(d: dict) -> str:
    if d["low"] != d["low"]:  # NaN: fewer than two values on a side
        return f"{d['mean']:.0f} (no interval)"
    if d["low"] == -float("inf"):
        return f"{d['mean']:.0f} (interval unbounded: the ensemble's gain is not clear of 0)"
    return f"{d['mean']:.0f} [{d['low']:.0f}, {d['high']:.0f}]"


def _contrast_label(key: str) -> str:
    a, _, b = key.partition(" - ")
    return f"{LABELS[a]} - {LABELS[b]}"


def format_table(summary: dict) -> str:
    """A Markdown table: method, test accuracy mean +- std (%), runs, and the paired
    difference to the single model (points, 95% t-interval; ``*``: the interval excludes 0)."""
    diffs = summary.get("differences", {})
    lines = [
        "| method | test accuracy (%) | runs | vs single (points, paired, 95% CI) | pairs |",
        "|---|---|---|---|---|",
    ]
    for m, label in LABELS.items():
        if m not in summary["methods"]:  # a method this run did not train
            continue
        stats = summary["methods"][m]
        n = len(summary["runs"][m])
        d = diffs.get(m)
        cell, pairs = _difference_cell(d), ("" if d is None else str(d["n"]))
        lines.append(
            f"| {label} | {100 * stats['mean']:.2f} +- {100 * stats['std']:.2f} | {n} "
            f"| {cell} | {pairs} |"
        )
    if shares := summary.get("recovered_share"):  # only when a student was distilled
        lines.append(
            "\nShare of the ensemble's gain recovered (%, mean student gain / mean ensemble "
            "gain, 95% Fieller interval): "
            + "; ".join(f"{_share_label(m)} {_share_cell(d)}" for m, d in shares.items())
            + "."
        )
    if con := summary.get("contrasts"):
        lines.append(
            "\nSame initialization and data order, another teacher (points, paired, 95% CI): "
            + "; ".join(f"{_contrast_label(c)} {_difference_cell(d)}" for c, d in con.items())
            + "."
        )
    if modes := summary.get("teacher_modes"):
        lines.append(
            "\nTeacher logits: "
            + ", ".join(f"{LABELS.get(m, m)}: {mode}" for m, mode in modes.items())
            + " (consistent: on the student's own augmented batch; precomputed: once, on the "
            "un-augmented training images)."
        )
    if vs := summary.get("versus_ensemble"):  # only when averages were trained
        cells = [f"{LABELS[m]} {_difference_cell(d)}" for m, d in vs.items()]
        lines.append(
            "\nTrained averages vs the ensemble (points, run j vs ensemble j, 95% CI; they "
            "share no model): " + "; ".join(cells) + "."
        )
    # None in a cut run's table (runs.json); with S == K it is the ensemble row itself.
    whole = summary.get("whole_ensemble", {})
    if whole and whole["models"] != summary.get("config", {}).get("ensemble_size"):
        means = {m: stats["mean"] for m, stats in summary["methods"].items()}
        cells = [
            f"{LABELS[m]} {100 * whole[m]:.2f} ({100 * (whole[m] - means[base]):+.2f} vs the "
            f"{LABELS[base]} mean)"
            for m, base in (("ensemble", "single"), ("rf_ensemble", "rf_single"))
            if m in whole and base in means
        ]
        lines.append(
            f"\nEnsemble of all {whole['models']} single models (one ensemble, no interval; the "
            "paper's Figure 1 ensembles its 10 seeds): " + "; ".join(cells) + "."
        )
    if fit := summary.get("train_accuracy"):  # none in a cut run's table (runs.json)
        cells = [f"{LABELS[m]} {100 * sum(v) / len(v):.2f}" for m, v in fit.items() if v]
        lines.append(
            "\nTraining-set accuracy (%, mean over runs; the training images evaluated as the "
            "test images are): " + ", ".join(cells) + "."
        )
    lines.append(f"\nAccuracy: {STD_CONVENTION.replace('seeds', 'runs')}.")
    lines.append(f"Differences: {INTERVAL_CONVENTION}; * = the interval excludes 0. Pairing:")
    for m, d in diffs.items():
        lines.append(f"- {LABELS[m]}: {d['pairing']}")
    return "\n".join(lines) + "\n"


def plot_bars(summary: dict, path: str | Path) -> Path:
    """Bar chart of mean test accuracy (error bars: std) for the CNN and RF methods."""
    methods = [m for m in LABELS if m in summary["methods"]]
    means = [100 * summary["methods"][m]["mean"] for m in methods]
    stds = [100 * summary["methods"][m]["std"] for m in methods]
    colors = ["tab:orange" if m.startswith("rf_") else "tab:blue" for m in methods]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(range(len(methods)), means, yerr=stds, color=colors, capsize=3)
    ax.set_xticks(
        range(len(methods)), [LABELS[m] for m in methods], rotation=35, ha="right", fontsize=8
    )
    lo = min(means) - 5
    ax.set_ylim(max(0.0, lo), min(100.0, max(means) + 3))
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"CIFAR, preset {summary.get('preset', '')}: CNN (blue), random features (orange)")
    fig.tight_layout()
    buf = io.BytesIO()  # written atomically: a full disk is one line, nothing half-written
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def write_report(summary: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write ``summary.json`` (with run metadata), ``table.md``, ``figure1.png`` and
    ``report.html``."""
    out_dir = Path(out_dir)
    summary = {**summary, "metadata": run_metadata()}
    paths = {
        "summary": write_json(out_dir / "summary.json", summary),
        "table": atomic_write_text(out_dir / "table.md", format_table(summary)),
        "figure": plot_bars(summary, out_dir / "figure1.png"),
    }
    paths["report"] = build_report(out_dir)
    return paths
