"""Choosing the fused weight-gradient kernel's tiles by timing the kernel alone.

Why: the tiles of :mod:`benchmarks.fused_wgrad` are guesses made without a GPU, and a
GPU run is one call of a few minutes. So the GPU script times each of a few
candidates (:data:`~benchmarks.fused_wgrad.CANDIDATES`) on the operands of the step it
is about to time, in interleaved rounds, and times the whole step with the fastest. A
candidate that fails to compile (Triton out of shared memory or registers) is a row with its
error, not a failed stage. The rows also say what the kernel itself reaches: its FLOP/s
against the matmul peak of its operand dtype.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.fused_wgrad import TILES, Tiles, fused_wgrad
from multiview.bench.timing import round_times
from multiview.sim.config import SimConfig

__all__ = ["kernel_operands", "kernel_flops", "tune_tiles"]


def kernel_operands(cfg: SimConfig, seeds: int, dtype: str, key: int = 0):
    """The kernel's operands in the step of ``seeds`` seeds of ``cfg``: ``pre (P, N, C)``,
    ``g (N, C)``, ``x (P, N, d)`` with ``C = seeds k m``; ``pre`` spread over every piece of
    ``ReLU~`` (values around ``varrho``), as late in training."""
    d, m = cfg.data, cfg.model
    p, n, c = d.patches, d.n_train, seeds * d.k * m.width
    k1, k2, k3 = jax.random.split(jax.random.key(key), 3)
    pre = (m.varrho * 2.0 * jax.random.normal(k1, (p, n, c))).astype(dtype)
    g = jax.random.normal(k2, (n, c), jnp.float32)
    x = jax.random.normal(k3, (p, n, d.d)).astype(dtype)
    return pre, g, x


def kernel_flops(cfg: SimConfig, seeds: int) -> int:
    """FLOPs of one kernel call: ``2 P N C d`` (the weight-gradient GEMM)."""
    d = cfg.data
    return 2 * d.patches * d.n_train * seeds * d.k * cfg.model.width * d.d


def tune_tiles(
    cfg: SimConfig,
    seeds: int,
    dtype: str,
    candidates: Sequence[Tiles],
    *,
    rounds: int = 5,
    calls: int = 10,
    budget_s: float = 40.0,
    interpret: bool | None = None,
) -> tuple[Tiles, list[dict]]:
    """Time :func:`fused_wgrad` under each of ``candidates`` on :func:`kernel_operands`.

    Candidates are compiled in order until ``budget_s`` has passed (the first always); the
    compiled ones are then timed in ``rounds`` interleaved rounds of ``calls`` calls each.

    Returns the fastest tiles (:data:`TILES` of ``dtype`` if none compiled) and one row per
    candidate: ``dtype``, ``tiles`` (its label), and either ``kernel_s`` (median seconds per
    call), ``best_kernel_s``, ``first_call_s`` (compile + first call) and ``flops`` (FLOP/s
    at the median), or ``error`` (why it did not run) or ``skipped`` (the budget).
    """
    pre, g, x = kernel_operands(cfg, seeds, dtype)
    q, rho = cfg.model.q, cfg.model.varrho
    t0 = time.perf_counter()
    runners, rows = {}, {}
    for tiles in candidates:
        row = rows[tiles] = {"dtype": dtype, "tiles": tiles.label}
        if runners and time.perf_counter() - t0 > budget_s:
            row["skipped"] = "tuning budget"
            continue
        fn = jax.jit(functools.partial(fused_wgrad, q=q, rho=rho, tiles=tiles, interpret=interpret))
        try:
            t = time.perf_counter()
            jax.block_until_ready(fn(pre, g, x))
            row["first_call_s"] = time.perf_counter() - t
        except Exception as e:  # a launch configuration this GPU cannot run
            row["error"] = f"{type(e).__name__}: {e}"[:500]
            continue
        runners[tiles] = _repeat(fn, (pre, g, x), calls)
    times = round_times(runners, rounds) if runners else {}
    flops = kernel_flops(cfg, seeds)
    for tiles, ts in times.items():
        per_call = [t / calls for t in ts]
        rows[tiles]["kernel_s"] = float(np.median(per_call))
        rows[tiles]["best_kernel_s"] = float(np.min(per_call))
        rows[tiles]["flops"] = flops / rows[tiles]["kernel_s"]
    best = min(times, key=lambda t: rows[t]["kernel_s"], default=TILES[dtype])
    return best, list(rows.values())


def _repeat(fn, args, calls: int):
    """``calls`` calls of ``fn(*args)``, then a wait for the last."""

    def run():
        out = None
        for _ in range(calls):
            out = fn(*args)
        jax.block_until_ready(out)

    return run
