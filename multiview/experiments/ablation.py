"""View ablation: remove one view from multi-view test inputs and see who still gets it right.

Removing view l of a sample means setting the coefficient of its label's feature
``v_{y,l}`` to zero in every patch: ``x_p <- x_p - <x_p - xi_p, v> v`` (``x - xi`` is the
signal; the Gaussian noise ``xi`` is left alone, so the noise's own tiny projection on v
stays). The theory: a single model that learned only view l* of a class relies on it (removing
l* leaves a view it never learned, and the off-target features of other classes win), while
an ensemble, or a KD student, knows both views and survives the removal of either.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from multiview.sim import metrics as M
from multiview.sim.config import SimConfig
from multiview.sim.data import Dataset
from multiview.sim.metrics import ensemble_scores
from multiview.sim.predictions import (
    THRESHOLDS,
    Prediction,
    at_least,
    at_most,
    combine,
    from_units,
)
from multiview.stats import accuracy, mean_std_dict

__all__ = ["remove_feature", "remove_own_view", "run_view_ablation"]


@jax.jit
def remove_feature(data: Dataset, features: jax.Array, feat: jax.Array) -> Dataset:
    """Zero the coefficient of one feature per sample.

    Arguments:
        data: ``n`` samples.
        features: ``(k, V, d)`` orthonormal features.
        feat: ``(n,)`` flat feature index ``i * V + l`` to remove from each sample.

    Returns:
        The samples with ``x`` (and ``coef``, ``patch_feature``) updated; the noise is kept.
    """
    k, V, d = features.shape
    v = features.reshape(k * V, d)[feat]  # (n, d)
    c = jnp.einsum("npd,nd->np", data.x - data.noise, v)
    x = data.x - c[:, :, None] * v[:, None, :]
    hit = jax.nn.one_hot(feat, k * V, dtype=bool).reshape(-1, k, V)
    coef = jnp.where(hit, 0.0, data.coef)
    pf = jnp.where(data.patch_feature == feat[:, None], -1, data.patch_feature)
    return data._replace(x=x, coef=coef, patch_feature=pf)


def _nanmean(values) -> float:
    """Mean ignoring NaN; NaN (without a warning) when nothing is finite."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def remove_own_view(data: Dataset, features: jax.Array, view: int) -> Dataset:
    """Remove view ``view`` of each sample's own label: ``v_{y, view}``."""
    V = features.shape[1]
    return remove_feature(data, features, data.y * V + view)


def _per_view_acc(scores: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """``(M, V)`` accuracy of ``M`` models with each view removed (``scores[l] (M, n, k)``)."""
    return np.stack([accuracy(s, y) for s in scores], axis=1)


def _class_view_acc(scores: list[np.ndarray], y: np.ndarray, k: int) -> np.ndarray:
    """``(M, k, V)`` accuracy on class i's samples with view l removed."""
    out = []
    for s in scores:
        hit = np.argmax(s, -1) == y[None]
        out.append(np.stack([hit[:, y == i].mean(-1) for i in range(k)], axis=1))
    return np.stack(out, axis=-1)


def run_view_ablation(
    cfg: SimConfig,
    sim,
    groups: np.ndarray,
    kd_w: jax.Array | None = None,
    sd_w: jax.Array | None = None,
) -> dict[str, Any]:
    """Accuracy on multi-view test samples with one of their label's views removed.

    Arguments:
        cfg: the configuration.
        sim: a :class:`~multiview.experiments.simulate.SimulationResult` (``weights (S, k, m,
            d)``, ``data``, ``per_seed["learned"] (S, k, V)``).
        groups: ``(G, K)`` disjoint seed groups of the ensembles.
        kd_w: ``(n_students, k, m, d)`` KD students, or None.
        sd_w: ``(n_students, k, m, d)`` self-distilled students, or None.

    Returns:
        ``{"methods": {...: {"multi_view": {"mean", "std"}}}, "predictions": [view_ablation],
        "per_seed": {...}}``. For a single model, ``learned_removed`` is its accuracy on the
        samples of classes where it learned exactly one view, with that view removed
        (``other_removed``: the other view removed, the control); for ensembles and students
        it is the accuracy with each view removed in turn, averaged over views (``worst``: the
        lowest (class, view) accuracy).
    """
    ds, feats = sim.data.test_multi, sim.data.features
    V, k = cfg.data.views, cfg.data.k
    y = np.asarray(ds.y)
    ablated = [remove_own_view(ds, feats, l) for l in range(V)]
    sc = [M.predict(cfg.model, sim.weights, a.x) for a in ablated]  # V x (S, n, k)
    learned = np.asarray(sim.per_seed["learned"])  # (S, k, V)

    # Single models: samples of classes with exactly one learned view.
    one = learned.sum(-1) == 1  # (S, k)
    which = np.argmax(learned, -1)  # (S, k)
    hit = np.stack([np.argmax(s, -1) == y[None] for s in sc], axis=-1)  # (S, n, V)
    lv = which[:, y]  # (S, n): the learned view of the sample's class
    mask = one[:, y]  # (S, n)
    take = lambda view: np.take_along_axis(hit, view[..., None], -1)[..., 0]  # noqa: E731
    with np.errstate(invalid="ignore", divide="ignore"):
        learned_removed = (take(lv) & mask).sum(-1) / mask.sum(-1)
        other = (lv + 1) % V if V == 2 else np.where(lv == 0, 1, 0)
        other_removed = (take(other) & mask).sum(-1) / mask.sum(-1)
    intact = accuracy(M.predict(cfg.model, sim.weights, ds.x), y)

    ens = [ensemble_scores(s, groups) for s in sc]
    ens_acc = _per_view_acc(ens, y).mean(-1)
    ens_worst = _class_view_acc(ens, y, k).min(axis=(1, 2))
    K = groups.shape[1]
    methods = {
        "ablation_single_intact": {"multi_view": mean_std_dict(intact)},
        "ablation_single_learned_view_removed": {"multi_view": mean_std_dict(learned_removed)},
        "ablation_single_other_view_removed": {"multi_view": mean_std_dict(other_removed)},
        f"ablation_ensemble_{K}_view_removed": {
            "multi_view": mean_std_dict(ens_acc),
            "worst_class_view": mean_std_dict(ens_worst),
        },
    }
    per_seed = {
        "single_learned_removed": learned_removed,
        "single_other_removed": other_removed,
        "single_intact": intact,
        "ensemble": ens_acc,
        "ensemble_worst": ens_worst,
    }
    details: dict[str, Any] = {
        "single_other_view_removed": float(_nanmean(other_removed)),
        f"ensemble_{K}": float(np.mean(ens_acc)),
        f"ensemble_{K}_worst_class_view": float(np.mean(ens_worst)),
    }
    lo, hi = THRESHOLDS["ablation_single"], THRESHOLDS["ablation_ensemble"]
    checks = [
        from_units(
            f"ensemble_{K}_view_removed",
            f"the {K}-ensemble with either view removed",
            "diagnostic",
            ens_acc,
            at_least(hi),
            "disjoint ensembles",
        )
    ]
    for name, w in (("kd", kd_w), ("sd", sd_w)):
        if w is None:
            continue
        s_st = [M.predict(cfg.model, w, a.x) for a in ablated]
        acc = _per_view_acc(s_st, y).mean(-1)
        worst = _class_view_acc(s_st, y, k).min(axis=(1, 2))
        methods[f"ablation_{name}_view_removed"] = {
            "multi_view": mean_std_dict(acc),
            "worst_class_view": mean_std_dict(worst),
        }
        per_seed[name] = acc
        details[name] = float(np.mean(acc))
        if name == "kd":
            checks.append(
                from_units(
                    "kd_view_removed",
                    "the KD students with either view removed",
                    "diagnostic",
                    acc,
                    at_least(hi),
                    "students",
                )  # fmt: skip
            )
    single = from_units(
        "view_ablation",
        "removing the one view a single model learned drops its accuracy on that class to "
        f"<= {lo:g}, while the {K}-ensemble"
        + (" and the KD student" if kd_w is not None else "")
        + f" stay >= {hi:g} with either view removed (inferred from the theory's mechanism, "
        "not a claim of the paper)",
        "diagnostic",
        learned_removed,
        at_most(lo),
        details=details,
    )
    pred: Prediction = combine(single, *checks)
    return {"methods": methods, "predictions": [pred], "per_seed": per_seed}
