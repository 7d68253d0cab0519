"""Benchmark of the CIFAR training step: how the seed axis is spread over the device.

Times one training step of S seeds (tiny CNN by default, real step function from
multiview.cifar.train) for each ``seed_parallel`` strategy, after a warm-up call, and prints a
Markdown table. Usage:

    python -m benchmarks.cifar_bench [--arch tiny --width 16 --seeds 5 --batch 200 --repeats 5]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from multiview.cifar.config import CifarTrainConfig, NetConfig
from multiview.cifar.nets import build_net
from multiview.cifar.train import make_epoch_keys, make_init, make_step


def time_step(net, cfg, strategy, seeds, n, repeats):
    x = jnp.asarray(np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8))
    y = jnp.asarray(np.arange(n) % 10, jnp.int32)
    spe = n // cfg.batch_size
    run_keys = jax.random.split(jax.random.key(0), seeds)
    params, state, opt = make_init(net, cfg, 1, spe)(run_keys, None)
    perms, keys, flips = make_epoch_keys(n)(run_keys, 0)
    step = make_step(net, cfg, None, strategy, cfg.batch_size, spe)
    t0 = time.perf_counter()
    out = step(params, state, opt, perms, keys, flips, None, 0, 0, x, y)
    jax.block_until_ready(out)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(repeats):
        out = step(*out[:3], perms, keys, flips, None, 0, i % spe, x, y)
    jax.block_until_ready(out)
    return compile_s, (time.perf_counter() - t0) / repeats


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="tiny")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--strategies", default="unroll,vmap,map")
    args = ap.parse_args()
    net = build_net(NetConfig(args.arch, width=args.width))
    n = 4 * args.batch
    print(
        f"backend {jax.default_backend()}, {args.arch} width {args.width}, "
        f"{args.seeds} seeds, batch {args.batch}"
    )
    print("| seed_parallel | compile + first step (s) | step, all seeds (ms) | per seed (ms) |")
    print("|---|---|---|---|")
    for strategy in args.strategies.split(","):
        cfg = CifarTrainConfig(batch_size=args.batch, seed_parallel=strategy)
        compile_s, step_s = time_step(net, cfg, strategy, args.seeds, n, args.repeats)
        print(
            f"| {strategy} | {compile_s:.1f} | {1000 * step_s:.0f} | "
            f"{1000 * step_s / args.seeds:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
