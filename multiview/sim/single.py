"""Single models: initialise, train and measure many seeds of the network on shared data.

The helpers every experiment shares (one layer below the experiments): the trainer's data
pytree, the per-step record of the view correlations, seed-parallel initialisation, and the
per-seed metrics of Theorem 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from multiview.sim import metrics as M
from multiview.sim.config import SimConfig
from multiview.sim.data import Datasets, redraw_noise
from multiview.sim.losses import ce_loss_fn
from multiview.sim.model import init_weights
from multiview.sim.seeds import data_stream, init_keys
from multiview.sim.train import History, train
from multiview.stats import accuracy, mean_std

__all__ = [
    "SCALAR_METRICS",
    "record_views",
    "training_data",
    "init_models",
    "init_weights_from",
    "train_single_models",
    "view_metrics",
    "evaluate_single_models",
    "model_scores",
    "accuracies",
    "summarize_metrics",
]

#: The per-seed metrics of a simulation that are scalars per seed (summarized as mean, std).
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


def init_models(cfg: SimConfig, n: int | None = None, offset: int = 0):
    """Keys ``(n,)`` and initial weights ``(n, k, m, d)`` of models ``offset .. offset + n - 1``
    of the init stream (see :mod:`multiview.sim.seeds`)."""
    keys = init_keys(cfg, n, offset)
    return keys, init_weights_from(cfg, keys)


def init_weights_from(cfg: SimConfig, keys: jax.Array) -> jax.Array:
    """Initial weights ``(n, k, m, d)`` from init keys ``(n,)``."""
    return jax.vmap(lambda kk: init_weights(cfg.model, cfg.data.k, cfg.data.d, kk))(keys)


def train_single_models(
    cfg: SimConfig,
    datasets: Datasets,
    *,
    seeds: int | None = None,
    offset: int = 0,
    on_chunk: Callable[[int, int], None] | None = None,
) -> tuple[jax.Array, History]:
    """Train ``seeds`` single models from independent inits: ``(S, k, m, d)`` and history."""
    keys, w0 = init_models(cfg, seeds, offset)
    return train(
        ce_loss_fn(cfg.model, cfg.train.dtype),
        w0,
        training_data(datasets),
        cfg.train,
        n_train=cfg.data.n_train,
        keys=keys,
        record_fn=record_views,
        on_chunk=on_chunk,
    )


def view_metrics(
    cfg: SimConfig,
    datasets: Datasets,
    w: jax.Array,
    lam_final: np.ndarray,
    lam0: np.ndarray,
    cut: float,
) -> dict[str, np.ndarray]:
    """The per-seed metrics that depend on which views count as learned (``Lambda >= cut``):
    view counts, lottery agreement, memorization, ``learned (S, k, V)`` and ``learned_cut``
    ``(S,)`` (the cut, repeated per seed so blocks of seeds concatenate).

    Arguments:
        w: ``(S, k, m, d)`` weights; lam_final, lam0: ``(S, k, V)`` final and initial Lambda.
    """
    learned = M.learned_views(lam_final, cut)
    counts = M.view_counts(learned)
    redraw_keys = jax.random.split(data_stream(cfg, "noise_redraw"), 4)
    redrawn = [redraw_noise(cfg.data, datasets.train, kk) for kk in redraw_keys]
    mem = M.memorization(cfg.model, w, datasets.train, redrawn, learned)
    return {
        "frac_classes_one_view": counts["one"],
        "frac_classes_all_views": counts["all"],
        "frac_classes_no_view": counts["none"],
        "lottery_agreement": M.lottery_agreement(learned, lam0),
        "memorization_flip_rate": mem["flip_unlearned"],
        "memorization_flip_rate_learned": mem["flip_learned"],
        "learned": learned,
        "learned_cut": np.full(learned.shape[0], cut),
    }


def evaluate_single_models(
    cfg: SimConfig,
    datasets: Datasets,
    w: jax.Array,
    history: History,
    cut: float | None = None,
) -> dict[str, np.ndarray]:
    """Per-seed metrics of trained models ``w (S, k, m, d)``: dict of ``(S, ...)`` arrays.

    ``cut`` is the Lambda above which a view counts as learned
    (:func:`multiview.sim.metrics.view_cut`); None anchors it on these models themselves
    (single models). Students and averages pass their run's single-model cut.
    """
    lam_final = np.asarray(M.view_lambda(w, datasets.features))
    lam0 = history.records["lambda"][:, 0]
    if cut is None:
        cut = M.view_cut(lam_final, cfg.model.varrho)
    return {
        "train_acc": accuracy(M.predict(cfg.model, w, datasets.train.x), datasets.train.y),
        "test_acc_multi": accuracy(
            M.predict(cfg.model, w, datasets.test_multi.x), datasets.test_multi.y
        ),
        "test_acc_single": accuracy(
            M.predict(cfg.model, w, datasets.test_single.x), datasets.test_single.y
        ),
        "lambda_init": lam0,
        "lambda_final": lam_final,
        **view_metrics(cfg, datasets, w, lam_final, lam0, cut),
    }


def model_scores(cfg: SimConfig, datasets: Datasets, w) -> dict[str, np.ndarray]:
    """Scores ``(S, n, k)`` of models ``w (S, k, m, d)`` on the train and both test sets."""
    return {
        "train": M.predict(cfg.model, w, datasets.train.x),
        "multi": M.predict(cfg.model, w, datasets.test_multi.x),
        "single": M.predict(cfg.model, w, datasets.test_single.x),
    }


def accuracies(scores: dict[str, np.ndarray], datasets: Datasets) -> dict[str, np.ndarray]:
    """``train_acc``, ``test_acc_multi``, ``test_acc_single`` ``(S,)`` from
    :func:`model_scores`-shaped scores."""
    return {
        "train_acc": accuracy(scores["train"], datasets.train.y),
        "test_acc_multi": accuracy(scores["multi"], datasets.test_multi.y),
        "test_acc_single": accuracy(scores["single"], datasets.test_single.y),
    }


def summarize_metrics(per_seed: dict[str, np.ndarray]) -> dict[str, float]:
    """``{name: mean, name_std: std}`` over seeds for every scalar metric."""
    out: dict[str, float] = {}
    for name in SCALAR_METRICS:
        if name in per_seed:
            out[name], out[name + "_std"] = mean_std(per_seed[name])
    return out
