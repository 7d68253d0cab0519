"""Benchmarks of the seed-parallel trainer against the machine's limit and per-seed loops.

What is timed is one full-batch gradient-descent step of the simulator (forward, cross-entropy,
weight gradient, update) for ``S`` seeds on the shared data, in four ways:

* ``vmapped``: the trainer's own jitted chunk (``multiview.train._make_chunk``: ``lax.scan``
  of the step, ``vmap`` over seeds, seeds sharded over the local devices), without the
  per-step records; ``trainer`` is the same with the records the simulator keeps;
* ``jax_loop``: one jitted single-seed step called from Python for every seed and step;
* ``torch_loop``: the usual PyTorch loop (autograd, one seed after another), same math;

and reported as seed-steps per second and as model FLOP/s, counting ``4 N P d k m`` FLOPs
per seed-step (the forward contraction and the weight gradient; the elementwise work is not
counted), next to the FLOP/s of a large fp32 matrix multiply measured in the same run.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from multiview.config import SimConfig, TrainConfig, preset
from multiview.errors import MultiviewError

__all__ = [
    "BenchError",
    "LARGE",
    "bench_config",
    "model_flops_per_seed_step",
    "matmul_peak",
    "time_vmapped",
    "time_jax_loop",
    "time_torch_loop",
    "run_bench",
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


def _best_time(fn: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_peak(n: int = 4096, repeats: int = 5, dtype=jnp.float32) -> float:
    """FLOP/s of a jitted ``(n, n) @ (n, n)`` matmul on the default device, best of repeats."""
    a = jax.random.normal(jax.random.key(0), (n, n), dtype)
    b = jax.random.normal(jax.random.key(1), (n, n), dtype)
    f = jax.jit(lambda x, y: x @ y)
    f(a, b).block_until_ready()
    return 2 * n**3 / _best_time(lambda: f(a, b).block_until_ready(), repeats)


@functools.lru_cache(maxsize=4)
def _problem(cfg: SimConfig, seeds: int):
    """Shared data pytree, ``(seeds, k, m, d)`` initial weights and keys, and the loss."""
    from multiview.data import make_datasets
    from multiview.experiments.simulate import (
        ce_loss_fn,
        data_key,
        init_keys,
        training_data,
    )
    from multiview.model import init_weights

    datasets = make_datasets(cfg.data, data_key(cfg))
    keys = init_keys(cfg, seeds)
    w0 = jax.vmap(lambda kk: init_weights(cfg.model, cfg.data.k, cfg.data.d, kk))(keys)
    return training_data(datasets), w0, keys, ce_loss_fn(cfg.model)


def _per_step(run: Callable[[], Any], steps: int, repeats: int) -> float:
    run()  # compile / warm up
    return _best_time(run, repeats) / steps


def prepare_vmapped(
    cfg: SimConfig, seeds: int, steps: int = 10, records: bool = False,
    matmul_dtype: str | None = None,
) -> Callable[[], None]:
    """A function that runs ``steps`` steps of ``seeds`` seeds in the trainer's jitted,
    vmapped, sharded chunk (``multiview.train._make_chunk``; compiled on its first call).

    ``records``: also compute the simulator's per-step records (``record_views``);
    ``matmul_dtype="bfloat16"``: the forward contraction in bf16 (fp32 accumulation).
    """
    from multiview.experiments.simulate import record_views
    from multiview.parallel import replicate, seed_mesh, shard_seeds
    from multiview.train import _make_chunk

    data, w0, keys, loss_fn = _problem(cfg, seeds)
    if matmul_dtype is not None:
        loss_fn = _ce_loss(cfg, matmul_dtype)
    tcfg = TrainConfig(steps=steps * 10**6, lr=cfg.train.lr, chunks=10**6)  # never ends
    mesh = seed_mesh()
    (w, keys), _ = shard_seeds((w0, keys), mesh)
    data = replicate(data, mesh)
    chunk = _make_chunk(loss_fn, record_views if records else None, tcfg, cfg.data.n_train, mesh)
    state = {"w": w}

    def run():
        state["w"], rec = chunk(state["w"], data, 0, keys)
        jax.block_until_ready((state["w"], rec))

    return run


def _ce_loss(cfg: SimConfig, matmul_dtype: str | None):
    """The simulator's loss with the forward contraction in ``matmul_dtype``."""
    from multiview.model import forward
    from multiview.train import cross_entropy

    def loss_fn(w, data, idx):
        tr = data["train"]
        loss, acc = cross_entropy(forward(cfg.model, w, tr.x, matmul_dtype=matmul_dtype), tr.y)
        return loss, {"acc": acc}

    return loss_fn


def time_vmapped(
    cfg: SimConfig, seeds: int, steps: int = 10, repeats: int = 3, records: bool = False,
    matmul_dtype: str | None = None,
) -> float:
    """Seconds per step of ``seeds`` seeds in the trainer's jitted, vmapped, sharded chunk."""
    run = prepare_vmapped(cfg, seeds, steps, records, matmul_dtype)
    return _per_step(run, steps, repeats)


def prepare_jax_loop(cfg: SimConfig, seeds: int, steps: int = 3) -> Callable[[], None]:
    """A function running ``steps`` steps of a jitted one-seed step for every seed in turn."""
    data, w0, _, loss_fn = _problem(cfg, seeds)
    lr = cfg.train.lr
    data = jax.device_put(data, jax.local_devices()[0])

    @jax.jit
    def step(w, data):
        g = jax.grad(lambda p: loss_fn(p, data, None)[0])(w)
        return w - lr * g

    ws = [jax.device_put(w0[s], jax.local_devices()[0]) for s in range(seeds)]

    def run():
        for s in range(seeds):
            w = ws[s]
            for _ in range(steps):
                w = step(w, data)
            w.block_until_ready()

    return run


def time_jax_loop(cfg: SimConfig, seeds: int, steps: int = 3, repeats: int = 3) -> float:
    """Seconds per step of ``seeds`` seeds: a jitted one-seed step called per seed from Python."""
    return _per_step(prepare_jax_loop(cfg, seeds, steps), steps, repeats)


def _torch_args(cfg: SimConfig, seeds: int):
    if not _torch_available():
        raise BenchError(
            "the torch comparison needs PyTorch: `pip install multiview[bench]` or use --no-torch"
        )
    data, w0, _, _ = _problem(cfg, seeds)
    tr = data["train"]
    return (np.asarray(w0), np.asarray(tr.x), np.asarray(tr.y), cfg.model.q, cfg.model.varrho,
            cfg.train.lr)


def torch_thread_counts() -> list[int]:
    """PyTorch's default thread count (one per core) and 1.

    On a shared, oversubscribed machine PyTorch's spinning OpenMP threads can be ten times
    slower than one thread; the comparison is against PyTorch at its best of the two.
    """
    import torch

    return sorted({torch.get_num_threads(), 1}, reverse=True)


def time_torch_loop(cfg: SimConfig, seeds: int, steps: int = 3, repeats: int = 3) -> float:
    """Seconds per step of ``seeds`` seeds: the PyTorch per-seed autograd loop (CPU), at the
    better of :func:`torch_thread_counts`."""
    args = _torch_args(cfg, seeds)
    return min(
        torch_loop_step_time(*args, steps=steps, repeats=repeats, threads=n)
        for n in torch_thread_counts()
    )


def best_times(runners: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Best wall time of each runner over ``rounds`` interleaved rounds (after a warm-up).

    Interleaving exposes every contender to the same background load; the minimum is the
    least-disturbed run.
    """
    for run in runners.values():
        run()
    best = {name: float("inf") for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def prepare_torch_loop(
    w0: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    q: int,
    varrho: float,
    lr: float,
    *,
    steps: int = 3,
    threads: int | None = None,
    out: dict[str, np.ndarray] | None = None,
) -> Callable[[], None]:
    """A function running the plain PyTorch loop: every seed trained one after another.

    Arguments:
        w0: ``(S, k, m, d)`` initial weights; x: ``(N, P, d)`` inputs; y: ``(N,)`` labels.
        q, varrho, lr: the smoothed ReLU and the learning rate.
        steps: steps per seed per call.
        threads: ``torch.set_num_threads`` while it runs (restored after; None: as is).
        out: if given, ``out["weights"]`` gets the ``(S, k, m, d)`` weights of the last call.

    Each step is the idiomatic autograd step: forward (one matmul ``(N P, d) x (d, k m)``),
    the smoothed ReLU, ``cross_entropy``, ``autograd.grad``, an SGD update.
    """
    import torch

    xt = torch.from_numpy(np.array(x, np.float32))  # a writable copy
    yt = torch.from_numpy(np.asarray(y, np.int64))
    n, p, d = xt.shape
    x2 = xt.reshape(n * p, d)
    coef = 1.0 / (q * varrho ** (q - 1))
    shift = (1.0 - 1.0 / q) * varrho

    def smoothed_relu(z):
        zc = z.clamp(0.0, varrho)
        return torch.where(z >= varrho, z - shift, zc.pow(q) * coef)

    def train_seed(w):
        k, m, _ = w.shape
        w = w.clone().requires_grad_(True)
        for _ in range(steps):
            pre = (x2 @ w.reshape(k * m, d).T).reshape(n, p, k, m)
            scores = smoothed_relu(pre).sum(dim=(1, 3))
            loss = torch.nn.functional.cross_entropy(scores, yt)
            (g,) = torch.autograd.grad(loss, w)
            with torch.no_grad():
                w -= lr * g
        return w

    ws = [torch.from_numpy(np.array(w, np.float32)) for w in w0]

    def run():
        before = torch.get_num_threads()
        try:
            if threads is not None:
                torch.set_num_threads(threads)
            final = [train_seed(w) for w in ws]
        finally:
            torch.set_num_threads(before)
        if out is not None:
            out["weights"] = np.stack([w.detach().numpy() for w in final])

    return run


def torch_loop_step_time(*args, steps: int = 3, repeats: int = 3, **kwargs) -> float:
    """Seconds per step of :func:`prepare_torch_loop` (same arguments), best of ``repeats``."""
    return _per_step(prepare_torch_loop(*args, steps=steps, **kwargs), steps, repeats)


def bf16_check(cfg: SimConfig, seeds: int = 8, steps: int = 300) -> dict[str, float]:
    """Train ``seeds`` seeds for ``steps`` steps in fp32 and with bf16 matmuls from the same
    initializations; compare their test predictions and weights.

    Returns:
        ``prediction_agreement``: fraction of (seed, test sample) pairs with the same
        predicted class; ``max_weight_rel_diff``: ``max |W_bf16 - W_fp32| / max |W_fp32|``.
    """
    from multiview.data import make_datasets
    from multiview.experiments.simulate import data_key
    from multiview.metrics import predict
    from multiview.train import train

    data, w0, keys, _ = _problem(cfg, seeds)
    tcfg = dataclasses.replace(cfg.train, steps=steps, chunks=1, batch_size=0)
    test = make_datasets(cfg.data, data_key(cfg)).test_multi
    preds, ws = [], []
    for dt in (None, "bfloat16"):
        w, _ = train(_ce_loss(cfg, dt), w0, data, tcfg, n_train=cfg.data.n_train, keys=keys)
        ws.append(np.asarray(w))
        preds.append(np.argmax(predict(cfg.model, w, test.x), axis=-1))
    return {
        "seeds": seeds,
        "steps": steps,
        "prediction_agreement": float(np.mean(preds[0] == preds[1])),
        "max_weight_rel_diff": float(np.abs(ws[1] - ws[0]).max() / np.abs(ws[0]).max()),
    }


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


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


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

    The comparison at ``compare_seeds`` seeds times the matmul, the vmapped trainer step (with
    and without records, fp32 and bf16 matmuls), the jitted per-seed loop and the PyTorch
    loop in interleaved rounds (:func:`best_times`), so all see the same background load.

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
        torch = _torch_available()
    elif torch and not _torch_available():
        raise BenchError("--torch needs PyTorch: `pip install multiview[bench]` or --no-torch")
    steps, rounds, loop_steps = (2, 1, 1) if quick else (10, 5, 2)
    mm = 1024 if quick else 4096
    cfg = bench_config(preset_name) if config is None else config
    per = model_flops_per_seed_step(cfg)
    out: dict[str, Any] = {
        "preset": preset_name if config is None else "custom",
        "model_flops_per_seed_step": per,
        "machine": machine_info(),
    }

    cs = compare_seeds
    say(f"comparison at {cs} seeds: matmul, vmapped, jitted loop"
        + (", PyTorch loop" if torch else "") + " ...")
    a = jax.random.normal(jax.random.key(0), (mm, mm), jnp.float32)
    matmul = jax.jit(lambda x: x @ x)
    runners = {
        "matmul": _matmul_runner(matmul, a),
        "vmapped": prepare_vmapped(cfg, cs, steps),
        "jax_loop": prepare_jax_loop(cfg, cs, loop_steps),
    }
    if not quick:
        runners["trainer"] = prepare_vmapped(cfg, cs, steps, records=True)
    if bf16 and not quick:
        runners["vmapped_bf16"] = prepare_vmapped(cfg, cs, steps, matmul_dtype="bfloat16")
    if torch:
        args = _torch_args(cfg, cs)
        for n in torch_thread_counts():
            runners[f"torch_{n}"] = prepare_torch_loop(*args, steps=loop_steps, threads=n)
    best = best_times(runners, rounds)
    peak = 2 * mm**3 / best["matmul"]
    t_vmap = best["vmapped"] / steps
    t_loop = best["jax_loop"] / loop_steps
    out.update(
        matmul_peak_flops=peak,
        compare_seeds=cs,
        vmapped_step_s=t_vmap,
        achieved_flops=cs * per / t_vmap,
        peak_fraction=cs * per / t_vmap / peak,
        jax_loop_step_s=t_loop,
        speedup_vs_jax_loop=t_loop / t_vmap,
    )
    if "trainer" in best:
        out["trainer_step_s"] = best["trainer"] / steps
        out["trainer_peak_fraction"] = cs * per / out["trainer_step_s"] / peak
    if "vmapped_bf16" in best:
        t16 = best["vmapped_bf16"] / steps
        out["bf16"] = {"step_s": t16, "speedup_vs_fp32": t_vmap / t16,
                       "peak_fraction_vs_fp32_matmul": cs * per / t16 / peak}
    if torch:
        threads = {int(k.split("_")[1]): v / loop_steps for k, v in best.items()
                   if k.startswith("torch_")}
        n_best = min(threads, key=threads.get)
        out.update(torch_loop_step_s=threads[n_best], torch_threads=n_best,
                   torch_loop_step_s_by_threads=threads,
                   speedup_vs_torch_loop=threads[n_best] / t_vmap,
                   torch_version=__import__("torch").__version__)
        if "vmapped_bf16" in best:
            out["bf16"]["speedup_vs_torch_loop"] = threads[n_best] / out["bf16"]["step_s"]
    else:
        out.update(torch_loop_step_s=None, speedup_vs_torch_loop=None)
    del runners

    rows = []
    for s in seeds:
        say(f"throughput, {s} seeds ...")
        runs = best_times({"matmul": _matmul_runner(matmul, a),
                           "step": prepare_vmapped(cfg, s, steps)}, max(1, rounds // 2))
        t = runs["step"] / steps
        local_peak = 2 * mm**3 / runs["matmul"]
        rows.append({"seeds": s, "step_s": t, "seed_steps_per_s": s / t,
                     "model_flops": s * per / t, "peak_fraction": s * per / t / local_peak,
                     "matmul_peak_flops": local_peak})
    out["throughput"] = rows

    if large and not quick:
        lcfg = bench_config(large)
        lper = model_flops_per_seed_step(lcfg)
        lrows = []
        for s in (1, 8):
            say(f"large preset {large!r}, {s} seeds ...")
            lr = {"matmul": _matmul_runner(matmul, a), "step": prepare_vmapped(lcfg, s, 2)}
            if torch and s == 8:
                largs = _torch_args(lcfg, s)
                for n in torch_thread_counts():
                    lr[f"torch_{n}"] = prepare_torch_loop(*largs, steps=1, threads=n)
            runs = best_times(lr, 2)
            t = runs["step"] / 2
            local_peak = 2 * mm**3 / runs["matmul"]
            row = {"seeds": s, "step_s": t, "seed_steps_per_s": s / t,
                   "model_flops": s * lper / t, "peak_fraction": s * lper / t / local_peak}
            tt = [v for k, v in runs.items() if k.startswith("torch_")]
            if tt:
                row["torch_loop_step_s"] = min(tt)
                row["speedup_vs_torch_loop"] = min(tt) / t
            lrows.append(row)
        out["large"] = {"preset": large, "model_flops_per_seed_step": lper, "throughput": lrows}
    if bf16 and not quick:
        say("bf16 matmuls: do the predictions change? ...")
        out.setdefault("bf16", {})["check"] = bf16_check(cfg)
    out["machine"]["load_average_1min_end"] = os.getloadavg()[0]
    return out


def _matmul_runner(matmul, a) -> Callable[[], None]:
    """The timing closure of the matmul peak (re-timed beside every measurement)."""
    return lambda: matmul(a).block_until_ready()
