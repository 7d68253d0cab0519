"""Knowledge distillation (Theorem 3) and self-distillation (Theorem 4).

A student is a fresh single model trained on the same training set against a teacher's
scores ``G`` on that set. Two objectives:

- ``paper``: the update of Allen-Zhu & Li,

      w <- w - eta grad CE - eta' E[ sum_i (softmax_i(F/tau) - softmax_i(G/tau))^- grad F_i ],

  with ``(a)^- = min(a, 0)``: the term only pushes a class score *up* toward the teacher's.
  It is written as a surrogate loss ``CE + (eta'/eta) E[sum_i stop_grad(c_i) F_i]`` with
  ``c = (softmax(F/tau) - softmax(G/tau))^-``, whose gradient is exactly that update.
- ``hinton``: ``alpha CE + (1 - alpha) T^2 KL(softmax(G/T) || softmax(F/T))``.

The teacher's scores travel with the student's parameters as a frozen leaf (its gradient is
stopped, so the trainer leaves it unchanged); that lets every student of a vmapped sweep
have its own teacher without a second data path through the trainer.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from multiview.config import ModelConfig, TheoremsConfig
from multiview.data import inputs_and_labels
from multiview.model import forward
from multiview.train import cross_entropy

__all__ = ["paper_kd_term", "hinton_kd_term", "kd_objective", "kd_loss_fn"]


def paper_kd_term(f: jax.Array, g: jax.Array, tau: float) -> jax.Array:
    """The truncated distillation term of the paper as a surrogate loss (mean over samples).

    Arguments:
        f: ``(n, k)`` student scores.
        g: ``(n, k)`` teacher scores.
        tau: temperature.

    Returns:
        A scalar whose gradient w.r.t. the student's weights is
        ``E[sum_i (softmax_i(F/tau) - softmax_i(G/tau))^- grad F_i]``.
    """
    c = jax.nn.softmax(f / tau, axis=1) - jax.nn.softmax(g / tau, axis=1)
    c = jax.lax.stop_gradient(jnp.minimum(c, 0.0))
    return jnp.mean(jnp.sum(c * f, axis=1))


def hinton_kd_term(f: jax.Array, g: jax.Array, temperature: float) -> jax.Array:
    """``T^2 KL(softmax(G/T) || softmax(F/T))``, mean over samples (``f``, ``g``: ``(n, k)``)."""
    log_p_t = jax.nn.log_softmax(g / temperature, axis=1)
    log_p_s = jax.nn.log_softmax(f / temperature, axis=1)
    kl = jnp.sum(jnp.exp(log_p_t) * (log_p_t - log_p_s), axis=1)
    return temperature**2 * jnp.mean(kl)


def kd_objective(th: TheoremsConfig, tau: float, f: jax.Array, g: jax.Array, ce: jax.Array):
    """The student's loss from its cross-entropy ``ce`` and scores ``f`` against the teacher's
    ``g`` (``(n, k)`` each): the paper's ``CE + (eta'/eta) term`` or Hinton's mix."""
    if th.kd_loss == "paper":
        return ce + th.kd_weight * paper_kd_term(f, g, tau)
    return th.hinton_alpha * ce + (1 - th.hinton_alpha) * hinton_kd_term(
        f, g, th.hinton_temperature
    )


def kd_loss_fn(model: ModelConfig, th: TheoremsConfig, k: int):
    """Loss of one student ``params = {"w": (k, m, d), "teacher": (n_train, k)}``."""
    tau = th.tau(k)

    def loss_fn(params, data, idx):
        w = params["w"]
        g = jax.lax.stop_gradient(params["teacher"])
        x, y = inputs_and_labels(data["train"], idx)
        if idx is not None:
            g = g[idx]
        f = forward(model, w, x)
        ce, acc = cross_entropy(f, y)
        return kd_objective(th, tau, f, g, ce), {"acc": acc, "ce": ce}

    return loss_fn


def record_student(params, data):
    """Per-step record of a student: Lambda, Phi and noise correlation of its weights."""
    from multiview.experiments.simulate import record_views

    return record_views(params["w"], data)
