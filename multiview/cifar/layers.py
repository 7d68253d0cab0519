"""Plain-JAX layers: pure functions of (params, state, inputs), NHWC images.

Parameters and batch-norm running statistics are plain dicts of arrays, so a stack of models is
just the same dicts with a leading seed axis, and ``jax.vmap`` over that axis trains many seeds
at once: each seed's batch norm computes its statistics over its own batch and updates its own
running averages (see ``docs/cifar.md`` for why plain JAX rather than flax).

Mixed precision: every ``apply`` takes a ``dtype`` (float32 or bfloat16) for the convolutions
and matrix products; batch-norm statistics and the returned logits stay float32.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax

__all__ = [
    "conv_init",
    "conv",
    "dense_init",
    "dense",
    "bn_init",
    "batch_norm",
    "max_pool",
    "avg_pool",
    "channel",
]

_DIMS = ("NHWC", "HWIO", "NHWC")


def channel(v: jax.Array, ndim: int) -> jax.Array:
    """Reshape a per-channel vector ``(C,)`` to ``(1, ..., 1, C)`` of rank ``ndim`` (explicit
    broadcasting, so code runs under ``jax_numpy_rank_promotion='raise'``)."""
    return v.reshape((1,) * (ndim - 1) + v.shape)


def conv_init(key: jax.Array, kh: int, kw: int, c_in: int, c_out: int) -> jax.Array:
    """He-normal kernel, shape ``(kh, kw, c_in, c_out)``."""
    std = math.sqrt(2.0 / (kh * kw * c_in))
    return std * jax.random.normal(key, (kh, kw, c_in, c_out), jnp.float32)


def conv(
    x: jax.Array, w: jax.Array, *, stride: int = 1, padding: str = "SAME", dtype=jnp.float32
) -> jax.Array:
    """2-D convolution. ``x``: ``(B, H, W, C_in)``; ``w``: ``(kh, kw, C_in, C_out)``.

    Returns ``(B, H', W', C_out)`` in ``dtype``.
    """
    return lax.conv_general_dilated(
        x.astype(dtype), w.astype(dtype), (stride, stride), padding, dimension_numbers=_DIMS
    )


def dense_init(key: jax.Array, d_in: int, d_out: int, *, bias: bool = True) -> dict:
    """``{"w": (d_in, d_out)[, "b": (d_out,)]}`` with LeCun-normal weights."""
    p = {"w": jax.random.normal(key, (d_in, d_out), jnp.float32) / math.sqrt(d_in)}
    if bias:
        p["b"] = jnp.zeros((d_out,), jnp.float32)
    return p


def dense(p: dict, x: jax.Array, *, dtype=jnp.float32) -> jax.Array:
    """``x``: ``(B, d_in)`` -> ``(B, d_out)`` float32."""
    y = jnp.dot(x.astype(dtype), p["w"].astype(dtype)).astype(jnp.float32)
    return y + channel(p["b"], y.ndim) if "b" in p else y


def bn_init(c: int) -> tuple[dict, dict]:
    """Batch-norm ``(params, state)``: scale/bias ``(c,)`` and running mean/var ``(c,)``."""
    params = {"scale": jnp.ones((c,), jnp.float32), "bias": jnp.zeros((c,), jnp.float32)}
    state = {"mean": jnp.zeros((c,), jnp.float32), "var": jnp.ones((c,), jnp.float32)}
    return params, state


def batch_norm(
    p: dict,
    s: dict,
    x: jax.Array,
    *,
    train: bool,
    momentum: float = 0.9,
    eps: float = 1e-5,
    dtype=jnp.float32,
) -> tuple[jax.Array, dict]:
    """Batch norm over ``(B, H, W)`` of ``x``: ``(B, H, W, C)`` -> same shape in ``dtype``.

    ``p`` holds ``bias`` and, optionally, ``scale`` (absent: a scale-free batch norm, as in
    airbench, whose following layer absorbs the scale).

    In training mode the batch statistics are used and the running averages updated (returned
    as the new state); in evaluation mode the running averages are used and the state returned
    unchanged. Statistics are computed in float32 whatever ``dtype`` is.
    """
    xf = x.astype(jnp.float32)
    if train:
        mean = jnp.mean(xf, axis=(0, 1, 2))
        var = jnp.mean(jnp.square(xf - channel(mean, x.ndim)), axis=(0, 1, 2))
        new_s = {
            "mean": momentum * s["mean"] + (1 - momentum) * lax.stop_gradient(mean),
            "var": momentum * s["var"] + (1 - momentum) * lax.stop_gradient(var),
        }
    else:
        mean, var, new_s = s["mean"], s["var"], s
    nd = x.ndim
    inv = lax.rsqrt(var + eps)
    scale = channel(inv * p["scale"] if "scale" in p else inv, nd)  # no "scale": fixed at 1
    y = (xf - channel(mean, nd)) * scale + channel(p["bias"], nd)
    return y.astype(dtype), new_s


def max_pool(x: jax.Array, size: int) -> jax.Array:
    """Max pool over non-overlapping ``size`` x ``size`` windows, floor semantics (a trailing
    row/column that does not fill a window is dropped). ``(B, H, W, C)`` -> ``(B, H//size,
    W//size, C)``.

    Written as reshape + max rather than ``lax.reduce_window``: on the XLA CPU backend the
    gradient of ``reduce_window`` max (select-and-scatter) made a small CNN step ~2x slower.
    """
    b, h, w, c = x.shape
    ho, wo = h // size, w // size
    x = x[:, : ho * size, : wo * size]
    return x.reshape(b, ho, size, wo, size, c).max(axis=(2, 4))


def avg_pool(x: jax.Array, size: int) -> jax.Array:
    """Average pool, non-overlapping ``size`` x ``size`` windows. ``(B, H, W, C)`` -> smaller."""
    s = lax.reduce_window(x, 0.0, lax.add, (1, size, size, 1), (1, size, size, 1), "VALID")
    return s / (size * size)
