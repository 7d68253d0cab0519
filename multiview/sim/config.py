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
from multiview.sim.experiment_config import (
    KD_LOSSES,
    KD_READINGS,
    TheoremsConfig,
    theorems_preset,
)
from multiview.sim.regimes import SIM_REGIMES
from multiview.sim.validate import check as _check
from multiview.sim.validate import check_float as _float
from multiview.sim.validate import check_int as _int
from multiview.sim.validate import config_field as _field

__all__ = [
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "TRAIN_DTYPES",
    "SimConfig",
    "TheoremsConfig",
    "PRESETS",
    "preset",
    "scale_schedule",
    "KD_LOSSES",
    "KD_READINGS",
    "theorems_preset",
    "config_to_dict",
    "config_from_dict",
    "with_overrides",
    "all_fields",
    "field_help",
]


MAX_SEED = 2**31 - 1  # seeds, and the seeds of the data and the inits, fit a 32-bit key
MAX_STEPS = 10**9


@dataclass(frozen=True)
class DataConfig:
    """The multi-view distribution D = (1 - mu) D_m + mu D_s (paper-notes section 1).

    Feature strengths are per-feature sums Z_v over the feature's C_p patches; each is drawn
    uniformly in ``[s, s * (1 + strength_jitter)]`` for its nominal strength ``s``.
    """

    k: int = _field(10, "classes, k (an integer >= 2)")
    views: int = _field(2, "views (features) per class, V (an integer >= 2; the paper: 2)")
    d: int = _field(512, "patch dimension d (an integer >= k * views)")
    patches: int = _field(16, "patches per input, P (an integer >= C_p * (views + s))")
    patches_per_feature: int = _field(
        2, "patches carrying each present feature, C_p (an integer >= 1)"
    )
    # s: off-target features per sample (fixed count or mean of s/k draws)
    off_target: int = _field(
        2, "off-target features per sample, s (an integer in [0, (k - 1) * views])"
    )
    off_target_mode: str = _field(
        "fixed", "how off-target features are drawn: fixed (exactly s) or bernoulli (each w.p. s/k)"
    )
    # off-target strength in multi-view samples (paper: <= 0.4)
    off_target_multi: float = _field(
        0.3, "off-target feature strength in multi-view samples (a number >= 0; paper <= 0.4)"
    )
    off_target_single: float = _field(
        0.1, "off-target feature strength in single-view samples, Gamma (a number >= 0)"
    )
    view_strength: float = _field(1.0, "strength of a sample's own views (a number > 0)")
    weak_view: float = _field(
        0.05, "strength of the weak own views of single-view samples, rho (a number >= 0)"
    )
    strength_jitter: float = _field(
        0.2, "relative spread of the strengths: each is drawn in [s, s(1 + jitter)] (a number >= 0)"
    )
    # gamma: every patch gets alpha_v v, alpha_v ~ U[0, gamma]
    feature_noise: float = _field(
        0.0,
        "feature noise gamma: alpha ~ U[0, gamma] on every feature of every patch (>= 0; 0: none)",
    )
    noise_scale: float = _field(1.5, "Gaussian patch noise, sigma_p * sqrt(d) (a number >= 0)")
    single_view_frac: float = _field(
        0.2, "fraction of single-view samples, mu (a number in [0, 1])"
    )
    n_train: int = _field(200, "training samples, N (an integer >= 1)")
    n_test: int = _field(
        1000, "test samples of each kind, multi- and single-view (an integer >= 1)"
    )

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

    width: int = _field(2, "neurons per class, m (an integer >= 1)")
    q: int = _field(3, "power q of the smoothed ReLU (an integer >= 2)")
    varrho: float = _field(3.0, "threshold varrho of the smoothed ReLU (a number > 0)")
    init_std: float = _field(0.009, "std of each initial weight coordinate (a number > 0)")

    def __post_init__(self):
        _int("width", self.width, 1)
        _int("q", self.q, 2)
        _float("varrho", self.varrho, 0.0, open_lo=True)
        _float("init_std", self.init_std, 0.0, open_lo=True)


# The choices of TrainConfig.dtype, each as (forward's matmul_dtype, store_dtype); the one
# list both the validation and the loss read.
TRAIN_DTYPES = {
    "float32": (None, None),
    "bfloat16": ("bfloat16", None),
    "bfloat16-store": ("bfloat16", "bfloat16"),
}


@dataclass(frozen=True)
class TrainConfig:
    """Gradient descent on the cross-entropy of softmax(F)."""

    steps: int = _field(
        1500,
        "gradient steps (an integer in [1, 10^9]); not given, a preset's steps scale by "
        "max(1, k / k_preset, n_train / n_train_preset) when k or n_train is raised",
    )
    lr: float = _field(15.0, "learning rate eta of gradient descent (a number > 0)")
    batch_size: int = _field(
        0, "minibatch size in samples (an integer in [0, n_train]; 0: full-batch GD)"
    )
    log_points: int = _field(60, "log-spaced steps recorded in the trajectories (an integer >= 2)")
    # the run is driven in this many equal jitted chunks (progress display)
    chunks: int = _field(
        20, "jitted chunks the training is driven in: progress updates (an integer >= 1)"
    )
    dtype: str = _field(
        "float32",
        "matmul dtype of training: float32, bfloat16 (bf16 operands, float32 accumulation) or "
        "bfloat16-store (also bf16 pre-activations: 1.8x the GPU step)",
    )

    def __post_init__(self):
        _int("steps", self.steps, 1, MAX_STEPS)
        _float("lr", self.lr, 0.0, open_lo=True)
        _int("batch_size", self.batch_size, 0)
        _int("log_points", self.log_points, 2)
        _int("chunks", self.chunks, 1)
        _check(
            self.dtype in TRAIN_DTYPES,
            "dtype",
            "'float32', 'bfloat16' (bf16 matmuls, float32 accumulation) or 'bfloat16-store' "
            "(bf16 matmuls and pre-activations)",
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
    seeds: int = _field(
        64, "independent initializations trained side by side (an integer in [1, 2^31 - 1])"
    )
    # the data set (features, training and test samples) is shared
    data_seed: int = _field(
        0, "seed of the data set, shared by all models (an integer in [0, 2^31 - 1])"
    )
    # seed s of the sweep uses init key fold_in(init_seed key, s)
    init_seed: int = _field(1, "base seed of the initializations (an integer in [0, 2^31 - 1])")

    def __post_init__(self):
        _int("seeds", self.seeds, 1, MAX_SEED)
        _int("data_seed", self.data_seed, 0, MAX_SEED)
        _int("init_seed", self.init_seed, 0, MAX_SEED)
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
    # the scale-separated regime (multiview.sim.regimes, experiments/kd_search/)
    **{
        name: SimConfig(
            data=DataConfig(**r["data"]),
            model=ModelConfig(**r["model"]),
            train=TrainConfig(**r["train"]),
            seeds=r["seeds"],
        )
        for name, r in SIM_REGIMES.items()
    },
}


def preset(name: str) -> SimConfig:
    """The named preset (``default``, ``quick``, ``paper``, ``separated``, ``separated-gpu``)."""
    if name not in PRESETS:
        raise ConfigError(f"preset = {name!r} is invalid: must be one of {sorted(PRESETS)}")
    return PRESETS[name]


def scale_schedule(base: SimConfig, cfg: SimConfig) -> SimConfig:
    """``cfg`` (a preset ``base`` with fields replaced) with the preset's schedule scaled to
    its number of classes and training samples, for when the steps were not given.

    The rule: ``steps = ceil(base.steps * max(1, k / k_base, n_train / n_train_base))``. A
    class's own-view signal is carried by its ``n_train / k`` samples out of ``n_train``, so
    the tensor-power phase that picks each class's view takes ``~k`` steps at a fixed
    learning rate; fitting the single-view samples by memorizing their noise takes ``~n_train``
    steps (each sample's noise gets a ``1 / n_train`` share of the gradient). Measured on the
    default preset (``experiments/schedule_scaling/``): k = 20, n_train = 400 fits at 3000
    steps (train 1.0, multi-view test 1.0), not at 1500 or 2250 (train 0.60, 0.97); k = 30,
    n_train = 600 at 4500 (train 0.997, multi-view 0.996). With too few samples per class
    (k >= 20 at n_train = 200) the training set is fitted but multi-view accuracy stays under
    0.97 (k = 20: 0.969 at 3000 steps, 0.971 at 6000): more samples are what is missing there.

    The identity when k and n_train are at most the preset's, or when ``cfg``'s steps differ
    from the preset's (they were given); the learning rate, chunks and log points are kept.
    """
    factor = max(1.0, cfg.data.k / base.data.k, cfg.data.n_train / base.data.n_train)
    if factor == 1.0 or cfg.train.steps != base.train.steps:
        return cfg
    steps = min(MAX_STEPS, math.ceil(base.train.steps * factor))
    return replace(cfg, train=replace(cfg.train, steps=steps))


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


def field_help(name: str) -> str:
    """The help text of a leaf config field (its dataclass metadata)."""
    return _HELP.get(name, name.replace("_", " "))


def all_fields() -> list[tuple[str, type, Any]]:
    """``(name, type, default)`` of every leaf config field, data, model, train, then top."""
    out = []
    for cls in (DataConfig, ModelConfig, TrainConfig):
        out += [(f.name, type(f.default), f.default) for f in fields(cls)]
    out += [
        (f.name, type(f.default), f.default) for f in fields(SimConfig) if f.name not in _SECTIONS
    ]
    return out


_HELP = {
    f.name: f.metadata["help"]
    for cls in (DataConfig, ModelConfig, TrainConfig, SimConfig, TheoremsConfig)
    for f in fields(cls)
    if "help" in f.metadata
}
