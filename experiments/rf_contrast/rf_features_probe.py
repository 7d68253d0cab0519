"""Stronger random features? A 6-seed probe of the RF models at other feature counts.

    python -m experiments.rf_contrast.rf_features_probe ../shared/data/cifar10-jpeg.zip \
        > experiments/rf_contrast/results/rf_contrast_features.txt

Data: the ``cpu`` preset's 4,000-image training subset, full test set. Per setting: 6 RF
singles, 2 disjoint 3-ensembles (paired with their members' mean), 6 KD students (alpha 0.5,
T 1; teacher: singles 0-2) with fresh features, paired with CE heads on the same features.
"""

from __future__ import annotations

import sys
import time

import jax
import numpy as np

from multiview.cifar.config import DistillConfig, RFConfig
from multiview.cifar.data import load_cifar
from multiview.cifar.experiments import prepare_data
from multiview.cifar.presets import preset_config
from multiview.cifar.random_features import random_features, rf_logits, train_rf_heads
from multiview.stats import paired_interval


def _acc(logits, y) -> float:
    return 100 * float(np.mean(np.argmax(logits, -1) == y))


def _fmt(d: dict) -> str:
    return f"{d['mean']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}] n={d['n']}"


def probe(data, rf: RFConfig, s: int = 6, k: int = 3) -> str:
    t0 = time.time()
    base = jax.random.fold_in(jax.random.key(0), 5)
    feats = {
        i: random_features(jax.random.fold_in(base, i), rf, data.train_x, data.test_x)
        for i in range(2 * s)
    }

    def run(fid, pair, teacher=None):
        tr, te = feats[fid]
        h = train_rf_heads(
            tr[None],
            data.train_y,
            rf,
            key=jax.random.fold_in(base, 10_000 + pair),
            teacher_logits=teacher,
            distill=DistillConfig(0.5, 1.0),
        )
        return rf_logits(tr[None], h)[0], rf_logits(te[None], h)[0]

    singles = [run(i, i) for i in range(s)]
    single = np.array([_acc(te, data.test_y) for _, te in singles])
    train = np.mean([_acc(tr, data.train_y) for tr, _ in singles])
    teacher = np.mean([singles[i][0] for i in range(k)], 0)
    groups = [list(range(g * k, (g + 1) * k)) for g in range(s // k)]
    ens = [_acc(np.mean([singles[i][1] for i in g], 0), data.test_y) for g in groups]
    fresh = np.array([_acc(run(s + i, i)[1], data.test_y) for i in range(s)])
    kd = np.array([_acc(run(s + i, i, teacher)[1], data.test_y) for i in range(s)])
    return (
        f"D={rf.dim} ch={rf.channels} pool={rf.pool} epochs={rf.epochs}: single "
        f"{single.mean():.2f} (train {train:.1f}), ens{k} vs members "
        f"{_fmt(paired_interval(ens, [single[g].mean() for g in groups]))}, "
        f"kd vs fresh {_fmt(paired_interval(kd, fresh))}, {time.time() - t0:.0f} s"
    )


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/cifar10-jpeg.zip"
    data = prepare_data(load_cifar(path), preset_config("cpu"))
    for ch, pool, ep in ((64, 8, 40), (64, 8, 160), (16, 4, 160)):
        print(probe(data, RFConfig(channels=ch, pool=pool, epochs=ep, lr=0.05)), flush=True)


if __name__ == "__main__":
    main()
