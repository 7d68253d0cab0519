"""Settings of the ensemble / distillation experiments (:class:`TheoremsConfig`), the KD
objectives and readings, and the experiment settings that belong to a named preset."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from multiview.errors import ConfigError
from multiview.sim.regimes import THEOREMS_REGIMES
from multiview.sim.validate import check as _check
from multiview.sim.validate import check_float as _float
from multiview.sim.validate import check_int as _int
from multiview.sim.validate import config_field as _field

__all__ = [
    "KD_LOSSES",
    "KD_LOSS_NAMES",
    "KD_READINGS",
    "KINDS",
    "KernelConfig",
    "TheoremsConfig",
    "recorded_kernels",
    "theorems_preset",
]


@dataclass(frozen=True)
class TheoremsConfig:
    """Settings of the ensemble / distillation experiments (on top of a :class:`SimConfig`).

    ``kd_tau = 0`` means the paper's choice tau = 1 / log^2 k. ``kd_weight`` is eta'/eta, the
    weight of the distillation term against the cross-entropy. ``hinton_alpha`` weights the
    soft (teacher) term of Hinton's loss, as ``alpha`` does in the CIFAR pipeline.
    """

    ensemble_sizes: tuple[int, ...] = _field(
        (1, 2, 4, 8, 16),
        "ensemble sizes K: comma-separated integers >= 1, at least one <= seeds (larger K are skipped), e.g. 1,2,4,8,16",
    )
    teacher_size: int = _field(8, "members of the KD teacher ensemble (an integer in [1, seeds])")
    kd_loss: str = _field(
        "paper",
        "KD objective: 'paper' (CE + the paper's truncated tempered term), 'hinton' "
        "((1 - alpha) CE + alpha T^2 KL), 'two_sided' (untruncated tempered term), 'logits' "
        "(centred logit matching), 'logits_up' (one-sided logit matching)",
    )
    kd_tau: float = _field(
        0.0, "temperature tau of the paper's KD term (a number >= 0; 0: the paper's 1 / log^2 k)"
    )
    kd_reading: str = _field(
        "softening",
        "reading of the paper's logit^tau (an inference): 'softening' softmax(tau F), "
        "'sharpening' softmax(F / tau)",
    )
    kd_weight: float = _field(
        1.0, "eta'/eta, the weight of the paper's KD term against CE (a number >= 0; 0: CE only)"
    )
    kd_ce_weight: float = _field(
        1.0,
        "weight of the student's own cross-entropy beside the KD term (a number >= 0; the "
        "paper: 1; 0: the teacher's term alone); Hinton's loss uses 1 - alpha instead",
    )
    hinton_alpha: float = _field(
        0.5, "weight alpha of Hinton's soft (teacher) term, CE gets 1 - alpha (a number in [0, 1])"
    )
    hinton_temperature: float = _field(4.0, "temperature T of Hinton's KD loss (a number > 0)")
    kd_students: int = _field(
        8,
        "KD students, one per disjoint teacher group (an integer >= 1; at most seeds // teacher_size are trained)",
    )
    average_size: int = _field(4, "models K in each jointly trained average (an integer >= 1)")
    average_groups: int = _field(4, "independent jointly trained averages (an integer >= 1)")
    average_lr_scale: float = _field(
        1.0, "learning rate of the joint average, as a multiple of lr (a number > 0)"
    )
    average_extra_lr_scale: float = _field(
        0.0,
        "a second trained average at this multiple of lr, from the same members, reported as "
        "a labelled extra row (a number >= 0; 0: none)",
    )
    average_steps: int = _field(
        0,
        "steps of the joint average (an integer >= 0; 0: steps * K / average_lr_scale, the same "
        "lr x steps)",
    )
    sd_pairs: int = _field(
        16,
        "teacher-student pairs of self-distillation (an integer >= 1; at most seeds // 2 are used)",
    )
    student_steps: int = _field(
        0, "steps of the KD / SD students (an integer >= 0; 0: the single models' steps)"
    )

    def __post_init__(self):
        _check(
            len(self.ensemble_sizes) > 0
            and all(isinstance(K, int) and K >= 1 for K in self.ensemble_sizes),
            "ensemble_sizes",
            "a non-empty list of integers >= 1",
            self.ensemble_sizes,
        )
        _int("teacher_size", self.teacher_size, 1)
        _check(
            self.kd_loss in KD_LOSSES, "kd_loss", " or ".join(map(repr, KD_LOSSES)), self.kd_loss
        )
        _check(
            self.kd_reading in KD_READINGS,
            "kd_reading",
            " or ".join(map(repr, KD_READINGS)),
            self.kd_reading,
        )
        _float("kd_tau", self.kd_tau, 0.0)
        _float("kd_weight", self.kd_weight, 0.0)
        _float("kd_ce_weight", self.kd_ce_weight, 0.0)
        _float("hinton_alpha", self.hinton_alpha, 0.0, 1.0)
        _float("hinton_temperature", self.hinton_temperature, 0.0, open_lo=True)
        _int("kd_students", self.kd_students, 1)
        _int("average_size", self.average_size, 1)
        _int("average_groups", self.average_groups, 1)
        _float("average_lr_scale", self.average_lr_scale, 0.0, open_lo=True)
        _float("average_extra_lr_scale", self.average_extra_lr_scale, 0.0)
        _int("average_steps", self.average_steps, 0)
        _int("sd_pairs", self.sd_pairs, 1)
        _int("student_steps", self.student_steps, 0)

    def tau(self, k: int) -> float:
        """The paper's tau (``kd_tau``, or ``1 / log^2 k``)."""
        return self.kd_tau if self.kd_tau > 0 else 1.0 / math.log(k) ** 2

    def kd_temperature(self, k: int) -> float:
        """The divisor ``T`` of the tempered softmax ``softmax(F / T)`` of the paper's term:
        ``1 / tau`` (``log^2 k``) in the softening reading, ``tau`` in the sharpening one."""
        tau = self.tau(k)
        return 1.0 / tau if self.kd_reading == "softening" else tau

    def objective_temperature(self, k: int) -> float | None:
        """The temperature the objective actually uses: the paper's divisor for ``paper`` and
        ``two_sided``, Hinton's ``T`` for ``hinton``, None for logit matching (no softmax)."""
        if self.kd_loss in ("paper", "two_sided"):
            return self.kd_temperature(k)
        if self.kd_loss == "hinton":
            return self.hinton_temperature
        return None

    def objective(self, k: int) -> dict[str, Any]:
        """The distillation objective as reports name it (JSON-ready).

        ``paper_objective`` is true only for the paper's truncated tempered term with the
        student's cross-entropy at weight 1; ``name`` is the objective in words.
        """
        T = self.objective_temperature(k)
        hinton = self.kd_loss == "hinton"
        return {
            "loss": self.kd_loss,
            "name": KD_LOSS_NAMES[self.kd_loss],
            "weight": self.hinton_alpha if hinton else self.kd_weight,
            "temperature": T,
            "reading": self.kd_reading if self.kd_loss in ("paper", "two_sided") else None,
            "ce_weight": 1.0 - self.hinton_alpha if hinton else self.kd_ce_weight,
            "student_steps": self.student_steps,
            "paper_objective": self.kd_loss == "paper" and self.kd_ce_weight == 1.0,
        }


#: Distillation objectives (:func:`multiview.sim.losses.kd_objective`).
KD_LOSSES = ("paper", "hinton", "two_sided", "logits", "logits_up")
#: Each objective in words, as reports and claims name it.
KD_LOSS_NAMES = {
    "paper": "the paper's truncated tempered term",
    "hinton": "Hinton's tempered KL",
    "two_sided": "the paper's tempered term without truncation",
    "logits": "centred logit matching",
    "logits_up": "one-sided logit matching",
}
#: Readings of the paper's tempered softmax ``logit^tau`` (an inference, see losses.py).
KD_READINGS = ("softening", "sharpening")


def theorems_preset(name: str, **overrides: Any) -> TheoremsConfig:
    """The :class:`TheoremsConfig` of preset ``name`` with ``overrides`` (not ``None``) applied."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return TheoremsConfig(**{**THEOREMS_REGIMES.get(name, {}), **given})


#: The kernel baselines: random features and the empirical NTK (:mod:`multiview.sim.kernels`).
KINDS = ("rf", "ntk")


@dataclass(frozen=True)
class KernelConfig:
    """Settings of the kernel baselines (on top of the network's :class:`SimConfig`), the
    ``rf`` part of ``multiview theorems``: ``kernels.NAME=VALUE`` overrides on the command
    line, a ``[kernels]`` table in a config file, ``kc=`` in :func:`multiview.theorems`.

    Attributes:
        seeds: single models per kind (groups of ``th.teacher_size`` form the ensembles).
        rf_width: M, random first-layer neurons shared by the classes.
        rf_scale: first-layer std of RF models in units of ``init_std``.
        rf_steps: GD steps of every RF model (its Gram is ill-conditioned: ~140 of 200
            eigenvalues within 1e-3 of the largest at the default preset).
        ntk_steps: GD steps of every NTK model (well-conditioned: ~195 of 200 eigenvalues
            within 1e-2 of the largest, so it converges much faster).
        lr_factor: the step in units of ``1 / L`` (see :mod:`multiview.sim.kernels`).
        eig_floor: Gram eigenvalues below this fraction of the largest are dropped.
        kinds: which kinds to run, among ``rf``, ``ntk``.
        batch: samples per evaluation batch.
    """

    seeds: int = 16
    rf_width: int = 256
    rf_scale: float = 1.0
    rf_steps: int = 4000
    ntk_steps: int = 500
    lr_factor: float = 1.0
    eig_floor: float = 1e-6
    kinds: tuple[str, ...] = KINDS
    batch: int = 250

    def __post_init__(self):
        if not all(kd in KINDS for kd in self.kinds) or not self.kinds:
            raise ConfigError(f"kinds = {self.kinds!r} is invalid: must be a subset of {KINDS}")
        for name in ("seeds", "rf_width", "rf_steps", "ntk_steps", "batch"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} = {v!r} is invalid: must be an integer >= 1")
        for name in ("rf_scale", "lr_factor", "eig_floor"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} = {getattr(self, name)!r} is invalid: must be > 0")


def recorded_kernels(kc: KernelConfig | None) -> dict[str, Any] | None:
    """The kernel settings a run records (``config.json``, its folder's marker, the key of
    its saved stages): None for the defaults, so that a run keeping them writes the files
    it always wrote."""
    return None if kc is None or kc == KernelConfig() else dataclasses.asdict(kc)
