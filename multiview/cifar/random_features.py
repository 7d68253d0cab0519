"""Random-feature baselines: frozen random convolutional features, a trained linear head.

A random-feature model is ``x -> W^T phi_seed(x) + b``: ``phi_seed`` is a random 3x3
convolution (``channels`` filters, Gaussian, frozen) followed by ReLU and average pooling to a
``(32/pool) x (32/pool)`` grid, flattened and standardized with training-set statistics; only
the linear head ``(W, b)`` is trained (minibatch SGD, cross-entropy or distillation loss).
With ``whiten`` the filters see ZCA-whitened 3x3 patches (Coates & Ng's random-patch
features): on raw pixels most random filters measure the patch's mean colour, the top
eigen-direction that carries most of a natural patch's variance, and whitening spreads them
over edges and textures (measured on CIFAR-10, 4,096 features: 61 -> 64% pooled to 8x8,
65 -> 68% pooled to 4x4; docs/cifar.md).
Its seed fixes its features, so an ensemble of such models is a larger random-feature model,
which a single student with its own features cannot imitate (the paper's contrast to deep
learning). The head is a convex problem of matrix products, so its whole training loop is one
``lax.scan`` (cheap on CPU, unlike conv loops).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from multiview.cifar.augment import normalize
from multiview.cifar.config import DistillConfig, RFConfig
from multiview.cifar.layers import avg_pool, channel, conv
from multiview.cifar.losses import cross_entropy, distillation_loss

__all__ = [
    "concat_features",
    "make_random_features",
    "patch_whitening",
    "random_features",
    "rf_head_trainer",
    "train_rf_heads",
    "rf_logits",
]

# a 3x3 RGB patch, flattened in the (height, width, channel) order of an HWIO filter
_PATCH = 27


@functools.partial(jax.jit, static_argnames="pool")
def _phi(w: jax.Array, b: jax.Array, xb: jax.Array, pool: int) -> jax.Array:
    """Raw features ``(B, D)`` of a uint8 batch ``(B, 32, 32, 3)``: filters are arguments, so
    one compilation serves every seed (a closure over them would recompile per seed)."""
    h = jax.nn.relu(conv(normalize(xb), w) + channel(b, 4))
    return avg_pool(h, pool).reshape(xb.shape[0], -1)


@jax.jit
def _standardize(train_f: jax.Array, test_f: jax.Array) -> tuple[jax.Array, jax.Array]:
    mean, std = train_f.mean(0, keepdims=True), train_f.std(0, keepdims=True) + 1e-6
    return (train_f - mean) / std, (test_f - mean) / std


@jax.jit
def _patch_moments(xb: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Sum ``(27,)`` and sum of outer products ``(27, 27)`` of every 3x3 patch (zero-padded,
    as the features see them) of a uint8 batch ``(B, 32, 32, 3)``."""
    eye = jnp.eye(_PATCH, dtype=jnp.float32).reshape(3, 3, 3, _PATCH)
    p = conv(normalize(xb), eye).reshape(-1, _PATCH)
    return p.sum(0), p.T @ p


def patch_whitening(
    train_x: np.ndarray, eps: float, *, batch: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """ZCA whitening of the 3x3 patches of ``train_x`` ``(N, 32, 32, 3)`` uint8.

    Returns ``(Z, mean)``: ``(27, 27)`` and ``(27,)`` float64, ``Z = U diag((lam + eps)^-1/2)
    U^T`` for the patch covariance ``U diag(lam) U^T``, so ``Z (p - mean)`` has covariance
    ``diag(lam / (lam + eps))`` in that basis (``eps`` > 0 keeps JPEG noise in the tiny
    directions from being blown up). Patches are flattened in ``(h, w, c)`` order, a filter
    ``(3, 3, 3, C)`` reshaped to ``(27, C)``. Moments are summed in float64 across batches.
    """
    total, outer = np.zeros(_PATCH), np.zeros((_PATCH, _PATCH))
    for i in range(0, len(train_x), batch):
        s, o = _patch_moments(jnp.asarray(train_x[i : i + batch]))
        total += np.asarray(s, np.float64)
        outer += np.asarray(o, np.float64)
    count = len(train_x) * train_x.shape[1] * train_x.shape[2]
    mean = total / count
    lam, u = np.linalg.eigh(outer / count - np.outer(mean, mean))
    return (u / np.sqrt(np.maximum(lam, 0.0) + eps)) @ u.T, mean


def make_random_features(
    cfg: RFConfig, train_x: np.ndarray, test_x: np.ndarray, *, batch: int = 1000
) -> Callable[[jax.Array], tuple[jax.Array, jax.Array]]:
    """``key -> (train_f, test_f)``: the features of one random-feature seed on this data.

    Arguments:
        train_x: ``(N_train, 32, 32, 3)`` uint8; test_x: ``(N_test, 32, 32, 3)`` uint8.

    The returned function takes the seed's PRNG key (it fixes the filters) and returns
    ``(N_train, D)`` and ``(N_test, D)`` float32, each feature standardized with the training
    set's mean and std (``D = cfg.dim``). They stay on the device: at the ``gpu`` preset's
    size (50,000 x 4,096) a round trip through NumPy and its single-threaded standardization
    cost seconds per seed, most of the random-feature rows.
    With ``cfg.whiten`` the whitening is fitted here, once for every seed (a pass over
    ``train_x``: 9 s of the 19 s of one seed's features at the ``gpu`` preset on 2 CPU
    cores), and folded into each seed's filters: ``w^T Z (p - mean) + b`` is the convolution
    ``(Z w)^T p + (b - mean^T Z w)``, so the features themselves cost no more.
    """
    whitening = patch_whitening(train_x, cfg.whiten_eps, batch=batch) if cfg.whiten else None

    def features(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        k_w, k_b = jax.random.split(key)
        w = jax.random.normal(k_w, (3, 3, 3, cfg.channels), jnp.float32) / np.sqrt(27.0)
        b = 0.5 * jax.random.normal(k_b, (cfg.channels,), jnp.float32)
        if whitening is not None:
            z, mean = whitening
            zw = z @ np.asarray(w, np.float64).reshape(_PATCH, cfg.channels)
            b = b - jnp.asarray(mean @ zw, jnp.float32)
            w = jnp.asarray(zw.reshape(3, 3, 3, cfg.channels), jnp.float32)

        def all_features(x):
            return jnp.concatenate(
                [
                    _phi(w, b, jnp.asarray(x[i : i + batch]), cfg.pool)
                    for i in range(0, len(x), batch)
                ]
            )

        return _standardize(all_features(train_x), all_features(test_x))

    return features


def random_features(
    key: jax.Array, cfg: RFConfig, train_x: np.ndarray, test_x: np.ndarray, *, batch: int = 1000
) -> tuple[jax.Array, jax.Array]:
    """Features ``(train_f, test_f)`` of one seed: :func:`make_random_features` called once.
    For many seeds on the same data, make the function once (it fits any whitening once)."""
    return make_random_features(cfg, train_x, test_x, batch=batch)(key)


def train_rf_heads(
    features: np.ndarray,
    labels: np.ndarray,
    cfg: RFConfig,
    *,
    key: jax.Array,
    teacher_logits: np.ndarray | None = None,
    distill: DistillConfig | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Train one run: ``members`` linear heads whose logits are averaged before the loss.

    Arguments:
        features: ``(members, N, D)`` standardized features (one member: an ordinary model),
            NumPy or JAX arrays.
        labels: ``(N,)`` int labels.
        key: PRNG key for the data order.
        teacher_logits: ``(N, C)``: train with :func:`distillation_loss` against them.

    Returns ``(W, b)``: ``(members, D, C)`` and ``(members, C)``.
    """
    m, n, d = features.shape
    c = int(labels.max()) + 1 if teacher_logits is None else teacher_logits.shape[-1]
    c = max(c, int(labels.max()) + 1)
    distill = distill or DistillConfig()
    batch = min(cfg.batch_size, n)
    spe = n // batch
    total = cfg.epochs * spe
    perms = jax.vmap(lambda e: jax.random.permutation(jax.random.fold_in(key, e), n))(
        jnp.arange(cfg.epochs)
    )[:, : spe * batch].reshape(total, batch)
    train = rf_head_trainer(cfg, distill, m, d, c, spe)
    t = None if teacher_logits is None else jnp.asarray(teacher_logits, jnp.float32)
    return train(jnp.asarray(features), jnp.asarray(labels, jnp.int32), t, perms)


@functools.lru_cache(maxsize=16)
def rf_head_trainer(
    cfg: RFConfig,
    distill: DistillConfig,
    members: int,
    dim: int,
    classes: int,
    steps_per_epoch: int,
):
    """Jitted ``(features (members, N, D), labels (N,), teacher (N, C) | None, perms
    (steps, batch)) -> (W, b)``: one run of head training, compiled once per settings."""
    m, d, c, spe = members, dim, classes, steps_per_epoch
    total = cfg.epochs * spe
    schedule = optax.join_schedules(
        [optax.linear_schedule(0.0, cfg.lr, spe), optax.linear_schedule(cfg.lr, 0.0, total - spe)],
        [spe],
    )
    opt = optax.chain(
        optax.add_decayed_weights(cfg.weight_decay),
        optax.sgd(schedule, momentum=0.9, nesterov=True),
    )

    def loss_fn(params, idx, f, y, t):
        w, b = params
        logits = jnp.mean(jnp.einsum("mbd,mdc->mbc", f[:, idx], w) + b[:, None, :], axis=0)
        if t is None:
            return cross_entropy(logits, y[idx])
        return distillation_loss(
            logits, y[idx], t[idx], alpha=distill.alpha, temperature=distill.temperature
        )

    @jax.jit
    def train_heads(f, y, t, perms):
        params = (jnp.zeros((m, d, c), jnp.float32), jnp.zeros((m, c), jnp.float32))

        def step(carry, idx):
            params, opt_state = carry
            grads = jax.grad(loss_fn)(params, idx, f, y, t)
            updates, opt_state = opt.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        (params, _), _ = lax.scan(step, (params, opt.init(params)), perms)
        return params

    return train_heads


def concat_features(features: jax.Array) -> jax.Array:
    """Stacked feature sets ``(K, N, D)`` -> one set ``(1, N, K * D)``, member-major (columns
    ``m * D .. (m + 1) * D`` are member ``m``'s): a linear head on it is one model of the
    function class of K averaged heads, trained with its own optimizer in that space."""
    return jnp.transpose(jnp.asarray(features), (1, 0, 2)).reshape(1, features.shape[1], -1)


def rf_logits(features: np.ndarray, heads: tuple[jax.Array, jax.Array]) -> np.ndarray:
    """Per-member logits ``(members, N, C)`` of heads ``(W, b)`` on ``features`` ``(members, N, D)``."""
    w, b = heads
    return np.asarray(jnp.einsum("mnd,mdc->mnc", jnp.asarray(features), w) + b[:, None, :])
