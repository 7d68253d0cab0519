"""Benchmarks of the seed-parallel trainer against the machine's limit and per-seed loops: what
``multiview bench`` runs.

``timing`` (timers, the matmul peak, machine facts) -> ``jax_runs`` (the trainer's chunk and
a jitted per-seed loop) and ``torch_loop`` (the PyTorch loop) -> ``suite`` (``run_bench``).
The GPU research code (other formulations of the GD step, a Pallas kernel) lives in the
repository's ``benchmarks/``, outside the package.
"""

from multiview.bench.jax_runs import bf16_check, prepare_jax_loop, prepare_vmapped
from multiview.bench.suite import run_bench
from multiview.bench.timing import (
    LARGE,
    BenchError,
    bench_config,
    best_times,
    machine_info,
    model_flops_per_seed_step,
    round_times,
)
from multiview.bench.torch_loop import (
    prepare_torch_loop,
    torch_available,
    torch_loop_step_time,
    torch_thread_counts,
)

__all__ = [
    "BenchError",
    "LARGE",
    "bench_config",
    "bf16_check",
    "best_times",
    "machine_info",
    "round_times",
    "model_flops_per_seed_step",
    "prepare_jax_loop",
    "prepare_torch_loop",
    "prepare_vmapped",
    "run_bench",
    "torch_available",
    "torch_loop_step_time",
    "torch_thread_counts",
]
