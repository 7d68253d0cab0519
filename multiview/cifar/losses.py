"""Losses: cross-entropy with label smoothing, and Hinton's distillation loss (the accuracy is
:func:`multiview.stats.accuracy`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["cross_entropy", "distillation_loss"]


def cross_entropy(logits: jax.Array, labels: jax.Array, *, smoothing: float = 0.0) -> jax.Array:
    """Mean cross-entropy of ``logits`` ``(B, C)`` against integer ``labels`` ``(B,)``.

    With ``smoothing`` s the target is ``(1 - s) one_hot + s / C``.
    """
    c = logits.shape[-1]
    target = jax.nn.one_hot(labels, c) * (1.0 - smoothing) + smoothing / c
    return -jnp.mean(jnp.sum(target * jax.nn.log_softmax(logits.astype(jnp.float32)), axis=-1))


def distillation_loss(
    logits: jax.Array,
    labels: jax.Array,
    teacher_logits: jax.Array,
    *,
    alpha: float,
    temperature: float,
    smoothing: float = 0.0,
) -> jax.Array:
    """Hinton et al. (2015): ``alpha T^2 KL(p_T(teacher) || p_T(student)) + (1 - alpha) CE``.

    Arguments:
        logits: student logits ``(B, C)``.
        labels: true labels ``(B,)``.
        teacher_logits: ``(B, C)``.
        alpha: weight of the soft (teacher) term in ``[0, 1]``.
        temperature: T > 0; the ``T^2`` factor keeps the soft gradients' scale independent of T.
        smoothing: label smoothing of the hard term.

    Returns the scalar mean loss.
    """
    logits = logits.astype(jnp.float32)
    t = temperature
    p_teacher = jax.nn.softmax(teacher_logits.astype(jnp.float32) / t)
    log_p_student = jax.nn.log_softmax(logits / t)
    # KL = sum p (log p - log q); the teacher entropy term is constant but keeps KL >= 0.
    kl = jnp.sum(p_teacher * (jnp.log(jnp.clip(p_teacher, 1e-12)) - log_p_student), axis=-1)
    soft = (t * t) * jnp.mean(kl)
    return alpha * soft + (1.0 - alpha) * cross_entropy(logits, labels, smoothing=smoothing)
