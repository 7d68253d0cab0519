"""The CIFAR experiment configuration and its presets (``cpu-small``, ``gpu``, ``tiny``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from multiview.cifar.nets import NetConfig
from multiview.cifar.random_features import RFConfig
from multiview.cifar.train import DistillConfig, TrainConfig
from multiview.errors import ConfigError

__all__ = ["CifarConfig", "PRESETS", "preset_config"]


@dataclass(frozen=True)
class CifarConfig:
    """Everything one ``multiview cifar`` run needs (validated on construction).

    Attributes:
        preset: the preset name it started from (informational).
        net: the CNN; train: its recipe; distill: KD / self-distillation settings;
        rf: the random-feature baseline.
        seeds: single models S (also the number of KD and self-distilled students), >= 1.
        ensemble_size: K models per ensemble and per trained average, in [1, seeds].
            Ensembles are the disjoint groups of K consecutive single models; the KD teacher
            is the first one.
        train_average_runs: independent jointly-trained averages of K models, >= 1.
        train_subset: class-balanced training subset size (None: all).
        test_subset: first-n test images (None: all).
        labels: ``fine`` or ``coarse`` (CIFAR-100).
        seed: base seed of everything.
    """

    preset: str = "custom"
    net: NetConfig = field(default_factory=NetConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    rf: RFConfig = field(default_factory=RFConfig)
    seeds: int = 5
    ensemble_size: int = 5
    train_average_runs: int = 1
    train_subset: int | None = None
    test_subset: int | None = None
    labels: str = "fine"
    seed: int = 0

    def __post_init__(self):
        if self.seeds < 1:
            raise ConfigError(f"seeds must be >= 1; got {self.seeds}")
        if not 1 <= self.ensemble_size <= self.seeds:
            raise ConfigError(f"ensemble_size must be in [1, seeds={self.seeds}]; "
                              f"got {self.ensemble_size}")
        if self.train_average_runs < 1:
            raise ConfigError(f"train_average_runs must be >= 1; got {self.train_average_runs}")
        for name in ("train_subset", "test_subset"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ConfigError(f"{name} must be >= 1 (or None); got {v}")
        if self.labels not in ("fine", "coarse"):
            raise ConfigError(f"labels must be 'fine' or 'coarse'; got {self.labels!r}")

    def replace(self, **changes) -> CifarConfig:
        """A copy with top-level fields changed; ``epochs``/``seed_parallel`` etc. go to
        ``train`` when given as ``train__epochs=...`` (double underscore = nested)."""
        nested: dict[str, dict] = {}
        top = {}
        for k, v in changes.items():
            if "__" in k:
                outer, inner = k.split("__", 1)
                nested.setdefault(outer, {})[inner] = v
            else:
                top[k] = v
        for outer, inner in nested.items():
            if outer not in ("net", "train", "distill", "rf"):
                raise ConfigError(f"unknown config section {outer!r}")
            top[outer] = dataclasses.replace(getattr(self, outer), **inner)
        return dataclasses.replace(self, **top)


def _cpu_small() -> CifarConfig:
    return CifarConfig(
        preset="cpu-small",
        net=NetConfig("tiny", width=16),
        # Many small steps on a small subset: on this CPU an image-pass costs the same at
        # batch 50 as at 200, and 4x the steps fit the training set much further (the
        # multi-view effects need models that fit their data; see docs/cifar.md).
        train=TrainConfig(epochs=16, batch_size=50, lr=0.2, weight_decay=5e-5,
                          warmup_epochs=1.0, crop_padding=0, flip=True),
        distill=DistillConfig(alpha=0.5, temperature=1.0),
        # 256 random features (16 filters, 4x4 grid): fewer than the 4,000 images, so one
        # random-feature model cannot imitate an ensemble with 5x the features.
        rf=RFConfig(channels=16, pool=8, epochs=40, lr=0.05),
        seeds=5, ensemble_size=5, train_average_runs=1, train_subset=4_000,
    )


def _gpu() -> CifarConfig:
    return CifarConfig(
        preset="gpu",
        net=NetConfig("airbench", width=64),
        train=TrainConfig(epochs=16, batch_size=512, lr=0.4, momentum=0.85, weight_decay=5e-4,
                          warmup_epochs=1.0, label_smoothing=0.2, crop_padding=2, flip=True,
                          mixed_precision=True, tta_flip=True, eval_batch_size=2000),
        distill=DistillConfig(alpha=0.9, temperature=4.0),
        rf=RFConfig(channels=64, pool=4, epochs=30, lr=0.02),
        seeds=10, ensemble_size=10, train_average_runs=2,
    )


def _tiny() -> CifarConfig:
    return CifarConfig(
        preset="tiny",
        net=NetConfig("tiny", width=4),
        train=TrainConfig(epochs=1, batch_size=32, lr=0.05, warmup_epochs=0.0,
                          eval_batch_size=256),
        rf=RFConfig(channels=4, pool=8, epochs=2, batch_size=32),
        seeds=2, ensemble_size=2, train_average_runs=1, train_subset=None,
    )


PRESETS = {"cpu-small": _cpu_small, "gpu": _gpu, "tiny": _tiny}


def preset_config(name: str, **overrides) -> CifarConfig:
    """The named preset, with ``overrides`` applied through :meth:`CifarConfig.replace`."""
    if name not in PRESETS:
        raise ConfigError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    return PRESETS[name]().replace(**overrides) if overrides else PRESETS[name]()
