"""Training the average of K CNNs, with each member moving as fast as a single model.

    python -m experiments.cifar_train_average.cifar_train_average --data .data/cifar10-jpeg.zip \\
        --run runs/cifar-cpu-0 --out experiments/cifar_train_average/results/kernels_only_decay.jsonl \\
        --variants lrK,epochsK

``run_cifar``'s ``train_average`` trains K models through their averaged logits with one
model's recipe. The gradient reaching member m is ``(1/K) dL/dF_m``, so early in training
(before batch norm's scale invariance and the decay settle the step) each member moves K
times slower than a single model: at the ``cpu`` preset the averages fit their training
images *less* than a single model (measured 2026-11-28). "Training the average gains nothing" may then
say only that it trained less. This retrains the same runs as the folder ``--run`` (its
configuration, initialization stream and data order) in these variants:

- ``pipeline``: the recipe unchanged (reproduces the folder's ``train_average`` exactly:
  ``reproduced`` is the largest difference, in points);
- ``lrK``: the learning rate x K: a member's step on its own gradient is a single model's;
- ``epochsK``: K times the epochs at the same learning rate: the same learning rate x steps
  per member, the simulator's ``average_steps`` (multiview.experiments.average).

and pairs run j (test and training accuracy, %) with the mean of single group j and with
ensemble j of the folder's ``summary.json`` (n = the number of runs).

``--epochs E`` (other than the folder's) retrains the folder's single models at E epochs too
(their initialization and data order: ``run_cifar``'s stream 1) and pairs the variants, whose
recipes then start from E epochs, with those: the comparison at a longer training, where the
singles fit their training images further.

One JSON line per (run folder, epochs, variant) in ``--out``, rewritten atomically; one
already there is skipped, and the models are checkpointed every epoch under
``RUN/checkpoints/`` (``train_average-<variant>[-e<E>].npz``, ``single-e<E>.npz``; the folder's
own checkpoints are not touched), so a cut run resumes.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np

from multiview.cifar.config import (
    CifarConfig,
    CifarTrainConfig,
    DistillConfig,
    NetConfig,
    RFConfig,
)
from multiview.cifar.data import load_cifar
from multiview.cifar.experiments import net_for, prepare_data
from multiview.cifar.predict import predict_logits
from multiview.cifar.train import train_models
from multiview.errors import ConfigError, DataError
from multiview.io import atomic_write_text
from multiview.stats import accuracy, group_seeds, paired_interval, rounded_interval

#: variant -> (learning-rate factor, epochs factor), in units of K.
VARIANTS = {"pipeline": (False, False), "lrK": (True, False), "epochsK": (False, True)}
_SECTIONS = {"net": NetConfig, "train": CifarTrainConfig, "distill": DistillConfig, "rf": RFConfig}


def config_from_summary(config: dict) -> CifarConfig:
    """The :class:`CifarConfig` a run folder's ``summary.json`` recorded (``asdict`` form)."""
    sections = {k: cls(**config[k]) for k, cls in _SECTIONS.items()}
    return CifarConfig(**{**config, **sections})


def variant_config(cfg: CifarConfig, variant: str) -> CifarConfig:
    """``cfg`` with the trained average's recipe changed as ``variant`` says."""
    lr_k, epochs_k = VARIANTS[variant]
    k = cfg.ensemble_size
    return cfg.replace(
        train__lr=cfg.train.lr * (k if lr_k else 1),
        train__epochs=cfg.train.epochs * (k if epochs_k else 1),
    )


def _pct(logits: np.ndarray, labels: np.ndarray) -> list[float]:
    """Accuracy in % of logits ``(R, N, C)`` per run."""
    return [100 * float(a) for a in np.asarray(accuracy(logits, labels, xp=jax.numpy))]


def _train(cfg: CifarConfig, data, stream: int, runs: int, members: int, ckpt: Path, log):
    """Test and training accuracy (%) per run of ``runs`` runs of ``members`` averaged models,
    initialized and ordered as ``run_cifar``'s ``stream`` (1: single, 4: train_average)."""
    net = net_for(cfg, data)
    trained = train_models(
        net,
        cfg.train,
        data.train_x,
        data.train_y,
        key=jax.random.fold_in(jax.random.key(cfg.seed), stream),
        runs=runs,
        members=members,
        checkpoint=ckpt,
        progress=lambda r: log(f"  {ckpt.stem}: epoch {r.epoch}/{r.epochs}, train {r.accuracy}"),
        name=ckpt.stem,
    )
    test = predict_logits(net, trained, data.test_x, cfg=cfg.train).mean(axis=1)
    train = predict_logits(net, trained, data.train_x, cfg=cfg.train).mean(axis=1)
    return {"test": _pct(test, data.test_y), "train": _pct(train, data.train_y), "logits": test}


def train_variant(cfg: CifarConfig, data, run_dir: Path, variant: str, log, tag="") -> dict:
    """Test and training accuracy (%) of the variant's R trained averages."""
    vcfg = variant_config(cfg, variant)
    ckpt = run_dir / "checkpoints" / f"train_average-{variant}{tag}.npz"
    res = _train(vcfg, data, 4, cfg.train_average_runs, cfg.ensemble_size, ckpt, log)
    del res["logits"]
    return {**res, "lr": vcfg.train.lr, "epochs": vcfg.train.epochs}


def _error(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="the CIFAR data the run folder was made from")
    ap.add_argument("--run", required=True, help="a finished `multiview cifar` run folder")
    ap.add_argument("--out", required=True, help="JSONL results file")
    ap.add_argument("--variants", default="lrK,epochsK", help=f"comma list of {list(VARIANTS)}")
    ap.add_argument("--epochs", type=int, help="retrain the singles and variants from E epochs")
    args = ap.parse_args(argv)
    names = args.variants.split(",")
    if unknown := [n for n in names if n not in VARIANTS]:
        return _error(f"unknown variants {unknown}; known: {list(VARIANTS)}")
    run_dir, out = Path(args.run), Path(args.out)
    if (out.exists() and not out.is_file()) or not out.parent.is_dir():
        return _error(f"--out {out}: not a file in an existing folder")
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        cfg = config_from_summary(summary["config"])
        fit = summary["train_accuracy"]["single"]
        singles, ensembles = summary["runs"]["single"], summary["runs"]["ensemble"]
        stored = summary["runs"]["train_average"]
        lines = out.read_text().splitlines() if out.exists() else []
        done = {
            (r["run"], r.get("single_epochs"), r["variant"])
            for r in map(json.loads, filter(str.strip, lines))
        }
        if args.epochs is not None and args.epochs != cfg.train.epochs:
            cfg = cfg.replace(train__epochs=args.epochs)
        else:
            args.epochs = None  # the folder's own singles
    except (OSError, ValueError, KeyError, TypeError, ConfigError) as e:
        return _error(f"--run {run_dir} (summary.json) or --out {out}: unusable ({e!r})")
    try:
        data = prepare_data(load_cifar(args.data, labels=cfg.labels), cfg)
    except (OSError, DataError) as e:
        return _error(f"--data {args.data}: {e}")
    if data.train_x.shape[0] != summary["data"]["n_train"]:
        return _error(f"--data {args.data} is not the data of {run_dir}")
    groups = group_seeds(cfg.seeds, cfg.ensemble_size).tolist()
    n = min(cfg.train_average_runs, len(groups))
    tag = "" if args.epochs is None else f"-e{args.epochs}"
    if args.epochs is not None and any(
        (str(run_dir), args.epochs, v) not in done for v in names
    ):  # the singles at E epochs: accuracies as the folder's (fractions), their ensembles
        ckpt = run_dir / "checkpoints" / f"single{tag}.npz"
        res = _train(cfg, data, 1, cfg.seeds, 1, ckpt, lambda m: print(m, flush=True))
        singles, fit = [a / 100 for a in res["test"]], [a / 100 for a in res["train"]]
        ensembles = [_pct(res["logits"][g].mean(0)[None], data.test_y)[0] / 100 for g in groups]
    members = [100 * float(np.mean([singles[i] for i in g])) for g in groups][:n]
    members_fit = [100 * float(np.mean([fit[i] for i in g])) for g in groups][:n]
    ensemble = [100 * e for e in ensembles[:n]]
    for variant in names:
        if (str(run_dir), args.epochs, variant) in done:
            print(f"{variant}: already in {out}; skipped", flush=True)
            continue
        t0 = time.perf_counter()
        res = train_variant(cfg, data, run_dir, variant, lambda m: print(m, flush=True), tag)
        record = {
            "run": str(run_dir),
            "single_epochs": args.epochs,  # None: the folder's singles
            "variant": variant,
            "preset": cfg.preset,
            "seed": cfg.seed,
            "k": cfg.ensemble_size,
            "lr": res["lr"],
            "epochs": res["epochs"],
            "runs": {"test": res["test"], "train": res["train"]},
            "members": members,
            "members_train": members_fit,
            "ensemble": ensemble,
            "differences": {
                key: rounded_interval(paired_interval(a, b))  # strict JSON: NaN as None
                for key, (a, b) in {
                    "vs_members": (res["test"][:n], members),
                    "vs_ensemble": (res["test"][:n], ensemble),
                    "train_vs_members_train": (res["train"][:n], members_fit),
                }.items()
            },
            "seconds": round(time.perf_counter() - t0, 1),
            "machine": f"{platform.machine()}, {jax.device_count()} {jax.default_backend()} "
            f"device(s), jax {jax.__version__}",
        }
        if args.epochs is not None:
            record["singles"] = {
                "test": [100 * a for a in singles],
                "train": [100 * a for a in fit],
            }
        elif variant == "pipeline":
            gap = np.abs(np.subtract(res["test"], [100 * a for a in stored]))
            record["reproduced"] = round(float(np.max(gap)), 6)
        for key, d in record["differences"].items():
            print(f"  {variant} {key}: {d['mean']:+.2f} [{d['low']}, {d['high']}] n={d['n']}")
        print(
            f"  {variant}: train {np.mean(res['train']):.2f}% (members {np.mean(members_fit):.2f})"
        )
        lines.append(json.dumps(record, allow_nan=False))
        atomic_write_text(out, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
