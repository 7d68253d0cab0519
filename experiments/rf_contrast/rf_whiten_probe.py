"""Which random features are as strong as the paper's? One random-feature model per setting.

    python -m experiments.rf_contrast.rf_whiten_probe --data .data/cifar10-jpeg.zip \
        --out experiments/rf_contrast/results/rf_whiten_probe.jsonl

The paper's NTK-style random-feature models reach 66.68% on CIFAR-10; one random 3x3 conv
layer on raw pixels reaches 60-62% here (``results/rf_full_data.jsonl`` beside this driver).
This probe trains one head (seed 0, all 50,000 training images, full test set) per setting
of filters, pooling grid and patch whitening (``RFConfig.whiten``, ``whiten_eps``) and
writes a line per setting, to pick the feature maps that ``rf_full_data.py`` then measures with intervals. The
settings are every one tried while choosing (none dropped). It selects on one seed's test
accuracy, so its numbers are a choice of feature map, not a result: the contrast's numbers
come from ``rf_full_data.py`` on other seeds' features.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import jax

from experiments.rf_contrast.rf_full_data import accuracy_percent
from multiview.cifar.config import RFConfig
from multiview.cifar.data import load_cifar
from multiview.cifar.random_features import random_features, rf_logits, train_rf_heads
from multiview.errors import DataError
from multiview.io import atomic_write_text

# (filters, pool, head epochs, whitening eps or None for raw pixels): features = filters *
# (32 / pool)^2; the first is the `gpu` preset's RF
PROBES = (
    (64, 4, 30, None),
    (64, 4, 30, 1.0),
    (64, 4, 30, 0.1),
    (64, 4, 30, 0.01),
    (64, 4, 30, 0.001),
    (128, 4, 30, 0.1),
    (16, 2, 30, 0.1),
    (128, 8, 30, 0.1),
    (256, 8, 30, None),
    (256, 8, 30, 1.0),
    (256, 8, 30, 0.1),
    (256, 8, 30, 0.01),
    (256, 8, 90, 0.1),
    (512, 8, 30, 0.1),
)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="CIFAR-10 (zip, image folder or python batches)")
    ap.add_argument("--out", required=True, help="JSONL results file (rewritten whole)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if (out.exists() and not out.is_file()) or not out.parent.is_dir():
        print(f"error: --out {out}: not a file in an existing folder", file=sys.stderr)
        return 2
    try:
        data = load_cifar(args.data)
    except (OSError, DataError) as e:
        print(f"error: --data {args.data}: {e}", file=sys.stderr)
        return 2
    lines = []
    for ch, pool, epochs, eps in PROBES:
        rf = RFConfig(ch, pool, epochs, lr=0.02, whiten=eps is not None, whiten_eps=eps or 0.1)
        t0 = time.perf_counter()
        key = jax.random.key(0)
        tr, te = random_features(key, rf, data.train_x, data.test_x)
        heads = train_rf_heads(tr[None], data.train_y, rf, key=jax.random.fold_in(key, 1))
        test = accuracy_percent(rf_logits(te[None], heads)[0], data.test_y)
        train = accuracy_percent(rf_logits(tr[None], heads)[0], data.train_y)
        del tr, te
        line = {
            "rf": dataclasses.asdict(rf),
            "features": rf.dim,
            "test": round(test, 2),
            "train": round(train, 2),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(json.dumps(line), flush=True)
        lines.append(json.dumps(line, allow_nan=False))
        atomic_write_text(out, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
