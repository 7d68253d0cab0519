"""Training the average of random-feature models, in two parameterizations, on the full data.

    python -m experiments.rf_contrast.rf_train_average --data .data/cifar10-jpeg.zip \\
        --full experiments/rf_contrast/results/rf_full_data.jsonl \\
        --out experiments/rf_contrast/results/rf_train_average.jsonl --settings w2048

The pipeline's ``rf_train_average`` trains K linear heads through their averaged logits
``(1/K) sum_m W_m^T f_m`` with a single head's learning rate and weight decay. In function
space, the weights ``V_m = W_m / K`` of one linear model on the K concatenated feature sets,
that is SGD with the learning rate divided by K^2 and the weight decay multiplied by K^2 (16x
each at K = 4): a more regularized and slower-trained model than one head, so its comparison
with the ensemble mixes the model with its optimizer. This script trains, for the same runs
as ``rf_full_data.py`` (feature seeds 2S + jK + m, data order 2S + j):

- ``mean_heads`` j: the pipeline's parameterization (it must reproduce that file's
  ``train_average`` j exactly: ``reproduced`` is the largest difference, in points);
- ``concat_head`` j: one head trained like a single (same learning rate, weight decay, epochs,
  data order) on the concatenation of the same K feature sets: the same function class, the
  single's optimizer in function space;

with test and train accuracy, paired against the mean of single group j and against ensemble
j from the ``--full`` file's line of the setting. One JSON line per setting in ``--out``,
rewritten atomically; a setting already there is skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.rf_contrast.rf_full_data import RF_DEFAULTS, SETTINGS, accuracy_percent
from multiview.cifar.data import load_cifar
from multiview.cifar.experiments import prepare_data
from multiview.cifar.presets import preset_config
from multiview.cifar.random_features import (
    concat_features,
    make_random_features,
    rf_logits,
    train_rf_heads,
)
from multiview.errors import DataError
from multiview.io import atomic_write_text
from multiview.stats import group_seeds, paired_interval, rounded_interval


def run_averages(data, rf, s: int, k: int, runs: int, log) -> dict:
    """Per-run test and train accuracies (%) of both parameterizations."""
    base = jax.random.fold_in(jax.random.key(0), 5)  # as rf_full_data and run_cifar
    out: dict[str, list[float]] = {
        "mean_heads": [],
        "mean_heads_train": [],
        "concat_head": [],
        "concat_head_train": [],
    }
    seed_features = make_random_features(rf, data.train_x, data.test_x)
    for j in range(runs):
        fs = [seed_features(jax.random.fold_in(base, 2 * s + j * k + m)) for m in range(k)]
        tr, te = jnp.stack([f[0] for f in fs]), jnp.stack([f[1] for f in fs])
        del fs
        order = jax.random.fold_in(base, 10_000 + 2 * s + j)
        h = train_rf_heads(tr, data.train_y, rf, key=order)
        out["mean_heads"].append(accuracy_percent(rf_logits(te, h).mean(0), data.test_y))
        out["mean_heads_train"].append(accuracy_percent(rf_logits(tr, h).mean(0), data.train_y))
        del h
        tr, te = concat_features(tr), concat_features(te)
        h = train_rf_heads(tr, data.train_y, rf, key=order)
        out["concat_head"].append(accuracy_percent(rf_logits(te, h)[0], data.test_y))
        out["concat_head_train"].append(accuracy_percent(rf_logits(tr, h)[0], data.train_y))
        del tr, te, h
        log(
            f"  run {j}: mean heads {out['mean_heads'][-1]:.2f} "
            f"(train {out['mean_heads_train'][-1]:.2f}), concatenated head "
            f"{out['concat_head'][-1]:.2f} (train {out['concat_head_train'][-1]:.2f})"
        )
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="CIFAR-10 (zip, image folder or python batches)")
    ap.add_argument("--full", required=True, help="rf_full_data.py's results (members, ensembles)")
    ap.add_argument("--out", required=True, help="JSONL results file")
    ap.add_argument("--settings", required=True, help=f"comma list of {sorted(SETTINGS)}")
    args = ap.parse_args(argv)
    names = args.settings.split(",")
    if unknown := [n for n in names if n not in SETTINGS]:
        print(f"error: unknown settings {unknown}; known: {sorted(SETTINGS)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if (out.exists() and not out.is_file()) or not out.parent.is_dir():
        print(f"error: --out {out}: not a file in an existing folder", file=sys.stderr)
        return 2
    try:
        full = [json.loads(x) for x in Path(args.full).read_text().splitlines() if x.strip()]
        lines = out.read_text().splitlines() if out.exists() else []
        done = [json.loads(x)["config"]["setting"] for x in lines if x.strip()]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"error: --full {args.full} or --out {out}: unreadable ({e})", file=sys.stderr)
        return 2
    rows = {}
    for name in names:
        rf = dataclasses.asdict(SETTINGS[name][0])
        match = [
            r
            for r in full
            if r["config"]["setting"] == name
            and {**RF_DEFAULTS, **r["config"]["rf"]} == rf
            and r["runs"].get("train_average")
        ]
        if not match:
            print(f"error: --full {args.full} has no {name} line with averages", file=sys.stderr)
            return 2
        rows[name] = match[0]
    try:
        data = prepare_data(load_cifar(args.data), preset_config("gpu"))  # the full data
    except (OSError, DataError) as e:
        print(f"error: --data {args.data}: {e}", file=sys.stderr)
        return 2
    for name in names:
        if name in done:
            print(f"{name}: already in {out}; skipped", flush=True)
            continue
        row, rf = rows[name], SETTINGS[name][0]
        s, k = row["config"]["seeds"], row["config"]["k"]
        stored = row["runs"]["train_average"]
        singles = row["runs"]["single"]
        members = [float(np.mean([singles[i] for i in g])) for g in group_seeds(s, k).tolist()]
        members, ensemble = members[: len(stored)], row["runs"]["ensemble"][: len(stored)]
        print(f"{name}: {len(stored)} runs of {k} x {rf.dim} features", flush=True)
        t0 = time.perf_counter()
        res = run_averages(data, rf, s, k, len(stored), lambda m: print(m, flush=True))
        record = {
            "config": {**row["config"], "setting": name},
            "runs": res,
            "members": members,
            "ensemble": ensemble,
            "single_train": float(np.mean(row["runs"]["single_train"])),
            "reproduced": round(float(np.max(np.abs(np.subtract(res["mean_heads"], stored)))), 6),
            "differences": {
                key: rounded_interval(paired_interval(a, b))  # strict JSON: NaN as None
                for key, (a, b) in {
                    "concat_vs_members": (res["concat_head"], members),
                    "concat_vs_ensemble": (res["concat_head"], ensemble),
                    "mean_heads_vs_ensemble": (res["mean_heads"], ensemble),
                    "concat_vs_mean_heads": (res["concat_head"], res["mean_heads"]),
                }.items()
            },
            "seconds": round(time.perf_counter() - t0, 1),
            "machine": f"{platform.machine()}, {jax.device_count()} {jax.default_backend()} "
            f"device(s), jax {jax.__version__}",
        }
        for key, d in record["differences"].items():
            print(f"  {key}: {d['mean']:+.2f} [{d['low']}, {d['high']}] n={d['n']}", flush=True)
        print(f"  reproduces rf_full_data's train_average to {record['reproduced']}", flush=True)
        lines.append(json.dumps(record, allow_nan=False))
        atomic_write_text(out, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
