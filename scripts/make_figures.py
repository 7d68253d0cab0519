"""Regenerate every committed figure of the synthetic side into figures/.

    python scripts/make_figures.py [--preset default] [--out runs/figures]

Runs ``multiview theorems`` (all parts) on the preset, writes its report to ``--out``, and
copies the figures and the report into ``figures/`` (figures/theorems_report.md keeps the
numbers the figures show). The phase diagram has its own script
(scripts/phase_diagram.sh) and the CIFAR figure comes from ``multiview cifar``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from multiview.cli.theorems import COMMANDS, run_and_write
from multiview.sim.config import TheoremsConfig, preset

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--out", default="runs/figures")
    args = parser.parse_args()
    out = Path(args.out)
    run_and_write(preset(args.preset), TheoremsConfig(), COMMANDS["theorems"][0], out, False)
    dest = ROOT / "figures"
    dest.mkdir(exist_ok=True)
    for png in sorted((out / "figures").glob("*.png")):
        shutil.copy2(png, dest / png.name)
    report = (out / "report.md").read_text().replace("](figures/", "](")
    (dest / "theorems_report.md").write_text(report)
    shutil.copy2(out / "summary.json", dest / "theorems_summary.json")
    print(f"figures in {dest}")


if __name__ == "__main__":
    main()
