"""Regenerate the committed verdict reports and figures of the synthetic side.

    python scripts/make_figures.py                 # the default preset -> figures/
    python scripts/make_figures.py --preset separated   # -> figures/separated/

Runs every experiment of ``multiview theorems`` on the preset (through the public API, with
the preset's own experiment settings), writes the run folder to ``--out`` and copies its
figures, ``report.md`` (as ``theorems_report.md``) and ``summary.json`` (as
``theorems_summary.json``) into ``figures/`` (the default preset) or
``figures/<preset>/``. The phase diagram has its own script (scripts/phase_diagram.sh) and
the CIFAR figure comes from ``multiview cifar``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import multiview as mv

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--out", default=None, help="run folder (default runs/figures-PRESET)")
    args = parser.parse_args()
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
