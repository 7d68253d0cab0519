"""Timing primitives of the benchmarks: best-of-rounds timers, the matmul peak, machine facts.

What is timed is one full-batch gradient-descent step of the simulator (forward,
cross-entropy, weight gradient, update) for ``S`` seeds on the shared data, reported as
seed-steps per second and as model FLOP/s, counting ``4 N P d k m`` FLOPs per seed-step (the
forward contraction and the weight gradient; the elementwise work is not counted), next to
the FLOP/s of a large fp32 matrix multiply measured in the same run.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import jax

from multiview.errors import MultiviewError
from multiview.sim.config import SimConfig, preset

__all__ = [
    "BenchError",
    "LARGE",
    "bench_config",
    "model_flops_per_seed_step",
    "best_time",
    "per_step",
    "best_times",
    "round_times",
    "matmul_runner",
    "machine_info",
]


class BenchError(MultiviewError):
    """A benchmark that cannot run as asked (e.g. torch missing for --torch)."""

    exit_code = 2


# A large configuration: the "paper" preset's sizes (k=20, d=1024, P=24, N=800, m=8).
LARGE = "paper"


def bench_config(name: str, seeds: int | None = None) -> SimConfig:
    """The preset ``name`` (``default``, ``quick``, ``paper``...) as benchmarked: full batch."""
    cfg = preset(name)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, batch_size=0))
    return cfg if seeds is None else dataclasses.replace(cfg, seeds=seeds)


def model_flops_per_seed_step(cfg: SimConfig) -> int:
    """``4 N P d k m``: the forward contraction and the weight gradient of one step."""
    d = cfg.data
    n = cfg.train.batch_size or d.n_train
    return 4 * n * d.patches * d.d * d.k * cfg.model.width


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """The least wall time of ``repeats`` calls of ``fn``."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def per_step(run: Callable[[], Any], steps: int, repeats: int) -> float:
    """Seconds per step of ``run`` (which does ``steps`` steps), after one warm-up call."""
    run()  # compile / warm up
    return best_time(run, repeats) / steps


def round_times(runners: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    """Wall time of each runner in each of ``rounds`` interleaved rounds (no warm-up: the
    caller has compiled them). Interleaving exposes every contender to the same background
    load."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    return times


def best_times(runners: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Best wall time of each runner over ``rounds`` interleaved rounds (after a warm-up):
    the minimum is the least-disturbed run."""
    for run in runners.values():
        run()
    return {name: min(t) for name, t in round_times(runners, rounds).items()}


def matmul_runner(matmul, a) -> Callable[[], None]:
    """The timing closure of the matmul peak (re-timed beside every measurement)."""
    return lambda: matmul(a).block_until_ready()


def machine_info() -> dict[str, Any]:
    """CPU model, core count, JAX version and devices of this run."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.local_devices()],
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
