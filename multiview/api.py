"""The Python API: one function per experiment, each returning a typed, frozen result.

    import multiview as mv

    cfg = mv.preset("quick", seeds=4, noise_scale=2.0)   # any config field by name
    r = mv.simulate(cfg)                                 # a SimulationRun
    r.predictions                                        # Prediction records with verdicts
    r.save("runs/mine")                                  # the folder `multiview simulate` writes
    mv.load("runs/mine") == r                            # True

Every function takes ``out`` (write the run folder the command line writes, ``report.html``
included; None: write nothing, except where training needs a folder) and ``progress`` (True:
a bar, in a notebook too; False: none; or an open display object such as the CLI's).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

from multiview.cifar.data import load_cifar, resolve_cache_dir
from multiview.cifar.experiments import run_cifar
from multiview.cifar.presets import preset_config
from multiview.experiments.simulate import (
    SimulationResult,
    run_distributed_simulation,
    run_simulation,
)
from multiview.experiments.sweep import parse_axis, run_sweep
from multiview.experiments.theorems import PARTS, run_theorems, stage_count
from multiview.io import default_run_dir
from multiview.progress import expect_stages, progress_display
from multiview.report.cifar import write_report
from multiview.report.simulation import write_simulation
from multiview.report.sweep import write_sweep
from multiview.report.theorems import theorems_summary, write_theorems
from multiview.results import (
    CifarRun,
    SimulationRun,
    SweepRun,
    TheoremsRun,
    load,
    theorems_run,
)
from multiview.sim.blocks import check_saved_blocks
from multiview.sim.config import (
    SimConfig,
    TheoremsConfig,
    scale_schedule,
    theorems_preset,
    with_overrides,
)
from multiview.sim.config import preset as named_preset
from multiview.sim.data import make_datasets
from multiview.sim.experiment_config import KernelConfig, recorded_kernels
from multiview.sim.parallel import plan_seed_block
from multiview.sim.seeds import data_key
from multiview.sim.train import History

__all__ = [
    "cifar_experiments",
    "distill",
    "ensemble",
    "plan_simulation",
    "preset",
    "self_distill",
    "simulate",
    "sweep",
    "theorems",
    "theorems_config",
    "train_average",
]

PathLike = str | os.PathLike


def preset(name: str = "default", **overrides: Any) -> SimConfig:
    """The named preset (``default``, ``quick``, ``paper``) with fields replaced by name.

    Arguments:
        name: the preset.
        overrides: any leaf config field, wherever it lives (``k``, ``steps``, ``lr``,
            ``noise_scale``, ``seeds`` ...); the result is validated once. Without ``steps``
            (or with ``steps=None``), raising ``k`` or ``n_train`` scales the preset's steps
            by ``max(1, k / k_preset, n_train / n_train_preset)``
            (:func:`multiview.sim.config.scale_schedule`); given steps are kept.

    Raises :class:`~multiview.ConfigError` for an unknown preset or field, or a bad value.
    """
    base = named_preset(name)
    cfg = with_overrides(base, **overrides)
    return cfg if overrides.get("steps") is not None else scale_schedule(base, cfg)


def theorems_config(preset: str | None = None, **overrides: Any) -> TheoremsConfig:
    """The experiments' settings (:class:`~multiview.TheoremsConfig`) with fields replaced
    by name (``ensemble_sizes=(1, 2, 4)``, ``kd_loss="hinton"`` ...); ``preset`` starts from
    a named preset's settings (``"separated"``: its KD objective and schedules), as
    ``multiview theorems --preset`` does."""
    if preset is None:
        return TheoremsConfig(**overrides)
    named_preset(preset)  # one line for an unknown name
    return theorems_preset(preset, **overrides)


def plan_simulation(cfg: SimConfig, seed_block: int = 0, *, distributed: bool = False) -> int:
    """The seeds :func:`simulate` trains at once: ``seed_block`` if it fits in memory (0: as
    many as fit), checked before anything is written or trained.

    Raises :class:`~multiview.ConfigError` (naming the largest block that fits) when it does
    not. A distributed job plans over its processes once it has started
    (:func:`multiview.sim.distributed.plan_distributed`): ``seed_block`` is returned as given.
    """
    return seed_block if distributed else plan_seed_block(cfg, seed_block)


def simulate(
    cfg: SimConfig | None = None,
    *,
    out: PathLike | None = None,
    progress: Any = True,
    seed_block: int = 0,
    resume: bool = False,
    distributed: bool = False,
) -> SimulationRun | None:
    """Train ``cfg.seeds`` single models from independent seeds and check Theorem 1.

    Arguments:
        cfg: the configuration (default: the ``default`` preset).
        out: if given, the run folder (``config.json``, ``summary.json``, ``per_seed.npz``,
            ``figures/``, ``report.html``; blocks of seeds in ``out/blocks`` as they finish).
        progress: True, False or an open display (see the module's docstring).
        seed_block: train at most this many seeds at once (0: as many as fit in memory).
        resume: reuse the blocks of seeds already in ``out/blocks``.
        distributed: one process of a ``jax.distributed`` job (needs ``out``).

    Returns:
        A :class:`~multiview.SimulationRun`; None on a distributed job's processes other
        than 0 (their blocks are saved in ``out``).
    """
    cfg = cfg if cfg is not None else named_preset("default")
    out = Path(out) if out is not None else None
    if distributed and out is None:
        raise ValueError("distributed=True needs out (the shared results folder)")
    seed_block = plan_simulation(cfg, seed_block, distributed=distributed)  # memory check
    if resume and out is not None and not distributed:
        check_saved_blocks(out, cfg, seed_block)  # a damaged block: set aside (said so) now
    with progress_display(progress) as display:
        on_chunk = display(f"{cfg.seeds} seeds")
        if distributed:
            res = run_distributed_simulation(
                cfg,
                out,
                seed_block=seed_block,
                resume=resume,
                on_chunk=on_chunk,
                on_block=display.block,
            )
        else:
            res = run_simulation(
                cfg,
                on_chunk=on_chunk,
                out=out,
                seed_block=seed_block,
                resume=resume,
                on_block=display.block,
            )
    if res is None:
        return None
    run = SimulationRun.from_result(res)
    if out is not None:  # the folder this call trained into (its blocks may be there)
        write_simulation(run, out)
    return run


def theorems(
    cfg: SimConfig | None = None,
    th: TheoremsConfig | None = None,
    *,
    parts: tuple[str, ...] = PARTS,
    sim: SimulationRun | None = None,
    out: PathLike | None = None,
    progress: Any = True,
    resume: bool = False,
    kc: KernelConfig | None = None,
) -> TheoremsRun:
    """Single models, then the requested experiments (``parts`` of ``ensemble``,
    ``average``, ``kd``, ``sd``, ``rf``, ``gaussian``, ``ablation``; default all), every
    verdict.

    Arguments:
        cfg: the configuration (default: the ``default`` preset).
        th: the experiments' settings (default :class:`~multiview.TheoremsConfig()`).
        parts: which experiments run (the ensemble curve always does).
        sim: single models already trained with ``cfg`` (a :class:`SimulationRun` made in
            this process or loaded): reused instead of trained again (None: train them).
        out: if given, the run folder ``multiview theorems --out`` writes; each stage is
            saved there as it finishes (the single models in ``out/blocks``, each
            experiment in ``out/stages``).
        progress: True, False or an open display.
        resume: reuse the stages already saved in ``out`` by a run of the same config (an
            interrupted one): the results are bit for bit those of an uninterrupted run.
        kc: the kernel baselines' settings (the ``rf`` part; default
            :class:`~multiview.KernelConfig()`), recorded in ``out/config.json`` when not
            the default.
    """
    cfg = cfg if cfg is not None else (sim.config if sim is not None else named_preset("default"))
    th = th if th is not None else TheoremsConfig()
    with progress_display(progress) as display:
        reused = _reuse(cfg, sim)
        expect_stages(display, stage_count(tuple(parts), sim_given=reused is not None, kc=kc))
        where = None if out is None else Path(out)
        res = run_theorems(
            cfg,
            th,
            progress=display,
            parts=tuple(parts),
            sim=reused,
            out=where,
            resume=resume,
            kc=kc,
        )
    if out is not None:
        kernels = recorded_kernels(kc)
        summary = write_theorems(res, Path(out), dataclasses.asdict(th), kernels=kernels)
    else:
        summary = theorems_summary(res)
    return theorems_run(res, th, summary)


def _reuse(cfg: SimConfig, sim: SimulationRun | None) -> SimulationResult | None:
    """The experiments' form of single models already trained (the data set is regenerated:
    it is a function of the config)."""
    if sim is None:
        return None
    if sim.config != cfg:
        raise ValueError("sim was trained with another config than cfg: pass sim.config")
    summary = sim.summary
    data = make_datasets(cfg.data, data_key(cfg))
    history = History(sim.steps, dict(sim.trajectories))
    return SimulationResult(cfg, data, sim.weights, history, dict(sim.per_seed), summary)


def ensemble(cfg=None, th=None, *, sim=None, out=None, progress=True, resume=False) -> TheoremsRun:
    """Ensembles of K independently trained models (Theorem 2): :func:`theorems` with
    ``parts=("ensemble",)``."""
    return theorems(
        cfg, th, parts=("ensemble",), sim=sim, out=out, progress=progress, resume=resume
    )


def distill(cfg=None, th=None, *, sim=None, out=None, progress=True, resume=False) -> TheoremsRun:
    """Knowledge distillation from an ensemble into one model (Theorem 3): :func:`theorems`
    with ``parts=("kd",)``."""
    return theorems(cfg, th, parts=("kd",), sim=sim, out=out, progress=progress, resume=resume)


def self_distill(
    cfg=None, th=None, *, sim=None, out=None, progress=True, resume=False
) -> TheoremsRun:
    """Self-distillation, a fresh model distilled from one (Theorem 4)."""
    return theorems(cfg, th, parts=("sd",), sim=sim, out=out, progress=progress, resume=resume)


def train_average(
    cfg=None, th=None, *, sim=None, out=None, progress=True, resume=False
) -> TheoremsRun:
    """Training the average of K models jointly (no gain over one model)."""
    return theorems(cfg, th, parts=("average",), sim=sim, out=out, progress=progress, resume=resume)


def _axis(axis: str | tuple[str, Any]) -> tuple[str, list[Any]]:
    if isinstance(axis, str):
        return parse_axis(axis)
    name, values = axis
    return name, list(values)


def sweep(
    cfg: SimConfig | None,
    x: str | tuple[str, Any],
    y: str | tuple[str, Any],
    *,
    out: PathLike | None = None,
    ensemble_size: int = 8,
    resume: bool = False,
    progress: Any = True,
) -> SweepRun:
    """A grid of simulations over two config fields (a phase diagram).

    Arguments:
        cfg: the base configuration (None: the ``default`` preset).
        x: the first axis, ``("noise_scale", [1.0, 2.0])`` or ``"noise_scale=1,2"``.
        y: the second axis, in the same form.
        out: if given, the run folder ``multiview sweep --out`` writes (cells are saved as
            they finish, so ``resume=True`` continues an interrupted sweep).
        ensemble_size: K of each cell's ensembles (<= seeds).
        progress: True, False or an open display.
    """
    cfg = cfg if cfg is not None else named_preset("default")
    xa, ya = _axis(x), _axis(y)
    with tempfile.TemporaryDirectory(prefix="multiview-sweep-") as tmp:
        folder = Path(out) if out is not None else Path(tmp)
        with progress_display(progress) as display:
            n = len(xa[1]) * len(ya[1])
            expect_stages(display, n, unit="cell", auto=False)
            done: list[str] = []

            def on_cell(name: str, reused: bool) -> None:
                done.append(name)
                display.note(f"[{len(done)}/{n}] {name}: {'reused' if reused else 'done'}")
                if callable(getattr(display, "advance", None)):
                    display.advance(name)

            grid = run_sweep(
                cfg,
                xa,
                ya,
                folder,
                resume=resume,
                ensemble_size=ensemble_size,
                on_cell=on_cell,
                progress=display,
            )
        if out is not None:
            write_sweep(grid, folder)
    return SweepRun(grid=grid)


def cifar_experiments(
    data: PathLike,
    preset: str = "cpu-small",
    *,
    out: PathLike | None = None,
    labels: str = "fine",
    cache_dir: PathLike | None = None,
    resume: bool = True,
    progress: Any = True,
    **changes: Any,
) -> CifarRun:
    """The CIFAR Figure-1 experiments (single, ensemble, KD, self-distillation, training the
    average, random features): a thin wrapper of :func:`multiview.cifar.experiments.run_cifar`.

    (Not named ``cifar``: ``multiview.cifar`` is the CIFAR package, and a function of that
    name in ``multiview`` would break ``import multiview.cifar.<module> as name``.)

    Arguments:
        data: a ``cifar-10-batches-py`` / ``cifar-100-python`` folder or an image folder.
        preset: a CIFAR preset (:data:`multiview.cifar.presets.PRESETS`).
        out: the run folder (checkpoints, ``summary.json``, ``table.md``, ``figure1.png``,
            ``report.html``); default ``runs/cifar-<time>``.
        labels: CIFAR-100 labels, ``fine`` or ``coarse``.
        cache_dir: the cache of decoded arrays (default ``$MULTIVIEW_DATA_DIR`` or
            ``~/.cache/multiview``).
        resume: reuse matching checkpoints in ``out``.
        progress: True, False or an open display.
        changes: fields of the CIFAR config (``seeds=4``, ``train__epochs=2`` ...).
    """
    cfg = preset_config(preset, labels=labels, **changes)
    out = Path(out) if out is not None else default_run_dir("cifar")
    dataset = load_cifar(data, cache_dir=resolve_cache_dir(cache_dir), labels=labels)
    with progress_display(progress) as display:

        def on_epoch(r) -> None:
            display.epoch(r.name, r.epoch, r.epochs, f"loss {float(r.loss.mean()):.3f}")

        summary = run_cifar(cfg, dataset, out, resume=resume, progress=on_epoch, log=display.note)
    write_report(summary, out)
    return load(out)
