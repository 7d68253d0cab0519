"""On-device preprocessing: normalization, random crop with padding, horizontal flip.

All functions are pure and jit-able; the uint8 images stay resident on the device and are
normalized and augmented inside the jitted training step. The same key gives the same batch.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

__all__ = [
    "CIFAR_MEAN",
    "CIFAR_STD",
    "normalize",
    "random_crop",
    "random_flip",
    "mirror",
    "augment",
    "alternating_flips",
]

# Per-channel statistics of the CIFAR-10 training set (RGB, on the 0..1 scale).
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def normalize(images: jax.Array) -> jax.Array:
    """uint8 ``(..., H, W, 3)`` -> float32 of the same shape, per channel zero-mean unit-std."""
    x = images.astype(jnp.float32) / 255.0
    shape = (1,) * (x.ndim - 1) + (3,)
    mean = jnp.asarray(CIFAR_MEAN, jnp.float32).reshape(shape)
    return (x - mean) / jnp.asarray(CIFAR_STD, jnp.float32).reshape(shape)


def random_crop(key: jax.Array, x: jax.Array, padding: int, mode: str = "zero") -> jax.Array:
    """Random ``H`` x ``W`` crop of each image padded by ``padding`` on every side.

    Arguments:
        key: PRNG key.
        x: ``(B, H, W, C)`` images (normalized, so zero padding is the mean colour).
        padding: pixels of padding; 0 returns ``x`` unchanged.
        mode: ``zero`` or ``reflect`` padding (mirror the border without repeating it).

    Returns ``(B, H, W, C)``, image ``b`` shifted by its own offsets in ``[-padding, padding]``.
    """
    if padding == 0:
        return x
    b, h, w, c = x.shape
    pad = ((0, 0), (padding, padding), (padding, padding), (0, 0))
    padded = jnp.pad(x, pad, mode="reflect" if mode == "reflect" else "constant")
    offsets = jax.random.randint(key, (b, 2), 0, 2 * padding + 1)

    def crop_one(img, off):
        return lax.dynamic_slice(img, (off[0], off[1], 0), (h, w, c))

    return jax.vmap(crop_one)(padded, offsets)


def mirror(x: jax.Array, mask: jax.Array) -> jax.Array:
    """Mirror left-right the images of ``x`` ``(B, H, W, C)`` whose ``mask`` entry (``B``
    booleans, any shape) is true."""
    return jnp.where(mask.reshape(-1, 1, 1, 1), x[:, :, ::-1, :], x)


def random_flip(key: jax.Array, x: jax.Array) -> jax.Array:
    """Mirror each image of ``x``: ``(B, H, W, C)`` left-right with probability 1/2."""
    return mirror(x, jax.random.bernoulli(key, 0.5, (x.shape[0], 1, 1, 1)))


def augment(
    key: jax.Array,
    images: jax.Array,
    *,
    crop_padding: int,
    flip: bool,
    pad_mode: str = "zero",
    flip_mask: jax.Array | None = None,
) -> jax.Array:
    """Normalize a uint8 batch ``(B, H, W, 3)`` and apply crop/flip; returns float32 ``(B, H, W, 3)``.

    ``flip_mask`` ``(B,)`` bool, when given, says which images to mirror (the alternating
    scheme decides it per image and epoch outside); otherwise each is mirrored at random.
    """
    k_crop, k_flip = jax.random.split(key)
    x = random_crop(k_crop, normalize(images), crop_padding, pad_mode)
    if not flip:
        return x
    return random_flip(k_flip, x) if flip_mask is None else mirror(x, flip_mask)


def alternating_flips(key: jax.Array, n: int, epoch) -> jax.Array:
    """airbench's flip scheme: ``(n,)`` bool, a fixed random half of the images (from ``key``)
    mirrored in even epochs and the other half in odd ones."""
    return jax.random.bernoulli(key, 0.5, (n,)) ^ (epoch % 2 == 1)
