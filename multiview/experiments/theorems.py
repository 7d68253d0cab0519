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

import dataclasses
from collections.abc import Callable
from pathlib import Path
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
from multiview.sim.blocks import BLOCKS_DIR, block_path, check_saved_blocks
from multiview.sim.config import MAX_STEPS, SimConfig, TheoremsConfig, config_to_dict
from multiview.sim.experiment_config import KernelConfig, recorded_kernels
from multiview.sim.grading import convergence, gate
from multiview.sim.parallel import auto_seed_block, check_models_fit
from multiview.sim.single import model_scores, summarize_metrics
from multiview.sim.stages import STAGES_DIR, StageStore
from multiview.stats import group_seeds

__all__ = [
    "PARTS",
    "PART_STAGES",
    "SINGLE_MODELS",
    "check_settings",
    "stage_count",
    "theorem_predictions",
    "run_theorems",
]

#: Every part ``run_theorems`` can run (the single-model sweep and ensembles always run).
PARTS = ("ensemble", "average", "kd", "sd", "rf", "gaussian", "ablation")

#: The label of the single-model sweep's stage.
SINGLE_MODELS = "single models"

#: Part -> (its label, how many training stages, i.e. ``progress(label)`` calls, it makes).
#: Each of these parts is saved as ``out/stages/<part>.npz`` once it is done; the ensemble
#: curve trains nothing and is recomputed from the single models.
PART_STAGES = {
    "average": ("training the average", 1),
    "kd": ("KD students", 2),  # the students, and the students of the oracle teacher
    "sd": ("self-distillation", 1),
    "rf": ("kernel baselines", 3 * len(KernelConfig().kinds)),  # singles, KD, averages
    "gaussian": ("Gaussian-like control", len(GaussianConfig().variants)),
    "ablation": ("view ablation", 0),
}


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


def _stages_of(part: str, kc: KernelConfig | None) -> int:
    """The training stages of ``part`` (the kernel baselines': 3 for each kind run)."""
    return 3 * len(kc.kinds) if part == "rf" and kc is not None else PART_STAGES[part][1]


def stage_count(
    parts: tuple[str, ...], sim_given: bool = False, kc: KernelConfig | None = None
) -> int:
    """How many training stages (``progress(label)`` calls) :func:`run_theorems` makes for
    ``parts`` (``kc``: the kernel baselines' settings, default :class:`KernelConfig()`):
    the display's overall bar, ``stage i of N`` (a stage reused from disk on resume is
    counted too: the display's ``skip``)."""
    return (0 if sim_given else 1) + sum(_stages_of(p, kc) for p in parts if p in PART_STAGES)


def _reused(progress: Progress, label: str, count: int) -> None:
    """Tell the display that ``count`` stages of ``label`` were read from disk, if it can
    count them (``skip``): the overall bar stays right and says so."""
    skip = getattr(progress, "skip", None)
    if callable(skip):
        skip(label, count)


def _single_models(cfg: SimConfig, progress: Progress, out: Path | None, resume: bool):
    """The sweep, its seeds saved as one block in ``out/blocks`` (or read from there)."""
    if out is not None and resume:
        check_saved_blocks(out, cfg, 0)  # a damaged block: set aside (said so) now
        if block_path(out / BLOCKS_DIR, 0, cfg.seeds).exists():
            _reused(progress, SINGLE_MODELS, 1)
            return run_simulation(cfg, out=out, resume=True)
    return run_simulation(cfg, on_chunk=progress(SINGLE_MODELS), out=out, resume=resume)


def _stage(
    stages: StageStore | None,
    progress: Progress,
    name: str,
    compute: Callable[[], Any],
    kc: KernelConfig | None = None,
) -> Any:
    """Part ``name``: read back from ``stages`` if it was saved there, else computed and
    saved (atomically) as soon as it is done."""
    if stages is not None and name in stages:
        _reused(progress, PART_STAGES[name][0], _stages_of(name, kc))
        return stages[name]
    result = compute()
    if stages is not None:
        stages.save(name, result)
    return result


def run_theorems(
    cfg: SimConfig,
    th: TheoremsConfig,
    *,
    progress: Progress = no_progress,
    parts: tuple[str, ...] = ("ensemble", "average", "kd", "sd"),
    sim: SimulationResult | None = None,
    out: Path | None = None,
    resume: bool = False,
    kc: KernelConfig | None = None,
) -> dict[str, Any]:
    """Run the sweep and the requested experiments (of :data:`PARTS`); return results and
    predictions. Settings are checked first (:func:`check_settings`).

    Arguments:
        kc: the kernel baselines' settings (the ``rf`` part; None: :class:`KernelConfig()`).
        out: if given, what is finished is saved in this folder as it finishes, so that an
            interrupted run keeps it: the single models as a block of seeds
            (``out/blocks``, :mod:`multiview.sim.blocks`), each part of
            :data:`PART_STAGES` as ``out/stages/<part>.npz`` (:mod:`multiview.sim.stages`),
            keyed by ``cfg``, ``th`` and ``parts``.
        resume: reuse what ``out`` holds of this config instead of computing it again; the
            results are bit for bit those of an uninterrupted run. Damaged files are set
            aside (with a warning) before any compute and their parts computed again.
    """
    check_settings(cfg, th, parts)
    out = None if out is None else Path(out)
    stages = None
    if out is not None:
        key = {"sim": config_to_dict(cfg), "theorems": dataclasses.asdict(th), "parts": parts}
        if (kernels := recorded_kernels(kc)) is not None:
            key["kernels"] = kernels
        names = [p for p in parts if p in PART_STAGES]
        stages = StageStore(out / STAGES_DIR, key, names, resume=resume)
    if sim is None:
        sim = _single_models(cfg, progress, out, resume)
    scores = model_scores(cfg, sim.data, sim.weights)
    ens = run_ensemble(cfg, th, sim, scores)
    cut = float(sim.per_seed["learned_cut"][0])

    def part(name: str, compute: Callable[[], Any]) -> Any:
        return _stage(stages, progress, name, compute, kc) if name in parts else None

    avg = part(
        "average",
        lambda: run_train_average(
            cfg, th, sim.data, cut, on_chunk=progress(PART_STAGES["average"][0])
        ),
    )
    kd = part(
        "kd",
        lambda: run_kd(
            cfg,
            th,
            sim,
            scores,
            on_chunk=progress(PART_STAGES["kd"][0]),
            oracle_chunk=progress("KD from the oracle teacher"),
        ),
    )
    sd = part(
        "sd",
        lambda: run_self_distill(cfg, th, sim, scores, on_chunk=progress(PART_STAGES["sd"][0])),
    )
    kernels = kc if kc is not None else KernelConfig()
    rf = part("rf", lambda: run_kernel_baselines(cfg, th, sim.data, progress, kernels))
    gaussian = part("gaussian", lambda: run_gaussian_control(cfg, th, progress))
    groups = group_seeds(cfg.seeds, min(8, cfg.seeds))
    kd_w, sd_w = (None if r is None else r["w"] for r in (kd, sd))
    ablation = part("ablation", lambda: run_view_ablation(cfg, sim, groups, kd_w, sd_w))
    extra = {"rf": rf, "gaussian": gaussian, "ablation": ablation}
    extra = {name: result for name, result in extra.items() if name in parts}
    conv = convergence(cfg, sim.per_seed)
    preds = list(sim.summary["predictions"])
    preds += [p.to_dict() for p in theorem_predictions(cfg, th, sim.per_seed, ens, avg, kd, sd)]
    for name, result in extra.items():
        # the view ablation reads the single models' learned views: gated like them
        own = gate(result["predictions"], conv) if name == "ablation" else result["predictions"]
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
        "learned_cut": cut,
        "objective": th.objective(cfg.data.k),
        "metrics": summarize_metrics(sim.per_seed),
    }
