"""Kernel baselines: random-feature and NTK versions of the network (the paper's
random-feature column): single models, ensembles, KD and the jointly trained average.

The models and their dual GD are in :mod:`multiview.sim.kernels`. Experiments per kind
(seeds disjoint from the network's: init streams ``rf`` / ``ntk`` of
:mod:`multiview.sim.seeds`): ``seeds`` single models; ensembles of ``K = th.teacher_size`` of
them (disjoint groups); one KD student per group (a fresh model *of the same kind*, trained
with ``th``'s KD loss against its group's ensemble scores on the training set); and the
jointly trained average of ``K`` fresh models per group (GD on the cross-entropy of the
averaged scores: a linear model on the concatenated features / K, with its own ``1 / L``
step, i.e. about K times a single model's, as in ``average.py``).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from multiview.experiments import Progress, no_progress
from multiview.sim.config import SimConfig, TheoremsConfig
from multiview.sim.data import Datasets
from multiview.sim.experiment_config import KernelConfig
from multiview.sim.kernels import (
    contract,
    dual_features,
    gram_and_offset,
    init_frozen,
    member_scores,
    sample_weights,
    train_linear,
)
from multiview.sim.metrics import ensemble_scores, overall_accuracy
from multiview.sim.predictions import (
    THRESHOLDS,
    Prediction,
    at_least,
    from_ratio,
    from_units,
    within,
)
from multiview.sim.seeds import INIT_OFFSETS, init_keys
from multiview.stats import accuracy, group_seeds, mean_std, mean_std_dict

__all__ = ["run_kernel_kind", "kernel_predictions", "run_kernel_baselines"]


def _fit_models(kind, cfg, kc, th, datasets, members, keys, teacher=None, on_chunk=None):
    """Train one dual model per entry of ``members`` (a list of lists of frozen parts: one
    member = a single model, several = their jointly trained average) and score them.

    Returns:
        dict of ``(G, n, k)`` scores ``train``, ``multi``, ``single`` and final ``loss``,
        ``acc`` ``(G,)``.
    """
    grams, f0s, feats = [], [], []
    for group in members:
        parts = [gram_and_offset(kind, cfg, p, datasets.train.x, kc.batch) for p in group]
        K = len(group)
        grams.append(sum(p[0] for p in parts) / K**2)
        f0s.append(sum(p[1] for p in parts) / K)
        feats.append([p[2] for p in parts])
    duals = [dual_features(g, kc.eig_floor) for g in grams]
    psi = np.stack([d[0] for d in duals])
    steps = kc.rf_steps if kind == "rf" else kc.ntk_steps
    gamma, last = train_linear(
        th, cfg, kc, steps, psi, np.stack(f0s), datasets.train.y, keys, teacher, on_chunk
    )
    xs = (datasets.test_multi.x, datasets.test_single.x)
    out: dict[str, Any] = {"train": [], "multi": [], "single": []}
    for g, group in enumerate(members):
        beta = sample_weights(duals[g][1], gamma[g]) / len(group)
        out["train"].append(
            f0s[g] + np.asarray(contract(jnp.asarray(psi[g]), jnp.asarray(gamma[g])))
        )
        member = [
            member_scores(kind, cfg, kc, p, feats[g][j], beta, xs) for j, p in enumerate(group)
        ]
        out["multi"].append(np.mean([m[0] for m in member], axis=0))
        out["single"].append(np.mean([m[1] for m in member], axis=0))
    out = {name: np.stack(v) for name, v in out.items()}
    out.update(last)
    return out


def _accs(scores: dict[str, np.ndarray], datasets: Datasets, mu: float) -> dict[str, np.ndarray]:
    a = {
        "train_acc": accuracy(scores["train"], datasets.train.y),
        "test_acc_multi": accuracy(scores["multi"], datasets.test_multi.y),
        "test_acc_single": accuracy(scores["single"], datasets.test_single.y),
    }
    a["test_acc_overall"] = overall_accuracy(a["test_acc_multi"], a["test_acc_single"], mu)
    return a


def run_kernel_kind(
    kind: str,
    cfg: SimConfig,
    th: TheoremsConfig,
    datasets: Datasets,
    kc: KernelConfig = KernelConfig(),  # noqa: B008 - frozen
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Single models, ensembles, KD students and trained averages of one kernel kind.

    Returns:
        dict ``single``, ``ensemble``, ``kd``, ``average``, each a dict of per-model
        accuracy arrays (``train_acc``, ``test_acc_multi``, ``test_acc_single``,
        ``test_acc_overall``), plus ``K`` and ``groups``; ``single`` also has the final
        training ``loss``.
    """
    progress = progress or no_progress
    mu = cfg.data.single_view_frac
    S = kc.seeds
    K = min(th.teacher_size, S)
    groups = group_seeds(S, K)
    G = len(groups)
    base = INIT_OFFSETS[kind]
    label = kind.upper()

    keys = init_keys(cfg, S, base)
    p0 = init_frozen(kind, cfg, kc, keys)
    single = _fit_models(
        kind,
        cfg,
        kc,
        th,
        datasets,
        [[p] for p in p0],
        keys,
        on_chunk=progress(f"{label} single models"),
    )
    ens = {name: ensemble_scores(single[name], groups) for name in ("train", "multi", "single")}

    kd_keys = init_keys(cfg, G, base + S)
    kd = _fit_models(
        kind,
        cfg,
        kc,
        th,
        datasets,
        [[p] for p in init_frozen(kind, cfg, kc, kd_keys)],
        kd_keys,
        teacher=ens["train"],
        on_chunk=progress(f"{label} KD students"),
    )

    avg_keys = init_keys(cfg, G * K, base + S + G)
    avg_p0 = init_frozen(kind, cfg, kc, avg_keys)
    avg = _fit_models(
        kind,
        cfg,
        kc,
        th,
        datasets,
        [avg_p0[g * K : (g + 1) * K] for g in range(G)],
        avg_keys[::K],
        on_chunk=progress(f"{label} trained averages"),
    )
    single_acc = _accs(single, datasets, mu)
    single_acc["loss"] = single["loss"]
    return {
        "K": K,
        "groups": G,
        "single": single_acc,
        "ensemble": _accs(ens, datasets, mu),
        "kd": _accs(kd, datasets, mu),
        "average": _accs(avg, datasets, mu),
    }


def kernel_predictions(kind: str, res: dict[str, Any]) -> list[Prediction]:
    """``{kind}_ensemble_gain``, ``{kind}_kd_no_transfer``, ``{kind}_train_average_wins``,
    each graded over the disjoint groups, paired with the group's own members.

    Bars (overall accuracy on D, from :data:`~multiview.sim.predictions.THRESHOLDS`): an
    ensemble beats its members by >= 0.02; a KD student recovers a fraction of its
    ensemble's gain within +- 0.25 (neither the ensemble's gain nor a loss: a kernel student
    inherits little); the jointly trained average is at least as accurate as the ensemble,
    up to 0.01.
    """
    T = THRESHOLDS
    name = {"rf": "random-feature", "ntk": "NTK-linearized"}[kind]
    K, G = res["K"], res["groups"]
    groups = group_seeds(len(res["single"]["test_acc_overall"]), K)[:G]
    members = np.asarray(res["single"]["test_acc_overall"])[groups].mean(1)  # (G,)
    ens = np.asarray(res["ensemble"]["test_acc_overall"])
    kd = np.asarray(res["kd"]["test_acc_overall"])
    avg = np.asarray(res["average"]["test_acc_overall"])
    unit = "disjoint groups"
    tol = T["kernel_average_tolerance"]
    rec_bar = T["kernel_kd_recovered_fraction"]
    return [
        from_units(
            f"{kind}_ensemble_gain",
            f"an ensemble of {K} {name} models beats its members by >= "
            f"{T['kernel_ensemble_gain']:g} overall",
            "control",
            ens - members,
            at_least(T["kernel_ensemble_gain"]),
            unit,
            bounds=None,
        ),
        from_ratio(
            f"{kind}_kd_no_transfer",
            f"KD from the {K}-ensemble into one {name} model recovers little of the "
            f"ensemble's overall gain (a fraction within +-{rec_bar:g})",
            "control",
            kd - members,
            ens - members,
            within(-rec_bar, rec_bar),
            unit,
        ),
        from_units(
            f"{kind}_train_average_wins",
            f"training the average of {K} {name} models jointly is at least as accurate "
            f"overall as their ensemble (up to {tol:g})",
            "control",
            avg - ens,
            at_least(-tol),
            unit,
            bounds=None,
        ),
    ]


def run_kernel_baselines(
    cfg: SimConfig,
    th: TheoremsConfig,
    datasets: Datasets,
    progress: Progress | None = None,
    kc: KernelConfig = KernelConfig(),  # noqa: B008 - frozen
) -> dict[str, Any]:
    """Random-feature and NTK baselines on the simulation's data, with their predictions.

    Returns:
        ``{"methods": {rf_single, rf_ensemble, rf_kd, rf_train_average, ntk_...: {
        "single_view", "multi_view", "overall", "train": {"mean", "std"}}}, "predictions":
        [Prediction, ...], "bar": {label: (mean, std) single-view accuracy}, "raw": {kind:
        run_kernel_kind(...)}}``.
    """
    methods: dict[str, Any] = {}
    preds: list[Prediction] = []
    bar: dict[str, tuple[float, float]] = {}
    raw = {}
    for kind in kc.kinds:
        res = run_kernel_kind(kind, cfg, th, datasets, kc, progress)
        raw[kind] = res
        for part, suffix in (
            ("single", "single"),
            ("ensemble", "ensemble"),
            ("kd", "kd"),
            ("average", "train_average"),
        ):
            a = res[part]
            methods[f"{kind}_{suffix}"] = {
                "single_view": mean_std_dict(a["test_acc_single"]),
                "multi_view": mean_std_dict(a["test_acc_multi"]),
                "overall": mean_std_dict(a["test_acc_overall"]),
                "train": mean_std_dict(a["train_acc"]),
            }
            bar[f"{kind.upper()} {suffix.replace('_', ' ')}"] = mean_std(a["test_acc_single"])
        preds += kernel_predictions(kind, res)
    return {"methods": methods, "predictions": preds, "bar": bar, "raw": raw}
