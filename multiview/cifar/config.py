"""Every configuration of the CIFAR pipeline (network, training recipe, distillation, random
features, the experiment), validated on construction; the presets are in
:mod:`multiview.cifar.presets`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import jax.numpy as jnp

from multiview.errors import ConfigError

__all__ = [
    "ARCHS",
    "SEED_PARALLEL",
    "TEACHER_MODES",
    "SKIPPABLE",
    "NetConfig",
    "CifarTrainConfig",
    "DistillConfig",
    "RFConfig",
    "CifarConfig",
]

ARCHS = ("tiny", "airbench", "resnet18", "wrn")
_DEFAULT_WIDTH = {"tiny": 16, "airbench": 64, "resnet18": 64, "wrn": 4}


@dataclass(frozen=True)
class NetConfig:
    """Which network to build.

    Attributes:
        arch: one of ``tiny``, ``airbench``, ``resnet18``, ``wrn``.
        width: base width; ``None`` for the architecture's default. ``tiny``: channels
            ``(w, 2w, 4w)`` (default 16); ``airbench``: ``(w, 4w, 4w)`` (default 64);
            ``resnet18``: ``(w, 2w, 4w, 8w)`` (default 64); ``wrn``: the widen factor k
            (default 4), channels ``(16k, 32k, 64k)``.
        depth: Wide-ResNet depth, ``6n + 4`` (default 16); ignored by the others.
        num_classes: output classes, >= 2.
    """

    arch: str = "tiny"
    width: int | None = None
    depth: int = 16
    num_classes: int = 10

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ConfigError(f"net.arch must be one of {', '.join(ARCHS)}; got {self.arch!r}")
        if self.width is not None and self.width < 1:
            raise ConfigError(f"net.width must be >= 1 (or None); got {self.width}")
        if self.arch == "wrn" and (self.depth < 10 or (self.depth - 4) % 6):
            raise ConfigError(f"net.depth must be 6n + 4 with n >= 1 for wrn; got {self.depth}")
        if self.num_classes < 2:
            raise ConfigError(f"net.num_classes must be >= 2; got {self.num_classes}")

    @property
    def base_width(self) -> int:
        return self.width if self.width is not None else _DEFAULT_WIDTH[self.arch]


SEED_PARALLEL = ("auto", "vmap", "unroll", "map")


@dataclass(frozen=True)
class CifarTrainConfig:
    """The CNNs' SGD training recipe (validated on construction).

    Attributes:
        epochs: passes over the training set, >= 1.
        batch_size: mini-batch size, >= 1 (clamped to the training-set size).
        lr: peak learning rate, > 0.
        momentum: in [0, 1).
        nesterov: Nesterov momentum.
        weight_decay: L2 decay of conv/dense kernels (not biases or BN), >= 0.
        warmup_epochs: linear warm-up from 0, in [0, epochs].
        schedule: decay after warm-up, ``"linear"`` (to 0) or ``"cosine"``.
        label_smoothing: in [0, 1).
        crop_padding: random-crop padding in pixels, 0..8 (0: no crop).
        flip: random horizontal flips.
        mixed_precision: bfloat16 convolutions/matmuls, float32 master weights and BN stats.
        seed_parallel: ``auto``, ``vmap``, ``unroll`` or ``map`` (module docstring).
        eval_batch_size: images per evaluation call, >= 1.
        tta_flip: average the logits of each test image and its mirror image.
        tta_translate: airbench's second TTA level (needs ``tta_flip``): half the weight on
            the image, half on its copies shifted by one pixel up-left and down-right
            (reflect padding), each averaged with its mirror.
        lr_start_frac: learning rate at the first step as a fraction of ``lr`` (the warm-up
            rises linearly from there), in [0, 1].
        lr_end_frac: learning rate at the last step as a fraction of ``lr``, in [0, 1].
        bias_lr_scale: learning-rate multiplier of the batch-norm parameters (airbench: 64
            on its scale-free batch norms' biases), > 0.
        decay_all: weight-decay every trained parameter, not just kernels; a parameter whose
            learning rate is scaled by ``bias_lr_scale`` gets ``weight_decay / bias_lr_scale``
            so that every parameter shrinks by the same fraction per step (airbench).
        lookahead_every: every this many steps, move an EMA of the weights and batch-norm
            statistics towards the model (decay ``0.95^every * (t / T)^3`` at step t of T)
            and reset the model to it; the last step resets it too (airbench's lookahead).
            0: off.
        whiten_bias_epochs: train the ``airbench`` whitening layer's bias only during the
            first this many epochs (None: always).
        flip_mode: ``random`` (each image, each step, with probability 1/2) or
            ``alternating`` (a random half of the images mirrored once, then every image
            mirrored in odd epochs: airbench's scheme, every image seen both ways in 2 epochs).
        crop_pad_mode: padding of the random crop, ``zero`` (the mean colour) or ``reflect``.
    """

    epochs: int = 10
    batch_size: int = 250
    lr: float = 0.2
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0
    schedule: str = "linear"
    label_smoothing: float = 0.0
    crop_padding: int = 2
    flip: bool = True
    mixed_precision: bool = False
    seed_parallel: str = "auto"
    eval_batch_size: int = 1000
    tta_flip: bool = False
    tta_translate: bool = False
    lr_start_frac: float = 0.0
    lr_end_frac: float = 0.0
    bias_lr_scale: float = 1.0
    decay_all: bool = False
    lookahead_every: int = 0
    whiten_bias_epochs: int | None = None
    flip_mode: str = "random"
    crop_pad_mode: str = "zero"

    def __post_init__(self):
        checks = [
            (self.epochs >= 1, "epochs", ">= 1"),
            (self.batch_size >= 1, "batch_size", ">= 1"),
            (self.lr > 0, "lr", "> 0"),
            (0 <= self.momentum < 1, "momentum", "in [0, 1)"),
            (self.weight_decay >= 0, "weight_decay", ">= 0"),
            (0 <= self.warmup_epochs <= self.epochs, "warmup_epochs", "in [0, epochs]"),
            (self.schedule in ("linear", "cosine"), "schedule", "'linear' or 'cosine'"),
            (0 <= self.label_smoothing < 1, "label_smoothing", "in [0, 1)"),
            (0 <= self.crop_padding <= 8, "crop_padding", "in [0, 8]"),
            (self.seed_parallel in SEED_PARALLEL, "seed_parallel", f"one of {SEED_PARALLEL}"),
            (self.eval_batch_size >= 1, "eval_batch_size", ">= 1"),
            (self.tta_flip or not self.tta_translate, "tta_translate", "False without tta_flip"),
            (0 <= self.lr_start_frac <= 1, "lr_start_frac", "in [0, 1]"),
            (0 <= self.lr_end_frac <= 1, "lr_end_frac", "in [0, 1]"),
            (self.bias_lr_scale > 0, "bias_lr_scale", "> 0"),
            (self.lookahead_every >= 0, "lookahead_every", ">= 0"),
            (
                self.whiten_bias_epochs is None or self.whiten_bias_epochs >= 0,
                "whiten_bias_epochs",
                ">= 0 or None",
            ),
            (self.flip_mode in ("random", "alternating"), "flip_mode", "random or alternating"),
            (self.crop_pad_mode in ("zero", "reflect"), "crop_pad_mode", "zero or reflect"),
        ]
        for ok, name, allowed in checks:
            if not ok:
                raise ConfigError(f"train.{name} must be {allowed}; got {getattr(self, name)!r}")

    @property
    def dtype(self):
        return jnp.bfloat16 if self.mixed_precision else jnp.float32


#: Parts of a run that :attr:`CifarConfig.skip` may leave out.
SKIPPABLE = ("average", "rf", "self_distill")

#: Where a KD / self-distillation student's teacher logits come from (:class:`DistillConfig`).
TEACHER_MODES = ("consistent", "precomputed", "both")


@dataclass(frozen=True)
class DistillConfig:
    """Hinton distillation of the KD and self-distilled students.

    Attributes:
        alpha: weight of the soft (teacher) term, in [0, 1].
        temperature: T > 0 of the soft term.
        teacher: ``consistent`` (the teacher models run inside the training step on the very
            augmented batch the student sees: Beyer et al. 2022, "a good teacher is patient
            and consistent"), ``precomputed`` (the teachers' logits on the un-augmented
            training images, computed once: offline distillation) or ``both`` (two students
            each, ``kd`` / ``self_distill`` consistent and ``kd_precomputed`` /
            ``self_distill_precomputed``, same initialization, data order and teachers, so
            that the two modes are paired).
        epochs_multiplier: students train this many times the single model's epochs
            (the patient student), >= 1. Above 1 the run also trains ``single_long``, single
            model i's initialization and data order trained as long as the students without a
            teacher: the control that keeps "longer" from being read as "distilled".
    """

    alpha: float = 0.9
    temperature: float = 4.0
    teacher: str = "consistent"
    epochs_multiplier: int = 1

    def __post_init__(self):
        if not 0 <= self.alpha <= 1:
            raise ConfigError(f"distill.alpha must be in [0, 1]; got {self.alpha}")
        if not self.temperature > 0:
            raise ConfigError(f"distill.temperature must be > 0; got {self.temperature}")
        if self.teacher not in TEACHER_MODES:
            raise ConfigError(
                f"distill.teacher must be one of {', '.join(TEACHER_MODES)}; got {self.teacher!r}"
            )
        if not (isinstance(self.epochs_multiplier, int) and self.epochs_multiplier >= 1):
            raise ConfigError(
                f"distill.epochs_multiplier must be an integer >= 1; got {self.epochs_multiplier!r}"
            )

    @property
    def modes(self) -> tuple[str, ...]:
        """The teacher modes students are trained in: ``both`` -> consistent, precomputed."""
        return ("consistent", "precomputed") if self.teacher == "both" else (self.teacher,)


@dataclass(frozen=True)
class RFConfig:
    """Random-feature model settings.

    Attributes:
        channels: random 3x3 filters, >= 1.
        pool: average-pool window, a divisor of 32 (features: ``channels * (32/pool)^2``).
        epochs: head-training epochs, >= 1.
        batch_size: head mini-batch, >= 1.
        lr: peak learning rate of the head (linear warm-up over the first epoch, linear decay).
        weight_decay: L2 on the head's weights and bias, >= 0.
        whiten: apply the random filters to ZCA-whitened 3x3 patches (whitening fitted on the
            training images, shared by every seed) instead of raw normalized pixels.
        whiten_eps: ridge added to the patch covariance's eigenvalues before whitening, > 0,
            in units of a normalized pixel's variance (the 27 eigenvalues sum to about 27).
    """

    channels: int = 32
    pool: int = 4
    epochs: int = 20
    batch_size: int = 250
    lr: float = 0.02
    weight_decay: float = 1e-3
    whiten: bool = False
    whiten_eps: float = 0.1

    def __post_init__(self):
        if self.channels < 1:
            raise ConfigError(f"rf.channels must be >= 1; got {self.channels}")
        if self.pool < 1 or 32 % self.pool:
            raise ConfigError(f"rf.pool must divide 32; got {self.pool}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("rf.epochs and rf.batch_size must be >= 1")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ConfigError("rf.lr must be > 0 and rf.weight_decay >= 0")
        if not self.whiten_eps > 0:
            raise ConfigError(f"rf.whiten_eps must be > 0; got {self.whiten_eps}")

    @property
    def dim(self) -> int:
        return self.channels * (32 // self.pool) ** 2


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
        test_subset: class-balanced test subset size, seeded like ``train_subset`` (None: all).
        labels: ``fine`` or ``coarse`` (CIFAR-100).
        seed: base seed of everything.
        skip: parts of the run left out, any of :data:`SKIPPABLE`: ``average`` (training the
            average), ``rf`` (the random-feature models) and ``self_distill`` (the
            self-distilled students), for runs that measure only some of the students.
    """

    preset: str = "custom"
    net: NetConfig = field(default_factory=NetConfig)
    train: CifarTrainConfig = field(default_factory=CifarTrainConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    rf: RFConfig = field(default_factory=RFConfig)
    seeds: int = 5
    ensemble_size: int = 5
    train_average_runs: int = 1
    train_subset: int | None = None
    test_subset: int | None = None
    labels: str = "fine"
    seed: int = 0
    skip: tuple[str, ...] = ()

    def __post_init__(self):
        if isinstance(self.skip, list):  # a summary.json's config, read back
            object.__setattr__(self, "skip", tuple(self.skip))
        bad = [p for p in self.skip if p not in SKIPPABLE]
        if bad or not isinstance(self.skip, tuple):
            raise ConfigError(f"skip must hold only {', '.join(SKIPPABLE)}; got {self.skip!r}")
        if self.seeds < 1:
            raise ConfigError(f"seeds must be >= 1; got {self.seeds}")
        if not 1 <= self.ensemble_size <= self.seeds:
            raise ConfigError(
                f"ensemble_size must be in [1, seeds={self.seeds}]; got {self.ensemble_size}"
            )
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
