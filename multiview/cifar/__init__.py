"""CIFAR pipeline: the paper's empirical figures (ensemble, KD, self-distillation, training the
average, random-feature baselines) with seed-parallel CNN training in plain JAX.

Layers, low to high: ``config`` -> ``presets`` -> ``data`` / ``download`` / ``fixtures`` ->
``augment`` -> ``layers`` -> ``nets`` -> ``losses`` -> ``optim`` -> ``checkpoint`` -> ``train``
-> ``predict`` / ``random_features`` / ``summary`` -> ``distill`` -> ``experiments``. Its report is
:mod:`multiview.report.cifar`, its commands :mod:`multiview.cli.cifar`. See ``docs/cifar.md``.
"""

from multiview.cifar.augment import augment, normalize, random_crop, random_flip
from multiview.cifar.config import (
    CifarConfig,
    CifarTrainConfig,
    DistillConfig,
    NetConfig,
    RFConfig,
)
from multiview.cifar.data import CifarData, class_balanced_subset, load_cifar, resolve_cache_dir
from multiview.cifar.download import download_cifar
from multiview.cifar.experiments import METHODS, run_cifar
from multiview.cifar.losses import cross_entropy, distillation_loss
from multiview.cifar.nets import Net, build_net
from multiview.cifar.predict import predict_logits
from multiview.cifar.presets import PRESETS, preset_config
from multiview.cifar.random_features import (
    concat_features,
    make_random_features,
    patch_whitening,
    random_features,
    train_rf_heads,
)
from multiview.cifar.train import Trained, train_models

__all__ = [
    "CifarConfig",
    "CifarData",
    "CifarTrainConfig",
    "DistillConfig",
    "METHODS",
    "Net",
    "NetConfig",
    "PRESETS",
    "RFConfig",
    "Trained",
    "augment",
    "build_net",
    "class_balanced_subset",
    "concat_features",
    "cross_entropy",
    "distillation_loss",
    "download_cifar",
    "load_cifar",
    "make_random_features",
    "normalize",
    "patch_whitening",
    "predict_logits",
    "preset_config",
    "random_crop",
    "random_features",
    "random_flip",
    "resolve_cache_dir",
    "run_cifar",
    "train_models",
    "train_rf_heads",
]
