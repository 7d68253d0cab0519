"""Knowledge distillation (Theorem 3) and self-distillation (Theorem 4).

A student is a fresh single model trained on the same training set against a teacher's
scores ``G`` on that set, with the objective ``th.kd_loss`` of
:func:`multiview.sim.losses.kd_objective` (the paper's truncated term, or Hinton's).

The teacher's scores travel with the student's parameters as a frozen leaf (its gradient is
stopped, so the trainer leaves it unchanged); that lets every student of a vmapped sweep
have its own teacher without a second data path through the trainer.

Seeds: KD students start from fresh init seeds ``S, S+1, ...`` (S = the sweep's size);
self-distillation pairs teacher seed ``2p`` with student seed ``2p + 1`` (the student starts
from that seed's init, so its solo run, in the sweep, tells which view it would have
learned alone).
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from multiview.sim.config import ModelConfig, SimConfig, TheoremsConfig
from multiview.sim.dark_knowledge import (
    lambda_split,
    offtarget_noise,
    oracle_teacher_scores,
    teacher_contrast,
)
from multiview.sim.data import inputs_and_labels
from multiview.sim.losses import cross_entropy_with_accuracy, kd_objective
from multiview.sim.metrics import ensemble_scores
from multiview.sim.model import forward
from multiview.sim.seeds import init_keys
from multiview.sim.single import (
    accuracies,
    evaluate_single_models,
    init_models,
    init_weights_from,
    model_scores,
    record_views,
    training_data,
)
from multiview.sim.train import train
from multiview.stats import group_seeds

__all__ = [
    "kd_loss_fn",
    "record_student",
    "train_students",
    "distill_diagnostics",
    "run_oracle_kd",
    "run_kd",
    "run_self_distill",
]


@functools.lru_cache(maxsize=16)
def kd_loss_fn(model: ModelConfig, th: TheoremsConfig, k: int):
    """Loss of one student ``params = {"w": (k, m, d), "teacher": (n_train, k)}``."""
    tau = th.kd_temperature(k)  # the divisor of the tempered softmax

    def loss_fn(params, data, idx):
        w = params["w"]
        g = jax.lax.stop_gradient(params["teacher"])
        x, y = inputs_and_labels(data["train"], idx)
        if idx is not None:
            g = g[idx]
        f = forward(model, w, x)
        ce, acc = cross_entropy_with_accuracy(f, y)
        return kd_objective(th, tau, f, g, ce), {"acc": acc, "ce": ce}

    return loss_fn


def record_student(params, data):
    """Per-step record of a student: Lambda, Phi and noise correlation of its weights."""
    return record_views(params["w"], data)


def train_students(cfg: SimConfig, th: TheoremsConfig, datasets, w0, teacher, keys, on_chunk):
    """Distil students ``w0 (S, k, m, d)`` from teacher scores ``(S, n_train, k)`` for
    ``th.student_steps`` steps (0: the single models' schedule)."""
    params = {"w": w0, "teacher": jnp.asarray(teacher)}
    tcfg = cfg.train
    if th.student_steps:
        steps = th.student_steps
        tcfg = replace(tcfg, steps=steps, chunks=min(steps, tcfg.chunks))
    return train(
        kd_loss_fn(cfg.model, th, cfg.data.k),
        params,
        training_data(datasets),
        tcfg,
        n_train=cfg.data.n_train,
        keys=keys,
        record_fn=record_student,
        on_chunk=on_chunk,
    )


def distill_diagnostics(cfg, th, sim, teacher_train, per_student, w) -> dict[str, Any]:
    """Why distillation does or does not transfer the views: the teacher's dark-knowledge
    contrast on its training data (split by the views its student learned) at the
    temperature the objective uses, the students' off-target score with training vs fresh
    noise (a single model's beside it), and the students' Lambda of learned / not learned
    views beside the single models'."""
    train = sim.data.train
    return {
        "objective": th.objective(cfg.data.k),
        "teacher_contrast": teacher_contrast(
            teacher_train, train, th.objective_temperature(cfg.data.k), per_student["learned"]
        ),
        "student_noise": offtarget_noise(cfg, train, w),
        "single_noise": offtarget_noise(cfg, train, sim.weights[:1]),
        "student_lambda": lambda_split(per_student["lambda_final"], per_student["learned"]),
        "single_lambda": lambda_split(sim.per_seed["lambda_final"], sim.per_seed["learned"]),
    }


def _recovered(per_student, teacher_single, single_single) -> dict[str, float]:
    gain = float(np.mean(teacher_single)) - float(np.mean(single_single))
    st = float(np.mean(per_student["test_acc_single"]))
    return {
        "single_view": st,
        "multi_view": float(np.mean(per_student["test_acc_multi"])),
        "recovered_fraction": (st - float(np.mean(single_single))) / gain
        if gain > 0
        else float("nan"),
        "frac_classes_all_views": float(np.mean(per_student["frac_classes_all_views"])),
    }


#: The oracle teachers: (share of the views' score, multiple of the single models' Lambda).
ORACLE_VARIANTS = tuple((share, scale) for share in (0.5, 1.0) for scale in (0.5, 1.0, 2.0))


def run_oracle_kd(cfg, th, sim, teacher_single, keys, w0, on_chunk=None) -> dict[str, Any]:
    """The oracle-teacher control: the same students (inits ``w0 (G, k, m, d)``) distilled
    from :func:`oracle_teacher_scores` built from the true feature coefficients, for every
    (share, Lambda multiple) of :data:`ORACLE_VARIANTS`; Lambda is the single models' mean
    Lambda of their strongest view per class. One vmapped run trains every variant.

    It is this ideal teacher at this scale, not an upper bound on what a teacher can do: a
    real ensemble's scores also carry its members' memorized noise and unequal views, which
    may transfer more or less.
    """
    lam = float(np.mean(np.max(sim.per_seed["lambda_final"], axis=-1)))
    coef = sim.data.train.coef
    G = w0.shape[0]
    teachers = [
        np.asarray(oracle_teacher_scores(cfg.model, coef, lam * scale, share))
        for share, scale in ORACLE_VARIANTS
    ]
    g = np.concatenate([np.broadcast_to(t, (G, *t.shape)) for t in teachers])
    n_var = len(ORACLE_VARIANTS)
    w_all = jnp.concatenate([w0] * n_var)
    keys_all = jnp.concatenate([keys] * n_var)
    params, history = train_students(cfg, th, sim.data, w_all, g, keys_all, on_chunk)
    cut = float(sim.per_seed["learned_cut"][0])
    per_student = evaluate_single_models(cfg, sim.data, params["w"], history, cut)
    T = th.objective_temperature(cfg.data.k)
    variants = []
    for v, (share, scale) in enumerate(ORACLE_VARIANTS):
        part = {name: a[v * G : (v + 1) * G] for name, a in per_student.items()}
        out = _recovered(part, teacher_single, sim.per_seed["test_acc_single"])
        contrast = teacher_contrast(teachers[v], sim.data.train, T)
        variants.append(
            {"share": share, "lambda_scale": scale, **out, "teacher_contrast": contrast}
        )
    return {"lambda": lam, "variants": variants}


def run_kd(
    cfg: SimConfig,
    th: TheoremsConfig,
    sim,
    scores,
    on_chunk=None,
    oracle: bool = True,
    oracle_chunk=None,
) -> dict[str, Any]:
    """Students distilled from disjoint ensembles of ``th.teacher_size`` members of the sweep
    ``sim`` (scores ``(S, n, k)`` per set from :func:`multiview.sim.single.model_scores`),
    one student per teacher, their diagnostics, and (``oracle``) the oracle-teacher control.

    Returns (besides diagnostics): ``student`` per-student metrics ``(G, ...)`` (views
    counted at the single models' cut), ``teacher`` accuracies ``(G,)``,
    ``members_single_view`` ``(G,)`` the mean single-view accuracy of each teacher's members
    (the student's paired baseline), and ``pair_gain`` ``(G // 2,)``: what an ensemble of two
    students adds over its members, per disjoint pair.
    """
    S = cfg.seeds
    K = min(th.teacher_size, S)
    groups = group_seeds(S, K, max_groups=th.kd_students)
    teacher = {name: ensemble_scores(s, groups) for name, s in scores.items()}
    G = len(groups)
    keys, w0 = init_models(cfg, G, offset=S)
    params, history = train_students(cfg, th, sim.data, w0, teacher["train"], keys, on_chunk)
    w = params["w"]
    cut = float(sim.per_seed["learned_cut"][0])
    per_student = evaluate_single_models(cfg, sim.data, w, history, cut)
    st_scores = model_scores(cfg, sim.data, w)
    pairs = group_seeds(G, 2)
    pair_acc = accuracies({n: ensemble_scores(s, pairs) for n, s in st_scores.items()}, sim.data)
    pair_gain = pair_acc["test_acc_single"] - per_student["test_acc_single"][pairs].mean(1)
    teacher_acc = accuracies(teacher, sim.data)
    diag = distill_diagnostics(cfg, th, sim, teacher["train"], per_student, w)
    diag["real_teacher"] = _recovered(
        per_student, teacher_acc["test_acc_single"], sim.per_seed["test_acc_single"]
    )
    if oracle:
        diag["oracle"] = run_oracle_kd(
            cfg, th, sim, teacher_acc["test_acc_single"], keys, w0, oracle_chunk
        )
    return {
        "teacher_size": K,
        "teacher": teacher_acc,
        "members_single_view": sim.per_seed["test_acc_single"][groups].mean(1),
        "diagnostics": diag,
        "teacher_view_coverage": sim.per_seed["learned"][groups].any(axis=1).mean(axis=(1, 2)),
        "student": per_student,
        "pair_gain": pair_gain,
        "history": history,
        "w": w,
    }


def run_self_distill(
    cfg: SimConfig, th: TheoremsConfig, sim, scores, on_chunk=None
) -> dict[str, Any]:
    """Students from sweep seed ``2p + 1`` distilled from the single model of seed ``2p``.

    Returns (besides diagnostics) per pair ``(n_pairs,)``: ``student`` metrics, ``pair_single`` the
    mean single-view accuracy of the pair's two single models (the baseline of both gains),
    ``pair_ensemble`` the accuracies of their 2-ensemble, ``union_covered`` (the student
    learned at least the union of the pair's views, per class; 0 for a student under the
    multi-view gate is applied by the verdict, not here).
    """
    n_pairs = min(th.sd_pairs, cfg.seeds // 2)
    teachers, students = 2 * np.arange(n_pairs), 2 * np.arange(n_pairs) + 1
    keys = init_keys(cfg)[students]
    w0 = init_weights_from(cfg, keys)
    params, history = train_students(
        cfg, th, sim.data, w0, scores["train"][teachers], keys, on_chunk
    )
    w = params["w"]
    cut = float(sim.per_seed["learned_cut"][0])
    per_student = evaluate_single_models(cfg, sim.data, w, history, cut)
    learned = sim.per_seed["learned"]
    union = learned[teachers] | learned[students]  # (n_pairs, k, V)
    got = per_student["learned"]
    pairs = np.stack([teachers, students], 1)
    diag = distill_diagnostics(cfg, th, sim, scores["train"][teachers], per_student, w)
    return {
        "diagnostics": diag,
        "w": w,
        "pairs": n_pairs,
        "student": per_student,
        "union": union,
        "union_match": (got == union).all(axis=-1).mean(axis=-1),  # (n_pairs,) classes matching
        "union_covered": (got | ~union).all(axis=-1).mean(axis=-1),  # learned >= union
        "pair_single": sim.per_seed["test_acc_single"][pairs].mean(1),
        "pair_ensemble": accuracies(
            {n: ensemble_scores(s, pairs) for n, s in scores.items()}, sim.data
        ),
    }
