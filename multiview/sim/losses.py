"""Losses of the simulator: cross-entropy, and the distillation objectives.

Every loss here is for *one* model; the trainer vmaps it over seeds. Loss factories are
cached on their (hashable, frozen) configs, so every call with the same config returns the
same function object and the trainer's jitted chunk is compiled once for it.

Distillation (``TheoremsConfig.kd_loss``):

- ``paper``: the update of Allen-Zhu & Li,

      w <- w - eta grad CE - eta' E[ sum_i (softmax_i(F/tau) - softmax_i(G/tau))^- grad F_i ],

  with ``(a)^- = min(a, 0)``: the term only pushes a class score *up* toward the teacher's.
  It is written as a surrogate loss ``CE + (eta'/eta) E[sum_i stop_grad(c_i) F_i]`` with
  ``c = (softmax(F/tau) - softmax(G/tau))^-``, whose gradient is exactly that update.
  **The temperature's reading is an inference** (the paper's formula alone does not settle
  it): ``TheoremsConfig.kd_reading = "softening"``
  (the default) reads the paper's ``logit^tau_i(F) = e^{tau F_i} / sum_j e^{tau F_j}``, i.e.
  ``softmax(F / T)`` with ``T = 1/tau = log^2 k``, a Hinton-like temperature that keeps the
  teacher's off-target scores (its dark knowledge). ``"sharpening"`` is the older reading
  ``softmax(F / tau)``: on training data the teacher's tempered distribution is then one-hot
  and the term repeats the labels. :meth:`TheoremsConfig.kd_temperature` gives the divisor.
- ``hinton``: ``(1 - alpha) CE + alpha T^2 KL(softmax(G/T) || softmax(F/T))``: ``alpha``
  weights the soft (teacher) term, as in the CIFAR pipeline's :class:`DistillConfig`.
- ``two_sided``: the paper's update without the truncation, ``CE + (eta'/eta)
  E[sum_i stop_grad(softmax_i(F/T) - softmax_i(G/T)) F_i]`` (same temperature ``T``): it
  pulls scores down as well as up, so it cannot inflate every score. Its gradient is ``1/T``
  times that of Hinton's ``T^2 KL``.
- ``logits``: ``CE + (eta'/eta) E[1/2 ||(F - mean F) - (G - mean G)||^2]``, matching
  class-centred scores (a softmax is blind to a common shift): the large-``T`` limit of
  ``two_sided`` (``softmax(F/T)_i ~ (1 + F_i/T) / k``), up to a factor ``1/(k T^2)``.
- ``logits_up``: ``CE + (eta'/eta) E[1/2 sum_i ((F_i - G_i)^-)^2]``, the paper's truncation
  in score space: it only raises a class score toward the teacher's. Dropping the centring
  (the softmax normalisation) is what lets a one-sided term inflate every score.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from multiview.sim.config import TRAIN_DTYPES, ModelConfig, TheoremsConfig
from multiview.sim.data import inputs_and_labels
from multiview.sim.model import forward

__all__ = [
    "cross_entropy_with_accuracy",
    "ce_loss_fn",
    "paper_kd_term",
    "hinton_kd_term",
    "two_sided_kd_term",
    "logit_kd_term",
    "logit_up_kd_term",
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
    ``matmul_dtype`` is ``TrainConfig.dtype``: float32, bfloat16 (bf16 operands, float32
    pre-activations) or bfloat16-store (bf16 operands and bf16 pre-activations).
    """
    operand_dtype, store = TRAIN_DTYPES[matmul_dtype]

    def loss_fn(w, data, idx):
        x, y = inputs_and_labels(data["train"], idx)
        scores = forward(model, w, x, matmul_dtype=operand_dtype, store_dtype=store)
        loss, acc = cross_entropy_with_accuracy(scores, y)
        return loss, {"acc": acc}

    return loss_fn


def paper_kd_term(f: jax.Array, g: jax.Array, tau: float) -> jax.Array:
    """The truncated distillation term of the paper as a surrogate loss (mean over samples).

    Arguments:
        f: ``(n, k)`` student scores.
        g: ``(n, k)`` teacher scores.
        tau: the divisor of the scores (``TheoremsConfig.kd_temperature``: ``log^2 k`` in
            the softening reading, ``1 / log^2 k`` in the sharpening one).

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


def two_sided_kd_term(f: jax.Array, g: jax.Array, tau: float) -> jax.Array:
    """The paper's term without the truncation: gradient ``E[sum_i (p_i(F) - p_i(G)) grad F_i]``
    with ``p = softmax(. / tau)`` (mean over samples)."""
    c = jax.nn.softmax(f / tau, axis=1) - jax.nn.softmax(g / tau, axis=1)
    return jnp.mean(jnp.sum(jax.lax.stop_gradient(c) * f, axis=1))


def logit_kd_term(f: jax.Array, g: jax.Array) -> jax.Array:
    """``1/2 ||(F - mean_i F_i) - (G - mean_i G_i)||^2``, mean over samples."""
    diff = (f - f.mean(axis=1, keepdims=True)) - (g - g.mean(axis=1, keepdims=True))
    return 0.5 * jnp.mean(jnp.sum(diff**2, axis=1))


def logit_up_kd_term(f: jax.Array, g: jax.Array) -> jax.Array:
    """``1/2 sum_i ((F_i - G_i)^-)^2``, mean over samples: gradient ``(F_i - G_i)^- <= 0``."""
    return 0.5 * jnp.mean(jnp.sum(jnp.minimum(f - g, 0.0) ** 2, axis=1))


def kd_objective(th: TheoremsConfig, tau: float, f: jax.Array, g: jax.Array, ce: jax.Array):
    """The student's loss from its cross-entropy ``ce`` and scores ``f`` against the teacher's
    ``g`` (``(n, k)`` each): ``c CE + (eta'/eta) term`` (``c = kd_ce_weight``) (``paper``, ``two_sided``, ``logits``,
    ``logits_up``) or Hinton's mix. ``tau`` is the divisor of the tempered softmax
    (:meth:`TheoremsConfig.kd_temperature`)."""
    c = th.kd_ce_weight
    if th.kd_loss == "paper":
        return c * ce + th.kd_weight * paper_kd_term(f, g, tau)
    if th.kd_loss == "two_sided":
        return c * ce + th.kd_weight * two_sided_kd_term(f, g, tau)
    if th.kd_loss == "logits":
        return c * ce + th.kd_weight * logit_kd_term(f, g)
    if th.kd_loss == "logits_up":
        return c * ce + th.kd_weight * logit_up_kd_term(f, g)
    alpha = th.hinton_alpha
    return (1 - alpha) * ce + alpha * hinton_kd_term(f, g, th.hinton_temperature)
