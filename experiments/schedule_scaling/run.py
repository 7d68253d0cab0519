"""Train 8 seeds of a preset at given (k, N, steps) and append one JSON line per run.

    python -m experiments.schedule_scaling.run --k 20 --n-train 400 --steps 3000 6000

Each run records k, N, steps, lr, seeds, wall seconds, and the Theorem-1 metrics (train,
multi-view and single-view test accuracy, fraction of classes with one view learned) to
``results/runs.jsonl`` beside this script. ``--steps 0`` uses the preset's own schedule
(scaled with k and N by the preset rule).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import multiview as mv

RESULTS = Path(__file__).resolve().parent / "results" / "runs.jsonl"
TRAIN_GATE, MULTI_GATE = 0.99, 0.97


def measure(preset: str, k: int, n_train: int, steps: int, seeds: int, lr: float | None):
    """One run: the resolved config's schedule and the mean metrics over seeds."""
    cfg = mv.preset(preset, k=k, n_train=n_train, seeds=seeds, lr=lr, steps=steps or None)
    started = time.time()
    run = mv.simulate(cfg, progress=False)
    wall = time.time() - started
    m = run.metrics
    return {
        "preset": preset,
        "k": k,
        "n_train": n_train,
        "steps": cfg.train.steps,
        "steps_given": bool(steps),
        "lr": cfg.train.lr,
        "chunks": cfg.train.chunks,
        "seeds": seeds,
        "wall_s": round(wall, 1),
        "train_acc": m["train_acc"],
        "train_acc_min": float(run.per_seed["train_acc"].min()),
        "test_acc_multi": m["test_acc_multi"],
        "test_acc_multi_min": float(run.per_seed["test_acc_multi"].min()),
        "test_acc_single": m["test_acc_single"],
        "frac_classes_one_view": m["frac_classes_one_view"],
        "frac_classes_all_views": m["frac_classes_all_views"],
        "frac_classes_no_view": m["frac_classes_no_view"],
        "converged": bool(m["train_acc"] >= TRAIN_GATE and m["test_acc_multi"] >= MULTI_GATE),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="default")
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--n-train", type=int, required=True)
    p.add_argument("--steps", type=int, nargs="+", default=[0])
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--out", type=Path, default=RESULTS)
    a = p.parse_args(argv)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    for steps in a.steps:
        row = measure(a.preset, a.k, a.n_train, steps, a.seeds, a.lr)
        with a.out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
