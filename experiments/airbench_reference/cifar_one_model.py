"""Train one model of a CIFAR preset and report its test accuracy at every TTA level.

    python -m experiments.airbench_reference.cifar_one_model --data ../shared/data/cifar10-jpeg.zip --out F.json \
        [--preset gpu] [--fp32] [--epochs N] [--width W] [--train-subset N] [--seed S]

Written for checking the ``gpu`` preset's airbench94 recipe where no GPU is available: on the CPU
in float32 (``--fp32``; bfloat16 convolutions are slow there). Per-epoch training loss and
accuracy, the test accuracy without TTA, with flip TTA and with flip + translate TTA, and the
wall time go to ``--out`` (JSON, rewritten after the model finishes) and stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import jax
import numpy as np

from multiview.cifar.data import load_cifar
from multiview.cifar.experiments import prepare_data
from multiview.cifar.nets import build_net
from multiview.cifar.predict import predict_logits
from multiview.cifar.presets import preset_config
from multiview.cifar.train import train_models
from multiview.io import write_json
from multiview.stats import accuracy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--preset", default="gpu")
    ap.add_argument("--fp32", action="store_true", help="float32 convolutions")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--train-subset", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cfg = preset_config(a.preset, seeds=1, ensemble_size=1, train_subset=a.train_subset)
    train = cfg.train
    if a.fp32:
        train = dataclasses.replace(train, mixed_precision=False)
    if a.epochs is not None:
        train = dataclasses.replace(
            train, epochs=a.epochs, warmup_epochs=min(train.warmup_epochs, a.epochs)
        )
    net_cfg = cfg.net if a.width is None else dataclasses.replace(cfg.net, width=a.width)
    data = prepare_data(load_cifar(a.data), cfg)
    net = build_net(net_cfg)
    epochs = []

    def progress(r):
        epochs.append(
            {
                "epoch": r.epoch,
                "loss": float(r.loss[0]),
                "accuracy": float(r.accuracy[0]),
                "seconds": time.perf_counter() - t0,
            }
        )
        print(
            f"epoch {r.epoch}/{r.epochs}: loss {r.loss[0]:.4f} train acc {r.accuracy[0]:.4f} "
            f"{epochs[-1]['seconds']:.0f} s",
            flush=True,
        )

    t0 = time.perf_counter()
    trained = train_models(
        net,
        train,
        data.train_x,
        data.train_y,
        key=jax.random.key(a.seed),
        runs=1,
        progress=progress,
    )
    train_s = time.perf_counter() - t0
    tta = {}
    for level, (flip, translate) in enumerate(((False, False), (True, False), (True, True))):
        c = dataclasses.replace(train, tta_flip=flip, tta_translate=translate)
        logits = predict_logits(net, trained, data.test_x, cfg=c)[0, 0]
        tta[f"tta{level}"] = float(np.asarray(accuracy(logits, data.test_y, xp=jax.numpy)))
    result = {
        "preset": a.preset,
        "net": dataclasses.asdict(net_cfg),
        "train": dataclasses.asdict(train),
        "train_images": int(data.train_x.shape[0]),
        "test_images": int(data.test_x.shape[0]),
        "seed": a.seed,
        "test_accuracy": tta,
        "train_seconds": train_s,
        "epochs": epochs,
        "backend": jax.default_backend(),
        "jax": jax.__version__,
        "cpu_count": os.cpu_count(),
        "loadavg_end": os.getloadavg(),
    }
    write_json(a.out, result)
    print(json.dumps(tta), f"train {train_s:.0f} s", flush=True)


if __name__ == "__main__":
    main()
