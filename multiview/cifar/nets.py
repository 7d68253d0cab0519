"""CIFAR networks in plain JAX: a tiny CNN, an airbench-style fast CNN, ResNet-18, Wide-ResNet.

Every network is a :class:`Net`, a pair of pure functions:

- ``init(key, x_sample) -> (params, state)``: ``x_sample`` is a ``(n, 32, 32, 3)`` batch of
  normalized training images (only the airbench net uses it, to initialise its frozen
  patch-whitening layer); ``params`` are trained, ``state`` (batch-norm running statistics,
  frozen weights) is not.
- ``apply(params, state, x, *, train, dtype) -> (logits, new_state)``: ``x`` is
  ``(B, 32, 32, 3)`` normalized float images, ``logits`` are ``(B, num_classes)`` float32.

Both are vmappable over a leading seed axis of ``params``/``state`` (``x`` shared or not).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from multiview.cifar.config import NetConfig
from multiview.cifar.layers import (
    batch_norm,
    bn_init,
    channel,
    conv,
    conv_init,
    dense,
    dense_init,
    max_pool,
)

__all__ = ["Net", "build_net", "param_count"]


class Net(NamedTuple):
    """A network as two pure functions (see the module docstring)."""

    init: Callable
    apply: Callable


def param_count(params) -> int:
    """Number of trained scalars in one model's ``params``."""
    return sum(int(x.size) for x in jax.tree_util.tree_leaves(params))


@functools.lru_cache(maxsize=32)
def build_net(cfg: NetConfig) -> Net:
    """The :class:`Net` that ``cfg`` names.

    Cached: equal configs give the same ``Net`` object, so the jitted training and evaluation
    functions (cached per ``Net`` in :mod:`multiview.cifar.train`) compile once per process.
    """
    w, c = cfg.base_width, cfg.num_classes
    if cfg.arch == "tiny":
        return _tiny_cnn((w, 2 * w, 4 * w), c)
    if cfg.arch == "airbench":
        return _airbench((w, 4 * w, 4 * w), c)
    if cfg.arch == "resnet18":
        return _resnet((w, 2 * w, 4 * w, 8 * w), (2, 2, 2, 2), c)
    return _wide_resnet(cfg.depth, w, c)


# ----------------------------------------------------------------------------- shared blocks


def _conv_bn_init(key, k, c_in, c_out):
    bn_p, bn_s = bn_init(c_out)
    return {"w": conv_init(key, k, k, c_in, c_out), "bn": bn_p}, {"bn": bn_s}


def _conv_bn(p, s, x, *, train, dtype, stride=1, momentum=0.9):
    y = conv(x, p["w"], stride=stride, dtype=dtype)
    y, bn_s = batch_norm(p["bn"], s["bn"], y, train=train, momentum=momentum, dtype=dtype)
    return y, {"bn": bn_s}


# ----------------------------------------------------------------------------- tiny CNN


def _tiny_cnn(widths, num_classes) -> Net:
    """[conv3x3 - BN - ReLU - maxpool2] per width, global average pool, linear head."""

    def init(key, x_sample=None):
        keys = jax.random.split(key, len(widths) + 1)
        params, state, c_in = {}, {}, 3
        for i, w in enumerate(widths):
            params[f"c{i}"], state[f"c{i}"] = _conv_bn_init(keys[i], 3, c_in, w)
            c_in = w
        params["head"] = dense_init(keys[-1], c_in, num_classes)
        return params, state

    def apply(params, state, x, *, train, dtype=jnp.float32):
        new_state = {}
        for i in range(len(widths)):
            x, new_state[f"c{i}"] = _conv_bn(
                params[f"c{i}"], state[f"c{i}"], x, train=train, dtype=dtype
            )
            x = max_pool(jax.nn.relu(x), 2)
        x = jnp.mean(x.astype(jnp.float32), axis=(1, 2))
        return dense(params["head"], x, dtype=dtype), new_state

    return Net(init, apply)


# ----------------------------------------------------------------------------- airbench-style


def _patches_2x2(x):
    """``(n, H, W, 3)`` -> ``(n, H-1, W-1, 12)`` 2x2 patches flattened in (h, w, c) order."""
    return jnp.concatenate([x[:, :-1, :-1], x[:, :-1, 1:], x[:, 1:, :-1], x[:, 1:, 1:]], axis=-1)


def whitening_kernel(x_sample: jax.Array, eps: float = 5e-4) -> jax.Array:
    """Airbench's frozen patch-whitening conv from data: ``(n, 32, 32, 3)`` -> ``(2, 2, 3, 24)``.

    The 12 eigenvectors of the 2x2-patch covariance, scaled by ``1/sqrt(eigenvalue + eps)``,
    and their negatives (so a following GELU keeps both signs).
    """
    p = _patches_2x2(x_sample.astype(jnp.float32)).reshape(-1, 12)
    cov = p.T @ p / p.shape[0]
    evals, evecs = jnp.linalg.eigh(cov)
    filters = evecs.T / jnp.sqrt(evals + eps).reshape(12, 1)  # (12 filters, 12 inputs)
    k = filters.reshape(12, 2, 2, 3).transpose(1, 2, 3, 0)
    return jnp.concatenate([k, -k], axis=-1)


def _torch_conv_init(key, k, c_in, c_out, *, dirac: bool) -> jax.Array:
    """PyTorch's default conv init, ``U(+-1/sqrt(fan_in))``, as airbench's tuned learning
    rates assume; with ``dirac`` the first ``min(c_in, c_out)`` filters are identities
    (airbench's ``dirac_``), so every block starts close to passing its input through.
    Shape ``(k, k, c_in, c_out)``."""
    bound = 1.0 / math.sqrt(k * k * c_in)
    w = jax.random.uniform(key, (k, k, c_in, c_out), jnp.float32, -bound, bound)
    if dirac:
        n = min(c_in, c_out)
        w = w.at[:, :, :, :n].set(0.0).at[k // 2, k // 2, :n, :n].set(jnp.eye(n))
    return w


def _airbench(widths, num_classes) -> Net:
    """Keller Jordan's airbench94 network: frozen 2x2 whitening conv (+ trained bias), GELU,
    three conv groups, a final 3x3 max pool, a bias-free linear head scaled by 1/9.

    Group: conv3x3 - maxpool2 - BN - GELU - conv3x3 - BN - GELU, with scale-free batch norms
    (bias only, eps 1e-12, momentum 0.6), exact GELU, PyTorch-default + dirac conv inits.
    """
    whiten_c = 24

    def init(key, x_sample=None):
        keys = jax.random.split(key, 2 * len(widths) + 2)
        if x_sample is None:
            kernel = 0.5 * jax.random.normal(keys[-1], (2, 2, 3, whiten_c), jnp.float32)
        else:
            kernel = whitening_kernel(x_sample)
        params = {"whiten_b": jnp.zeros((whiten_c,), jnp.float32)}
        state = {"whiten_w": kernel}
        c_in = whiten_c
        for i, w in enumerate(widths):
            bn_p, bn_s = bn_init(w)
            del bn_p["scale"]
            p1 = {"w": _torch_conv_init(keys[2 * i], 3, c_in, w, dirac=True), "bn": dict(bn_p)}
            p2 = {"w": _torch_conv_init(keys[2 * i + 1], 3, w, w, dirac=True), "bn": dict(bn_p)}
            params[f"g{i}"] = {"a": p1, "b": p2}
            state[f"g{i}"] = {"a": {"bn": dict(bn_s)}, "b": {"bn": dict(bn_s)}}
            c_in = w
        bound = 1.0 / math.sqrt(c_in)
        head = jax.random.uniform(keys[-2], (c_in, num_classes), jnp.float32, -bound, bound)
        params["head"] = {"w": head}
        return params, state

    def apply(params, state, x, *, train, dtype=jnp.float32):
        def bn(p, s, y):
            return batch_norm(p, s, y, train=train, momentum=0.6, eps=1e-12, dtype=dtype)

        def gelu(y):
            return jax.nn.gelu(y, approximate=False)

        x = conv(x, state["whiten_w"], padding="VALID", dtype=dtype)
        x = gelu(x + channel(params["whiten_b"].astype(dtype), 4))
        new_state = {"whiten_w": state["whiten_w"]}
        for i in range(len(widths)):
            p, s = params[f"g{i}"], state[f"g{i}"]
            x = max_pool(conv(x, p["a"]["w"], dtype=dtype), 2)
            x, bn_a = bn(p["a"]["bn"], s["a"]["bn"], x)
            x, bn_b = bn(p["b"]["bn"], s["b"]["bn"], conv(gelu(x), p["b"]["w"], dtype=dtype))
            x = gelu(x)
            new_state[f"g{i}"] = {"a": {"bn": bn_a}, "b": {"bn": bn_b}}
        # airbench's MaxPool2d(3): the map is 3x3 here (32 -> 31 -> 15 -> 7 -> 3), so one
        # window; a larger input would keep only the top-left 3x3, as there.
        x = jnp.max(x[:, :3, :3].astype(jnp.float32), axis=(1, 2))
        return dense(params["head"], x, dtype=dtype) / 9.0, new_state

    return Net(init, apply)


# ----------------------------------------------------------------------------- ResNet-18


def _resnet(widths, blocks, num_classes) -> Net:
    """CIFAR ResNet (3x3 stem, no stem pooling) of post-activation basic blocks."""
    layout = []  # (name, c_in, c_out, stride)
    c_in = widths[0]
    for si, (w, n) in enumerate(zip(widths, blocks, strict=True)):
        for bi in range(n):
            layout.append((f"s{si}b{bi}", c_in, w, 2 if (si > 0 and bi == 0) else 1))
            c_in = w

    def init(key, x_sample=None):
        keys = jax.random.split(key, 3 * len(layout) + 2)
        params, state = {}, {}
        params["stem"], state["stem"] = _conv_bn_init(keys[0], 3, 3, widths[0])
        for j, (name, ci, co, stride) in enumerate(layout):
            p, s = {}, {}
            p["a"], s["a"] = _conv_bn_init(keys[3 * j + 1], 3, ci, co)
            p["b"], s["b"] = _conv_bn_init(keys[3 * j + 2], 3, co, co)
            if stride != 1 or ci != co:
                p["proj"], s["proj"] = _conv_bn_init(keys[3 * j + 3], 1, ci, co)
            params[name], state[name] = p, s
        params["head"] = dense_init(keys[-1], widths[-1], num_classes)
        return params, state

    def apply(params, state, x, *, train, dtype=jnp.float32):
        kw = {"train": train, "dtype": dtype}
        new_state = {}
        x, new_state["stem"] = _conv_bn(params["stem"], state["stem"], x, **kw)
        x = jax.nn.relu(x)
        for name, _, _, stride in layout:
            p, s, ns = params[name], state[name], {}
            y, ns["a"] = _conv_bn(p["a"], s["a"], x, stride=stride, **kw)
            y, ns["b"] = _conv_bn(p["b"], s["b"], jax.nn.relu(y), **kw)
            if "proj" in p:
                x, ns["proj"] = _conv_bn(p["proj"], s["proj"], x, stride=stride, **kw)
            x = jax.nn.relu(x + y)
            new_state[name] = ns
        x = jnp.mean(x.astype(jnp.float32), axis=(1, 2))
        return dense(params["head"], x, dtype=dtype), new_state

    return Net(init, apply)


# ----------------------------------------------------------------------------- Wide-ResNet


def _wide_resnet(depth, widen, num_classes) -> Net:
    """WRN-depth-widen (Zagoruyko & Komodakis): pre-activation blocks, (16k, 32k, 64k)."""
    n = (depth - 4) // 6
    widths = (16 * widen, 32 * widen, 64 * widen)
    layout = []
    c_in = 16
    for si, w in enumerate(widths):
        for bi in range(n):
            layout.append((f"s{si}b{bi}", c_in, w, 2 if (si > 0 and bi == 0) else 1))
            c_in = w

    def init(key, x_sample=None):
        keys = jax.random.split(key, 3 * len(layout) + 2)
        params = {"stem": conv_init(keys[0], 3, 3, 3, 16)}
        state = {}
        for j, (name, ci, co, stride) in enumerate(layout):
            (bn1, bs1), (bn2, bs2) = bn_init(ci), bn_init(co)
            p = {
                "bn1": bn1,
                "bn2": bn2,
                "w1": conv_init(keys[3 * j + 1], 3, 3, ci, co),
                "w2": conv_init(keys[3 * j + 2], 3, 3, co, co),
            }
            if stride != 1 or ci != co:
                p["proj"] = conv_init(keys[3 * j + 3], 1, 1, ci, co)
            params[name], state[name] = p, {"bn1": bs1, "bn2": bs2}
        params["bn"], state["bn"] = bn_init(widths[-1])
        params["head"] = dense_init(keys[-1], widths[-1], num_classes)
        return params, state

    def apply(params, state, x, *, train, dtype=jnp.float32):
        new_state = {}
        x = conv(x, params["stem"], dtype=dtype)
        for name, _, _, stride in layout:
            p, s = params[name], state[name]
            o, s1 = batch_norm(p["bn1"], s["bn1"], x, train=train, dtype=dtype)
            o = jax.nn.relu(o)
            shortcut = conv(o, p["proj"], stride=stride, dtype=dtype) if "proj" in p else x
            y = conv(o, p["w1"], stride=stride, dtype=dtype)
            y, s2 = batch_norm(p["bn2"], s["bn2"], y, train=train, dtype=dtype)
            y = conv(jax.nn.relu(y), p["w2"], dtype=dtype)
            x = shortcut + y
            new_state[name] = {"bn1": s1, "bn2": s2}
        x, new_state["bn"] = batch_norm(params["bn"], state["bn"], x, train=train, dtype=dtype)
        x = jnp.mean(jax.nn.relu(x).astype(jnp.float32), axis=(1, 2))
        return dense(params["head"], x, dtype=dtype), new_state

    return Net(init, apply)
