"""The paper's multi-view distribution and a Gaussian-like control (pure JAX, jit-able).

A sample X = (x_1 .. x_P) has P patches in R^d. Its label y carries V orthonormal views
v_{y,1..V}; a few off-target features of other classes are present too. Every present
feature owns ``patches_per_feature`` (C_p) disjoint patches; the other patches carry noise
only. A patch of feature v is

    x_p = z_p v + sum_{v'} alpha_{p,v'} v' + xi_p,     alpha ~ U[0, gamma],  xi ~ N(0, sigma_p^2 I)

with per-feature sums Z_v = sum_{p in P_v} z_p:

============================  =================================  ==============================
feature                       multi-view sample                  single-view sample
============================  =================================  ==============================
own view (surviving one)      ``view_strength``                  ``view_strength``
own view (the others)         ``view_strength``                  ``weak_view`` (rho)
off-target (s features)       ``off_target_multi``               ``off_target_single`` (Gamma)
============================  =================================  ==============================

each nominal strength ``s`` jittered uniformly in ``[s, s (1 + strength_jitter)]`` and split
over the C_p patches by random positive weights.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from multiview.sim.config import DataConfig

__all__ = [
    "Dataset",
    "make_features",
    "sample",
    "make_datasets",
    "redraw_noise",
    "inputs_and_labels",
]


class Dataset(NamedTuple):
    """A batch of samples with their ground truth. ``n`` samples, ``F = k * V`` features.

    Attributes:
        x: ``(n, P, d)`` inputs (signal + noise).
        noise: ``(n, P, d)`` the Gaussian part xi of every patch (``x - noise`` is the signal).
        y: ``(n,)`` int32 labels.
        single: ``(n,)`` bool, True for single-view samples.
        view: ``(n,)`` int32 the surviving view of a single-view sample, -1 for multi-view.
        coef: ``(n, k, V)`` per-feature sums Z_v (0 for absent features).
        patch_feature: ``(n, P)`` int32 flat feature index ``i * V + l`` of each patch, -1 if
            the patch carries no feature.
    """

    x: jax.Array
    noise: jax.Array
    y: jax.Array
    single: jax.Array
    view: jax.Array
    coef: jax.Array
    patch_feature: jax.Array


def make_features(cfg: DataConfig, key: jax.Array) -> jax.Array:
    """Orthonormal features v_{i,l}: ``(k, V, d)``, a random rotation of the first k*V axes."""
    g = jax.random.normal(key, (cfg.d, cfg.k * cfg.views), dtype=jnp.float32)
    q, r = jnp.linalg.qr(g)
    q = q * jnp.sign(jnp.diagonal(r))[None, :]  # unique (Haar) orthonormal basis
    return q.T.reshape(cfg.k, cfg.views, cfg.d)


def _jitter(key, shape, nominal, jitter):
    return nominal * (1.0 + jitter * jax.random.uniform(key, shape))


@functools.partial(jax.jit, static_argnames=("cfg", "n"))
def sample(
    cfg: DataConfig,
    features: jax.Array,
    key: jax.Array,
    n: int,
    single_view_frac: float | None = None,
) -> Dataset:
    """Draw ``n`` samples of the multi-view distribution.

    Arguments:
        cfg: the data configuration.
        features: ``(k, V, d)`` orthonormal features from :func:`make_features`.
        key: PRNG key; the result is a deterministic function of it.
        n: number of samples (static).
        single_view_frac: overrides ``cfg.single_view_frac`` (0: multi-view only, 1: single
            view only).

    Returns:
        A :class:`Dataset` of ``n`` samples.
    """
    k, V, P, C = cfg.k, cfg.views, cfg.patches, cfg.patches_per_feature
    F = k * V
    S = cfg.max_off_target  # off-target slots
    mu = cfg.single_view_frac if single_view_frac is None else single_view_frac  # traced
    keys = jax.random.split(key, 10)

    y = jax.random.randint(keys[0], (n,), 0, k)
    single = jax.random.uniform(keys[1], (n,)) < mu
    surviving = jax.random.randint(keys[2], (n,), 0, V)
    view = jnp.where(single, surviving, -1).astype(jnp.int32)

    # Off-target features: rank the other classes' features by a random score; take the top s
    # (fixed mode) or those that pass a Bernoulli(s/k) draw, at most S of them.
    feat_class = jnp.repeat(jnp.arange(k), V)  # (F,)
    own = feat_class[None, :] == y[:, None]  # (n, F)
    if cfg.off_target_mode == "fixed":
        drawn = ~own
    else:
        drawn = (jax.random.uniform(keys[4], (n, F)) < cfg.off_target / k) & ~own
    score = jax.random.uniform(keys[3], (n, F)) + 2.0 * drawn  # drawn features rank first
    score = jnp.where(own, -1.0, score)
    order = jnp.argsort(-score, axis=1)[:, :S]  # (n, S) off-target candidates, best first
    if cfg.off_target_mode == "fixed":
        present = jnp.broadcast_to(jnp.arange(S)[None, :] < cfg.off_target, (n, S))
    else:
        present = jnp.take_along_axis(drawn, order, axis=1)
    # Slot features: V own views first, then S off-target candidates: (n, V + S).
    own_feats = y[:, None] * V + jnp.arange(V)[None, :]
    slot_feat = jnp.concatenate([own_feats, order], axis=1)
    slot_present = jnp.concatenate([jnp.ones((n, V), bool), present], axis=1)

    # Nominal strength of each slot.
    is_surv = jnp.arange(V)[None, :] == surviving[:, None]
    own_str = jnp.where(single[:, None] & ~is_surv, cfg.weak_view, cfg.view_strength)
    off_str = jnp.where(single, cfg.off_target_single, cfg.off_target_multi)[:, None]
    nominal = jnp.concatenate([own_str, jnp.broadcast_to(off_str, (n, S))], axis=1)
    Z = _jitter(keys[5], nominal.shape, nominal, cfg.strength_jitter)
    Z = jnp.where(slot_present, Z, 0.0)  # (n, V + S)

    # Split each Z over its C patches with random positive weights.
    w = jax.random.uniform(keys[6], (n, V + S, C), minval=0.5, maxval=1.5)
    z = Z[:, :, None] * w / w.sum(-1, keepdims=True)  # (n, V + S, C)

    # Disjoint placement: slot j, copy c lives in patch perm[j * C + c] (perm: argsort of
    # uniforms, a uniform random permutation). Built with one-hot products, not scatters:
    # the arrays are tiny and this compiles in a fraction of the time.
    perm = jnp.argsort(jax.random.uniform(keys[7], (n, P)), axis=1)
    n_used = (V + S) * C
    at_patch = jax.nn.one_hot(perm[:, :n_used], P, dtype=jnp.float32)  # (n, U, P)
    flat_feat = jnp.repeat(slot_feat, C, axis=1)  # (n, U)
    flat_z = jnp.where(jnp.repeat(slot_present, C, axis=1), z.reshape(n, n_used), 0.0)
    of_feat = jax.nn.one_hot(flat_feat, F, dtype=jnp.float32)  # (n, U, F)
    A = jnp.einsum("nup,nuf,nu->npf", at_patch, of_feat, flat_z)  # patch coefficients
    tag = jnp.where(flat_z > 0, flat_feat + 1, 0).astype(jnp.float32)
    patch_feature = jnp.einsum("nup,nu->np", at_patch, tag).astype(jnp.int32) - 1
    if cfg.feature_noise > 0:
        A = A + cfg.feature_noise * jax.random.uniform(keys[8], (n, P, F))

    coef = jnp.einsum("nsf,ns->nf", jax.nn.one_hot(slot_feat, F, dtype=jnp.float32), Z)
    coef = coef.reshape(n, k, V)
    noise = cfg.sigma_p * jax.random.normal(keys[9], (n, P, cfg.d), jnp.float32)
    x = jnp.einsum("npf,fd->npd", A, features.reshape(F, cfg.d)) + noise
    return Dataset(x, noise, y.astype(jnp.int32), single, view, coef, patch_feature)


@functools.partial(jax.jit, static_argnames=("cfg",))
def redraw_noise(cfg: DataConfig, data: Dataset, key: jax.Array) -> Dataset:
    """The same samples with fresh Gaussian patch noise (used to measure memorization)."""
    noise = cfg.sigma_p * jax.random.normal(key, data.noise.shape, data.noise.dtype)
    return data._replace(x=data.x - data.noise + noise, noise=noise)


def inputs_and_labels(data: Dataset, idx: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """``(x, y)`` of all samples (``idx`` None, full-batch GD) or of the minibatch ``idx``."""
    return (data.x, data.y) if idx is None else (data.x[idx], data.y[idx])


class Datasets(NamedTuple):
    """The shared data of a sweep: features ``(k, V, d)``, a training set and two test sets."""

    features: jax.Array
    train: Dataset
    test_multi: Dataset
    test_single: Dataset


def make_datasets(cfg: DataConfig, key: jax.Array) -> Datasets:
    """Features, ``n_train`` training samples and ``n_test`` multi- and single-view tests."""
    kf, kt, km, ks = jax.random.split(key, 4)
    features = make_features(cfg, kf)
    return Datasets(
        features,
        sample(cfg, features, kt, cfg.n_train),
        sample(cfg, features, km, cfg.n_test, single_view_frac=0.0),
        sample(cfg, features, ks, cfg.n_test, single_view_frac=1.0),
    )
