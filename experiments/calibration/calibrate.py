"""Calibration sweep for the default preset: which parameters show Theorem 1 at finite size.

Usage:
    python -m experiments.calibration.calibrate OUT.jsonl "q=4" "noise_scale=1.5 off_target=3" ...

Each argument is one set of ``field=value`` overrides of the default preset (``seeds`` too);
each line of OUT.jsonl records the overrides, the summary metrics and the wall time, so the
README's choice of parameters can be traced to measurements.
"""

from __future__ import annotations

import json
import sys
import time

from multiview.experiments.simulate import run_simulation
from multiview.sim.config import preset, with_overrides

KEYS = (
    "train_acc",
    "test_acc_multi",
    "test_acc_single",
    "frac_classes_one_view",
    "frac_classes_all_views",
    "lottery_agreement",
    "memorization_flip_rate",
    "memorization_flip_rate_learned",
)


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def main(out: str, *settings: str) -> None:
    for setting in settings:
        overrides = {k: _value(v) for k, v in (kv.split("=") for kv in setting.split())}
        cfg = with_overrides(preset(overrides.pop("preset", "default")), **overrides)
        t0 = time.time()
        metrics = run_simulation(cfg).summary["metrics"]
        row = {"overrides": setting, "seconds": round(time.time() - t0, 1)}
        row.update({k: round(metrics[k], 4) for k in KEYS})
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(setting.ljust(40), " ".join(f"{k[:14]}={row[k]:.3f}" for k in KEYS), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
