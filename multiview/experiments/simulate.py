"""The core run (Theorem 1): many independently initialised single models on shared data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from multiview import metrics as M
from multiview.config import ModelConfig, SimConfig, config_to_dict
from multiview.data import Datasets, inputs_and_labels, make_datasets, redraw_noise
from multiview.errors import ConfigError
from multiview.io import load_npz, read_json, save_npz, to_jsonable, write_json
from multiview.model import forward, init_weights
from multiview.predictions import Prediction, at_least, band
from multiview.train import History, cross_entropy, train

__all__ = [
    "SimulationResult",
    "data_key",
    "init_keys",
    "ce_loss_fn",
    "record_views",
    "train_single_models",
    "evaluate_single_models",
    "run_simulation",
]


class SimulationResult(NamedTuple):
    """Everything a simulation produced.

    Attributes:
        config: the resolved configuration.
        data: features, training set and test sets.
        weights: ``(S, k, m, d)`` trained weights.
        history: trajectories (``lambda``, ``phi`` ``(S, T, k, V)``, ``loss``, ``acc``,
            ``noise_corr`` ``(S, T)``).
        per_seed: dict of per-seed metric arrays ``(S, ...)``.
        summary: ``{"metrics": {...}, "predictions": [...]}`` (JSON-ready).
    """

    config: SimConfig
    data: Datasets
    weights: jax.Array
    history: History
    per_seed: dict[str, np.ndarray]
    summary: dict[str, Any]


def data_key(cfg: SimConfig) -> jax.Array:
    return jax.random.key(cfg.data_seed)


def init_keys(cfg: SimConfig, n: int | None = None, offset: int = 0) -> jax.Array:
    """``(n,)`` init keys: seed ``s`` gets ``fold_in(key(init_seed), offset + s)``."""
    base = jax.random.key(1_000_003 + cfg.init_seed)
    n = cfg.seeds if n is None else n
    return jax.vmap(lambda s: jax.random.fold_in(base, s))(offset + jnp.arange(n))


def ce_loss_fn(model: ModelConfig, matmul_dtype: str = "float32"):
    """Cross-entropy loss of one model ``w (k, m, d)`` on ``data.train`` (or a minibatch)."""
    mm = None if matmul_dtype == "float32" else matmul_dtype

    def loss_fn(w, data, idx):
        x, y = inputs_and_labels(data["train"], idx)
        loss, acc = cross_entropy(forward(model, w, x, matmul_dtype=mm), y)
        return loss, {"acc": acc}

    return loss_fn


def record_views(w, data):
    """Per-step record of one model: Lambda, Phi ``(k, V)`` and the noise correlation.

    ``noise_corr`` is the mean over single-view training samples of
    ``max_{r,p} <w_{y,r}, xi_p>``: how strongly the label's neurons fit the samples' noise.
    """
    feats = data["features"]
    out = {"lambda": M.view_lambda(w, feats), "phi": M.view_phi(w, feats)}
    noise, y = data["mem_noise"], data["mem_y"]
    if noise.shape[0]:
        c = jnp.einsum("nmd,npd->nmp", w[y], noise)
        out["noise_corr"] = c.max(axis=(1, 2)).mean()
    else:
        out["noise_corr"] = jnp.zeros(())
    return out


def training_data(datasets: Datasets) -> dict[str, Any]:
    """The pytree handed to the trainer (shared by all seeds)."""
    tr = datasets.train
    single = np.asarray(tr.single)
    return {
        "train": tr,
        "features": datasets.features,
        "mem_noise": tr.noise[single],
        "mem_y": tr.y[single],
    }


def train_single_models(
    cfg: SimConfig,
    datasets: Datasets,
    *,
    seeds: int | None = None,
    offset: int = 0,
    on_chunk: Callable[[int, int], None] | None = None,
) -> tuple[jax.Array, History]:
    """Train ``seeds`` single models from independent inits: ``(S, k, m, d)`` and history."""
    keys = init_keys(cfg, seeds, offset)
    d = cfg.data
    w0 = jax.vmap(lambda kk: init_weights(cfg.model, d.k, d.d, kk))(keys)
    return train(
        ce_loss_fn(cfg.model, cfg.train.dtype),
        w0,
        training_data(datasets),
        cfg.train,
        n_train=d.n_train,
        keys=keys,
        record_fn=record_views,
        on_chunk=on_chunk,
    )


def evaluate_single_models(
    cfg: SimConfig, datasets: Datasets, w: jax.Array, history: History
) -> dict[str, np.ndarray]:
    """Per-seed metrics of trained single models: dict of ``(S, ...)`` arrays."""
    lam_final = M.view_lambda(w, datasets.features)
    lam0 = history.records["lambda"][:, 0]
    learned = M.learned_views(np.asarray(lam_final), cfg.model.varrho)
    counts = M.view_counts(learned)
    redraw_keys = jax.random.split(jax.random.fold_in(data_key(cfg), 77), 4)
    redrawn = [redraw_noise(cfg.data, datasets.train, kk) for kk in redraw_keys]
    mem = M.memorization(cfg.model, w, datasets.train, redrawn, learned)
    return {
        "train_acc": M.accuracy(M.predict(cfg.model, w, datasets.train.x), datasets.train.y),
        "test_acc_multi": M.accuracy(
            M.predict(cfg.model, w, datasets.test_multi.x), datasets.test_multi.y
        ),
        "test_acc_single": M.accuracy(
            M.predict(cfg.model, w, datasets.test_single.x), datasets.test_single.y
        ),
        "frac_classes_one_view": counts["one"],
        "frac_classes_all_views": counts["all"],
        "frac_classes_no_view": counts["none"],
        "lottery_agreement": M.lottery_agreement(learned, lam0),
        "memorization_flip_rate": mem["flip_unlearned"],
        "memorization_flip_rate_learned": mem["flip_learned"],
        "lambda_init": lam0,
        "lambda_final": np.asarray(lam_final),
        "learned": learned,
    }


SCALAR_METRICS = (
    "train_acc",
    "test_acc_multi",
    "test_acc_single",
    "frac_classes_one_view",
    "frac_classes_all_views",
    "frac_classes_no_view",
    "lottery_agreement",
    "memorization_flip_rate",
    "memorization_flip_rate_learned",
)


def summarize_metrics(per_seed: dict[str, np.ndarray]) -> dict[str, float]:
    """``{name: mean, name_std: std}`` over seeds for every scalar metric."""
    out: dict[str, float] = {}
    for name in SCALAR_METRICS:
        if name in per_seed:
            out[name], out[name + "_std"] = M.mean_std(per_seed[name])
    return out


def single_model_predictions(cfg: SimConfig, per_seed: dict[str, np.ndarray]) -> list[Prediction]:
    """The Theorem-1 predictions, measured over the seeds of this run."""
    V = cfg.data.views
    lo, hi = 0.7 / V, 1.4 / V
    return [
        at_least(
            "learn_subset",
            f"a single model learns exactly one of the {V} views of most classes",
            per_seed["frac_classes_one_view"],
            0.75,
        ),
        at_least(
            "lottery",
            "the learned view is the one with the largest initial correlation",
            per_seed["lottery_agreement"],
            0.75,
        ),
        at_least(
            "memorize",
            "single-view training samples of an unlearned view are memorized "
            "(fresh noise flips them)",
            per_seed["memorization_flip_rate"],
            0.5,
        ),
        band(
            "single_view_half",
            f"single-view test accuracy ~ 1/{V}, multi-view ~ 1, train = 1",
            per_seed["test_acc_single"],
            lo,
            hi,
            extra_checks=[
                ("test_acc_multi", per_seed["test_acc_multi"], 0.97),
                ("train_acc", per_seed["train_acc"], 0.99),
            ],
        ),
    ]


def seed_blocks(seeds: int, seed_chunk: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` blocks of at most ``seed_chunk`` seeds (0: one block)."""
    step = seed_chunk if seed_chunk > 0 else seeds
    return [(a, min(a + step, seeds)) for a in range(0, seeds, step)]


def _check_resume(cfg: SimConfig, chunk_dir: Path, resume: bool) -> None:
    """Record the config beside the chunks; refuse to mix chunks of different configs."""
    manifest = chunk_dir / "config.json"
    body = {"config": config_to_dict(cfg)}
    if manifest.exists():
        if read_json(manifest) != json.loads(json.dumps(to_jsonable(body))):
            if resume:
                raise ConfigError(
                    f"--resume: the chunks in {chunk_dir} were made with a different config; "
                    "use another --out or the same options"
                )
            for old in chunk_dir.glob("seeds_*.npz"):
                old.unlink()
    write_json(manifest, body)


def train_and_measure_block(
    cfg: SimConfig,
    datasets: Datasets,
    start: int,
    stop: int,
    on_chunk: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Train seeds ``[start, stop)`` and return their per-seed arrays (weights included)."""
    w, history = train_single_models(
        cfg, datasets, seeds=stop - start, offset=start, on_chunk=on_chunk
    )
    per_seed = evaluate_single_models(cfg, datasets, w, history)
    return {
        "weights": np.asarray(w),
        "steps": history.steps,
        **{f"history_{k}": v for k, v in history.records.items()},
        **per_seed,
    }


def run_simulation(
    cfg: SimConfig,
    *,
    on_chunk: Callable[[int, int], None] | None = None,
    out: Path | None = None,
    seed_chunk: int = 0,
    resume: bool = False,
    on_block: Callable[[int, int, bool], None] | None = None,
) -> SimulationResult:
    """Train ``cfg.seeds`` models and measure Theorem 1's predictions.

    Arguments:
        cfg: the configuration.
        on_chunk: progress callback of the trainer, ``(steps_done, total)``.
        out: if given, each block of seeds is written to ``out/chunks/seeds_A_B.npz``
            (atomically) as soon as it is done, so an interrupted sweep loses nothing finished.
        seed_chunk: train at most this many seeds at once (0: all together).
        resume: reuse blocks already in ``out/chunks`` (made with the same config).
        on_block: called as ``on_block(start, stop, reused)`` after each block of seeds.
    """
    datasets = make_datasets(cfg.data, data_key(cfg))
    chunk_dir = None if out is None else Path(out) / "chunks"
    if chunk_dir is not None:
        chunk_dir.mkdir(parents=True, exist_ok=True)
        _check_resume(cfg, chunk_dir, resume)
    parts = []
    for start, stop in seed_blocks(cfg.seeds, seed_chunk):
        path = None if chunk_dir is None else chunk_dir / f"seeds_{start:06d}_{stop:06d}.npz"
        reused = bool(resume and path is not None and path.exists())
        if reused:
            part = load_npz(path)
        else:
            part = train_and_measure_block(cfg, datasets, start, stop, on_chunk)
            if path is not None:
                save_npz(path, **part)
        parts.append(part)
        if on_block is not None:
            on_block(start, stop, reused)
    merged = {
        k: parts[0][k] if k == "steps" else np.concatenate([p[k] for p in parts], axis=0)
        for k in parts[0]
    }
    weights = jnp.asarray(merged.pop("weights"))
    steps = merged.pop("steps")
    history = History(
        steps,
        {k[len("history_") :]: merged.pop(k) for k in list(merged) if k.startswith("history_")},
    )
    summary = {
        "metrics": summarize_metrics(merged),
        "predictions": [p.to_dict() for p in single_model_predictions(cfg, merged)],
    }
    return SimulationResult(cfg, datasets, weights, history, merged, summary)
