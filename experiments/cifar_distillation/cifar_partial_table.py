"""The Figure-1 table of the methods a CIFAR run finished, from its ``runs.json``.

    python -m experiments.cifar_distillation.cifar_partial_table OUT/checkpoints/runs.json

``multiview cifar`` rewrites ``OUT/checkpoints/runs.json`` after each method (per-run test
accuracies, ensemble groups, seconds). A run cut short, e.g. by a GPU run's time limit
(``benchmarks/gpu_run.sh`` brings the file back in ``extra.tar.gz``), still has the paired
differences of what it finished; this prints them as ``table.md`` would (Markdown).
"""

from __future__ import annotations

import json
import sys

from multiview.cifar.experiments import runs_summary
from multiview.report.cifar import format_table


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(
            "usage: python -m experiments.cifar_distillation.cifar_partial_table OUT/checkpoints/runs.json",
            file=sys.stderr,
        )
        return 2
    try:
        with open(argv[0], encoding="utf-8") as f:
            progress = json.load(f)
        runs, groups = progress["runs"], progress["groups"]
        table = format_table(runs_summary(runs, groups))
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(
            f"error: {argv[0]}: not a readable runs.json ({type(e).__name__}: {e})", file=sys.stderr
        )
        return 2
    seconds = ", ".join(f"{m} {s:.0f} s" for m, s in progress.get("seconds", {}).items())
    print(table + (f"\nSeconds: {seconds}.\n" if seconds else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
