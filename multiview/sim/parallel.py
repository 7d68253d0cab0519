"""Seeds over devices and hosts, and how many seeds fit in memory at once.

Every seed-parallel run has a leading ``seeds`` axis on its parameters and keys and shares
its data. This module

* shards that axis over a 1-D device mesh (axis name ``"seeds"``) and replicates the data,
  padding the seed count to a multiple of the device count (:func:`shard_seeds`);
* splits a sweep's seeds between the processes of a ``jax.distributed`` job
  (:func:`process_seed_range`); the runtime is started from environment variables by
  :mod:`multiview.sim.launch` (:func:`maybe_initialize_distributed`, re-exported here);
* estimates the memory a seed needs and picks a seed-block size that fits
  (:func:`estimate_bytes_per_seed`, :func:`auto_seed_block`, :func:`plan_seed_block`).

Each seed's computation is independent of the others, so sharding never changes what a seed
computes; only the per-device batch of seeds differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from multiview.errors import ConfigError
from multiview.memory import available_memory_bytes, gib
from multiview.sim.launch import distributed_env, maybe_initialize_distributed

__all__ = [
    "SEED_AXIS",
    "seed_mesh",
    "seed_sharding",
    "replicated_sharding",
    "padded_size",
    "pad_seeds",
    "unpad_seeds",
    "shard_seeds",
    "replicate",
    "process_seed_range",
    "distributed_env",
    "maybe_initialize_distributed",
    "estimate_shared_bytes",
    "estimate_bytes_per_seed",
    "available_memory_bytes",
    "auto_seed_block",
    "plan_seed_block",
    "estimate_result_bytes_per_seed",
    "check_models_fit",
    "check_results_fit",
]

SEED_AXIS = "seeds"

PyTree = Any

# --------------------------------------------------------------------------- devices


def seed_mesh(devices: Sequence[jax.Device] | None = None, *, local: bool = True) -> Mesh:
    """A 1-D mesh with axis ``"seeds"``.

    Arguments:
        devices: the devices to use; default ``jax.local_devices()`` (``local=True``: each
            process of a multi-host job trains its own seeds on its own devices) or
            ``jax.devices()`` (``local=False``).
    """
    if devices is None:
        devices = jax.local_devices() if local else jax.devices()
    return Mesh(np.asarray(list(devices)), (SEED_AXIS,))


def seed_sharding(mesh: Mesh) -> NamedSharding:
    """Leading axis split over the mesh's ``"seeds"`` axis."""
    return NamedSharding(mesh, PartitionSpec(SEED_AXIS))


def replicated_sharding(mesh: Mesh) -> NamedSharding:
    """A full copy on every device of the mesh."""
    return NamedSharding(mesh, PartitionSpec())


def padded_size(n: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is ``>= n``."""
    return -(-n // multiple) * multiple


def pad_seeds(tree: PyTree, multiple: int) -> tuple[PyTree, int]:
    """Pad every leaf's leading ``(S, ...)`` axis to ``(S', ...)``, S' a multiple of ``multiple``.

    The padding repeats seed 0 (a real, finite seed: no NaN or division by zero can come
    from it). Works for PRNG key arrays too. Returns the padded tree and the original ``S``.
    """
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return tree, 0
    n = leaves[0].shape[0]
    target = padded_size(n, multiple)
    if target == n:
        return tree, n
    idx = np.concatenate([np.arange(n), np.zeros(target - n, np.int64)])
    return jax.tree.map(lambda a: a[idx], tree), n


def unpad_seeds(tree: PyTree, n: int) -> PyTree:
    """The first ``n`` seeds of every leaf (undo :func:`pad_seeds`)."""
    return jax.tree.map(lambda a: a[:n], tree)


def shard_seeds(tree: PyTree, mesh: Mesh | None = None) -> tuple[PyTree, int]:
    """Pad the leading seed axis to a multiple of the mesh size and shard it over the mesh.

    Arguments:
        tree: pytree of ``(S, ...)`` arrays (PRNG key arrays included).
        mesh: default :func:`seed_mesh` over the local devices.

    Returns:
        The sharded ``(S', ...)`` tree, ``S' >= S``, and ``S`` (un-pad results with
        :func:`unpad_seeds`).
    """
    mesh = seed_mesh() if mesh is None else mesh
    padded, n = pad_seeds(tree, mesh.size)
    return jax.device_put(padded, seed_sharding(mesh)), n


def replicate(tree: PyTree, mesh: Mesh | None = None) -> PyTree:
    """Put a full copy of every leaf on every device of the mesh (the shared data)."""
    mesh = seed_mesh() if mesh is None else mesh
    return jax.device_put(tree, replicated_sharding(mesh))


# --------------------------------------------------------------------------- hosts


def process_seed_range(
    seeds: int, process_index: int | None = None, process_count: int | None = None
) -> tuple[int, int]:
    """This process's contiguous share ``[start, stop)`` of ``seeds`` seeds.

    The shares are as equal as possible (the first ``seeds % count`` processes take one
    more) and cover ``range(seeds)`` exactly once; a process can get an empty share.
    Defaults: ``jax.process_index()`` and ``jax.process_count()``.
    """
    i = jax.process_index() if process_index is None else process_index
    c = jax.process_count() if process_count is None else process_count
    if not 0 <= i < c:
        raise ConfigError(f"process index {i} is invalid: must be in [0, {c - 1}]")
    base, extra = divmod(seeds, c)
    start = i * base + min(i, extra)
    return start, start + base + (1 if i < extra else 0)


# --------------------------------------------------------------------------- memory

_F32 = 4
# Live copies of each per-step activation-sized array: pre-activations, activation
# derivative, and the back-propagated (pre-activation) gradient, plus one of headroom.
_ACT_COPIES = 4
# Live copies of the weights per seed: params, gradient, updated params, scan carry, output.
_PARAM_COPIES = 6
_EVAL_BATCH = 2000  # multiview.sim.metrics.predict's default batch of test samples


def estimate_shared_bytes(cfg) -> int:
    """Bytes of the data every seed shares (training and test sets, redrawn noise).

    ``cfg`` is a :class:`multiview.sim.config.SimConfig`. Inputs and their noise are kept
    (``2 *``), and four redraws of the training noise are made for the memorization test.
    """
    d = cfg.data
    patch = d.patches * d.d * _F32
    return int(patch * (2 * (d.n_train + 2 * d.n_test) + 4 * d.n_train))


def estimate_bytes_per_seed(cfg) -> int:
    """Bytes one more seed adds to a seed-parallel run of ``cfg`` (a ``SimConfig``).

    The larger of training (weights, per-step activations ``(N, k, m, P)``, the records of
    one chunk ``(chunk_steps, k, V)``) and evaluation (test scores in batches of 2000
    samples), with a 25% margin.
    """
    d, m, t = cfg.data, cfg.model, cfg.train
    weights = d.k * m.width * d.d * _F32
    n = t.batch_size or d.n_train
    act = n * d.k * m.width * d.patches * _F32
    records = t.chunk_steps * (2 * d.k * d.views + 4) * _F32
    train_bytes = _PARAM_COPIES * weights + _ACT_COPIES * act + 2 * records
    eval_act = min(_EVAL_BATCH, max(d.n_train, d.n_test)) * d.k * m.width * d.patches * _F32
    eval_bytes = 2 * weights + 3 * eval_act
    return int(1.25 * max(train_bytes, eval_bytes))


def auto_seed_block(cfg, available_bytes: int | None = None, fraction: float = 0.6) -> int:
    """The most seeds of ``cfg`` (up to ``cfg.seeds``) that fit in ``fraction`` of memory.

    Raises:
        ConfigError: if not even one seed fits beside the shared data.
    """
    avail = available_memory_bytes() if available_bytes is None else available_bytes
    budget = fraction * avail - estimate_shared_bytes(cfg)
    per_seed = estimate_bytes_per_seed(cfg)
    fit = int(budget // per_seed) if budget > 0 else 0
    if fit < 1:
        raise ConfigError(
            f"this config cannot fit in memory: about {gib(estimate_shared_bytes(cfg))} of "
            f"shared data plus {gib(per_seed)} per seed, but only {gib(fraction * avail)} "
            "is usable; reduce n_train, n_test, d, patches, width or k"
        )
    return min(fit, cfg.seeds)


def estimate_result_bytes_per_seed(cfg) -> int:
    """Bytes of one seed's results, kept for every seed until the run is summarized: its
    weights and recorded trajectories (``log_points`` records of ``(k, V)`` views), twice
    (the blocks and their concatenation)."""
    d, m, t = cfg.data, cfg.model, cfg.train
    return 2 * _F32 * (d.k * m.width * d.d + t.log_points * (2 * d.k * d.views + 4) + 64)


def check_models_fit(
    cfg, models: int, what: str, available_bytes: int | None = None, fraction: float = 0.6
) -> None:
    """Refuse, before any compute, ``models`` models of ``cfg`` trained at once (an average
    of K members, a teacher) that do not fit in ``fraction`` of memory, with the estimate."""
    avail = available_memory_bytes() if available_bytes is None else available_bytes
    need = estimate_shared_bytes(cfg) + models * estimate_bytes_per_seed(cfg)
    if need > fraction * avail:
        raise ConfigError(
            f"{what} = {models} models trained at once do not fit in memory: about "
            f"{gib(need)} needed, {gib(fraction * avail)} usable; use fewer"
        )


def check_results_fit(cfg, available_bytes: int | None = None, fraction: float = 0.6) -> None:
    """Refuse, before any compute, more seeds than their results can hold in memory (the
    blocks are trained one by one, but summarized together), with the estimate."""
    avail = available_memory_bytes() if available_bytes is None else available_bytes
    per = estimate_result_bytes_per_seed(cfg)
    if cfg.seeds * per > fraction * avail:
        raise ConfigError(
            f"seeds = {cfg.seeds} is too many: their results need about "
            f"{gib(cfg.seeds * per)} of memory, {gib(fraction * avail)} is usable; use "
            f"--seeds {max(1, int(fraction * avail // per))} or less"
        )


def plan_seed_block(
    cfg, seed_block: int = 0, available_bytes: int | None = None, processes: int = 1
) -> int:
    """The seed block to run ``cfg`` with: ``seed_block`` if it fits, else a clear error. The
    one memory plan of a simulation (one process or a ``jax.distributed`` job).

    ``seed_block = 0`` (all seeds at once; with ``processes`` > 1, one block per process)
    becomes the largest block that fits, so a sweep larger than memory is cut into blocks
    automatically. Returns 0 when each process's share of the seeds fits at once.
    """
    if seed_block > cfg.seeds:
        raise ConfigError(
            f"--seed-block {seed_block} is more than the {cfg.seeds} seeds: use --seed-block "
            f"{cfg.seeds} or less (0: all seeds in one block)"
        )
    fit = auto_seed_block(cfg, available_bytes)
    check_results_fit(cfg, available_bytes)
    if seed_block <= 0:
        return 0 if fit >= -(-cfg.seeds // processes) else fit
    if seed_block > fit:
        raise ConfigError(
            f"--seed-block {seed_block} does not fit in memory (about "
            f"{gib(estimate_bytes_per_seed(cfg) * seed_block)} for the seeds alone); "
            f"use --seed-block {fit} or less"
        )
    return seed_block
