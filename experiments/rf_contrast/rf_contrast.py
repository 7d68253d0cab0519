"""Why does random-feature KD gain on CIFAR? Cheap experiments on the random-feature models only.

    python -m experiments.rf_contrast.rf_contrast --data ../shared/data/cifar10-jpeg.zip \
        --out experiments/rf_contrast/results/rf_contrast.json

Setting: the ``cpu`` / ``cpu-small`` presets' data (class-balanced 4,000-image training subset,
seed 0; the full 10,000-image test set). Pairs: model i of every variant uses the data order
of RF single model i; the KD teacher is the logit average of RF single models 0..K-1 on the
training images, as in ``run_cifar``. Every difference is paired (student i - single i) with a
95% t-interval (``multiview.stats.paired_interval``), in percentage points.

Variants (each a list of S students):
- ``kd``: fresh features (seed S + i), Hinton loss against the ensemble (the pipeline's rf_kd);
- ``kd_same_features``: student i keeps single model i's features (only the head is new);
- ``label_smoothing``: no teacher, smoothing eps = alpha toward uniform (a zero-logit
  teacher at T = 1 is exactly this);
- ``kd_alpha_T``: a grid of (alpha, T);
- convergence: the single heads at more epochs and other weight decays (train/test accuracy);
- overlap: R^2 of a least-squares fit of the teacher's training logits on a student's
  features (fresh seed vs the teacher's own member's features).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import jax
import numpy as np

from multiview.cifar.config import DistillConfig, RFConfig
from multiview.cifar.data import load_cifar
from multiview.cifar.experiments import prepare_data
from multiview.cifar.presets import preset_config
from multiview.cifar.random_features import random_features, rf_logits, train_rf_heads
from multiview.stats import paired_interval


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--settings", default="small,large")
    args = ap.parse_args()
    data = prepare_data(load_cifar(args.data), preset_config("cpu"))
    s, k = args.seeds, args.k
    base = jax.random.fold_in(jax.random.key(0), 5)
    settings = {
        # the cpu-small / cpu presets' random features: 256 features
        "small": RFConfig(channels=16, pool=8, epochs=40, lr=0.05),
        # 1,024 and 2,048 features (64 / 128 filters, 4x4 grid)
        "large": RFConfig(channels=64, pool=8, epochs=40, lr=0.05),
        "wide": RFConfig(channels=128, pool=8, epochs=40, lr=0.05),
    }
    out: dict = {}
    for sname in args.settings.split(","):
        out[sname] = study(settings[sname], data, s, k, base)
        print(sname, json.dumps(out[sname], indent=1, default=float), flush=True)
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1, default=float)


def _acc(logits, y):
    return float(np.mean(np.argmax(logits, -1) == y))


def study(rf: RFConfig, data, s: int, k: int, base) -> dict:
    """Every variant for one random-feature setting (see the module docstring)."""
    ytr, yte = data.train_y, data.test_y
    t0 = time.time()
    feats = {
        i: random_features(jax.random.fold_in(base, i), rf, data.train_x, data.test_x)
        for i in range(2 * s)
    }

    def run(fid, pair, cfg=rf, teacher=None, alpha=0.5, temp=1.0):
        tr, te = feats[fid]
        heads = train_rf_heads(
            tr[None],
            ytr,
            cfg,
            key=jax.random.fold_in(base, 10_000 + pair),
            teacher_logits=teacher,
            distill=DistillConfig(alpha=alpha, temperature=temp),
        )
        return rf_logits(tr[None], heads)[0], rf_logits(te[None], heads)[0]

    def test_accs(fn):
        return 100 * np.array([_acc(fn(i)[1], yte) for i in range(s)])

    singles = [run(i, i) for i in range(s)]
    single = 100 * np.array([_acc(te, yte) for _, te in singles])
    # CE heads on the students' (fresh) features: the paired baseline of every fresh variant
    fresh = test_accs(lambda i: run(s + i, i))
    teacher = np.mean([singles[i][0] for i in range(k)], 0)
    groups = [list(range(g * k, (g + 1) * k)) for g in range(s // k)]
    ens = [100 * _acc(np.mean([singles[i][1] for i in g], 0), yte) for g in groups]
    res = {
        "config": dataclasses.asdict(rf),
        "dim": rf.dim,
        "single_test": float(single.mean()),
        "single_train": 100 * float(np.mean([_acc(tr, ytr) for tr, _ in singles])),
        "fresh_single_test": float(fresh.mean()),
        "teacher_train_acc": 100 * _acc(teacher, ytr),
        "ensemble_vs_members": paired_interval(ens, [single[g].mean() for g in groups]),
        "fresh_single_vs_single": paired_interval(fresh, single),
    }
    kd = test_accs(lambda i: run(s + i, i, teacher=teacher))
    res["kd_vs_single"] = paired_interval(kd, single)
    res["kd_vs_fresh_single"] = paired_interval(kd, fresh)
    same = test_accs(lambda i: run(i, i, teacher=teacher))
    res["kd_same_features_vs_single"] = paired_interval(same, single)
    zeros = np.zeros_like(teacher)
    for eps in (0.1, 0.5):
        ls = test_accs(lambda i, eps=eps: run(s + i, i, teacher=zeros, alpha=eps))
        res[f"label_smoothing_{eps}_vs_fresh_single"] = paired_interval(ls, fresh)
    for a, t in ((1.0, 1.0), (0.5, 4.0), (0.9, 4.0)):
        grid = test_accs(lambda i, a=a, t=t: run(s + i, i, teacher=teacher, alpha=a, temp=t))
        res[f"kd_alpha{a}_T{t}_vs_fresh_single"] = paired_interval(grid, fresh)
    # Convergence: 4x the head epochs, for the singles, the fresh singles and KD.
    long = RFConfig(rf.channels, rf.pool, rf.epochs * 4, rf.batch_size, rf.lr, rf.weight_decay)
    long_runs = [run(i, i, cfg=long) for i in range(s)]
    long_single = 100 * np.array([_acc(te, yte) for _, te in long_runs])
    long_fresh = test_accs(lambda i: run(s + i, i, cfg=long))
    long_kd = test_accs(lambda i: run(s + i, i, cfg=long, teacher=teacher))
    res["epochs_x4"] = {
        "single_train": 100 * float(np.mean([_acc(tr, ytr) for tr, _ in long_runs])),
        "single_vs_single": paired_interval(long_single, single),
        "kd_vs_fresh_single": paired_interval(long_kd, long_fresh),
    }

    # Overlap: how much of the teacher's training logits a linear map of the features fits.
    def r2(fid):
        x = np.concatenate([feats[fid][0], np.ones((len(ytr), 1), np.float32)], 1)
        coef, *_ = np.linalg.lstsq(x, teacher, rcond=None)
        return float(1 - (teacher - x @ coef).var() / teacher.var())

    res["overlap_r2"] = {
        "member_features": float(np.mean([r2(i) for i in range(k)])),
        "fresh_features": float(np.mean([r2(s + i) for i in range(s)])),
    }
    res["seconds"] = time.time() - t0
    return res


if __name__ == "__main__":
    main()
