"""Whether a CIFAR run fits in memory, checked before any training.

Every method keeps all of its runs' results until the summary: the parameters (and the
optimizer's momentum) of every model of a group, and their logits on the training images
(teachers) and the test images. Their sum is estimated from the network's shapes (no
compute: ``jax.eval_shape``) and compared with :func:`multiview.memory.available_memory_bytes`,
so ``--seeds 1000000000`` is one line with the estimate instead of a machine out of memory.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from multiview.cifar.config import CifarConfig, NetConfig
from multiview.cifar.nets import build_net, param_count
from multiview.errors import ConfigError
from multiview.memory import available_memory_bytes, gib

__all__ = ["estimate_cifar_bytes", "check_cifar_fits"]

_F32 = 4
_PARAM_COPIES = 3  # the parameters, their momentum, the gradient


def estimate_cifar_bytes(cfg: CifarConfig, num_classes: int, n_train: int, n_test: int) -> int:
    """Bytes the largest group of models of ``cfg`` holds at once (a lower bound: the
    activations of a batch come on top)."""
    net = build_net(NetConfig(cfg.net.arch, cfg.net.width, cfg.net.depth, num_classes))
    x = jax.ShapeDtypeStruct((2, 32, 32, 3), jnp.float32)
    params, _ = jax.eval_shape(net.init, jax.random.key(0), x)
    models = max(cfg.seeds, cfg.ensemble_size * cfg.train_average_runs)
    per_model = _PARAM_COPIES * param_count(params) * _F32
    logits = (n_train + n_test) * num_classes * _F32
    return models * (per_model + logits)


def check_cifar_fits(
    cfg: CifarConfig,
    num_classes: int,
    n_train: int,
    n_test: int,
    available_bytes: int | None = None,
    fraction: float = 0.6,
) -> None:
    """Refuse (one line, with the estimate) a run whose models cannot be held in memory."""
    need = estimate_cifar_bytes(cfg, num_classes, n_train, n_test)
    avail = available_memory_bytes() if available_bytes is None else available_bytes
    if need > fraction * avail:
        raise ConfigError(
            f"seeds = {cfg.seeds} (ensemble_size {cfg.ensemble_size}) do not fit in memory: "
            f"their models and logits need about {gib(need)}, {gib(fraction * avail)} is "
            "usable; use fewer --seeds"
        )
