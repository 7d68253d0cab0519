"""Append one CIFAR run's distillation numbers to a results file, as one JSON line.

    python -m experiments.cifar_distillation.cifar_record RUN_DIR --label NAME \
        --command "multiview cifar ..." [--note "machine load ..."] [--results FILE]

``--results`` defaults to ``results/cifar_distillation.jsonl`` beside this driver.

Reads ``RUN_DIR/summary.json`` (a finished run) or else ``RUN_DIR/checkpoints/runs.json``
(a run cut short: status ``partial``), and records the command, the git commit, the wall
time, the machine's load average at recording time with the note, the configuration that
matters for distillation, the accuracies, the paired differences, the contrasts between
teacher modes and against the as-long control, and the recovered shares of the ensemble's
gain with their intervals (``multiview.cifar.summary``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from multiview.cifar.experiments import runs_summary


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--label", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--note", default="")
    ap.add_argument("--commit", default=None, help="the commit the run ran at (default HEAD)")
    ap.add_argument("--started", default=None, help="when the run started (UTC, ISO 8601)")
    ap.add_argument(
        "--results",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "cifar_distillation.jsonl",
    )
    a = ap.parse_args(argv)
    summary_path = a.run_dir / "summary.json"
    try:
        if summary_path.exists():
            summary = json.loads(summary_path.read_text())
            status, runs, groups = "complete", summary["runs"], None
            cfg = summary["config"]
        else:
            progress = json.loads((a.run_dir / "checkpoints" / "runs.json").read_text())
            status, runs, groups, cfg = "partial", progress["runs"], progress["groups"], None
            summary = {"seconds": progress.get("seconds", {})}
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {a.run_dir}: no summary.json or runs.json ({e})", file=sys.stderr)
        return 2
    if groups is None:
        k = cfg["ensemble_size"]
        groups = [list(range(g * k, (g + 1) * k)) for g in range(cfg["seeds"] // k)]
    s = runs_summary(runs, groups)
    line = {
        "label": a.label,
        "status": status,
        "run": str(a.run_dir),
        "command": a.command,
        "commit": a.commit or _commit(),
        "started": a.started,
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "wall_seconds": summary.get("wall_seconds"),
        "seconds": summary.get("seconds"),
        "load": {"loadavg_1_5_15": list(os.getloadavg()), "note": a.note},
        "config": None
        if cfg is None
        else {
            "preset": cfg["preset"],
            "seeds": cfg["seeds"],
            "ensemble_size": cfg["ensemble_size"],
            "epochs": cfg["train"]["epochs"],
            "label_smoothing": cfg["train"]["label_smoothing"],
            "crop_padding": cfg["train"]["crop_padding"],
            "flip": cfg["train"]["flip"],
            "distill": cfg["distill"],
            "skip": cfg.get("skip"),
        },
        "teacher_modes": summary.get("teacher_modes"),
        "accuracy_percent": {m: round(100 * v["mean"], 3) for m, v in s["methods"].items()},
        "differences_points": s["differences"],
        "contrasts_points": s["contrasts"],
        "recovered_share_percent": s["recovered_share"],
        "runs": runs,
    }
    a.results.parent.mkdir(parents=True, exist_ok=True)
    with a.results.open("a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
    print(json.dumps({k: line[k] for k in ("label", "status", "recovered_share_percent")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
