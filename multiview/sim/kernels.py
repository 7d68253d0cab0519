"""Kernel models: random features and the empirical NTK of the same two-layer network.

Two "lazy" versions of the network ``F_i(X) = sum_r sum_p ReLU~(<w_{i,r}, x_p>)``:

- ``rf`` (random features): ``M = rf_width`` first-layer neurons ``w_r ~ N(0, (rf_scale *
  init_std)^2 I)`` frozen at their random init, shared by the classes; features
  ``phi_r(X) = sum_p ReLU~(<w_r, x_p>)``; only a linear read-out per class is trained,
  ``F_i(X) = <a_i, phi(X)>``, from ``a = 0``.
- ``ntk`` (empirical NTK): the first-order Taylor expansion of the network at its random
  init ``W0`` (``init_weights``), ``F(W0; X) + <grad_W F(W0; X), W - W0>``, trained in ``W``
  by GD from ``W = W0``. :func:`ntk_linearize` writes it with ``jax.linearize``; training
  uses the per-sample Jacobians of :func:`ntk_features` (``F_i`` depends on ``w_i`` only, so
  the Jacobian is block-diagonal and one ``grad`` per sample gives all of it).

Both are linear models ``z_i = f0_i + <theta_i, Phi_i(X)>`` (RF: ``Phi_i = phi`` for every
class, ``f0 = 0``; NTK: ``Phi_i = dF_i/dw_i``, ``f0 = F(W0)``), and GD from ``theta = 0``
keeps ``theta_i`` in the span of the training features. So GD runs in the exact dual
parameterization: with the Gram matrix ``K_c = Phi_c Phi_c^T = U diag(lam) U^T`` (``(n, n)``,
``c`` = 1 shared block for RF, k blocks for NTK), train ``gamma_i`` on features
``Psi_c = U diag(sqrt(lam / s))`` and read back ``theta_i = Phi_c^T beta_i``,
``beta_i = U diag(1 / sqrt(lam s)) gamma_i``. GD on ``gamma`` with step ``eta'`` gives the
same iterates as GD on ``theta`` with step ``eta' / s`` (eigen-directions below
``eig_floor * max(lam)`` are dropped: they would move by less than that fraction).

Step size and length (the models are convex): ``s = max_c lam_max(K_c) / n``, so
``lam_max(Psi^T Psi / n) = 1``; the softmax cross-entropy's Hessian in the scores is at most
``1/2``, so the loss is ``1/2``-smooth in ``gamma`` and GD with ``lr = 2 lr_factor``
(``lr_factor = 1``: step ``1 / L``) is monotone. Every model (single, student, average) gets
its own ``s``, i.e. the step ``1 / L`` of its own loss. At the default preset the training
accuracy is 1 and the training loss ends near 0.05 (RF, 4000 steps: its Gram is
ill-conditioned) and 0.01 (NTK, 500 steps: well-conditioned); the data are separable.

The experiments on these models are in :mod:`multiview.experiments.baselines`. Jitted
pieces are module-level or cached factories, so nothing recompiles per model or per seed.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

from multiview.sim.config import ModelConfig, SimConfig, TheoremsConfig
from multiview.sim.experiment_config import KernelConfig
from multiview.sim.losses import cross_entropy_with_accuracy, kd_objective
from multiview.sim.model import forward, init_weights, smoothed_relu
from multiview.sim.train import train

__all__ = [
    "rf_init",
    "rf_features",
    "rf_feature_map",
    "ntk_linearize",
    "ntk_features",
    "ntk_jacobian_fn",
    "ntk_scores",
    "gram_and_offset",
    "dual_features",
    "contract",
    "linear_loss_fn",
    "train_linear",
    "init_frozen",
    "member_scores",
    "sample_weights",
]

# --------------------------------------------------------------------------- the two kinds


def rf_init(cfg: SimConfig, kc: KernelConfig, key: jax.Array) -> jax.Array:
    """Frozen random first layer of an RF model: ``(M, d)``."""
    std = kc.rf_scale * cfg.model.init_std
    return std * jax.random.normal(key, (kc.rf_width, cfg.data.d), jnp.float32)


@jax.jit
def rf_feature_map(w, x, q, varrho):
    pre = jnp.einsum("md,npd->nmp", w, x)
    return smoothed_relu(pre, q, varrho).sum(-1)


def rf_features(model: ModelConfig, w: jax.Array, x: jax.Array, batch: int = 250) -> np.ndarray:
    """``phi_r(X) = sum_p ReLU~(<w_r, x_p>)``: ``(n, M)`` from ``w (M, d)``, ``x (n, P, d)``."""
    out = [
        np.asarray(rf_feature_map(w, x[i : i + batch], model.q, model.varrho))
        for i in range(0, x.shape[0], batch)
    ]
    return np.concatenate(out, axis=0)


def ntk_linearize(model: ModelConfig, w0: jax.Array, x: jax.Array):
    """The linearized network at ``w0 (k, m, d)`` on ``x (n, P, d)``.

    Returns:
        ``(f0, lin)``: ``f0 = F(W0; x)`` ``(n, k)`` and ``lin(dw) = <grad F(W0; x), dw>``
        ``(n, k)`` (from ``jax.linearize``), so the NTK model is ``f0 + lin(W - W0)``.
    """
    return jax.linearize(lambda w: forward(model, w, x), w0)


def ntk_features(model: ModelConfig, w0: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``f0 = F(W0; X)`` ``(n, k)`` and the Jacobian blocks ``dF_i/dw_i`` ``(n, k, m, d)``.

    ``F_i`` depends on ``w_i`` only, so the gradient of ``sum_i F_i(X_n)`` holds every
    non-zero block of sample n's Jacobian:
    ``f0 + einsum("nkmd,kmd->nk", J, dw)`` is the linearization at ``dw``.
    """
    f0 = forward(model, w0, x)
    g = jax.vmap(lambda xn: jax.grad(lambda w: forward(model, w, xn[None]).sum())(w0))(x)
    return f0, g


@jax.jit
def _ntk_scores_jit(w0, dw, x, q, varrho):
    model_fn = lambda w: smoothed_relu(  # noqa: E731
        jnp.einsum("kmd,npd->nkmp", w, x), q, varrho
    ).sum((2, 3))
    f0, lin = jax.jvp(model_fn, (w0,), (dw,))
    return f0 + lin


def ntk_scores(model: ModelConfig, w0, dw, x, batch: int = 250) -> np.ndarray:
    """Scores ``F(W0; x) + <grad F(W0; x), dw>`` ``(n, k)`` (by ``jax.jvp``, in batches)."""
    out = [
        np.asarray(_ntk_scores_jit(w0, dw, x[i : i + batch], model.q, model.varrho))
        for i in range(0, x.shape[0], batch)
    ]
    return np.concatenate(out, axis=0)


@functools.lru_cache(maxsize=16)
def ntk_jacobian_fn(model: ModelConfig):
    """Jitted ``(w0 (k, m, d), x (n, P, d)) -> (f0 (n, k), J (n, k, m, d))``: :func:`ntk_features`
    compiled once per model config."""

    def ntk_jacobian(w, xb):
        return ntk_features(model, w, xb)

    return jax.jit(ntk_jacobian)


def _ntk_jac(model: ModelConfig, w0, x, batch: int) -> tuple[np.ndarray, np.ndarray]:
    f = ntk_jacobian_fn(model)
    parts = [f(w0, x[i : i + batch]) for i in range(0, x.shape[0], batch)]
    return (
        np.concatenate([np.asarray(p[0]) for p in parts]),
        np.concatenate([np.asarray(p[1]) for p in parts]),
    )


@jax.jit
def _gram(feats: jax.Array) -> jax.Array:
    """``(c, n, n)`` Gram blocks of ``(n, c, D)`` features."""
    return jnp.einsum("ncD,NcD->cnN", feats, feats)


def gram_and_offset(kind: str, cfg: SimConfig, p0, x: jax.Array, batch: int = 250):
    """Training-set Gram blocks and offsets of one model.

    Arguments:
        kind: ``rf`` or ``ntk``.
        p0: the frozen part, RF ``w (M, d)``, NTK ``w0 (k, m, d)``.
        x: ``(n, P, d)`` training inputs.

    Returns:
        ``(gram, f0, feats)``: ``gram (c, n, n)`` (``c = 1`` for RF, ``k`` for NTK),
        ``f0 (n, k)`` and the training features ``(n, c, D)`` (RF ``D = M``, NTK ``m * d``).
    """
    if kind == "rf":
        phi = rf_features(cfg.model, p0, x, batch)[:, None, :]
        f0 = np.zeros((x.shape[0], cfg.data.k), np.float32)
    else:
        f0, jac = _ntk_jac(cfg.model, p0, x, batch)
        phi = jac.reshape(*jac.shape[:2], -1)
    return np.asarray(_gram(jnp.asarray(phi))), f0, phi


@jax.jit
def _eigh(gram: jax.Array):
    return jnp.linalg.eigh(gram)


def dual_features(gram: np.ndarray, eig_floor: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Features ``Psi`` for GD in the dual and the map back to sample weights.

    Arguments:
        gram: ``(c, n, n)`` Gram blocks of one model.
        eig_floor: eigen-directions below this fraction of the largest eigenvalue are
            dropped (float32 eigendecomposition: below ~1e-6 they are round-off anyway).

    Returns:
        ``psi (n, c, n)`` float32 with ``lam_max(Psi_c^T Psi_c / n) <= 1`` (= 1 for the
        largest block) and ``back (c, n, n)``: ``beta_c = back_c @ gamma_c`` gives
        ``theta_c = Phi_c^T beta_c``.
    """
    c, n, _ = gram.shape
    scale = float(np.abs(gram).max()) or 1.0
    lam, U = _eigh(jnp.asarray(gram / scale, jnp.float32))  # (c, n), (c, n, n)
    lam, U = np.asarray(lam, np.float64) * scale, np.asarray(U, np.float64)
    top = lam.max()
    s = top / n if top > 0 else 1.0
    keep = lam > eig_floor * top
    lam_k = np.where(keep, lam, 1.0)
    psi = np.where(keep[:, None, :], U * np.sqrt(lam_k / s)[:, None, :], 0.0)
    back = np.where(keep[:, None, :], U / np.sqrt(lam_k * s)[:, None, :], 0.0)
    return np.moveaxis(psi, 0, 1).astype(np.float32), back


def contract(psi: jax.Array, gamma: jax.Array) -> jax.Array:
    """Scores ``(n, k)`` of ``psi (n, c, r)`` (c = 1 or k) and ``gamma (k, r)``."""
    if psi.shape[1] == 1:
        return psi[:, 0, :] @ gamma.T
    return jnp.einsum("nkr,kr->nk", psi, gamma)


@functools.lru_cache(maxsize=16)
def linear_loss_fn(th: TheoremsConfig, k: int, kd: bool):
    """Loss of one dual linear model ``params = {gamma (k, r), psi (n, c, r), f0 (n, k)
    [, teacher (n, k)]}`` (everything but ``gamma`` frozen): CE, or ``th``'s KD loss."""
    tau = th.kd_temperature(k)  # the divisor of the tempered softmax

    def loss_fn(params, data, idx):
        psi = jax.lax.stop_gradient(params["psi"])
        f = jax.lax.stop_gradient(params["f0"]) + contract(psi, params["gamma"])
        ce, acc = cross_entropy_with_accuracy(f, data["y"])
        if not kd:
            return ce, {"acc": acc}
        g = jax.lax.stop_gradient(params["teacher"])
        return kd_objective(th, tau, f, g, ce), {"acc": acc, "ce": ce}

    return loss_fn


def train_linear(
    th: TheoremsConfig,
    cfg: SimConfig,
    kc: KernelConfig,
    steps: int,
    psi: np.ndarray,
    f0: np.ndarray,
    y: jax.Array,
    keys: jax.Array,
    teacher: np.ndarray | None = None,
    on_chunk=None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """GD on a batch of dual linear models (vmapped over the leading axis by ``train``).

    Arguments:
        psi: ``(S, n, c, r)``; f0: ``(S, n, k)``; y: ``(n,)``; keys: ``(S,)``;
        teacher: ``(S, n, k)`` teacher scores (KD) or None (cross-entropy).

    Returns:
        ``gamma (S, k, r)`` and final ``{"loss", "acc"}`` ``(S,)``.
    """
    S, n, _, r = psi.shape
    k = f0.shape[-1]
    params = {
        "gamma": jnp.zeros((S, k, r), jnp.float32),
        "psi": jnp.asarray(psi),
        "f0": jnp.asarray(f0, jnp.float32),
    }
    if teacher is not None:
        params["teacher"] = jnp.asarray(teacher, jnp.float32)
    tcfg = replace(
        cfg.train,
        steps=steps,
        lr=2.0 * kc.lr_factor,
        batch_size=0,
        log_points=4,
        chunks=min(cfg.train.chunks, 10),
    )
    params, hist = train(
        linear_loss_fn(th, k, teacher is not None),
        params,
        {"y": y},
        tcfg,
        n_train=n,
        keys=keys,
        on_chunk=on_chunk,
    )
    last = {"loss": hist.records["loss"][:, -1], "acc": hist.records["acc"][:, -1]}
    return np.asarray(params["gamma"]), last


def init_frozen(kind: str, cfg: SimConfig, kc: KernelConfig, keys: jax.Array) -> jax.Array:
    """The frozen parts of models ``(S,)`` keys: RF ``w (S, M, d)``, NTK ``w0 (S, k, m, d)``."""
    if kind == "rf":
        return jax.vmap(lambda kk: rf_init(cfg, kc, kk))(keys)
    return jax.vmap(lambda kk: init_weights(cfg.model, cfg.data.k, cfg.data.d, kk))(keys)


def member_scores(kind, cfg, kc, p0, feats, beta, xs) -> list[np.ndarray]:
    """Scores of one member with sample weights ``beta (k, n)`` on each of ``xs``."""
    if kind == "rf":
        theta = feats[:, 0, :].T @ beta.T.astype(np.float32)  # (M, k)
        return [rf_features(cfg.model, p0, x, kc.batch) @ theta for x in xs]
    dw = np.einsum("nkD,kn->kD", feats, beta.astype(np.float32)).reshape(p0.shape)
    dw = jnp.asarray(dw, jnp.float32)
    return [ntk_scores(cfg.model, p0, dw, x, kc.batch) for x in xs]


def sample_weights(back: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """``beta (k, n)`` from ``back (c, n, r)`` and ``gamma (k, r)``."""
    if back.shape[0] == 1:
        return gamma.astype(np.float64) @ back[0].T
    return np.einsum("knr,kr->kn", back, gamma.astype(np.float64))
