"""The paper's Figure-1 experiments on CIFAR: single, ensemble, KD, self-distillation, training
the average, and their random-feature counterparts.

:func:`run_cifar` trains everything a :class:`CifarConfig` asks for and returns the summary
(accuracies as fractions in [0, 1]):

- ``single``: S independently seeded models;
- ``ensemble``: output (logit) average of each disjoint group of K single models;
- ``kd``: S students distilled from the first K-ensemble (Hinton loss), student i with single
  model i's initialization and data order, so that the pair differs only by the teacher;
- ``self_distill``: student i, with single model i's initialization and data order,
  distilled from single model i - 1 (another initialization: the paper's self-distillation);
- ``kd_precomputed``, ``self_distill_precomputed`` (``distill.teacher = "both"``) and
  ``single_long`` (``distill.epochs_multiplier`` > 1): the students' teacher modes and the
  patient student's as-long control (:mod:`multiview.cifar.distill`);
- ``train_average``: R runs of K models whose average is trained jointly;
- ``rf_*``: the same four for random-feature models (frozen random conv features),
  ``rf_fresh_single``: cross-entropy heads on the RF students' features (their paired
  baseline), and ``rf_concat_head``: training the average in the single's parameterization,
  one head trained like a single on the K feature sets of ``rf_train_average`` run j side by
  side (``rf_train_average`` trains K heads through their averaged logits with one head's
  learning rate and weight decay: for the weights that is the learning rate / K^2 and the
  decay x K^2 of this head, a more regularized model of the same class; docs/cifar.md).

``distill.teacher`` says where the students' teacher logits come from (consistent: on their
own augmented batches; precomputed: on the un-augmented training images). ``skip`` leaves out
training the average and the random-feature models. The pairings, differences and shares are
:mod:`multiview.cifar.summary`'s. Training state is checkpointed under ``out/checkpoints``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from multiview.cifar.config import CifarConfig, NetConfig
from multiview.cifar.data import CifarData, class_balanced_subset, data_fingerprint
from multiview.cifar.distill import train_students
from multiview.cifar.nets import Net, build_net, param_count
from multiview.cifar.predict import predict_logits
from multiview.cifar.random_features import (
    concat_features,
    make_random_features,
    rf_logits,
    train_rf_heads,
)
from multiview.cifar.summary import (
    METHODS,
    PAIRING,
    paired_differences,
    runs_summary,
    versus_ensemble,
)
from multiview.cifar.train import EpochReport, train_models
from multiview.io import write_json
from multiview.stats import accuracy, group_seeds

__all__ = [
    "METHODS",
    "PAIRING",
    "net_for",
    "prepare_data",
    "run_cifar",
    "paired_differences",
    "versus_ensemble",
    "runs_summary",
]


def prepare_data(data: CifarData, cfg: CifarConfig) -> CifarData:
    """Apply ``train_subset`` and ``test_subset``: class-balanced subsets, seeded by
    ``cfg.seed`` (not first-n: an image-folder set is stored class by class)."""
    if cfg.train_subset is not None and cfg.train_subset < data.train_x.shape[0]:
        data = data.subset_train(class_balanced_subset(data.train_y, cfg.train_subset, cfg.seed))
    if cfg.test_subset is not None and cfg.test_subset < data.test_x.shape[0]:
        idx = class_balanced_subset(data.test_y, cfg.test_subset, cfg.seed, what="test_subset")
        data = CifarData(
            data.train_x, data.train_y, data.test_x[idx], data.test_y[idx], data.classes, data.name
        )
    return data


def net_for(cfg: CifarConfig, data: CifarData) -> Net:
    """The configuration's network with as many outputs as ``data`` has classes."""
    if cfg.net.num_classes == data.num_classes:
        return build_net(cfg.net)
    return build_net(NetConfig(cfg.net.arch, cfg.net.width, cfg.net.depth, data.num_classes))


def run_cifar(
    cfg: CifarConfig,
    data: CifarData,
    out_dir: str | Path,
    *,
    resume: bool = True,
    progress: Callable[[EpochReport], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Run every method of the summary; write nothing but checkpoints (see ``report``).

    Arguments:
        cfg: the configuration. data: the full data set (subsets are taken here).
        out_dir: run folder; checkpoints go to ``out_dir/checkpoints/<method>.npz``.
        resume: reuse matching checkpoints.
        progress: per-epoch callback; log: one-line messages.

    Returns the summary dict: ``methods`` (method -> ``{mean, std}``), ``runs`` (method ->
    per-run accuracies), ``gains`` (points over the single model), ``train_accuracy`` (per-run
    accuracy on the un-augmented training images of ``single``, ``train_average`` and their
    RF counterparts), ``whole_ensemble`` (the accuracy of the ensemble of all S single models,
    CNN and RF, and ``models``: S), ``seconds`` (per method) and the configuration and data
    description.
    """
    log = log or (lambda _msg: None)
    t_start = time.perf_counter()
    source = data_fingerprint(data)  # of the full set: the subset follows from the config
    data = prepare_data(data, cfg)
    net = net_for(cfg, data)
    ck = Path(out_dir) / "checkpoints"
    base = jax.random.key(cfg.seed)
    s, k, r = cfg.seeds, cfg.ensemble_size, cfg.train_average_runs
    groups = group_seeds(s, k).tolist()  # a list of lists: written to runs.json
    runs: dict[str, list[float]] = {}
    whole: dict[str, float] = {}
    # Training-set accuracy per run (un-augmented training images) of the single models and
    # the trained averages: whether an average gains nothing because it fits less.
    fit: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}

    def record():
        """The per-run accuracies so far, rewritten after each method: a run cut short (a
        GPU run's time limit) still leaves the paired data of the methods it finished."""
        ck.mkdir(parents=True, exist_ok=True)
        write_json(
            ck / "runs.json",
            {
                "runs": runs,
                "seconds": seconds,
                "groups": groups,
                "train_accuracy": fit,
                "whole_ensemble": whole,
            },
        )

    def train(name, stream, n_runs, members=1, data_stream=None, train_cfg=None, **teach):
        """Train, time and evaluate one method; ``teach``: ``teacher_logits`` or
        ``teacher_models``, and ``distill``. Returns (trained, test logits (runs, N, C))."""
        t0 = time.perf_counter()
        tcfg = train_cfg or cfg.train
        trained = train_models(
            net,
            tcfg,
            data.train_x,
            data.train_y,
            key=jax.random.fold_in(base, stream),
            runs=n_runs,
            members=members,
            distill=teach.pop("distill", cfg.distill),
            checkpoint=ck / f"{name}.npz",
            resume=resume,
            progress=progress,
            name=name,
            data_key=None if data_stream is None else jax.random.fold_in(base, data_stream),
            data_fingerprint=source,
            **teach,
        )
        test = predict_logits(net, trained, data.test_x, cfg=tcfg).mean(axis=1)
        seconds[name] = time.perf_counter() - t0
        log(f"{name}: {n_runs} run(s) of {members} model(s) in {seconds[name]:.1f} s")
        return trained, test

    def record_method(name: str, test: np.ndarray) -> None:
        runs[name] = accuracy(test, data.test_y, xp=jnp).tolist()
        record()

    # ------------------------------------------------------------------ CNN
    single, single_test = train("single", 1, s)
    runs["single"] = accuracy(single_test, data.test_y, xp=jnp).tolist()
    runs["ensemble"] = [
        float(accuracy(single_test[g].mean(0), data.test_y, xp=jnp)) for g in groups
    ]
    # The ensemble of every single model, one number (the paper's Figure 1 ensembles all its
    # 10 seeds); the paired rows use disjoint groups of K so that the ensemble has a spread.
    whole.update(models=s, ensemble=float(accuracy(single_test.mean(0), data.test_y, xp=jnp)))
    log(f"single {np.mean(runs['single']):.4f}, ensemble {np.mean(runs['ensemble']):.4f}")
    record()
    single_train = predict_logits(net, single, data.train_x, cfg=cfg.train)[:, 0]  # (S, N, C)
    fit["single"] = accuracy(single_train, data.train_y, xp=jnp).tolist()
    teacher_modes = train_students(
        lambda *a, **kw: train(*a, **kw)[1],
        cfg,
        single,
        single_train,
        groups,
        record_method,
    )
    if "average" not in cfg.skip:
        avg, avg_test = train("train_average", 4, r, members=k)
        runs["train_average"] = accuracy(avg_test, data.test_y, xp=jnp).tolist()
        avg_train = predict_logits(net, avg, data.train_x, cfg=cfg.train).mean(axis=1)
        fit["train_average"] = accuracy(avg_train, data.train_y, xp=jnp).tolist()
        del avg, avg_train
        record()
    log(", ".join(f"{m} {np.mean(runs[m]):.4f}" for m in runs if m not in ("single", "ensemble")))
    if "rf" not in cfg.skip:
        _random_features(cfg, data, base, runs, fit, whole, seconds, log, record)

    summary = runs_summary(runs, groups)
    methods = summary["methods"]
    gains = {
        m: 100
        * (methods[m]["mean"] - methods[("rf_" if m.startswith("rf_") else "") + "single"]["mean"])
        for m in methods
        if m not in ("single", "rf_single", "rf_fresh_single")
    }
    return {
        "preset": cfg.preset,
        "methods": methods,
        "runs": runs,
        "gains_points": gains,
        "differences": summary["differences"],
        "contrasts": summary["contrasts"],
        "recovered_share": summary["recovered_share"],
        "teacher_modes": teacher_modes,
        "versus_ensemble": summary["versus_ensemble"],
        "train_accuracy": fit,
        "whole_ensemble": whole,
        "seconds": seconds,
        "wall_seconds": time.perf_counter() - t_start,
        "config": asdict(cfg),
        "net_params": param_count(jax.tree_util.tree_map(lambda a: a[0, 0], single.params)),
        "data": {
            "name": data.name,
            "classes": list(data.classes),
            "n_train": int(data.train_x.shape[0]),
            "n_test": int(data.test_x.shape[0]),
        },
    }


def _random_features(cfg, data, base, runs, fit, whole, seconds, log, record) -> None:
    """The random-feature counterparts (module docstring); fills ``runs``, ``fit`` (training
    accuracy), ``whole`` and ``seconds`` in place, calling ``record`` after each part."""
    s, k, r = cfg.seeds, cfg.ensemble_size, cfg.train_average_runs
    groups = group_seeds(s, k).tolist()
    t0 = time.perf_counter()
    rf_key = jax.random.fold_in(base, 5)
    feature_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    seed_features = make_random_features(cfg.rf, data.train_x, data.test_x)

    def feats(i):
        if i not in feature_cache:
            feature_cache[i] = seed_features(jax.random.fold_in(rf_key, i))
        return feature_cache[i]

    def rf_run(ids, run_id, teacher=None, concat=False):  # run_id fixes the data order
        """Train one run over feature seeds ``ids``; (test logits, train logits), averaged.
        ``concat``: one head on the concatenated feature sets instead of averaged heads."""
        tr = jnp.stack([feats(i)[0] for i in ids])  # on the device, as the feature map left them
        te = jnp.stack([feats(i)[1] for i in ids])
        if concat:
            tr, te = concat_features(tr), concat_features(te)
        heads = train_rf_heads(
            tr,
            data.train_y,
            cfg.rf,
            key=jax.random.fold_in(rf_key, 10_000 + run_id),
            teacher_logits=teacher,
            distill=cfg.distill,
        )
        return rf_logits(te, heads).mean(0), rf_logits(tr, heads).mean(0)

    rf_single = [rf_run([i], i) for i in range(s)]
    runs["rf_single"] = [float(accuracy(te, data.test_y, xp=jnp)) for te, _ in rf_single]
    fit["rf_single"] = [float(accuracy(tr, data.train_y, xp=jnp)) for _, tr in rf_single]
    log(f"rf_single: {s} runs in {time.perf_counter() - t0:.1f} s")
    record()
    runs["rf_ensemble"] = [
        float(accuracy(np.mean([rf_single[i][0] for i in g], 0), data.test_y, xp=jnp))
        for g in groups
    ]
    whole["rf_ensemble"] = float(
        accuracy(np.mean([te for te, _ in rf_single], 0), data.test_y, xp=jnp)
    )
    rf_teacher = np.mean([rf_single[i][1] for i in groups[0]], 0)
    for i in range(s):  # features of the single models are no longer needed
        feature_cache.pop(i, None)
    runs["rf_kd"] = [
        float(accuracy(rf_run([s + i], i, rf_teacher)[0], data.test_y, xp=jnp)) for i in range(s)
    ]
    # The students' features without a teacher: random features of different seeds differ
    # by about a point, so rf_kd is paired with these, not with rf_single (docs/cifar.md).
    runs["rf_fresh_single"] = [
        float(accuracy(rf_run([s + i], i)[0], data.test_y, xp=jnp)) for i in range(s)
    ]
    for name in ("rf_train_average", "rf_concat_head"):
        runs[name], fit[name] = [], []
    for j in range(r):
        ids = [2 * s + j * k + m for m in range(k)]
        for name, concat in (("rf_train_average", False), ("rf_concat_head", True)):
            te, tr = rf_run(ids, 2 * s + j, concat=concat)
            runs[name].append(float(accuracy(te, data.test_y, xp=jnp)))
            fit[name].append(float(accuracy(tr, data.train_y, xp=jnp)))
        for i in ids:
            feature_cache.pop(i, None)
    seconds["random_features"] = time.perf_counter() - t0
    record()
    log(
        f"rf single {np.mean(runs['rf_single']):.4f}, ensemble "
        f"{np.mean(runs['rf_ensemble']):.4f}, kd {np.mean(runs['rf_kd']):.4f}, "
        f"train_average {np.mean(runs['rf_train_average']):.4f}, concatenated head "
        f"{np.mean(runs['rf_concat_head']):.4f} "
        f"({seconds['random_features']:.1f} s)"
    )
