"""The PyTorch comparison: the usual per-seed autograd loop, same math as the JAX step."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np

from multiview.bench.timing import BenchError, per_step
from multiview.sim.config import SimConfig

__all__ = [
    "torch_available",
    "torch_args",
    "torch_thread_counts",
    "prepare_torch_loop",
    "torch_loop_step_time",
]


def torch_available() -> bool:
    """Whether PyTorch can be imported (the ``bench`` extra)."""
    return importlib.util.find_spec("torch") is not None


def torch_args(cfg: SimConfig, seeds: int, problem):
    """Positional arguments of :func:`prepare_torch_loop` for ``seeds`` seeds of ``cfg``
    (``problem``: :func:`multiview.bench.jax_runs.problem`)."""
    if not torch_available():
        raise BenchError(
            "the torch comparison needs PyTorch: `pip install multiview[bench]` or use --no-torch"
        )
    data, w0, _, _ = problem(cfg, seeds)
    tr = data["train"]
    return (
        np.asarray(w0),
        np.asarray(tr.x),
        np.asarray(tr.y),
        cfg.model.q,
        cfg.model.varrho,
        cfg.train.lr,
    )


def torch_thread_counts() -> list[int]:
    """PyTorch's default thread count (one per core) and 1.

    On a shared, oversubscribed machine PyTorch's spinning OpenMP threads can be ten times
    slower than one thread; the comparison is against PyTorch at its best of the two.
    """
    import torch

    return sorted({torch.get_num_threads(), 1}, reverse=True)


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
    return per_step(prepare_torch_loop(*args, steps=steps, **kwargs), steps, repeats)
