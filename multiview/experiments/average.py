"""Training the average (1/K) sum_k F_k jointly (the paper's third point: it gains nothing).

K members from independent inits, one cross-entropy loss on their averaged scores, plain
gradient descent with the single models' step. The gradient reaching member k is
(1/K) grad F_k, so each member moves K times slower than a single model: by default the
average is trained for K times as many steps (``average_steps``), i.e. the same
``lr x steps`` per member, so it converges.

The average ``(1/K) sum_k F_k`` of members ``w_k`` (threshold varrho, init std s, step
eta) is exactly one K-times-wider network with weights ``w_k / K``, threshold ``varrho / K``,
init std ``s / K`` and step ``eta / K^2`` (the smoothed ReLU is homogeneous:
``ReLU~_varrho(z) / K = ReLU~_{varrho/K}(z / K)``): :func:`as_scaled_wide_model`.
Training the average therefore runs the lottery at a K-times smaller threshold and init,
where it is less crisp. Two measured rows let a reader attribute what the average does:
``scaled_single``, single models at ``varrho / K`` and ``init / K`` trained as the single
models are (the scale alone), and, when ``average_extra_lr_scale`` is set, a second
average with a larger step (each member then runs its own lottery at single-model speed
while the averaged loss falls only 1/K as fast, and the average learns more of the union
of its members' views). The paper's setting is ``average_lr_scale = 1``.
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

__all__ = [
    "average_loss_fn",
    "as_wide_model",
    "as_scaled_wide_model",
    "record_average",
    "run_train_average",
]


def as_wide_model(w: jax.Array) -> jax.Array:
    """Members ``(..., K, k, m, d)`` as one model of width K*m: ``(..., k, K*m, d)``.

    Its scores are ``sum_k F_k`` = K times the average: the same predictions.
    """
    *lead, K, k, m, d = w.shape
    w = jnp.moveaxis(w, -4, -3)  # (..., k, K, m, d)
    return w.reshape(*lead, k, K * m, d)


def as_scaled_wide_model(cfg: SimConfig, w: jax.Array) -> tuple[SimConfig, jax.Array]:
    """The average of members ``w (..., K, k, m, d)`` as one network whose scores *equal*
    the average's: width ``K m``, weights ``w / K``, threshold ``varrho / K`` (and, for the
    same training, init std ``init_std / K`` and step ``lr / K^2``). Returns its config and
    weights ``(..., k, K m, d)``."""
    K = w.shape[-4]
    model = replace(
        cfg.model,
        width=cfg.model.width * K,
        varrho=cfg.model.varrho / K,
        init_std=cfg.model.init_std / K,
    )
    train_cfg = replace(cfg.train, lr=cfg.train.lr / K**2)
    return replace(cfg, model=model, train=train_cfg), as_wide_model(w) / K


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


def _train_average(cfg, th, datasets, scale, on_chunk) -> tuple[dict[str, Any], int]:
    """Train ``th.average_groups`` averages of ``th.average_size`` members at ``lr x scale``;
    per-average metrics (views at the single models' cut ``cfg``'s caller passes) and the
    steps used."""
    K, G = th.average_size, th.average_groups
    keys, w0 = init_models(cfg, G * K, offset=INIT_OFFSETS["train_average"])
    w0 = w0.reshape(G, K, *w0.shape[1:])
    steps = th.average_steps or max(1, round(cfg.train.steps * K / scale))
    tcfg = replace(
        cfg.train, lr=cfg.train.lr * scale, steps=steps, chunks=min(steps, cfg.train.chunks)
    )
    w_avg, hist = train(
        average_loss_fn(cfg.model),
        w0,
        training_data(datasets),
        tcfg,
        n_train=cfg.data.n_train,
        keys=keys[::K],
        record_fn=record_average,
        on_chunk=on_chunk,
    )
    return w_avg, hist, steps


def run_train_average(
    cfg: SimConfig, th: TheoremsConfig, datasets: Datasets, cut: float, on_chunk=None
) -> dict[str, Any]:
    """The jointly trained average of K members, a single model of K times the width, single
    models at the average's scale (``varrho / K``, ``init / K``) and, when
    ``th.average_extra_lr_scale`` is set, the average again at that step.

    Views are counted at ``cut``, the single models' learned-view cut. Returns per-model
    metric dicts ``average``, ``wide``, ``scaled_single`` (and ``extra``), each ``(G, ...)``.
    """
    K, G = th.average_size, th.average_groups
    wide_cfg = replace(cfg, model=replace(cfg.model, width=cfg.model.width * K), seeds=G)

    def measure(w_avg, hist):
        # the average's predictions are those of its members as one wide model
        return evaluate_single_models(wide_cfg, datasets, as_wide_model(w_avg), hist, cut)

    w_avg, hist_avg, steps = _train_average(cfg, th, datasets, th.average_lr_scale, on_chunk)
    out: dict[str, Any] = {
        "K": K,
        "groups": G,
        "lr_scale": th.average_lr_scale,
        "steps": steps,
        "average": measure(w_avg, hist_avg),
    }
    w_wide, hist_wide = train_single_models(
        wide_cfg, datasets, seeds=G, offset=INIT_OFFSETS["wide_model"], on_chunk=on_chunk
    )
    out["wide"] = evaluate_single_models(wide_cfg, datasets, w_wide, hist_wide, cut)
    scaled_model = replace(cfg.model, varrho=cfg.model.varrho / K, init_std=cfg.model.init_std / K)
    scaled_cfg = replace(cfg, model=scaled_model, seeds=G)
    w_sc, hist_sc = train_single_models(
        scaled_cfg, datasets, seeds=G, offset=INIT_OFFSETS["scaled_single"], on_chunk=on_chunk
    )
    out["scaled_single"] = evaluate_single_models(scaled_cfg, datasets, w_sc, hist_sc, cut / K)
    if th.average_extra_lr_scale:
        w_x, hist_x, steps_x = _train_average(
            cfg, th, datasets, th.average_extra_lr_scale, on_chunk
        )
        out["extra"] = {
            "lr_scale": th.average_extra_lr_scale,
            "steps": steps_x,
            **measure(w_x, hist_x),
        }
    return out
