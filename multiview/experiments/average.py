"""Training the average (1/K) sum_k F_k jointly (the paper's third point: it gains nothing).

K members from independent inits, one cross-entropy loss on their averaged scores, plain
gradient descent with the single models' step. The gradient reaching member k is
(1/K) grad F_k, so each member moves K times slower than a single model: by default the
average is trained for K times as many steps (``average_steps``), i.e. the same
``lr x steps`` per member, so it converges.

A finding worth knowing (README): giving each member a K-times larger step instead
(``average_lr_scale = K``) makes every member run its own lottery at single-model speed
while the averaged loss falls only 1/K as fast, and the joint average then learns the union
of the members' views, i.e. it *does* gain. "Training the average gains nothing" depends on
the loss falling as soon as any member has learned a view.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import jax
import jax.numpy as jnp

from multiview.sim.config import ModelConfig, SimConfig, TheoremsConfig
from multiview.sim.data import Datasets, inputs_and_labels
from multiview.sim.losses import cross_entropy_with_accuracy
from multiview.sim.model import forward
from multiview.sim.seeds import INIT_OFFSETS
from multiview.sim.single import (
    evaluate_single_models,
    init_models,
    record_views,
    train_single_models,
    training_data,
)
from multiview.sim.train import train

__all__ = ["average_loss_fn", "as_wide_model", "record_average", "run_train_average"]


def as_wide_model(w: jax.Array) -> jax.Array:
    """Members ``(..., K, k, m, d)`` as one model of width K*m: ``(..., k, K*m, d)``.

    Its scores are ``sum_k F_k`` = K times the average: the same predictions.
    """
    *lead, K, k, m, d = w.shape
    w = jnp.moveaxis(w, -4, -3)  # (..., k, K, m, d)
    return w.reshape(*lead, k, K * m, d)


@functools.lru_cache(maxsize=16)
def average_loss_fn(model: ModelConfig):
    """Cross-entropy of the averaged scores of members ``w (K, k, m, d)``."""

    def loss_fn(w, data, idx):
        x, y = inputs_and_labels(data["train"], idx)
        f = jax.vmap(lambda wk: forward(model, wk, x))(w).mean(axis=0)
        loss, acc = cross_entropy_with_accuracy(f, y)
        return loss, {"acc": acc}

    return loss_fn


def record_average(w, data):
    """Per-step record of a trained average: the views of its members as one wide model."""
    return record_views(as_wide_model(w), data)


def run_train_average(
    cfg: SimConfig, th: TheoremsConfig, datasets: Datasets, on_chunk=None
) -> dict[str, Any]:
    """The jointly trained average of K members, and a single model of K times the width."""
    K, G = th.average_size, th.average_groups
    keys, w0 = init_models(cfg, G * K, offset=INIT_OFFSETS["train_average"])
    w0 = w0.reshape(G, K, *w0.shape[1:])
    scale = th.average_lr_scale
    steps = th.average_steps or max(1, round(cfg.train.steps * K / scale))
    tcfg = replace(
        cfg.train, lr=cfg.train.lr * scale, steps=steps, chunks=min(steps, cfg.train.chunks)
    )
    w_avg, hist_avg = train(
        average_loss_fn(cfg.model),
        w0,
        training_data(datasets),
        tcfg,
        n_train=cfg.data.n_train,
        keys=keys[::K],
        record_fn=record_average,
        on_chunk=on_chunk,
    )
    w_avg_wide = as_wide_model(w_avg)  # (G, k, K*m, d): same predictions as the average
    wide_cfg = replace(cfg, model=replace(cfg.model, width=cfg.model.width * K), seeds=G)
    avg_metrics = evaluate_single_models(wide_cfg, datasets, w_avg_wide, hist_avg)
    w_wide, hist_wide = train_single_models(
        wide_cfg, datasets, seeds=G, offset=INIT_OFFSETS["wide_model"], on_chunk=on_chunk
    )
    wide_metrics = evaluate_single_models(wide_cfg, datasets, w_wide, hist_wide)
    return {
        "K": K,
        "groups": G,
        "lr_scale": scale,
        "steps": steps,
        "average": avg_metrics,
        "wide": wide_metrics,
    }
