"""``multiview bench``: the trainer against the machine's matmul peak and per-seed loops.

The comparison at ``compare_seeds`` seeds times, in interleaved rounds (so all see the same
background load): the matmul; ``vmapped``, the trainer's own jitted chunk without the
per-step records (``trainer``: with them); ``vmapped_bf16`` (bf16 matmuls); ``jax_loop``, a
jitted one-seed step called from Python for every seed and step; and ``torch_N``, the usual
PyTorch loop at N threads. Then a throughput table over seed counts and, optionally, a
larger preset.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from multiview.bench.jax_runs import bf16_check, prepare_jax_loop, prepare_vmapped, problem
from multiview.bench.timing import (
    LARGE,
    BenchError,
    bench_config,
    best_times,
    machine_info,
    matmul_runner,
    model_flops_per_seed_step,
)
from multiview.bench.torch_loop import (
    prepare_torch_loop,
    torch_args,
    torch_available,
    torch_thread_counts,
)
from multiview.sim.config import SimConfig

__all__ = ["run_bench"]


def run_bench(
    preset_name: str = "default",
    seeds: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256),
    *,
    torch: bool | None = None,
    quick: bool = False,
    large: str | None = LARGE,
    compare_seeds: int = 64,
    bf16: bool = True,
    log: Callable[[str], None] | None = None,
    config: SimConfig | None = None,
) -> dict[str, Any]:
    """Run the benchmark suite and return a JSON-ready dict.

    Arguments:
        preset_name: the preset whose sizes are timed (``peak_fraction`` is measured there).
        seeds: seed counts of the throughput table.
        torch: compare with the PyTorch loop (None: if torch is installed).
        quick: fewer steps and rounds, a smaller matmul, no large preset, no bf16 check.
        large: a second, larger preset to time at 1 and 8 seeds (None: skip).
        compare_seeds: seed count of the loop comparisons and of ``peak_fraction``.
        bf16: also time bf16 matmuls and check that they leave predictions unchanged.
        log: called with a line of progress text.
        config: time this configuration instead of the preset's (tests use tiny ones).

    Returns:
        ``peak_fraction`` (fp32 step FLOP/s at ``compare_seeds`` / matmul FLOP/s),
        ``speedup_vs_torch_loop`` (None without torch), ``speedup_vs_jax_loop``,
        ``matmul_peak_flops``, ``throughput`` rows, and more.
    """
    say = log or (lambda _: None)
    if torch is None:
        torch = torch_available()
    elif torch and not torch_available():
        raise BenchError("--torch needs PyTorch: `pip install multiview[bench]` or --no-torch")
    cfg = bench_config(preset_name) if config is None else config
    plan = {
        "steps": 2 if quick else 10,
        "rounds": 1 if quick else 5,
        "loop_steps": 1 if quick else 2,
        "matmul_size": 1024 if quick else 4096,  # the square matmul whose FLOP/s is the peak
    }
    a = jax.random.normal(
        jax.random.key(0), (plan["matmul_size"], plan["matmul_size"]), jnp.float32
    )
    matmul = jax.jit(lambda x: x @ x)
    out: dict[str, Any] = {
        "preset": preset_name if config is None else "custom",
        "model_flops_per_seed_step": model_flops_per_seed_step(cfg),
        "machine": machine_info(),
    }
    say(
        f"comparison at {compare_seeds} seeds: matmul, vmapped, jitted loop"
        + (", PyTorch loop" if torch else "")
        + " ..."
    )
    out.update(
        _comparison(cfg, compare_seeds, plan, matmul, a, torch=torch, quick=quick, bf16=bf16)
    )
    out["throughput"] = _throughput(cfg, seeds, plan, matmul, a, say)
    if large and not quick:
        out["large"] = _large_preset(large, plan, matmul, a, torch, say)
    if bf16 and not quick:
        say("bf16 matmuls: do the predictions change? ...")
        out.setdefault("bf16", {})["check"] = bf16_check(cfg)
    out["machine"]["load_average_1min_end"] = os.getloadavg()[0]
    return out


def _comparison(cfg, cs, plan, matmul, a, *, torch, quick, bf16) -> dict[str, Any]:
    """Matmul, vmapped (+ records, + bf16), jitted loop and PyTorch loop at ``cs`` seeds."""
    steps, loop_steps, matmul_size = plan["steps"], plan["loop_steps"], plan["matmul_size"]
    per = model_flops_per_seed_step(cfg)
    runners = {
        "matmul": matmul_runner(matmul, a),
        "vmapped": prepare_vmapped(cfg, cs, steps),
        "jax_loop": prepare_jax_loop(cfg, cs, loop_steps),
    }
    if not quick:
        runners["trainer"] = prepare_vmapped(cfg, cs, steps, records=True)
    if bf16 and not quick:
        runners["vmapped_bf16"] = prepare_vmapped(cfg, cs, steps, matmul_dtype="bfloat16")
    if torch:
        args = torch_args(cfg, cs, problem)
        for n in torch_thread_counts():
            runners[f"torch_{n}"] = prepare_torch_loop(*args, steps=loop_steps, threads=n)
    best = best_times(runners, plan["rounds"])
    peak = 2 * matmul_size**3 / best["matmul"]
    t_vmap = best["vmapped"] / steps
    t_loop = best["jax_loop"] / loop_steps
    out: dict[str, Any] = {
        "matmul_peak_flops": peak,
        "compare_seeds": cs,
        "vmapped_step_s": t_vmap,
        "achieved_flops": cs * per / t_vmap,
        "peak_fraction": cs * per / t_vmap / peak,
        "jax_loop_step_s": t_loop,
        "speedup_vs_jax_loop": t_loop / t_vmap,
    }
    if "trainer" in best:
        out["trainer_step_s"] = best["trainer"] / steps
        out["trainer_peak_fraction"] = cs * per / out["trainer_step_s"] / peak
    if "vmapped_bf16" in best:
        t16 = best["vmapped_bf16"] / steps
        out["bf16"] = {
            "step_s": t16,
            "speedup_vs_fp32": t_vmap / t16,
            "peak_fraction_vs_fp32_matmul": cs * per / t16 / peak,
        }
    if not torch:
        out.update(torch_loop_step_s=None, speedup_vs_torch_loop=None)
        return out
    threads = {
        int(k.split("_")[1]): v / loop_steps for k, v in best.items() if k.startswith("torch_")
    }
    n_best = min(threads, key=threads.get)
    out.update(
        torch_loop_step_s=threads[n_best],
        torch_threads=n_best,
        torch_loop_step_s_by_threads=threads,
        speedup_vs_torch_loop=threads[n_best] / t_vmap,
        torch_version=_torch_version(),
    )
    if "vmapped_bf16" in best:
        out["bf16"]["speedup_vs_torch_loop"] = threads[n_best] / out["bf16"]["step_s"]
    return out


def _torch_version() -> str:
    import torch  # optional dependency (the ``bench`` extra)

    return torch.__version__


def _throughput(cfg, seeds, plan, matmul, a, say) -> list[dict[str, Any]]:
    """One row per seed count: step time, seed-steps/s, model FLOP/s, fraction of peak."""
    steps, matmul_size = plan["steps"], plan["matmul_size"]
    per = model_flops_per_seed_step(cfg)
    rows = []
    for s in seeds:
        say(f"throughput, {s} seeds ...")
        runs = best_times(
            {"matmul": matmul_runner(matmul, a), "step": prepare_vmapped(cfg, s, steps)},
            max(1, plan["rounds"] // 2),
        )
        t = runs["step"] / steps
        local_peak = 2 * matmul_size**3 / runs["matmul"]
        rows.append(
            {
                "seeds": s,
                "step_s": t,
                "seed_steps_per_s": s / t,
                "model_flops": s * per / t,
                "peak_fraction": s * per / t / local_peak,
                "matmul_peak_flops": local_peak,
            }
        )
    return rows


def _large_preset(large, plan, matmul, a, torch, say) -> dict[str, Any]:
    """The larger preset at 1 and 8 seeds (with the PyTorch loop at 8 seeds)."""
    matmul_size = plan["matmul_size"]
    lcfg = bench_config(large)
    lper = model_flops_per_seed_step(lcfg)
    lrows = []
    for s in (1, 8):
        say(f"large preset {large!r}, {s} seeds ...")
        runners = {"matmul": matmul_runner(matmul, a), "step": prepare_vmapped(lcfg, s, 2)}
        if torch and s == 8:
            largs = torch_args(lcfg, s, problem)
            for n in torch_thread_counts():
                runners[f"torch_{n}"] = prepare_torch_loop(*largs, steps=1, threads=n)
        runs = best_times(runners, 2)
        t = runs["step"] / 2
        local_peak = 2 * matmul_size**3 / runs["matmul"]
        row = {
            "seeds": s,
            "step_s": t,
            "seed_steps_per_s": s / t,
            "model_flops": s * lper / t,
            "peak_fraction": s * lper / t / local_peak,
        }
        tt = [v for k, v in runs.items() if k.startswith("torch_")]
        if tt:
            row["torch_loop_step_s"] = min(tt)
            row["speedup_vs_torch_loop"] = min(tt) / t
        lrows.append(row)
    return {"preset": large, "model_flops_per_seed_step": lper, "throughput": lrows}
