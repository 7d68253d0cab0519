"""The Figure-1-style outputs of a CIFAR run: a table (mean +- std over runs), a bar chart,
files."""

from __future__ import annotations

from pathlib import Path

from multiview.io import atomic_write_text, run_metadata, write_json
from multiview.report.html import build_report
from multiview.report.plots import plt
from multiview.stats import STD_CONVENTION

__all__ = ["LABELS", "format_table", "plot_bars", "write_report"]

LABELS = {
    "single": "single model",
    "ensemble": "ensemble",
    "kd": "knowledge distillation",
    "self_distill": "self-distillation",
    "train_average": "training the average",
    "rf_single": "RF single",
    "rf_ensemble": "RF ensemble",
    "rf_kd": "RF knowledge distillation",
    "rf_train_average": "RF training the average",
}


def format_table(summary: dict) -> str:
    """A Markdown table: method, test accuracy mean +- std (%), runs, gain over single."""
    lines = ["| method | test accuracy (%) | runs | vs single (points) |", "|---|---|---|---|"]
    for m, label in LABELS.items():
        stats = summary["methods"][m]
        n = len(summary["runs"][m])
        gain = summary["gains_points"].get(m)
        g = "" if gain is None else f"{gain:+.2f}"
        lines.append(
            f"| {label} | {100 * stats['mean']:.2f} +- {100 * stats['std']:.2f} | {n} | {g} |"
        )
    lines.append(f"\n{STD_CONVENTION.replace('seeds', 'runs')}.")
    return "\n".join(lines) + "\n"


def plot_bars(summary: dict, path: str | Path) -> Path:
    """Bar chart of mean test accuracy (error bars: std) for the CNN and RF methods."""
    methods = list(LABELS)
    means = [100 * summary["methods"][m]["mean"] for m in methods]
    stds = [100 * summary["methods"][m]["std"] for m in methods]
    colors = ["tab:blue"] * 5 + ["tab:orange"] * 4
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path


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
