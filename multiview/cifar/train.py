"""Training many CNNs at once: SGD-Nesterov, warm-up + decay, data resident on the device.

One call to :func:`train_models` trains ``runs`` independent runs (seeds) side by side. A run
is ``members`` models whose logits are averaged before the loss: ``members = 1`` is an
ordinary model, ``members = K`` is the paper's "training the average" of K models. Every
parameter leaf therefore has the leading axes ``(runs, members)``.

How the runs (and members) are spread over the device is
:attr:`~multiview.cifar.config.CifarTrainConfig.seed_parallel`:

- ``vmap``: one batched program; ideal on a GPU. On the XLA CPU backend a vmapped conv with
  per-seed weights becomes a grouped convolution that is ~5x slower than separate convs.
- ``unroll``: a Python loop inside the jitted step, one sub-graph per seed (fast on CPU).
- ``map``: ``lax.map``, a rolled loop (small programs, slowest on CPU).
- ``auto``: ``vmap`` on an accelerator, ``unroll`` on CPU.

The epoch loop is driven from Python, one jitted step per mini-batch: on the CPU backend a
conv training loop inside a rolled ``lax.scan`` is ~15x slower (benchmarks/CIFAR.md).
After every epoch the whole training state is checkpointed atomically, so an interrupted run
resumes from its last finished epoch with bit-identical data order.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from multiview.cifar.augment import alternating_flips, augment, normalize
from multiview.cifar.checkpoint import checkpoint_tag, load_checkpoint, save_checkpoint
from multiview.cifar.config import SEED_PARALLEL, CifarTrainConfig, DistillConfig
from multiview.cifar.data import class_balanced_subset
from multiview.cifar.losses import cross_entropy, distillation_loss
from multiview.cifar.nets import Net
from multiview.cifar.optim import lookahead_init, lookahead_step, make_optimizer
from multiview.errors import ConfigError
from multiview.stats import accuracy

__all__ = [
    "make_init",
    "make_epoch_keys",
    "make_step",
    "step_batch",
    "TEACHER_INPUTS",
    "EpochReport",
    "Trained",
    "map_models",
    "resolve_strategy",
    "train_models",
]

# Images the airbench whitening layer is fitted on (airbench94: 5,000).
WHITEN_SAMPLE = 5000


class EpochReport(NamedTuple):
    """What the progress callback sees after each epoch: ``loss``/``accuracy`` are ``(runs,)``
    training means over the epoch's (augmented) mini-batches."""

    name: str
    epoch: int
    epochs: int
    loss: np.ndarray
    accuracy: np.ndarray
    resumed: bool = False


class Trained(NamedTuple):
    """Trained models: every leaf of ``params``/``state`` has leading axes ``(runs, members)``."""

    params: Any
    state: Any


def resolve_strategy(strategy: str) -> str:
    """``auto`` -> ``vmap`` on an accelerator, ``unroll`` on CPU; others unchanged."""
    if strategy == "auto":
        return "unroll" if jax.default_backend() == "cpu" else "vmap"
    return strategy


def map_models(fn: Callable, strategy: str, *args):
    """Map ``fn`` over the leading axis of every pytree in ``args``; stack the results.

    ``strategy``: ``vmap``, ``unroll`` (Python loop, traced once per index) or ``map``
    (``lax.map``). All three give the same values.
    """
    n = jax.tree_util.tree_leaves(args)[0].shape[0]
    if strategy == "vmap":
        return jax.vmap(fn)(*args)
    if strategy == "map":
        return lax.map(lambda a: fn(*a), args)
    if strategy != "unroll":
        raise ConfigError(f"seed_parallel must be one of {SEED_PARALLEL}; got {strategy!r}")
    outs = [fn(*jax.tree_util.tree_map(lambda x, i=i: x[i], args)) for i in range(n)]
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *outs)


def _members_logits(net: Net, strategy: str, params, state, x, *, train: bool, dtype):
    """Logits ``(members, B, C)`` and new states of one run's ``members`` models on ``x``."""

    def one(p, s):
        return net.apply(p, s, x, train=train, dtype=dtype)

    if jax.tree_util.tree_leaves(params)[0].shape[0] == 1:
        logits, new_state = one(*jax.tree_util.tree_map(lambda a: a[0], (params, state)))
        return logits[None], jax.tree_util.tree_map(lambda a: a[None], new_state)
    return map_models(one, strategy, params, state)


@functools.lru_cache(maxsize=16)
def make_init(net: Net, cfg: CifarTrainConfig, members: int, steps_per_epoch: int):
    """Jitted ``(run_keys (runs,), x_sample) -> (params, state, opt_state)``, cached so that
    repeated calls with the same net and recipe compile once."""
    opt = make_optimizer(cfg, steps_per_epoch, model_axes=1)  # leaves: (members, ...)

    @jax.jit
    def init(run_keys, x_sample):
        def init_run(k):
            ks = jax.random.split(jax.random.fold_in(k, 0), members)
            return jax.vmap(lambda kk: net.init(kk, x_sample))(ks)

        params, state = jax.vmap(init_run)(run_keys)
        opt_state = jax.vmap(opt.init)(params)
        if cfg.lookahead_every:  # the EMA travels with the optimizer state (checkpoints)
            opt_state = (opt_state, lookahead_init(params, state))
        return params, state, opt_state

    return init


@functools.lru_cache(maxsize=16)
def make_epoch_keys(n: int):
    """Jitted ``(run_keys (runs,), epoch) -> (perms (runs, n) int32, epoch keys (runs,),
    flips (runs, n) bool)``; ``flips`` is :func:`alternating_flips` of each run (used only
    with ``flip_mode="alternating"``)."""

    @jax.jit
    def epoch_keys(run_keys, epoch):
        keys = jax.vmap(lambda k: jax.random.fold_in(jax.random.fold_in(k, 1), epoch))(run_keys)
        perms = jax.vmap(lambda k: jax.random.permutation(jax.random.fold_in(k, 0), n))(keys)
        flips = jax.vmap(lambda k: alternating_flips(jax.random.fold_in(k, 2), n, epoch))(run_keys)
        return perms.astype(jnp.int32), keys, flips

    return epoch_keys


def step_batch(
    cfg: CifarTrainConfig, perm, key, flips, step, batch: int, x_all, y_all
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Mini-batch ``step`` of one run's epoch: ``(indices (B,), augmented normalized images
    (B, 32, 32, 3), labels (B,))``. ``perm`` ``(N,)``, ``key``, ``flips`` ``(N,)``: the run's
    row of :func:`make_epoch_keys`. The student and a consistent teacher both read this batch."""
    idx = lax.dynamic_slice(perm, (step * batch,), (batch,))
    xb = augment(
        jax.random.fold_in(key, step),
        x_all[idx],
        crop_padding=cfg.crop_padding,
        flip=cfg.flip,
        pad_mode=cfg.crop_pad_mode,
        flip_mask=flips[idx] if cfg.flip_mode == "alternating" else None,
    )
    return idx, xb, y_all[idx]


TEACHER_INPUTS = (None, "logits", "models")


@functools.lru_cache(maxsize=16)
def make_step(
    net: Net,
    cfg: CifarTrainConfig,
    distill: DistillConfig,
    strategy: str,
    batch: int,
    steps_per_epoch: int,
    teacher_input: str | None = "logits",
):
    """The jitted training step of all runs (cached per net, recipe, shapes and teacher input).

    ``step(params, state, opt_state, perms (runs, N), keys (runs,), flips (runs, N),
    teacher, epoch, step, x_all (N, 32, 32, 3) uint8, y_all (N,))`` ->
    ``(params, state, opt_state, loss (runs,), accuracy (runs,))``; ``step`` counts within
    the epoch, ``perms``/``keys``/``flips`` come from :func:`make_epoch_keys`.

    ``teacher`` by ``teacher_input``: ``"logits"``: ``(runs, N, C)`` logits computed once
    (or None: cross-entropy only); ``"models"``: a ``(params, state)`` pair with leaves
    ``(runs, teacher members, ...)``, run in evaluation mode on the step's own augmented batch
    (:func:`step_batch`) and averaged over members: the consistent teacher, seed-parallel like
    the students (``strategy``), outside the gradient.
    """
    if teacher_input not in TEACHER_INPUTS:
        raise ConfigError(f"teacher_input must be one of {TEACHER_INPUTS}; got {teacher_input!r}")
    opt = make_optimizer(cfg, steps_per_epoch, model_axes=1)  # leaves: (members, ...)
    dtype = cfg.dtype
    total = cfg.epochs * steps_per_epoch

    def run_step(
        params, state, opt_state, perm, key, flips, teacher_run, epoch, step, x_all, y_all
    ):
        idx, xb, yb = step_batch(cfg, perm, key, flips, step, batch, x_all, y_all)
        if teacher_input == "models":
            t_logits, _ = _members_logits(net, strategy, *teacher_run, xb, train=False, dtype=dtype)
            teacher_b = lax.stop_gradient(jnp.mean(t_logits.astype(jnp.float32), axis=0))
        elif teacher_run is not None:
            teacher_b = teacher_run[idx]

        def loss_fn(p):
            member_logits, new_state = _members_logits(
                net, strategy, p, state, xb, train=True, dtype=dtype
            )
            logits = jnp.mean(member_logits, axis=0)
            if teacher_run is None:
                loss = cross_entropy(logits, yb, smoothing=cfg.label_smoothing)
            else:
                loss = distillation_loss(
                    logits,
                    yb,
                    teacher_b,
                    alpha=distill.alpha,
                    temperature=distill.temperature,
                    smoothing=cfg.label_smoothing,
                )
            return loss, (new_state, loss, accuracy(logits, yb, xp=jnp))

        grads, (new_state, loss, acc) = jax.grad(loss_fn, has_aux=True)(params)
        if not cfg.lookahead_every:
            updates, opt_state = opt.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), new_state, opt_state, loss, acc
        inner, ema = opt_state
        updates, inner = opt.update(grads, inner, params)
        t = epoch * steps_per_epoch + step + 1
        params, new_state, ema = lookahead_step(
            cfg, total, t, optax.apply_updates(params, updates), new_state, ema
        )
        return params, new_state, (inner, ema), loss, acc

    @jax.jit
    def step_fn(params, state, opt_state, perms, keys, flips, teacher, epoch, step, x_all, y_all):
        def one(p, s, o, pm, k, f, t):
            return run_step(p, s, o, pm, k, f, t, epoch, step, x_all, y_all)

        return map_models(one, strategy, params, state, opt_state, perms, keys, flips, teacher)

    return step_fn


def train_models(
    net: Net,
    cfg: CifarTrainConfig,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    key: jax.Array,
    runs: int,
    members: int = 1,
    teacher_logits: np.ndarray | None = None,
    teacher_models: Trained | None = None,
    distill: DistillConfig | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = True,
    progress: Callable[[EpochReport], None] | None = None,
    name: str = "models",
    data_key: jax.Array | None = None,
    data_fingerprint: str = "",
) -> Trained:
    """Train ``runs`` runs of ``members`` averaged models; see the module docstring.

    Arguments:
        net: the network.
        cfg: the recipe.
        images: ``(N, 32, 32, 3)`` uint8 training images (moved to the device once).
        labels: ``(N,)`` int labels.
        key: PRNG key; run ``r``'s initialization and data order come from ``fold_in(key, r)``.
        runs: independent runs (seeds), >= 1.
        members: models averaged inside each run, >= 1.
        teacher_logits: ``(runs, N, C)`` logits of each run's teacher on the (un-augmented)
            training images (the precomputed teacher); with it the loss is
            :func:`distillation_loss`.
        teacher_models: instead of ``teacher_logits``, each run's teacher models (leaves
            ``(runs, teacher members, ...)``), run on the student's own augmented batches
            inside the step (the consistent teacher, :func:`make_step`).
        distill: the distillation settings (default :class:`DistillConfig`).
        checkpoint: ``.npz`` path written after every epoch; read on start when ``resume``.
        resume: continue from ``checkpoint`` if it exists and matches this call.
        progress: called with an :class:`EpochReport` after every epoch.
        name: label for progress reports.
        data_key: when given, run ``r``'s data order and augmentation come from
            ``fold_in(data_key, r)`` instead (its initialization still from ``key``): a
            student given its single model's key sees the same batches (paired comparisons).
        data_fingerprint: the source data's hash, part of the checkpoint's tag (other data
            of the same size never resumes this checkpoint).

    Returns :class:`Trained` with leaves ``(runs, members, ...)``.
    """
    if runs < 1 or members < 1:
        raise ConfigError(f"runs and members must be >= 1; got {runs}, {members}")
    n = int(images.shape[0])
    if teacher_logits is not None and teacher_logits.shape[:2] != (runs, n):
        raise ConfigError(
            f"teacher_logits must be (runs={runs}, N={n}, C); got {teacher_logits.shape}"
        )
    if teacher_models is not None and (
        teacher_logits is not None
        or jax.tree_util.tree_leaves(teacher_models.params)[0].shape[0] != runs
    ):
        raise ConfigError(f"teacher_models need leaves (runs={runs}, members, ...), no logits")
    distill = distill or DistillConfig()
    strategy = resolve_strategy(cfg.seed_parallel)
    batch = min(cfg.batch_size, n)
    steps_per_epoch = n // batch
    init = make_init(net, cfg, members, steps_per_epoch)
    teacher_input = "models" if teacher_models is not None else "logits"
    step_fn = make_step(net, cfg, distill, strategy, batch, steps_per_epoch, teacher_input)
    epoch_keys = make_epoch_keys(n)

    x_all = jnp.asarray(images)
    y_all = jnp.asarray(labels, jnp.int32)
    teacher = None if teacher_logits is None else jnp.asarray(teacher_logits, jnp.float32)
    if teacher_models is not None:
        teacher = jax.tree_util.tree_map(jnp.asarray, (teacher_models.params, teacher_models.state))
    run_keys = jax.vmap(lambda r: jax.random.fold_in(key, r))(jnp.arange(runs))
    dkey = key if data_key is None else data_key
    data_keys = jax.vmap(lambda r: jax.random.fold_in(dkey, r))(jnp.arange(runs))

    # airbench whitens with the first 5,000 images of CIFAR's shuffled order, i.e. a random
    # sample; an image-folder set is stored class by class, where the first 5,000 would be
    # one class (measured: all airplanes). So a class-balanced random sample, the same for
    # every run (as there), independent of how the files were ordered.
    whiten_idx = class_balanced_subset(np.asarray(labels), min(n, WHITEN_SAMPLE), 0)
    x_sample = normalize(x_all[jnp.asarray(whiten_idx)])
    params, state, opt_state = init(run_keys, x_sample)
    start, resumed = 0, False
    path = Path(checkpoint) if checkpoint is not None else None
    label = name if data_key is None else f"{name}|data={jax.random.key_data(data_key).tolist()}"
    label += f"|source={data_fingerprint}" if data_fingerprint else ""
    # The teacher mode is part of the tag: a consistent and a precomputed student differ.
    mode = "consistent" if teacher_models is not None else "precomputed"
    tag_distill = dataclasses.replace(distill, teacher=mode) if teacher is not None else None
    tag = checkpoint_tag(cfg, tag_distill, key, label, runs, members, n)
    if path is not None and resume and path.exists():
        loaded = load_checkpoint(path, tag, (params, state, opt_state))
        if loaded is not None:
            start, (params, state, opt_state) = loaded
            resumed = True
    for epoch in range(start, cfg.epochs):
        perms, keys, flips = epoch_keys(data_keys, epoch)
        losses, accs = [], []
        for step in range(steps_per_epoch):
            params, state, opt_state, loss, acc = step_fn(
                params, state, opt_state, perms, keys, flips, teacher, epoch, step, x_all, y_all
            )
            losses.append(loss)
            accs.append(acc)
        if path is not None:
            save_checkpoint(path, tag, epoch + 1, (params, state, opt_state))
        if progress is not None:
            progress(
                EpochReport(
                    name,
                    epoch + 1,
                    cfg.epochs,
                    np.mean(np.stack(losses), 0),
                    np.mean(np.stack(accs), 0),
                    resumed,
                )
            )
    if progress is not None and start == cfg.epochs:
        progress(
            EpochReport(
                name, cfg.epochs, cfg.epochs, np.full(runs, np.nan), np.full(runs, np.nan), True
            )
        )
    return Trained(params, state)
