"""CIFAR pipeline: the paper's empirical figures (ensemble, KD, self-distillation, training the
average, random-feature baselines) with seed-parallel CNN training in plain JAX.

Layers, low to high: ``data`` / ``download`` / ``fixtures`` -> ``augment`` -> ``layers`` ->
``nets`` -> ``losses`` -> ``train`` / ``random_features`` -> ``config`` -> ``experiments`` ->
``report`` -> ``cli``. See ``docs/cifar.md``.
"""

from multiview.cifar.augment import augment, normalize, random_crop, random_flip
from multiview.cifar.config import PRESETS, CifarConfig, preset_config
from multiview.cifar.data import CifarData, class_balanced_subset, load_cifar, resolve_cache_dir
from multiview.cifar.download import download_cifar
from multiview.cifar.experiments import METHODS, run_cifar
from multiview.cifar.losses import cross_entropy, distillation_loss
from multiview.cifar.nets import Net, NetConfig, build_net
from multiview.cifar.random_features import RFConfig, random_features, train_rf_heads
from multiview.cifar.report import format_table, plot_bars, write_report
from multiview.cifar.train import (
    DistillConfig,
    TrainConfig,
    Trained,
    predict_logits,
    train_models,
)

__all__ = [
    "CifarConfig",
    "CifarData",
    "DistillConfig",
    "METHODS",
    "Net",
    "NetConfig",
    "PRESETS",
    "RFConfig",
    "TrainConfig",
    "Trained",
    "augment",
    "build_net",
    "class_balanced_subset",
    "cross_entropy",
    "distillation_loss",
    "download_cifar",
    "format_table",
    "load_cifar",
    "normalize",
    "plot_bars",
    "predict_logits",
    "preset_config",
    "random_crop",
    "random_features",
    "random_flip",
    "resolve_cache_dir",
    "run_cifar",
    "train_models",
    "train_rf_heads",
    "write_report",
]
