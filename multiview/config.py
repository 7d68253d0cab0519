"""Configuration: frozen dataclasses for data, model and training, with named presets.

Every field is validated once, in ``__post_init__``; a bad value raises
:class:`multiview.errors.ConfigError` naming the field and its allowed range. Inner code
trusts a constructed config.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

from multiview.errors import ConfigError

__all__ = [
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "SimConfig",
    "TheoremsConfig",
    "PRESETS",
    "preset",
    "config_to_dict",
    "config_from_dict",
    "with_overrides",
]


def _check(cond: bool, name: str, allowed: str, value: Any) -> None:
    if not cond:
        raise ConfigError(f"{name} = {value!r} is invalid: must be {allowed}")


def _int(name: str, value: Any, lo: int, hi: int | None = None) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= lo
    ok = ok and (hi is None or value <= hi)
    rng = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
    _check(ok, name, rng, value)


def _float(name: str, value: Any, lo: float, hi: float | None = None, open_lo=False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = value > lo if open_lo else value >= lo
        ok = ok and (hi is None or value <= hi)
    lo_s = f"> {lo}" if open_lo else f">= {lo}"
    rng = f"a number {lo_s}" if hi is None else f"a number in {'(' if open_lo else '['}{lo}, {hi}]"
    _check(ok, name, rng, value)


@dataclass(frozen=True)
class DataConfig:
    """The multi-view distribution D = (1 - mu) D_m + mu D_s (paper-notes section 1).

    Feature strengths are per-feature sums Z_v over the feature's C_p patches; each is drawn
    uniformly in ``[s, s * (1 + strength_jitter)]`` for its nominal strength ``s``.
    """

    k: int = 10  # classes
    views: int = 2  # views (features) per class, V
    d: int = 512  # patch dimension
    patches: int = 16  # P
    patches_per_feature: int = 2  # C_p
    off_target: int = 2  # s: off-target features per sample (fixed count or mean of s/k draws)
    off_target_mode: str = "fixed"  # "fixed": exactly s; "bernoulli": each w.p. s/k (capped)
    off_target_multi: float = 0.3  # off-target strength in multi-view samples (paper: <= 0.4)
    off_target_single: float = 0.1  # Gamma: off-target strength in single-view samples
    view_strength: float = 1.0  # own-view strength (paper: in [1, O(1)])
    weak_view: float = 0.05  # rho: strength of the non-surviving own views of single-view data
    strength_jitter: float = 0.2
    feature_noise: float = 0.0  # gamma: every patch gets alpha_v v, alpha_v ~ U[0, gamma]
    noise_scale: float = 1.5  # sigma_p * sqrt(d): Gaussian patch noise N(0, sigma_p^2 I_d)
    single_view_frac: float = 0.2  # mu
    n_train: int = 200  # N
    n_test: int = 1000  # fresh test samples per kind (multi-view and single-view)

    def __post_init__(self):
        _int("k", self.k, 2)
        _int("views", self.views, 2)
        _int("d", self.d, 1)
        _int("patches", self.patches, 1)
        _int("patches_per_feature", self.patches_per_feature, 1)
        _int("off_target", self.off_target, 0, (self.k - 1) * self.views)
        _check(
            self.off_target_mode in ("fixed", "bernoulli"),
            "off_target_mode",
            "'fixed' or 'bernoulli'",
            self.off_target_mode,
        )
        _check(
            self.d >= self.k * self.views,
            "d",
            f">= k * views = {self.k * self.views} (the features must be orthonormal)",
            self.d,
        )
        need = self.patches_per_feature * (self.views + self.off_target)
        _check(
            self.patches >= need,
            "patches",
            f">= patches_per_feature * (views + off_target) = {need}",
            self.patches,
        )
        for name in ("off_target_multi", "off_target_single", "view_strength", "weak_view"):
            _float(name, getattr(self, name), 0.0)
        _float("view_strength", self.view_strength, 0.0, open_lo=True)
        _float("strength_jitter", self.strength_jitter, 0.0)
        _float("feature_noise", self.feature_noise, 0.0)
        _float("noise_scale", self.noise_scale, 0.0)
        _float("single_view_frac", self.single_view_frac, 0.0, 1.0)
        _int("n_train", self.n_train, 1)
        _int("n_test", self.n_test, 1)

    @property
    def max_off_target(self) -> int:
        """Off-target features that fit in the patches beside the own views."""
        return min(self.patches // self.patches_per_feature - self.views, (self.k - 1) * self.views)

    @property
    def sigma_p(self) -> float:
        return self.noise_scale / math.sqrt(self.d)


@dataclass(frozen=True)
class ModelConfig:
    """Two-layer smoothed-ReLU network F_i(X) = sum_r sum_p ReLU~(<w_{i,r}, x_p>)."""

    width: int = 2  # m: neurons per class
    q: int = 3  # smoothed-ReLU power
    varrho: float = 3.0  # smoothed-ReLU threshold
    init_std: float = 0.009  # per-coordinate std of w ~ N(0, sigma_0^2 I)

    def __post_init__(self):
        _int("width", self.width, 1)
        _int("q", self.q, 2)
        _float("varrho", self.varrho, 0.0, open_lo=True)
        _float("init_std", self.init_std, 0.0, open_lo=True)


@dataclass(frozen=True)
class TrainConfig:
    """Gradient descent on the cross-entropy of softmax(F)."""

    steps: int = 1500
    lr: float = 15.0
    batch_size: int = 0  # 0: full-batch GD; otherwise minibatch SGD of this size
    log_points: int = 60  # log-spaced steps at which trajectories are recorded
    chunks: int = 20  # the run is driven in this many equal jitted chunks (progress display)
    dtype: str = "float32"

    def __post_init__(self):
        _int("steps", self.steps, 1)
        _float("lr", self.lr, 0.0, open_lo=True)
        _int("batch_size", self.batch_size, 0)
        _int("log_points", self.log_points, 2)
        _int("chunks", self.chunks, 1)
        _check(
            self.dtype in ("float32", "bfloat16"),
            "dtype",
            "'float32' or 'bfloat16' (bf16 matmuls, float32 accumulation)",
            self.dtype,
        )

    @property
    def chunk_steps(self) -> int:
        return -(-self.steps // min(self.chunks, self.steps))


@dataclass(frozen=True)
class SimConfig:
    """One simulation: data, model, training, and how many seeds run side by side."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seeds: int = 64
    data_seed: int = 0  # the data set (features, training and test samples) is shared
    init_seed: int = 1  # seed s of the sweep uses init key fold_in(init_seed key, s)

    def __post_init__(self):
        _int("seeds", self.seeds, 1)
        _int("data_seed", self.data_seed, 0)
        _int("init_seed", self.init_seed, 0)
        if self.train.batch_size > self.data.n_train:
            raise ConfigError(
                f"batch_size = {self.train.batch_size} is invalid: must be 0 (full batch) or "
                f"<= n_train = {self.data.n_train}"
            )


_QUICK = SimConfig(
    data=DataConfig(n_test=300),
    train=TrainConfig(chunks=5, log_points=30),
    seeds=8,
)

PRESETS: dict[str, SimConfig] = {
    "default": SimConfig(),
    "quick": _QUICK,
    "paper": SimConfig(
        data=DataConfig(k=20, d=1024, patches=24, n_train=800, n_test=2000, off_target=3),
        model=ModelConfig(width=8),
        train=TrainConfig(steps=4000, chunks=40),
        seeds=64,
    ),
}


def preset(name: str) -> SimConfig:
    """The named preset (``default``, ``quick``, ``paper``)."""
    if name not in PRESETS:
        raise ConfigError(f"preset = {name!r} is invalid: must be one of {sorted(PRESETS)}")
    return PRESETS[name]


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def config_to_dict(cfg: SimConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def config_from_dict(d: dict[str, Any]) -> SimConfig:
    top = {k: v for k, v in d.items() if k not in _SECTIONS}
    sections = {k: cls(**d[k]) for k, cls in _SECTIONS.items() if k in d}
    return SimConfig(**sections, **top)


def with_overrides(cfg: SimConfig, **overrides: Any) -> SimConfig:
    """Replace fields by name, wherever they live (``k``, ``lr``, ``seeds``...).

    ``None`` values are ignored, so CLI options can pass everything through. Validation runs
    once on the result.
    """
    section_updates: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    top: dict[str, Any] = {}
    owners = {f.name: sec for sec, cls in _SECTIONS.items() for f in fields(cls)}
    top_names = {f.name for f in fields(SimConfig)} - set(_SECTIONS)
    for key, value in overrides.items():
        if value is None:
            continue
        if key in owners:
            section_updates[owners[key]][key] = value
        elif key in top_names:
            top[key] = value
        else:
            raise ConfigError(f"unknown config field {key!r}")
    new_sections = {
        sec: replace(getattr(cfg, sec), **upd) for sec, upd in section_updates.items() if upd
    }
    return replace(cfg, **new_sections, **top)


FIELD_HELP: dict[str, str] = {
    "k": "number of classes",
    "views": "views (features) per class, V (the paper: 2)",
    "d": "patch dimension (>= k * views)",
    "patches": "patches per input, P",
    "patches_per_feature": "patches carrying each present feature, C_p",
    "off_target": "off-target features per sample, s",
    "off_target_mode": "'fixed' (exactly s) or 'bernoulli' (each w.p. s/k)",
    "off_target_multi": "off-target feature strength in multi-view samples",
    "off_target_single": "off-target feature strength in single-view samples, Gamma",
    "view_strength": "own-view strength",
    "weak_view": "strength of the weak own views of single-view samples, rho",
    "strength_jitter": "strengths are drawn in [s, s(1 + jitter)]",
    "feature_noise": "feature noise gamma: alpha ~ U[0, gamma] on every feature of every patch",
    "noise_scale": "Gaussian patch noise sigma_p * sqrt(d)",
    "single_view_frac": "fraction of single-view samples, mu",
    "n_train": "training samples, N",
    "n_test": "test samples of each kind (multi- and single-view)",
    "width": "neurons per class, m",
    "q": "smoothed-ReLU power",
    "varrho": "smoothed-ReLU threshold",
    "init_std": "per-coordinate std of the initial weights",
    "steps": "gradient steps",
    "lr": "learning rate",
    "batch_size": "minibatch size (0: full-batch GD)",
    "log_points": "log-spaced steps recorded in trajectories",
    "chunks": "jitted chunks the run is driven in (progress granularity)",
    "dtype": "matmul dtype of training: float32, or bfloat16 (float32 accumulation)",
    "seeds": "independent initializations trained side by side",
    "data_seed": "seed of the data set (shared by all models)",
    "init_seed": "base seed of the initializations",
}


def all_fields() -> list[tuple[str, type, Any]]:
    """``(name, type, default)`` of every leaf config field, data, model, train, then top."""
    out = []
    for cls in (DataConfig, ModelConfig, TrainConfig):
        out += [(f.name, type(f.default), f.default) for f in fields(cls)]
    out += [
        (f.name, type(f.default), f.default) for f in fields(SimConfig) if f.name not in _SECTIONS
    ]
    return out


@dataclass(frozen=True)
class TheoremsConfig:
    """Settings of the ensemble / distillation experiments (on top of a :class:`SimConfig`).

    ``kd_tau = 0`` means the paper's choice tau = 1 / log^2 k. ``kd_weight`` is eta'/eta, the
    weight of the distillation term against the cross-entropy.
    """

    ensemble_sizes: tuple[int, ...] = (1, 2, 4, 8, 16)
    teacher_size: int = 8  # members of the KD teacher ensemble
    kd_loss: str = "paper"  # "paper": CE + truncated tau-softmax term; "hinton": alpha CE + KL
    kd_tau: float = 0.0
    kd_weight: float = 1.0
    hinton_alpha: float = 0.5
    hinton_temperature: float = 4.0
    kd_students: int = 8  # one per teacher group (capped by the seeds available)
    average_size: int = 4  # K of the jointly trained average
    average_groups: int = 4
    average_lr_scale: float = 1.0  # step of the joint average = lr * this
    average_steps: int = 0  # 0: steps * K / average_lr_scale (the same lr x steps per member)
    sd_pairs: int = 16  # teacher-student pairs of self-distillation

    def __post_init__(self):
        _check(
            len(self.ensemble_sizes) > 0
            and all(isinstance(K, int) and K >= 1 for K in self.ensemble_sizes),
            "ensemble_sizes",
            "a non-empty list of integers >= 1",
            self.ensemble_sizes,
        )
        _int("teacher_size", self.teacher_size, 1)
        _check(self.kd_loss in ("paper", "hinton"), "kd_loss", "'paper' or 'hinton'", self.kd_loss)
        _float("kd_tau", self.kd_tau, 0.0)
        _float("kd_weight", self.kd_weight, 0.0)
        _float("hinton_alpha", self.hinton_alpha, 0.0, 1.0)
        _float("hinton_temperature", self.hinton_temperature, 0.0, open_lo=True)
        _int("kd_students", self.kd_students, 1)
        _int("average_size", self.average_size, 1)
        _int("average_groups", self.average_groups, 1)
        _float("average_lr_scale", self.average_lr_scale, 0.0, open_lo=True)
        _int("average_steps", self.average_steps, 0)
        _int("sd_pairs", self.sd_pairs, 1)

    def tau(self, k: int) -> float:
        return self.kd_tau if self.kd_tau > 0 else 1.0 / math.log(k) ** 2
