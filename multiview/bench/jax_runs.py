"""The JAX contenders: the trainer's own jitted, vmapped, sharded chunk, and a jitted
per-seed step called from Python for every seed."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import numpy as np

from multiview.sim.config import SimConfig, TrainConfig
from multiview.sim.data import make_datasets
from multiview.sim.losses import ce_loss_fn
from multiview.sim.metrics import predict
from multiview.sim.parallel import replicate, seed_mesh, shard_seeds
from multiview.sim.seeds import data_key
from multiview.sim.single import init_models, record_views, training_data
from multiview.sim.train import make_chunk, train

__all__ = ["problem", "sharded_chunk", "prepare_vmapped", "prepare_jax_loop", "bf16_check"]


@functools.lru_cache(maxsize=4)
def problem(cfg: SimConfig, seeds: int):
    """Shared data pytree, ``(seeds, k, m, d)`` initial weights and keys, and the loss."""
    datasets = make_datasets(cfg.data, data_key(cfg))
    keys, w0 = init_models(cfg, seeds)
    return training_data(datasets), w0, keys, ce_loss_fn(cfg.model)


def sharded_chunk(cfg: SimConfig, seeds: int, steps: int, loss_fn=None, record_fn=None):
    """The trainer's jitted chunk of ``steps`` steps (:func:`multiview.sim.train.make_chunk`,
    the seeds sharded over every local device) around ``loss_fn`` (default: the trainer's
    loss), and its arguments ``(w (seeds, k, m, d), data, keys (seeds,))``, weights and keys
    sharded, data replicated. Called as ``chunk(w, data, 0, keys) -> (w, records)``, again
    and again: each call runs steps ``0 .. steps - 1`` of a one-chunk schedule, all of them
    before its end, so every call updates the weights ``steps`` times."""
    data, w0, keys, default_loss = problem(cfg, seeds)
    tcfg = TrainConfig(steps=steps, lr=cfg.train.lr, chunks=1)
    mesh = seed_mesh()
    (w, keys), _ = shard_seeds((w0, keys), mesh)
    chunk = make_chunk(loss_fn or default_loss, record_fn, tcfg, cfg.data.n_train, mesh)
    return chunk, (w, replicate(data, mesh), keys)


def prepare_vmapped(
    cfg: SimConfig,
    seeds: int,
    steps: int = 10,
    records: bool = False,
    matmul_dtype: str | None = None,
) -> Callable[[], None]:
    """A function that runs ``steps`` steps of ``seeds`` seeds in the trainer's jitted,
    vmapped, sharded chunk (:func:`multiview.sim.train.make_chunk`; compiled on its first
    call).

    ``records``: also compute the simulator's per-step records (``record_views``);
    ``matmul_dtype="bfloat16"``: the forward contraction in bf16 (fp32 accumulation).
    """
    loss_fn = None if matmul_dtype is None else ce_loss_fn(cfg.model, matmul_dtype)
    chunk, (w, data, keys) = sharded_chunk(
        cfg, seeds, steps, loss_fn, record_views if records else None
    )
    state = {"w": w}

    def run():
        state["w"], rec = chunk(state["w"], data, 0, keys)
        jax.block_until_ready((state["w"], rec))

    return run


def prepare_jax_loop(cfg: SimConfig, seeds: int, steps: int = 3) -> Callable[[], None]:
    """A function running ``steps`` steps of a jitted one-seed step for every seed in turn."""
    data, w0, _, loss_fn = problem(cfg, seeds)
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


def bf16_check(cfg: SimConfig, seeds: int = 8, steps: int = 300) -> dict[str, float]:
    """Train ``seeds`` seeds for ``steps`` steps in fp32 and with bf16 matmuls from the same
    initializations; compare their test predictions and weights.

    Returns:
        ``prediction_agreement``: fraction of (seed, test sample) pairs with the same
        predicted class; ``max_weight_rel_diff``: ``max |W_bf16 - W_fp32| / max |W_fp32|``.
    """
    data, w0, keys, _ = problem(cfg, seeds)
    tcfg = dataclasses.replace(cfg.train, steps=steps, chunks=1, batch_size=0)
    test = make_datasets(cfg.data, data_key(cfg)).test_multi
    preds, ws = [], []
    for dt in (None, "bfloat16"):
        loss_fn = ce_loss_fn(cfg.model, dt or "float32")
        w, _ = train(loss_fn, w0, data, tcfg, n_train=cfg.data.n_train, keys=keys)
        ws.append(np.asarray(w))
        preds.append(np.argmax(predict(cfg.model, w, test.x), axis=-1))
    return {
        "seeds": seeds,
        "steps": steps,
        "prediction_agreement": float(np.mean(preds[0] == preds[1])),
        "max_weight_rel_diff": float(np.abs(ws[1] - ws[0]).max() / np.abs(ws[0]).max()),
    }
