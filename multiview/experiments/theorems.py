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

from multiview.errors import ConfigError
from multiview.experiments import Progress, no_progress
from multiview.experiments.ablation import run_view_ablation
from multiview.experiments.average import run_train_average
from multiview.experiments.baselines import run_kernel_baselines
from multiview.experiments.distill import run_kd, run_self_distill
from multiview.experiments.ensemble import run_ensemble
from multiview.experiments.gaussian import GaussianConfig, run_gaussian_control
from multiview.experiments.simulate import SimulationResult, run_simulation
from multiview.experiments.theorem_predictions import theorem_predictions
from multiview.sim.config import MAX_STEPS, SimConfig, TheoremsConfig
from multiview.sim.grading import convergence, gate
from multiview.sim.kernels import KernelConfig
from multiview.sim.metrics import group_seeds
from multiview.sim.parallel import auto_seed_block, check_models_fit
from multiview.sim.single import model_scores, summarize_metrics

__all__ = ["PARTS", "check_settings", "stage_count", "theorem_predictions", "run_theorems"]

#: Every part ``run_theorems`` can run (the single-model sweep and ensembles always run).
PARTS = ("ensemble", "average", "kd", "sd", "rf", "gaussian", "ablation")


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
        scales = {"average_lr_scale": th.average_lr_scale}
        if th.average_extra_lr_scale:
            scales["average_extra_lr_scale"] = th.average_extra_lr_scale
        for name, scale in scales.items():
            steps = th.average_steps or round(cfg.train.steps * K / scale)
            if steps > MAX_STEPS:
                raise ConfigError(
                    f"{name} = {scale:g} is invalid here: the average would train steps * K / "
                    f"{name} = {steps:.3g} steps (at most {MAX_STEPS:.0e}); raise it or set "
                    "--average-steps"
                )
    fit = auto_seed_block(cfg)  # one line if not even one seed fits
    if fit < S:
        raise ConfigError(
            f"seeds = {S} is invalid: at most {fit} seeds of this config fit in memory at "
            "once (the experiments train all seeds together); use --seeds "
            f"{fit} or less, or simulate --seed-block for the single models"
        )


def stage_count(parts: tuple[str, ...], sim_given: bool = False) -> int:
    """How many training stages (``progress(label)`` calls) :func:`run_theorems` makes for
    ``parts``: the display's overall bar, ``stage i of N``."""
    per_part = {
        "average": 1,
        "kd": 2,  # the students, and the students of the oracle teacher
        "sd": 1,
        "rf": 3 * len(KernelConfig().kinds),  # single models, KD students, trained averages
        "gaussian": len(GaussianConfig().variants),
    }
    return (0 if sim_given else 1) + sum(per_part.get(p, 0) for p in parts)


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
        avg = run_train_average(
            cfg,
            th,
            sim.data,
            float(sim.per_seed["learned_cut"][0]),
            on_chunk=progress("training the average"),
        )
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
    conv = convergence(cfg, sim.per_seed)
    preds = list(sim.summary["predictions"])
    preds += [p.to_dict() for p in theorem_predictions(cfg, th, sim.per_seed, ens, avg, kd, sd)]
    for name, part in extra.items():
        # the view ablation reads the single models' learned views: gated like them
        own = gate(part["predictions"], conv) if name == "ablation" else part["predictions"]
        preds += [p.to_dict() for p in own]
    return {
        "sim": sim,
        "ensemble": ens,
        "average": avg,
        "kd": kd,
        "sd": sd,
        **extra,
        "predictions": preds,
        "convergence": conv,
        "learned_cut": float(sim.per_seed["learned_cut"][0]),
        "objective": th.objective(cfg.data.k),
        "metrics": summarize_metrics(sim.per_seed),
    }
