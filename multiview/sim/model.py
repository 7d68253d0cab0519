"""The two-layer smoothed-ReLU network F_i(X) = sum_r sum_p ReLU~(<w_{i,r}, x_p>).

Weights ``W`` have shape ``(k, m, d)``: m neurons per class, no biases, no output layer.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from multiview.sim.config import ModelConfig

__all__ = [
    "smoothed_relu",
    "relu_derivative",
    "activation",
    "init_weights",
    "forward",
    "correlations",
]


def smoothed_relu(z: jax.Array, q: int, varrho: float) -> jax.Array:
    """ReLU~(z): 0 for z <= 0, z^q / (q varrho^(q-1)) on [0, varrho], z - (1 - 1/q) varrho above.

    The pieces meet with value ``varrho / q`` and slope 1 at ``z = varrho`` (C^1). Below
    varrho the gradient is ``(z / varrho)^(q-1)``: a small correlation grows like a tensor
    power method, which is what turns a small initial edge into winner-take-all.

    Numerics: the polynomial is evaluated on ``clip(z, 0, varrho)``, so the unused branch of
    ``where`` never overflows and its gradient is exactly zero (no NaN from ``where``).
    """
    zc = jnp.clip(z, 0.0, varrho)
    poly = zc**q / (q * varrho ** (q - 1))
    linear = z - (1.0 - 1.0 / q) * varrho
    return jnp.where(z >= varrho, linear, poly)


def relu_derivative(z: jax.Array, q: int, varrho: float) -> jax.Array:
    """``d ReLU~ / dz``: 0 below 0, ``(z / varrho)^(q-1)`` on ``[0, varrho]``, 1 above (same
    shape as ``z``), for code that forms the gradient itself (custom VJPs, kernels). The
    ``where`` keeps ``q = 1`` at 0 below 0 (``0^0`` would give 1)."""
    r = jnp.clip(z, 0.0, varrho) / varrho
    return jnp.where(z > 0, r ** (q - 1), 0.0)


def activation(cfg: ModelConfig):
    """The configured smoothed ReLU as a one-argument function."""
    return functools.partial(smoothed_relu, q=cfg.q, varrho=cfg.varrho)


def init_weights(cfg: ModelConfig, k: int, d: int, key: jax.Array) -> jax.Array:
    """W ~ N(0, init_std^2 I): ``(k, m, d)``."""
    return cfg.init_std * jax.random.normal(key, (k, cfg.width, d), jnp.float32)


def forward(
    cfg: ModelConfig,
    w: jax.Array,
    x: jax.Array,
    *,
    matmul_dtype: str | None = None,
    store_dtype: str | None = None,
) -> jax.Array:
    """Class scores.

    Arguments:
        cfg: model configuration (q, varrho).
        w: ``(k, m, d)`` weights.
        x: ``(n, P, d)`` inputs.
        matmul_dtype: if given (e.g. ``"bfloat16"``), the contraction ``<w, x_p>`` runs with
            ``w`` and ``x`` in this dtype and float32 accumulation; the activation and the
            scores stay float32. None: in ``w``'s dtype, as before.
        store_dtype: with ``matmul_dtype``, the dtype the ``(n, k, m, P)`` pre-activations
            are written in (default float32). ``"bfloat16"`` halves the traffic over that
            tensor, which bounds the GPU step (benchmarks/README.md, the roofline); the
            activation is still evaluated in float32, inside the consumer's fusion.

    Returns:
        ``(n, k)`` scores F_i(X).
    """
    if matmul_dtype is None:
        pre = jnp.einsum("kmd,npd->nkmp", w, x.astype(w.dtype))
    else:
        dt = jnp.dtype(matmul_dtype)
        out = jnp.dtype(store_dtype or jnp.float32)
        pre = jnp.einsum(
            "kmd,npd->nkmp", w.astype(dt), x.astype(dt), preferred_element_type=out
        ).astype(jnp.float32)
    return smoothed_relu(pre, cfg.q, cfg.varrho).sum((2, 3)).astype(jnp.float32)


def correlations(w: jax.Array, features: jax.Array) -> jax.Array:
    """<w_{i,r}, v_{i,l}> for every class's own views: ``(..., k, m, V)`` from
    ``w (..., k, m, d)`` and ``features (k, V, d)``."""
    return jnp.einsum("...kmd,kvd->...kmv", w.astype(jnp.float32), features)
