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

import jax
import jax.numpy as jnp

from multiview.config import ModelConfig
from multiview.data import inputs_and_labels
from multiview.model import forward
from multiview.train import cross_entropy

__all__ = ["average_loss_fn", "as_wide_model", "record_average"]


def as_wide_model(w: jax.Array) -> jax.Array:
    """Members ``(..., K, k, m, d)`` as one model of width K*m: ``(..., k, K*m, d)``.

    Its scores are ``sum_k F_k`` = K times the average: the same predictions.
    """
    *lead, K, k, m, d = w.shape
    w = jnp.moveaxis(w, -4, -3)  # (..., k, K, m, d)
    return w.reshape(*lead, k, K * m, d)


def average_loss_fn(model: ModelConfig):
    """Cross-entropy of the averaged scores of members ``w (K, k, m, d)``."""

    def loss_fn(w, data, idx):
        x, y = inputs_and_labels(data["train"], idx)
        f = jax.vmap(lambda wk: forward(model, wk, x))(w).mean(axis=0)
        loss, acc = cross_entropy(f, y)
        return loss, {"acc": acc}

    return loss_fn


def record_average(w, data):
    from multiview.experiments.simulate import record_views

    return record_views(as_wide_model(w), data)
