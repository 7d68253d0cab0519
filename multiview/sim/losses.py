"""Losses of the simulator: cross-entropy, and the two distillation objectives.

Every loss here is for *one* model; the trainer vmaps it over seeds. Loss factories are
cached on their (hashable, frozen) configs, so every call with the same config returns the
same function object and the trainer's jitted chunk is compiled once for it.

Distillation (``TheoremsConfig.kd_loss``):

- ``paper``: the update of Allen-Zhu & Li,

      w <- w - eta grad CE - eta' E[ sum_i (softmax_i(F/tau) - softmax_i(G/tau))^- grad F_i ],

  with ``(a)^- = min(a, 0)``: the term only pushes a class score *up* toward the teacher's.
  It is written as a surrogate loss ``CE + (eta'/eta) E[sum_i stop_grad(c_i) F_i]`` with
  ``c = (softmax(F/tau) - softmax(G/tau))^-``, whose gradient is exactly that update.
- ``hinton``: ``(1 - alpha) CE + alpha T^2 KL(softmax(G/T) || softmax(F/T))``: ``alpha``
  weights the soft (teacher) term, as in the CIFAR pipeline's :class:`DistillConfig`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from multiview.sim.config import ModelConfig, TheoremsConfig
from multiview.sim.data import inputs_and_labels
from multiview.sim.model import forward

__all__ = [
    "cross_entropy_with_accuracy",
    "ce_loss_fn",
    "paper_kd_term",
    "hinton_kd_term",
    "kd_objective",
]


def cross_entropy_with_accuracy(logits: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean cross-entropy of ``softmax(logits)`` ``(n, k)`` against labels ``(n,)``, and accuracy.

    Uses ``logsumexp`` so large scores (a trained model's are tens) do not overflow.
    """
    lse = jax.nn.logsumexp(logits, axis=1)
    correct_logit = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
    loss = jnp.mean(lse - correct_logit)
    acc = jnp.mean((jnp.argmax(logits, axis=1) == y).astype(jnp.float32))
    return loss, acc


@functools.lru_cache(maxsize=64)
def ce_loss_fn(model: ModelConfig, matmul_dtype: str = "float32"):
    """Cross-entropy loss of one model ``w (k, m, d)`` on ``data["train"]`` (or a minibatch).

    ``loss_fn(w, data, idx) -> (loss, {"acc": accuracy})``; cached per ``(model, dtype)``.
    """
    mm = None if matmul_dtype == "float32" else matmul_dtype

    def loss_fn(w, data, idx):
        x, y = inputs_and_labels(data["train"], idx)
        loss, acc = cross_entropy_with_accuracy(forward(model, w, x, matmul_dtype=mm), y)
        return loss, {"acc": acc}

    return loss_fn


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
    alpha = th.hinton_alpha
    return (1 - alpha) * ce + alpha * hinton_kd_term(f, g, th.hinton_temperature)
