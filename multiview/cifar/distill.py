"""The distilled CNN students of a CIFAR run: knowledge distillation from the first ensemble
and self-distillation from another single model, with a consistent or a precomputed teacher,
patient or not, and the as-long control.

- Consistent teacher (the default, :class:`~multiview.cifar.config.DistillConfig`): the
  teacher models run inside the student's jitted training step on the very augmented batch
  the student sees (Beyer et al., CVPR 2022, "Knowledge distillation: A good teacher is
  patient and consistent"). Precomputed: the teachers' logits on the un-augmented training
  images, computed once; a student then matches the teacher on images it never sees.
- Patient student: ``epochs_multiplier`` m trains students for m times the single model's
  epochs. Its control, ``single_long``, trains single model i's initialization and data order
  as long, with no teacher; the contrast ``kd - single_long`` is what distillation adds.

Student i starts from single model i's initialization and sees its batches (common random
numbers): the paired difference to single model i measures the teacher alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import numpy as np

from multiview.cifar.config import CifarConfig
from multiview.cifar.train import Trained

__all__ = ["STUDENT_NAMES", "student_train_config", "kd_teacher_models", "train_students"]

#: The method names of each teacher mode's students: (KD, self-distillation).
STUDENT_NAMES = {
    "consistent": ("kd", "self_distill"),
    "precomputed": ("kd_precomputed", "self_distill_precomputed"),
}


def student_train_config(cfg: CifarConfig):
    """The students' (and the control's) recipe: the single model's, ``epochs_multiplier``
    times as many epochs (warm-up unchanged, the decay stretched over the longer run)."""
    m = cfg.distill.epochs_multiplier
    return cfg.train if m == 1 else dataclasses.replace(cfg.train, epochs=cfg.train.epochs * m)


def _take(trained: Trained, fn) -> Trained:
    """``fn`` applied to every leaf (as a NumPy array) of the params and the state."""
    return Trained(*jax.tree_util.tree_map(lambda a: fn(np.asarray(a)), tuple(trained)))


def kd_teacher_models(single: Trained, group: list[int], runs: int) -> Trained:
    """The KD teacher of every student: single models ``group`` as one run's members,
    repeated for each of ``runs`` students. ``single``'s leaves ``(S, 1, ...)`` -> leaves
    ``(runs, K, ...)``."""
    return _take(single, lambda a: np.broadcast_to(a[group, 0], (runs, len(group), *a.shape[2:])))


def train_students(
    train: Callable,
    cfg: CifarConfig,
    single: Trained,
    single_train: np.ndarray,
    groups: list[list[int]],
    record: Callable[[str, np.ndarray], None],
) -> dict[str, str]:
    """Train the KD and self-distilled students of every teacher mode ``cfg.distill`` asks
    for, and with ``epochs_multiplier`` > 1 the as-long control ``single_long``.

    Arguments:
        train: ``train(name, stream, runs, *, teacher_logits=, teacher_models=,
            data_stream=, train_cfg=, distill=) -> test logits (runs, N_test, C)``, the run's
            trainer (checkpointed, timed).
        cfg: the run's configuration.
        single: the S single models (leaves ``(S, 1, ...)``).
        single_train: their logits on the un-augmented training images ``(S, N, C)``.
        groups: the disjoint ensembles; the KD teacher is ``groups[0]``.
        record: called with each method's name and test logits as soon as it is trained.

    Returns method name -> teacher mode (``single_long``: ``"none"``).
    """
    s = cfg.seeds
    tcfg = student_train_config(cfg)
    kd_logits = np.ascontiguousarray(
        np.broadcast_to(single_train[groups[0]].mean(0), single_train.shape)
    )
    kd_models = kd_teacher_models(single, groups[0], s)
    # Self-distillation needs a teacher with another initialization (the student's own init
    # would re-learn the teacher's views): student i is taught by single model i - 1. With one
    # seed there is no other model; the student then gets a fresh initialization instead.
    sd_logits = np.roll(single_train, 1, axis=0)
    sd_models = _take(single, lambda a: np.roll(a, 1, axis=0))
    sd_stream = 1 if s > 1 else 3
    modes: dict[str, str] = {}
    for mode in cfg.distill.modes:
        distill = dataclasses.replace(cfg.distill, teacher=mode)
        # One mode: its students are kd and self_distill (the mode is in ``teacher_modes``).
        one = len(cfg.distill.modes) == 1
        kd_name, sd_name = ("kd", "self_distill") if one else STUDENT_NAMES[mode]
        students = [(kd_name, 1, kd_logits, kd_models)]
        if "self_distill" not in cfg.skip:
            students.append((sd_name, sd_stream, sd_logits, sd_models))
        for name, stream, logits, models in students:
            consistent = mode == "consistent"
            test = train(
                name,
                stream,
                s,
                teacher_logits=None if consistent else logits,
                teacher_models=models if consistent else None,
                data_stream=1,
                train_cfg=tcfg,
                distill=distill,
            )
            record(name, test)
            modes[name] = mode
    if cfg.distill.epochs_multiplier > 1:
        record("single_long", train("single_long", 1, s, data_stream=1, train_cfg=tcfg))
        modes["single_long"] = "none"
    return modes
