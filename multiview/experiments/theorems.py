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

from typing import Any

import numpy as np

from multiview.errors import ConfigError
from multiview.experiments import Progress, no_progress
from multiview.experiments.ablation import run_view_ablation
from multiview.experiments.average import run_train_average
from multiview.experiments.baselines import run_kernel_baselines
from multiview.experiments.distill import run_kd, run_self_distill
from multiview.experiments.ensemble import run_ensemble
from multiview.experiments.gaussian import run_gaussian_control
from multiview.experiments.simulate import SimulationResult, run_simulation
from multiview.sim.config import MAX_STEPS, SimConfig, TheoremsConfig
from multiview.sim.metrics import group_seeds
from multiview.sim.parallel import auto_seed_block, check_models_fit
from multiview.sim.predictions import THRESHOLDS, Prediction, at_least, band, compare
from multiview.sim.single import model_scores, summarize_metrics

__all__ = ["PARTS", "check_settings", "theorem_predictions", "run_theorems"]

#: Every part ``run_theorems`` can run (the single-model sweep and ensembles always run).
PARTS = ("ensemble", "average", "kd", "sd", "rf", "gaussian", "ablation")


def _at(curve: dict, K: int, key: str) -> np.ndarray:
    return curve[key][curve["K"].index(K)] if K in curve["K"] else np.array([np.nan])


def theorem_predictions(
    cfg: SimConfig,
    th: TheoremsConfig,
    per_seed: dict,
    ens: dict,
    avg: dict | None,
    kd: dict | None,
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
    T = THRESHOLDS
    lo, hi = T["single_view_near_half_low"], T["single_view_near_half_high"]
    preds.append(
        band(
            "single_view_near_half",
            "a single model's single-view accuracy is near the paper's 1/2 (it knows one view "
            "of two per class)",
            single,
            lo,
            hi,
        )
    )
    preds.append(
        at_least(
            "ensemble_gain",
            "an ensemble of 8 independently trained models gets single-view "
            f"accuracy >= {T['ensemble_single_view']:g} and covers >= "
            f"{T['ensemble_view_coverage']:.0%} of (class, view) pairs",
            acc8,
            T["ensemble_single_view"],
            extra_checks=[("view_coverage_8", cov8, T["ensemble_view_coverage"])],
        )
    )
    rising = all(b > a for a, b in zip(means, means[1:], strict=False))
    theory = [float(t) for t in ens["theory_single"][: len(Ks)]]
    preds.append(
        compare(
            "ensemble_curve",
            "single-view accuracy rises with K (K = 1, 2, 4, 8) like 1 - 2^-K",
            acc8,
            f"strictly increasing in K; theory {', '.join(f'{t:.3f}' for t in theory)}",
            rising and len(Ks) >= 2,
            {"K": Ks, "measured": means, "theory": theory},
        )
    )
    if avg is not None:
        gap = float(np.mean(avg["average"]["test_acc_single"])) - single_mean
        preds.append(
            compare(
                "train_average_no_gain",
                "training the average of K models jointly gives no "
                f"single-view gain (within {T['train_average_gap']:g} of a single model) and one "
                "view per class",
                avg["average"]["test_acc_single"],
                f"|avg - single| <= {T['train_average_gap']:g} (single {single_mean:.3f})",
                abs(gap) <= T["train_average_gap"],
                {
                    "gap": gap,
                    "frac_classes_one_view": float(
                        np.mean(avg["average"]["frac_classes_one_view"])
                    ),
                    "wide_model_single_view": float(np.mean(avg["wide"]["test_acc_single"])),
                },
            )
        )
        wide = avg["wide"]["test_acc_single"]
        wide_gap = float(np.mean(wide)) - single_mean
        preds.append(
            compare(
                "train_wide_no_gain",
                f"one {th.average_size}-times wider model gives no single-view gain (within "
                f"{T['train_wide_gap']:g} of a single model)",
                wide,
                f"|wide - single| <= {T['train_wide_gap']:g} (single {single_mean:.3f})",
                abs(wide_gap) <= T["train_wide_gap"],
                {"gap": wide_gap},
            )
        )
    if kd is not None:
        ens_gain = float(np.mean(kd["teacher"]["test_acc_single"])) - single_mean
        st = kd["student"]["test_acc_single"]
        rec = (float(np.mean(st)) - single_mean) / ens_gain if ens_gain > 0 else float("nan")
        preds.append(
            compare(
                "kd_transfer",
                "a student distilled from an 8-ensemble recovers >= "
                f"{T['kd_recovered_fraction']:.0%} of the ensemble's single-view gain over a "
                "single model",
                st,
                f"recovered fraction >= {T['kd_recovered_fraction']:g} "
                f"(teacher gain {ens_gain:.3f})",
                bool(np.isfinite(rec) and rec >= T["kd_recovered_fraction"]),
                {"recovered_fraction": rec},
            )
        )
        preds.append(
            at_least(
                "kd_all_views",
                f"the distilled student learns all views for >= {T['kd_all_views']:.0%} of classes",
                kd["student"]["frac_classes_all_views"],
                T["kd_all_views"],
            )
        )
        extra = float(np.mean(kd["student_ensemble"]["test_acc_single"])) - float(np.mean(st))
        preds.append(
            compare(
                "kd_ensemble_no_gain",
                "an ensemble of distilled students adds <= "
                f"{T['kd_ensemble_gain']:g} single-view accuracy",
                [extra],
                f"<= {T['kd_ensemble_gain']:g}",
                extra <= T["kd_ensemble_gain"],
                {"gain": extra},
            )
        )
    if sd is not None:
        pair_gain = float(np.mean(_at(ens, 2, "acc_single"))) - single_mean
        st = sd["student"]["test_acc_single"]
        sd_gain = float(np.mean(st)) - single_mean
        preds.append(
            compare(
                "self_distill_gain",
                "a self-distilled student's single-view gain over a single "
                "model is at least half of a 2-model ensemble's",
                st,
                f"gain >= {T['self_distill_gain_fraction']:g} x {pair_gain:.3f}",
                pair_gain > 0 and sd_gain >= T["self_distill_gain_fraction"] * pair_gain,
                {"gain": sd_gain, "ensemble2_gain": pair_gain},
            )
        )
        preds.append(
            at_least(
                "self_distill_union",
                "the student learns the union of the teacher's views and "
                "its own lottery winners (fraction of classes where it does)",
                sd["union_covered"],
                T["self_distill_union"],
            )
        )
    return preds


def check_settings(cfg: SimConfig, th: TheoremsConfig, parts: tuple[str, ...]) -> None:
    """Refuse, before any compute, experiment settings the seeds of ``cfg`` cannot support
    (one line, the config fields' style), and a sweep that does not fit in memory."""
    S = cfg.seeds
    fits = [K for K in th.ensemble_sizes if K <= S]
    if not fits:
        raise ConfigError(
            f"ensemble_sizes = {','.join(map(str, th.ensemble_sizes))} is invalid: must "
            f"include a size <= seeds = {S} (each ensemble is K of the seeds; larger K are "
            "skipped)"
        )
    if S < 2 and {"kd", "sd", "rf", "gaussian", "ablation"} & set(parts):
        raise ConfigError(
            f"seeds = {S} is invalid: must be >= 2 here (distillation teachers, students and "
            "the baselines' ensembles need at least two models)"
        )
    if "kd" in parts and th.teacher_size > S:
        raise ConfigError(
            f"teacher_size = {th.teacher_size} is invalid: must be <= seeds = {S} (the "
            "teacher is an ensemble of the seeds)"
        )
    if "average" in parts:  # K * G members train at once, for steps * K / lr_scale steps
        K, G = th.average_size, th.average_groups
        check_models_fit(cfg, K * G, "average_size x average_groups")
        steps = th.average_steps or round(cfg.train.steps * K / th.average_lr_scale)
        if steps > MAX_STEPS:
            raise ConfigError(
                f"average_lr_scale = {th.average_lr_scale:g} is invalid here: the average "
                f"would train steps * K / average_lr_scale = {steps:.3g} steps (at most "
                f"{MAX_STEPS:.0e}); raise it or set --average-steps"
            )
    fit = auto_seed_block(cfg)  # one line if not even one seed fits
    if fit < S:
        raise ConfigError(
            f"seeds = {S} is invalid: at most {fit} seeds of this config fit in memory at "
            "once (the experiments train all seeds together); use --seeds "
            f"{fit} or less, or simulate --seed-block for the single models"
        )


def run_theorems(
    cfg: SimConfig,
    th: TheoremsConfig,
    *,
    progress: Progress = no_progress,
    parts: tuple[str, ...] = ("ensemble", "average", "kd", "sd"),
    sim: SimulationResult | None = None,
) -> dict[str, Any]:
    """Run the sweep and the requested experiments (of :data:`PARTS`); return results and
    predictions. Settings are checked first (:func:`check_settings`)."""
    check_settings(cfg, th, parts)
    if sim is None:
        sim = run_simulation(cfg, on_chunk=progress("single models"))
    scores = model_scores(cfg, sim.data, sim.weights)
    ens = run_ensemble(cfg, th, sim, scores)
    avg = kd = sd = None
    if "average" in parts:
        avg = run_train_average(cfg, th, sim.data, on_chunk=progress("training the average"))
    if "kd" in parts:
        kd = run_kd(
            cfg,
            th,
            sim,
            scores,
            on_chunk=progress("KD students"),
            oracle_chunk=progress("KD from the oracle teacher"),
        )
    if "sd" in parts:
        sd = run_self_distill(cfg, th, sim, scores, on_chunk=progress("self-distillation"))
    extra: dict[str, Any] = {}
    if "rf" in parts:
        extra["rf"] = run_kernel_baselines(cfg, th, sim.data, progress)
    if "gaussian" in parts:
        extra["gaussian"] = run_gaussian_control(cfg, th, progress)
    if "ablation" in parts:
        groups = group_seeds(cfg.seeds, min(8, cfg.seeds))
        extra["ablation"] = run_view_ablation(
            cfg, sim, groups, None if kd is None else kd["w"], None if sd is None else sd["w"]
        )
    preds = list(sim.summary["predictions"])
    preds += [p.to_dict() for p in theorem_predictions(cfg, th, sim.per_seed, ens, avg, kd, sd)]
    for part in extra.values():
        preds += [p.to_dict() for p in part["predictions"]]
    return {
        "sim": sim,
        "ensemble": ens,
        "average": avg,
        "kd": kd,
        "sd": sd,
        **extra,
        "predictions": preds,
        "metrics": summarize_metrics(sim.per_seed),
    }
