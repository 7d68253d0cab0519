"""The random-feature contrast on the full CIFAR-10 training set, on the CPU.

    python -m experiments.rf_contrast.rf_full_data --data ../shared/data/cifar10-jpeg.zip \\
        --out experiments/rf_contrast/results/rf_full_data.jsonl [--settings gpu,cpu] [--seeds 12 --k 4]

The paper's random-feature rows (single 66.68, ensemble of 10 70.54, KD 66.01, training the
average 72.86) are trained on all 50,000 images. The ``cpu`` preset's RF rows use 4,000,
where a linear head over more features than it can use over-fits and a teacher's soft targets
regularize it (docs/cifar.md, "Stronger random features"). This runs the same protocol as
``run_cifar``'s random-feature rows on the full data, one feature set in memory at a time (the
pipeline keeps every single's features, 0.8 GB each at 4,096 features: fine on a GPU, not in
24 GB), so the full-data contrast is measured here before a GPU runs the ``gpu`` preset's
table.

Per setting (an ``RFConfig`` and the KD settings to try), with S seeds and groups of K:
- ``single`` i: features of seed i, a cross-entropy head, data order i;
- ``ensemble`` g: the logit average of singles g*K .. g*K+K-1 vs their mean (n = S // K);
- ``kd`` i (one per KD setting): fresh features of seed S + i, the Hinton loss against the
  ensemble of group 0 (its training logits), data order i; paired with ``fresh`` i, a
  cross-entropy head on the same fresh features and the same data order (n = S);
- ``train_average`` j: K heads on seeds 2S + jK .. trained through their averaged logits vs
  the mean of single group j (n = S // K, at most ``--average-runs``).

Each setting is one JSON line in ``--out`` (per-run accuracies in %, paired intervals, train
accuracy of the singles, seconds); a setting already there with the same configuration is
skipped, so a cut run resumes by setting. The file is rewritten atomically.
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

from multiview.cifar.config import DistillConfig, RFConfig
from multiview.cifar.data import load_cifar
from multiview.cifar.experiments import prepare_data
from multiview.cifar.presets import preset_config
from multiview.cifar.random_features import make_random_features, rf_logits, train_rf_heads
from multiview.errors import DataError
from multiview.io import atomic_write_text
from multiview.stats import accuracy, group_seeds, paired_interval, rounded_interval

# name -> (random features, KD settings (alpha, temperature) to try; the first is the preset's)
SETTINGS: dict[str, tuple[RFConfig, tuple[tuple[float, float], ...]]] = {
    # the `gpu` preset's random features before 2026-11-28 (64 filters on raw pixels, 8x8 grid:
    # 4,096) and its KD (alpha 0.9, T 4), plus the cpu KD; its features are now "w4096"'s
    "gpu": (RFConfig(64, 4, 30, lr=0.02), ((0.9, 4.0), (0.5, 1.0))),
    # the `cpu` preset's random features (256) and KD (alpha 0.5, T 1), plus the gpu KD
    "cpu": (preset_config("cpu").rf, ((0.5, 1.0), (0.9, 4.0))),
    # 1,024 features (64 filters, 4x4 grid) at the probe's 160 epochs (docs/cifar.md)
    "1024": (RFConfig(channels=64, pool=8, epochs=160, lr=0.05), ((0.5, 1.0), (0.9, 4.0))),
    # the gpu preset's features with 3x the head epochs: are its heads converged?
    "4096-e90": (RFConfig(channels=64, pool=4, epochs=90, lr=0.02), ((0.9, 4.0), (0.5, 1.0))),
    # twice the filters (8,192 features): how close one random conv layer gets to the paper
    "8192": (RFConfig(channels=128, pool=4, epochs=30, lr=0.02), ((0.9, 4.0), (0.5, 1.0))),
    # stronger features (docs/cifar.md, "Whitened random features"): filters on ZCA-whitened
    # patches, more filters pooled to a 4x4 grid; 2,048 features ~ the paper's 66.68% single,
    # 4,096 and 8,192 beyond it; the unwhitened 4x4-grid control isolates the whitening
    "w2048": (RFConfig(128, 8, 30, lr=0.02, whiten=True), ((0.9, 4.0), (0.5, 1.0))),
    "w4096": (RFConfig(256, 8, 30, lr=0.02, whiten=True), ((0.9, 4.0), (0.5, 1.0))),
    "w8192": (RFConfig(512, 8, 30, lr=0.02, whiten=True), ((0.9, 4.0), (0.5, 1.0))),
    "p8-4096": (RFConfig(256, 8, 30, lr=0.02), ((0.9, 4.0), (0.5, 1.0))),
}
# a line written before RFConfig had a field ran with that field's default
RF_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RFConfig)}


def accuracy_percent(logits, y) -> float:
    """Test or train accuracy in %, as ``run_cifar`` computes it (x 100): ``logits`` ``(N, C)``,
    ``y`` ``(N,)``."""
    return 100 * float(accuracy(logits, y, xp=jnp))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def run_setting(data, rf: RFConfig, kds, s: int, k: int, average_runs: int, log) -> dict:
    """One setting's per-run accuracies (%) and paired differences (points)."""
    base = jax.random.fold_in(jax.random.key(0), 5)  # as run_cifar's rf_key at --seed 0

    seed_features = make_random_features(rf, data.train_x, data.test_x)

    def feats(i):
        return seed_features(jax.random.fold_in(base, i))

    def head(tr, order, teacher=None, distill=None):
        """Heads ``(W (members, D, C), b (members, C))`` trained on ``tr`` ``(members, N, D)``
        through their averaged logits, in data order ``order`` (``run_cifar``'s keys)."""
        return train_rf_heads(
            tr,
            data.train_y,
            rf,
            key=jax.random.fold_in(base, 10_000 + order),
            teacher_logits=teacher,
            distill=distill or DistillConfig(),
        )

    t0 = time.perf_counter()
    runs: dict[str, list[float]] = {"single": [], "single_train": []}
    test_logits, train_logits = [], []
    for i in range(s):
        tr, te = feats(i)
        h = head(tr[None], i)
        train_logits.append(rf_logits(tr[None], h)[0])
        test_logits.append(rf_logits(te[None], h)[0])
        runs["single"].append(accuracy_percent(test_logits[-1], data.test_y))
        runs["single_train"].append(accuracy_percent(train_logits[-1], data.train_y))
        del tr, te
        log(f"  single {i}: test {runs['single'][-1]:.2f} train {runs['single_train'][-1]:.2f}")
    groups = group_seeds(s, k).tolist()
    runs["ensemble"] = [
        accuracy_percent(np.mean([test_logits[i] for i in g], 0), data.test_y) for g in groups
    ]
    members = [float(np.mean([runs["single"][i] for i in g])) for g in groups]
    teacher = np.mean([train_logits[i] for i in groups[0]], 0)
    runs["teacher_train"] = [accuracy_percent(teacher, data.train_y)]
    del train_logits, test_logits

    kd_names = [f"kd_a{a:g}_t{t:g}" for a, t in kds]
    for name in ("fresh", *kd_names):
        runs[name] = []
    for i in range(s):
        tr, te = feats(s + i)
        runs["fresh"].append(
            accuracy_percent(rf_logits(te[None], head(tr[None], i))[0], data.test_y)
        )
        for name, (a, t) in zip(kd_names, kds, strict=True):
            h = head(tr[None], i, teacher, DistillConfig(alpha=a, temperature=t))
            runs[name].append(accuracy_percent(rf_logits(te[None], h)[0], data.test_y))
        del tr, te
        log(
            f"  student {i}: fresh {runs['fresh'][-1]:.2f} "
            + " ".join(f"{n} {runs[n][-1]:.2f}" for n in kd_names)
        )

    runs["train_average"], runs["train_average_train"] = [], []
    for j in range(min(average_runs, len(groups))):
        fs = [feats(2 * s + j * k + m) for m in range(k)]
        tr, te = jnp.stack([f[0] for f in fs]), jnp.stack([f[1] for f in fs])
        del fs
        h = head(tr, 2 * s + j)
        runs["train_average"].append(accuracy_percent(rf_logits(te, h).mean(0), data.test_y))
        # how far the joint model fits its training set: against the singles' `single_train`
        runs["train_average_train"].append(accuracy_percent(rf_logits(tr, h).mean(0), data.train_y))
        del tr, te, h
        log(
            f"  train_average {j}: {runs['train_average'][-1]:.2f} "
            f"train {runs['train_average_train'][-1]:.2f}"
        )

    n_avg = len(runs["train_average"])
    pairs = {
        "ensemble_vs_members": (runs["ensemble"], members),
        "train_average_vs_group": (runs["train_average"], members[:n_avg]),
        "fresh_vs_single": (runs["fresh"], runs["single"]),
        **{f"{n}_vs_fresh": (runs[n], runs["fresh"]) for n in kd_names},
        **{f"{n}_vs_single": (runs[n], runs["single"]) for n in kd_names},
    }
    # rounded, an undefined bound (n < 2) as None: the results file is strict JSON
    diffs = {key: rounded_interval(paired_interval(a, b)) for key, (a, b) in pairs.items()}
    return {"runs": runs, "differences": diffs, "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="CIFAR-10 (zip, image folder or python batches)")
    ap.add_argument("--out", required=True, help="JSON-lines results file (appended, atomically)")
    ap.add_argument("--settings", default="gpu,cpu", help=f"comma list of {sorted(SETTINGS)}")
    ap.add_argument("--seeds", type=int, default=12, help="S: singles, KD students (default 12)")
    ap.add_argument("--k", type=int, default=4, help="K: models per ensemble (default 4)")
    ap.add_argument("--average-runs", type=int, default=3, help="training-the-average runs")
    args = ap.parse_args(argv)
    names = args.settings.split(",")
    if unknown := [n for n in names if n not in SETTINGS]:
        print(f"error: unknown settings {unknown}; known: {sorted(SETTINGS)}", file=sys.stderr)
        return 2
    if args.seeds < 2 or not 1 <= args.k <= args.seeds or args.average_runs < 0:
        print("error: need --seeds >= 2, 1 <= --k <= --seeds, --average-runs >= 0", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and not out.is_file():
        print(f"error: --out {out} is not a file", file=sys.stderr)
        return 2
    try:
        lines = out.read_text().splitlines() if out.exists() else []
        done = [json.loads(line)["config"] for line in lines if line.strip()]
        done = [{**c, "rf": {**RF_DEFAULTS, **c["rf"]}} for c in done]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"error: --out {out}: not a results file of this script ({e})", file=sys.stderr)
        return 2
    try:
        data = prepare_data(load_cifar(args.data), preset_config("gpu"))  # the full data
    except (OSError, DataError) as e:
        print(f"error: --data {args.data}: {e}", file=sys.stderr)
        return 2
    print(f"data: {data.train_x.shape[0]} train, {data.test_x.shape[0]} test", flush=True)
    for name in names:
        rf, kds = SETTINGS[name]
        config = {
            "setting": name,
            "rf": dataclasses.asdict(rf),
            "features": rf.dim,
            "kd": [list(p) for p in kds],
            "seeds": args.seeds,
            "k": args.k,
            "average_runs": args.average_runs,
            "train_images": int(data.train_x.shape[0]),
            "test_images": int(data.test_x.shape[0]),
        }
        if config in done:
            print(f"{name}: already in {out}; skipped", flush=True)
            continue
        print(f"{name}: {rf.dim} features, {rf.epochs} epochs, lr {rf.lr}", flush=True)
        result = run_setting(
            data, rf, kds, args.seeds, args.k, args.average_runs, lambda m: print(m, flush=True)
        )
        record = {
            "config": config,
            **result,
            "machine": f"{platform.machine()}, {jax.device_count()} {jax.default_backend()} "
            f"device(s), jax {jax.__version__}",
        }
        for key, d in record["differences"].items():
            print(
                f"  {key}: "
                + " ".join(_fmt(d[b]) for b in ("mean", "low", "high"))
                + f" n={d['n']}"
            )
        lines.append(json.dumps(record, allow_nan=False))
        atomic_write_text(out, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
