"""Regenerate the committed verdict reports and figures of the synthetic side.

    python -m experiments.readme_figures.make_figures                      # the default preset -> figures/
    python -m experiments.readme_figures.make_figures --preset separated  # -> figures/separated/

Runs every experiment of ``multiview theorems`` on the preset (through the public API, with
the preset's own experiment settings), writes the run folder to ``--out`` and copies its
figures, ``report.md`` (as ``theorems_report.md``) and ``summary.json`` (as
``theorems_summary.json``) into ``figures/`` (the default preset) or
``figures/<preset>/``. The phase diagram has its own study (experiments/phase_diagram/) and
the CIFAR figure comes from ``multiview cifar``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import multiview as mv

ROOT = Path(__file__).resolve().parents[2]


def _cell(p: dict) -> str:
    lo, hi = p["interval"]
    interval = "" if lo is None or hi is None else f" [{lo:.2f}, {hi:.2f}]"
    measured = "n/a" if p["measured"] is None else f"{p['measured']:.2f}"
    word = p["verdict"].replace("_", " ")
    word = word if p["verdict"] == "holds" else f"**{word}**"
    return f"{word} {measured}{interval} ({p['n']})"


def verdict_table(presets: list[str]) -> str:
    """The README's table: one row per prediction, one column per preset (its committed
    ``theorems_summary.json``), each cell the verdict, the measured value, its 95% interval
    and n."""
    runs = {}
    for name in presets:
        folder = ROOT / "figures" / ("" if name == "default" else name)
        summary = json.loads((folder / "theorems_summary.json").read_text())
        runs[name] = {p["id"]: p for p in summary["predictions"]}
    ids = list(dict.fromkeys(i for preds in runs.values() for i in preds))
    lines = ["| prediction | kind | " + " | ".join(f"`{n}`" for n in presets) + " |"]
    lines.append("|---|---|" + "---|" * len(presets))
    for i in ids:
        kind = next(preds[i]["kind"] for preds in runs.values() if i in preds)
        cells = [_cell(runs[n][i]) if i in runs[n] else "–" for n in presets]
        lines.append(f"| `{i}` | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--out", default=None, help="run folder (default runs/figures-PRESET)")
    parser.add_argument(
        "--table",
        nargs="+",
        metavar="PRESET",
        help="print the README's verdict table of these presets' committed reports and stop",
    )
    args = parser.parse_args()
    if args.table:
        print(verdict_table(args.table))
        return
    out = Path(args.out or f"runs/figures-{args.preset}")
    started = time.time()
    mv.theorems(mv.preset(args.preset), mv.theorems_config(args.preset), out=out)
    dest = ROOT / "figures" / ("" if args.preset == "default" else args.preset)
    dest.mkdir(parents=True, exist_ok=True)
    for png in sorted((out / "figures").glob("*.png")):
        shutil.copy2(png, dest / png.name)
    report = (out / "report.md").read_text().replace("](figures/", "](")
    (dest / "theorems_report.md").write_text(report)
    shutil.copy2(out / "summary.json", dest / "theorems_summary.json")
    print(f"figures in {dest} ({(time.time() - started) / 60:.1f} min)")


if __name__ == "__main__":
    main()
