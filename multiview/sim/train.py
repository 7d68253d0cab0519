"""Seed-parallel gradient descent: the whole run jit-compiled once, vmapped over seeds.

The run is driven as ``cfg.chunks`` calls of one jitted function (a *chunk*: a ``lax.scan``
over ``chunk_steps`` steps of every seed at once, ``vmap`` over the leading seed axis of the
parameters; the data are shared). All chunks have the same shapes, and the jitted chunk is
built by a factory cached on ``(loss_fn, record_fn, cfg, n_train, mesh)``, so a sweep, and
every later block of seeds of the same size, compiles exactly once; steps past ``cfg.steps``
in the last chunk are masked out. Between chunks the
host copies out the per-step records and keeps those at log-spaced steps, and a progress
callback can report.

Any loss works: ``loss_fn(params, data, batch_index) -> (loss, aux)`` for *one* seed, where
``batch_index`` is ``None`` for full-batch GD or an ``(batch_size,)`` index array for SGD.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from multiview.sim.config import TrainConfig
from multiview.sim.parallel import (
    replicated_sharding,
    seed_mesh,
    seed_sharding,
    shard_seeds,
    unpad_seeds,
)

__all__ = ["History", "log_steps", "make_chunk", "train"]

PyTree = Any


class History(NamedTuple):
    """Trajectories at log-spaced steps.

    Attributes:
        steps: ``(T,)`` int, the number of updates done at each record (0 = initialization).
        records: dict of ``(seeds, T, ...)`` numpy arrays: ``loss`` and the aux values of the
            loss (measured before the update of that step, so at ``steps - 1`` for T > 0), and
            whatever ``record_fn`` returns (measured after the update).
    """

    steps: np.ndarray
    records: dict[str, np.ndarray]


def log_steps(total: int, points: int) -> np.ndarray:
    """``points`` (or fewer, after de-duplication) log-spaced step counts in ``[0, total]``."""
    s = np.unique(np.round(np.logspace(0, np.log10(total), points - 1)).astype(int))
    return np.concatenate([[0], s[(s >= 1) & (s <= total)]])


@functools.lru_cache(maxsize=64)
def make_chunk(loss_fn, record_fn, cfg: TrainConfig, n_train: int, mesh=None):
    """One jitted chunk: ``(params (S, ...), data, start, keys (S,)) -> (params, records)``.

    With a ``mesh``, the seed axis of params, keys and every output is split over its
    ``"seeds"`` axis and the data are replicated (``S`` must be a multiple of the mesh size).
    Cached: the same ``loss_fn`` / ``record_fn`` objects (the loss factories are cached too),
    the same config and mesh return the same jitted function, whose compilation is reused.
    """
    chunk_steps = cfg.chunk_steps

    def train_chunk(params, data, start, key):
        def body(p, t):
            step = start + t
            if cfg.batch_size:
                idx = jax.random.choice(
                    jax.random.fold_in(key, step), n_train, (cfg.batch_size,), replace=False
                )
            else:
                idx = None
            (loss, aux), g = jax.value_and_grad(loss_fn, has_aux=True)(p, data, idx)
            active = step < cfg.steps
            p = jax.tree.map(lambda a, b: jnp.where(active, a - cfg.lr * b, a), p, g)
            rec = {"loss": loss, **aux}
            if record_fn is not None:
                rec.update(record_fn(p, data))
            return p, rec

        return jax.lax.scan(body, params, jnp.arange(chunk_steps))

    fn = jax.vmap(train_chunk, in_axes=(0, None, None, 0))
    if mesh is None:
        return jax.jit(fn)
    seeds, rep = seed_sharding(mesh), replicated_sharding(mesh)
    return jax.jit(fn, in_shardings=(seeds, rep, rep, seeds), out_shardings=seeds)


def train(
    loss_fn: Callable[..., tuple[jax.Array, dict[str, jax.Array]]],
    params: PyTree,
    data: PyTree,
    cfg: TrainConfig,
    *,
    n_train: int,
    keys: jax.Array,
    record_fn: Callable[[PyTree, PyTree], dict[str, jax.Array]] | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> tuple[PyTree, History]:
    """Train every seed of ``params`` (leading axis ``seeds``) for ``cfg.steps`` steps.

    Arguments:
        loss_fn: ``(params, data, batch_index) -> (loss, aux)`` for one seed; ``aux`` a dict
            of scalars.
        params: pytree whose leaves have a leading ``(seeds,)`` axis.
        data: pytree shared by all seeds (not vmapped).
        cfg: training configuration.
        n_train: number of training samples (for minibatch draws).
        keys: ``(seeds,)`` PRNG keys (minibatch order of each seed).
        record_fn: ``(params, data) -> dict`` of cheap per-step measurements for one seed.
        on_chunk: called as ``on_chunk(steps_done, total_steps)`` after each chunk.

    Returns:
        The trained params (same structure) and the :class:`History`.
    """
    # Seeds split over every local device (padded to a multiple of the device count by
    # repeating seed 0), data replicated; each seed computes exactly what it would alone.
    mesh = seed_mesh()
    (params, keys), n_seeds = shard_seeds((params, keys), mesh)
    data = jax.device_put(data, replicated_sharding(mesh))
    chunk = make_chunk(loss_fn, record_fn, cfg, n_train, mesh)
    wanted = log_steps(cfg.steps, cfg.log_points)
    records: dict[str, list[np.ndarray]] = {}

    def keep(name, arr):
        records.setdefault(name, []).append(np.asarray(arr)[:n_seeds])

    # Step 0: the aux of the loss at init, and the record of the initial parameters.
    if record_fn is not None:
        for name, val in jax.vmap(record_fn, in_axes=(0, None))(params, data).items():
            keep(name, val[:, None])
    loss0, aux0 = jax.vmap(lambda p: loss_fn(p, data, None))(params)
    keep("loss", loss0[:, None])
    for name, val in aux0.items():
        keep(name, val[:, None])

    cs = cfg.chunk_steps
    n_chunks = -(-cfg.steps // cs)
    for c in range(n_chunks):
        start = c * cs
        params, rec = chunk(params, data, start, keys)
        step_ids = start + 1 + np.arange(cs)
        sel = np.nonzero(np.isin(step_ids, wanted))[0]
        if sel.size:
            for name, val in rec.items():
                keep(name, np.asarray(val)[:, sel])
        if on_chunk is not None:
            jax.block_until_ready(params)
            on_chunk(min(start + cs, cfg.steps), cfg.steps)
    out = {name: np.concatenate(vals, axis=1) for name, vals in records.items()}
    return unpad_seeds(params, n_seeds), History(wanted, out)
