"""On-device augmentation: shapes, dtypes, determinism, and what crop/flip actually do."""

import jax
import jax.numpy as jnp
import numpy as np

from multiview.cifar.augment import augment, normalize, random_crop, random_flip


def _batch(n=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_normalize_shape_dtype_and_scale():
    x = normalize(jnp.asarray(_batch()))
    assert x.shape == (8, 32, 32, 3) and x.dtype == jnp.float32
    assert -3 < float(x.min()) and float(x.max()) < 3


def test_augment_shapes_and_determinism():
    x = jnp.asarray(_batch())
    f = jax.jit(lambda k, x: augment(k, x, crop_padding=4, flip=True))
    a, b = f(jax.random.key(1), x), f(jax.random.key(1), x)
    c = f(jax.random.key(2), x)
    assert a.shape == (8, 32, 32, 3) and a.dtype == jnp.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_flip_mirrors_whole_images_only():
    x = normalize(jnp.asarray(_batch(64)))
    y = random_flip(jax.random.key(0), x)
    same = np.all(np.asarray(y) == np.asarray(x), axis=(1, 2, 3))
    mirrored = np.all(np.asarray(y) == np.asarray(x)[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(same | mirrored) and 10 < mirrored.sum() < 54


def test_crop_is_a_shift_of_the_padded_image():
    x = normalize(jnp.asarray(_batch(16)))
    pad = 3
    y = np.asarray(random_crop(jax.random.key(5), x, pad))
    padded = np.pad(np.asarray(x), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    for i in range(16):
        hits = [
            (r, c)
            for r in range(2 * pad + 1)
            for c in range(2 * pad + 1)
            if np.array_equal(padded[i, r : r + 32, c : c + 32], y[i])
        ]
        assert hits, f"image {i} is not a crop"
    assert np.array_equal(random_crop(jax.random.key(5), x, 0), x)
