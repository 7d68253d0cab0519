"""The CNNs' optimizer: SGD (Nesterov) on a warm-up-then-decay schedule, parameter groups, and
airbench's lookahead.

Parameter groups are read off the parameter tree's paths (every net in
:mod:`multiview.cifar.nets` names them the same way):

- *kernels*: conv and dense weights (rank >= 2 per model), always weight-decayed;
- *batch-norm* parameters: any leaf under a ``"bn"`` key; their learning rate is multiplied by
  :attr:`~multiview.cifar.config.CifarTrainConfig.bias_lr_scale`;
- the ``"whiten_b"`` bias of the ``airbench`` net, which can be frozen after a number of
  epochs (``whiten_bias_epochs``).

Lookahead (``lookahead_every > 0``) is not an optax transform because it also averages the
batch-norm running statistics, which are not parameters: :func:`lookahead_init` and
:func:`lookahead_step` carry an EMA of ``(params, state)`` beside the optimizer state.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from multiview.cifar.config import CifarTrainConfig

__all__ = [
    "lr_schedule",
    "make_optimizer",
    "lookahead_init",
    "lookahead_step",
    "LOOKAHEAD_BASE",
]

#: Per-step EMA decay of airbench's lookahead, before its ``(t / T)^3`` ramp.
LOOKAHEAD_BASE = 0.95


def lr_schedule(cfg: CifarTrainConfig, steps_per_epoch: int) -> optax.Schedule:
    """Step -> learning rate: linear from ``lr_start_frac * lr`` to ``lr`` over the warm-up,
    then linear or cosine to ``lr_end_frac * lr`` at the last step."""
    total = cfg.epochs * steps_per_epoch
    warm = int(round(cfg.warmup_epochs * steps_per_epoch))
    end = cfg.lr * cfg.lr_end_frac
    if cfg.schedule == "cosine":
        decay = optax.cosine_decay_schedule(cfg.lr, max(total - warm, 1), alpha=cfg.lr_end_frac)
    else:
        decay = optax.linear_schedule(cfg.lr, end, max(total - warm, 1))
    if warm == 0:
        return decay
    warmup = optax.linear_schedule(cfg.lr * cfg.lr_start_frac, cfg.lr, warm)
    return optax.join_schedules([warmup, decay], [warm])


def _path_mask(params, pred):
    """A tree of bools like ``params``: ``pred(keys, leaf)`` with ``keys`` the path's names."""

    def one(path, leaf):
        keys = tuple(getattr(k, "key", getattr(k, "name", None)) for k in path)
        return bool(pred(keys, leaf))

    return jax.tree_util.tree_map_with_path(one, params)


def _is_bn(keys, _leaf) -> bool:
    return "bn" in keys


def _freeze_after(steps: int) -> optax.GradientTransformation:
    """Zero the updates from step ``steps`` on (a frozen parameter: no step, no decay)."""

    def init(_params):
        return jnp.zeros([], jnp.int32)

    def update(updates, count, params=None):
        del params
        keep = count < steps
        updates = jax.tree_util.tree_map(lambda u: jnp.where(keep, u, jnp.zeros_like(u)), updates)
        return updates, count + 1

    return optax.GradientTransformation(init, update)


def make_optimizer(
    cfg: CifarTrainConfig, steps_per_epoch: int, *, model_axes: int = 0
) -> optax.GradientTransformation:
    """Weight decay + SGD (Nesterov) on :func:`lr_schedule`, with the parameter groups of the
    module docstring.

    The decay is an L2 term added to the batch-mean gradient before momentum (PyTorch's
    ``weight_decay``): coefficient ``weight_decay`` on kernels, and with ``decay_all`` also on
    every other parameter, divided by ``bias_lr_scale`` for the batch-norm ones so that all
    shrink by the same fraction per step.

    ``model_axes``: leading axes of every leaf that index models rather than weights (the
    trainer's ``members`` axis: 1), left out of a leaf's rank when telling kernels from
    biases. Before 2026-11-28 the trainer passed none, so a bias ``(members, C)`` read
    as a rank-2 kernel and was decayed (docs/cifar.md, "Why the CNN rows moved").
    """

    def decayed(params):
        def pred(keys, leaf):
            return not _is_bn(keys, leaf) and (cfg.decay_all or leaf.ndim - model_axes >= 2)

        return _path_mask(params, pred)

    def bn(params):
        return _path_mask(params, _is_bn)

    parts = [optax.add_decayed_weights(cfg.weight_decay, mask=decayed)]
    if cfg.decay_all:
        parts.append(optax.add_decayed_weights(cfg.weight_decay / cfg.bias_lr_scale, mask=bn))
    parts.append(
        optax.sgd(
            lr_schedule(cfg, steps_per_epoch), momentum=cfg.momentum or None, nesterov=cfg.nesterov
        )
    )
    if cfg.bias_lr_scale != 1.0:
        parts.append(optax.masked(optax.scale(cfg.bias_lr_scale), bn))
    if cfg.whiten_bias_epochs is not None:
        frozen = _freeze_after(cfg.whiten_bias_epochs * steps_per_epoch)

        def whiten_bias(params):
            return _path_mask(params, lambda keys, _leaf: keys[-1:] == ("whiten_b",))

        parts.append(optax.masked(frozen, whiten_bias))
    return optax.chain(*parts)


def lookahead_init(params, state) -> Any:
    """The lookahead's EMA of ``(params, state)``, started at the initial model (arrays are
    immutable, so sharing them is a copy)."""
    return (params, state)


def lookahead_step(cfg: CifarTrainConfig, total_steps: int, t, params, state, ema):
    """After optimizer step ``t`` (1-based, traced) of ``total_steps``: every
    ``lookahead_every`` steps the EMA moves towards the model with decay
    ``LOOKAHEAD_BASE^every * (t / T)^3`` and the model is reset to it; at ``t == T`` the model
    is reset to the EMA whatever ``t`` is. Returns ``(params, state, ema)``.

    Only floating leaves are averaged (integer counters, if any, are left alone).
    """
    every = cfg.lookahead_every
    frac = t.astype(jnp.float32) / total_steps
    decay = LOOKAHEAD_BASE**every * frac**3
    tick = (t % every) == 0
    reset = tick | (t == total_steps)

    def move(e, m):
        if not jnp.issubdtype(m.dtype, jnp.floating):
            return e
        return jnp.where(tick, e + (1.0 - decay) * (m - e), e).astype(e.dtype)

    new_ema = jax.tree_util.tree_map(move, ema, (params, state))

    def pick(e, m):
        return jnp.where(reset, e, m) if jnp.issubdtype(m.dtype, jnp.floating) else m

    params, state = jax.tree_util.tree_map(pick, new_ema, (params, state))
    return params, state, new_ema
