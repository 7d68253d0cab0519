"""Named seed streams: every random draw of the simulator and its experiments, in one table.

Two roots: the data key ``key(data_seed)`` (features, training and test sets, redrawn noise,
the Gaussian-like control's data) and the init key ``key(INIT_BASE + init_seed)``; model
``s`` of a stream starting at ``offset`` is initialised from ``fold_in(init key, offset + s)``.
The offsets keep the streams disjoint: the single-model sweep uses ``0 .. seeds - 1``, KD
students ``seeds, seeds + 1, ...`` (their offset is the sweep's size), and the fresh models
of the other experiments start at the offsets of :data:`INIT_OFFSETS`.
"""

from __future__ import annotations

from types import MappingProxyType

import jax
import jax.numpy as jnp

__all__ = [
    "INIT_BASE",
    "INIT_OFFSETS",
    "DATA_STREAMS",
    "data_key",
    "init_keys",
    "data_stream",
]

#: The init root is ``key(INIT_BASE + init_seed)``: far from ``key(data_seed)`` for any small
#: seeds, so no init key equals a data key.
INIT_BASE = 1_000_003

#: First model index of each stream of fresh models (``init_keys(cfg, n, offset)``).
INIT_OFFSETS = MappingProxyType(
    {
        "sweep": 0,  # the single models of every experiment (seeds 0 .. S - 1)
        "train_average": 10_000,  # members of the jointly trained averages
        "wide_model": 20_000,  # the single model of K times the width
        "scaled_single": 30_000,  # single models at the average's varrho / K and init / K
        "rf": 40_000,  # random-feature models (single, then KD students, then averages)
        "ntk": 60_000,  # NTK-linearized models (same layout)
        "gaussian": 80_000,  # networks of the Gaussian-like control
    }
)

#: Integers folded into the data key for the draws made after the data sets.
DATA_STREAMS = MappingProxyType(
    {
        "noise_redraw": 77,  # fresh noise of the memorization test
        "gaussian": 4242,  # the Gaussian-like control's data (+ variant index)
        "kd_fresh_noise": 91,  # fresh noise of the distillation diagnostics
    }
)


def data_key(cfg) -> jax.Array:
    """The data key ``key(cfg.data_seed)`` of a :class:`~multiview.sim.config.SimConfig`."""
    return jax.random.key(cfg.data_seed)


def data_stream(cfg, name: str, index: int = 0) -> jax.Array:
    """``fold_in(data_key(cfg), DATA_STREAMS[name] + index)``."""
    return jax.random.fold_in(data_key(cfg), DATA_STREAMS[name] + index)


def init_keys(cfg, n: int | None = None, offset: int = 0) -> jax.Array:
    """``(n,)`` init keys (default ``n = cfg.seeds``): model ``s`` gets
    ``fold_in(key(INIT_BASE + init_seed), offset + s)``."""
    base = jax.random.key(INIT_BASE + cfg.init_seed)
    n = cfg.seeds if n is None else n
    return jax.vmap(lambda s: jax.random.fold_in(base, s))(offset + jnp.arange(n))
