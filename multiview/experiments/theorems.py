"""All of the paper's predictions from one set of runs: single models, ensembles, training
the average, knowledge distillation and self-distillation, each verdict computed from the
runs of that invocation.

Seeds: the single-model sweep has seeds ``0 .. S-1``. Ensembles are disjoint groups of them.
KD students start from fresh seeds ``S, S+1, ...``. Self-distillation pairs teacher seed
``2p`` with student seed ``2p + 1`` (the student starts from that seed's init, so its solo
run, in the sweep, tells which view it would have learned alone). Averages and wide models
start from fresh seeds too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from multiview import metrics as M
from multiview.config import SimConfig, TheoremsConfig
from multiview.data import Datasets
from multiview.experiments import Progress
from multiview.experiments.average import as_wide_model, average_loss_fn, record_average
from multiview.experiments.distill import kd_loss_fn, record_student
from multiview.experiments.ensemble import ensemble_curve, ensemble_scores, group_seeds
from multiview.experiments.simulate import (
    SimulationResult,
    evaluate_single_models,
    init_keys,
    run_simulation,
    summarize_metrics,
    train_single_models,
    training_data,
)
from multiview.model import init_weights
from multiview.predictions import Prediction, at_least, compare
from multiview.train import train

__all__ = [
    "model_scores",
    "run_ensemble",
    "run_kd",
    "run_self_distill",
    "run_train_average",
    "run_theorems",
]



def _no_progress(_label: str):
    return None


def model_scores(cfg: SimConfig, datasets: Datasets, w) -> dict[str, np.ndarray]:
    """Scores ``(S, n, k)`` of models ``w (S, k, m, d)`` on the train and both test sets."""
    return {
        "train": M.predict(cfg.model, w, datasets.train.x),
        "multi": M.predict(cfg.model, w, datasets.test_multi.x),
        "single": M.predict(cfg.model, w, datasets.test_single.x),
    }


def _acc(scores: dict[str, np.ndarray], datasets: Datasets) -> dict[str, np.ndarray]:
    return {
        "train_acc": M.accuracy(scores["train"], datasets.train.y),
        "test_acc_multi": M.accuracy(scores["multi"], datasets.test_multi.y),
        "test_acc_single": M.accuracy(scores["single"], datasets.test_single.y),
    }


def _init(cfg: SimConfig, n: int, offset: int):
    keys = init_keys(cfg, n, offset)
    w0 = jax.vmap(lambda kk: init_weights(cfg.model, cfg.data.k, cfg.data.d, kk))(keys)
    return keys, w0


def run_ensemble(cfg: SimConfig, th: TheoremsConfig, sim: SimulationResult, scores) -> dict:
    """Ensembles of K = ``th.ensemble_sizes`` from the sweep: accuracies and view coverage."""
    return ensemble_curve(
        cfg, sim.data, scores["multi"], scores["single"], sim.per_seed["learned"],
        th.ensemble_sizes,
    )


def _students(cfg, datasets, params, loss_fn, record_fn, keys, on_chunk):
    return train(
        loss_fn, params, training_data(datasets), cfg.train, n_train=cfg.data.n_train,
        keys=keys, record_fn=record_fn, on_chunk=on_chunk,
    )


def run_kd(
    cfg: SimConfig, th: TheoremsConfig, sim: SimulationResult, scores, on_chunk=None
) -> dict[str, Any]:
    """Students distilled from ensembles of ``th.teacher_size`` members of the sweep."""
    S = cfg.seeds
    K = min(th.teacher_size, S)
    groups = group_seeds(S, K, max_groups=th.kd_students)
    teacher = {name: ensemble_scores(s, groups) for name, s in scores.items()}
    G = len(groups)
    keys, w0 = _init(cfg, G, offset=S)
    params = {"w": w0, "teacher": jnp.asarray(teacher["train"])}
    params, history = _students(
        cfg, sim.data, params, kd_loss_fn(cfg.model, th, cfg.data.k), record_student, keys,
        on_chunk,
    )
    w = params["w"]
    per_student = evaluate_single_models(cfg, sim.data, w, history)
    st_scores = model_scores(cfg, sim.data, w)
    all_students = np.arange(G)[None]
    student_ens = _acc({n: ensemble_scores(s, all_students) for n, s in st_scores.items()},
                       sim.data)
    return {
        "teacher_size": K,
        "teacher": _acc(teacher, sim.data),
        "teacher_view_coverage": sim.per_seed["learned"][groups].any(axis=1).mean(axis=(1, 2)),
        "student": per_student,
        "student_ensemble": student_ens,
        "history": history,
        "w": w,
    }


def run_self_distill(
    cfg: SimConfig, th: TheoremsConfig, sim: SimulationResult, scores, on_chunk=None
) -> dict[str, Any]:
    """Students from sweep seed ``2p + 1`` distilled from the single model of seed ``2p``."""
    P = min(th.sd_pairs, cfg.seeds // 2)
    teachers, students = 2 * np.arange(P), 2 * np.arange(P) + 1
    keys = init_keys(cfg)[students]
    w0 = jax.vmap(lambda kk: init_weights(cfg.model, cfg.data.k, cfg.data.d, kk))(keys)
    params = {"w": w0, "teacher": jnp.asarray(scores["train"][teachers])}
    params, history = _students(
        cfg, sim.data, params, kd_loss_fn(cfg.model, th, cfg.data.k), record_student, keys,
        on_chunk,
    )
    per_student = evaluate_single_models(cfg, sim.data, params["w"], history)
    learned = sim.per_seed["learned"]
    w = params["w"]
    union = learned[teachers] | learned[students]  # (P, k, V)
    got = per_student["learned"]
    return {
        "w": w,
        "pairs": P,
        "student": per_student,
        "union_match": (got == union).all(axis=-1).mean(axis=-1),  # (P,) classes matching
        "union_covered": (got | ~union).all(axis=-1).mean(axis=-1),  # learned >= union
        "pair_ensemble": _acc(
            {n: ensemble_scores(s, np.stack([teachers, students], 1)) for n, s in scores.items()},
            sim.data,
        ),
    }


def run_train_average(
    cfg: SimConfig, th: TheoremsConfig, datasets: Datasets, on_chunk=None
) -> dict[str, Any]:
    """The jointly trained average of K members, and a single model of K times the width."""
    K, G = th.average_size, th.average_groups
    keys, w0 = _init(cfg, G * K, offset=10_000)
    w0 = w0.reshape(G, K, *w0.shape[1:])
    scale = th.average_lr_scale
    steps = th.average_steps or max(1, round(cfg.train.steps * K / scale))
    tcfg = replace(cfg.train, lr=cfg.train.lr * scale, steps=steps,
                   chunks=min(steps, cfg.train.chunks))
    w_avg, hist_avg = train(
        average_loss_fn(cfg.model), w0, training_data(datasets), tcfg,
        n_train=cfg.data.n_train, keys=keys[::K], record_fn=record_average, on_chunk=on_chunk,
    )
    w_avg_wide = as_wide_model(w_avg)  # (G, k, K*m, d): same predictions as the average
    wide_cfg = replace(cfg, model=replace(cfg.model, width=cfg.model.width * K), seeds=G)
    avg_metrics = evaluate_single_models(wide_cfg, datasets, w_avg_wide, hist_avg)
    w_wide, hist_wide = train_single_models(
        wide_cfg, datasets, seeds=G, offset=20_000, on_chunk=on_chunk
    )
    wide_metrics = evaluate_single_models(wide_cfg, datasets, w_wide, hist_wide)
    return {"K": K, "groups": G, "lr_scale": scale, "steps": steps, "average": avg_metrics,
            "wide": wide_metrics}


def _at(curve: dict, K: int, key: str) -> np.ndarray:
    return curve[key][curve["K"].index(K)] if K in curve["K"] else np.array([np.nan])


def theorem_predictions(
    cfg: SimConfig, per_seed: dict, ens: dict, avg: dict | None, kd: dict | None,
    sd: dict | None,
) -> list[Prediction]:
    """Every prediction of Theorems 2-4, with verdicts from the measured arrays."""
    single = per_seed["test_acc_single"]
    single_mean = float(np.mean(single))
    preds: list[Prediction] = []
    # Ensemble
    Ks = [K for K in ens["K"] if K <= 8]
    means = [float(np.mean(_at(ens, K, "acc_single"))) for K in Ks]
    acc8 = _at(ens, 8, "acc_single")
    cov8 = _at(ens, 8, "view_coverage")
    preds.append(at_least(
        "ensemble_gain", "an ensemble of 8 independently trained models gets single-view "
        "accuracy >= 0.95 and covers >= 95% of (class, view) pairs", acc8, 0.95,
        extra_checks=[("view_coverage_8", cov8, 0.95)],
    ))
    rising = all(b > a for a, b in zip(means, means[1:], strict=False))
    theory = [float(t) for t in ens["theory_single"][: len(Ks)]]
    preds.append(compare(
        "ensemble_curve", "single-view accuracy rises with K (K = 1, 2, 4, 8) like 1 - 2^-K",
        acc8, f"strictly increasing in K; theory {', '.join(f'{t:.3f}' for t in theory)}",
        rising and len(Ks) >= 2, {"K": Ks, "measured": means, "theory": theory},
    ))
    if avg is not None:
        gap = float(np.mean(avg["average"]["test_acc_single"])) - single_mean
        preds.append(compare(
            "train_average_no_gain", "training the average of K models jointly gives no "
            "single-view gain (within 0.05 of a single model) and one view per class",
            avg["average"]["test_acc_single"], f"|avg - single| <= 0.05 (single {single_mean:.3f})",
            abs(gap) <= 0.05,
            {"gap": gap, "frac_classes_one_view": float(np.mean(
                avg["average"]["frac_classes_one_view"])),
             "wide_model_single_view": float(np.mean(avg["wide"]["test_acc_single"]))},
        ))
    if kd is not None:
        ens_gain = float(np.mean(kd["teacher"]["test_acc_single"])) - single_mean
        st = kd["student"]["test_acc_single"]
        rec = (float(np.mean(st)) - single_mean) / ens_gain if ens_gain > 0 else float("nan")
        preds.append(compare(
            "kd_transfer", "a student distilled from an 8-ensemble recovers >= 80% of the "
            "ensemble's single-view gain over a single model", st,
            f"recovered fraction >= 0.8 (teacher gain {ens_gain:.3f})",
            bool(np.isfinite(rec) and rec >= 0.8), {"recovered_fraction": rec},
        ))
        preds.append(at_least(
            "kd_all_views", "the distilled student learns all views for >= 80% of classes",
            kd["student"]["frac_classes_all_views"], 0.8,
        ))
        extra = float(np.mean(kd["student_ensemble"]["test_acc_single"])) - float(np.mean(st))
        preds.append(compare(
            "kd_ensemble_no_gain", "an ensemble of distilled students adds <= 0.02 single-view "
            "accuracy", [extra], "<= 0.02", extra <= 0.02, {"gain": extra},
        ))
    if sd is not None:
        pair_gain = float(np.mean(_at(ens, 2, "acc_single"))) - single_mean
        st = sd["student"]["test_acc_single"]
        sd_gain = float(np.mean(st)) - single_mean
        preds.append(compare(
            "self_distill_gain", "a self-distilled student's single-view gain over a single "
            "model is at least half of a 2-model ensemble's", st,
            f"gain >= 0.5 x {pair_gain:.3f}", pair_gain > 0 and sd_gain >= 0.5 * pair_gain,
            {"gain": sd_gain, "ensemble2_gain": pair_gain},
        ))
        preds.append(at_least(
            "self_distill_union", "the student learns the union of the teacher's views and "
            "its own lottery winners (fraction of classes where it does)",
            sd["union_covered"], 0.75, extra_checks=None,
        ))
    return preds


def run_theorems(
    cfg: SimConfig,
    th: TheoremsConfig,
    *,
    progress: Progress = _no_progress,
    parts: tuple[str, ...] = ("ensemble", "average", "kd", "sd"),
    sim: SimulationResult | None = None,
) -> dict[str, Any]:
    """Run the sweep and the requested experiments; return results and predictions."""
    if sim is None:
        sim = run_simulation(cfg, on_chunk=progress("single models"))
    w = sim.weights
    scores = model_scores(cfg, sim.data, w)
    ens = run_ensemble(cfg, th, sim, scores)
    avg = kd = sd = None
    if "average" in parts:
        avg = run_train_average(cfg, th, sim.data, on_chunk=progress("training the average"))
    if "kd" in parts:
        kd = run_kd(cfg, th, sim, scores, on_chunk=progress("KD students"))
    if "sd" in parts:
        sd = run_self_distill(cfg, th, sim, scores, on_chunk=progress("self-distillation"))
    extra: dict[str, Any] = {}
    if "rf" in parts:
        from multiview.experiments.baselines import run_kernel_baselines

        extra["rf"] = run_kernel_baselines(cfg, th, sim.data, progress)
    if "gaussian" in parts:
        from multiview.experiments.gaussian import run_gaussian_control

        extra["gaussian"] = run_gaussian_control(cfg, th, progress)
    if "ablation" in parts:
        from multiview.experiments.ablation import run_view_ablation

        groups = group_seeds(cfg.seeds, min(8, cfg.seeds))
        extra["ablation"] = run_view_ablation(
            cfg, sim, groups, None if kd is None else kd["w"], None if sd is None else sd["w"]
        )
    preds = list(sim.summary["predictions"])
    preds += [p.to_dict() for p in theorem_predictions(cfg, sim.per_seed, ens, avg, kd, sd)]
    for part in extra.values():
        preds += [p.to_dict() if hasattr(p, "to_dict") else p for p in part["predictions"]]
    return {"sim": sim, "ensemble": ens, "average": avg, "kd": kd, "sd": sd, **extra,
            "predictions": preds, "metrics": summarize_metrics(sim.per_seed)}

