"""Diagnostics of distillation: where the teacher's dark knowledge is, and whether a student
can use it (the scale-separated regime, :mod:`multiview.sim.regimes`).

- :func:`teacher_contrast`: on the training data, the mean score and tempered probability of
  the off-target classes whose feature is present in a sample against those whose feature
  is absent (the contrast a student can learn a missing view from), optionally split by
  whether the student learned that view.
- :func:`oracle_teacher_scores`: an ideal teacher built from the true feature coefficients
  (the oracle control: where it does not transfer the views, no teacher can).
- :func:`offtarget_noise`: a model's score on present off-target classes with the training
  noise against fresh noise (how much of the fitted dark knowledge is memorized noise).
- :func:`lambda_split`: mean Lambda of learned and not learned views.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from multiview.sim.config import ModelConfig, SimConfig
from multiview.sim.data import Dataset, redraw_noise
from multiview.sim.metrics import predict
from multiview.sim.model import smoothed_relu
from multiview.sim.seeds import data_stream

__all__ = ["oracle_teacher_scores", "teacher_contrast", "offtarget_noise", "lambda_split"]


def oracle_teacher_scores(
    model: ModelConfig, coef: jax.Array, lam: float, share: float = 0.5
) -> jax.Array:
    """An ideal teacher from the true feature coefficients: ``(n, k)`` scores
    ``G_i = share * sum_v ReLU~(lam * Z_{i,v})`` from ``coef (n, k, V)`` (Z of every feature
    of every sample, 0 where absent): a noise-free model that knows every view at strength
    ``lam``; ``share = 1/2`` mimics an ensemble whose members each know one view of two.
    With C_p = 1 it is exactly the score such a model gives; with C_p > 1 an upper bound."""
    return share * smoothed_relu(lam * jnp.asarray(coef), model.q, model.varrho).sum(-1)


def _mean(values: np.ndarray, mask: np.ndarray) -> float:
    return float(values[mask].mean()) if mask.any() else float("nan")


def _off_target(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """``(n, k, V)`` present off-target features and ``(n, k)`` off-target classes."""
    coef, y = np.asarray(data.coef), np.asarray(data.y)
    other = np.ones(coef.shape[:2], bool)
    other[np.arange(len(y)), y] = False
    return (coef > 0) & other[..., None], other


def teacher_contrast(
    g: np.ndarray, data: Dataset, temperature: float | None, learned: np.ndarray | None = None
) -> dict[str, float | None]:
    """Dark-knowledge contrast of teacher scores ``g`` (``(G, n, k)`` or ``(n, k)``) on
    ``data`` (its training set) at ``temperature``; ``learned (G, k, V)``: the views each
    teacher's student learned, to split the present off-target features by them.

    ``temperature`` is the one the distillation objective uses
    (:meth:`~multiview.sim.experiment_config.TheoremsConfig.objective_temperature`); None (an
    objective on the scores themselves, such as logit matching) leaves out the tempered
    probabilities, which that objective never sees."""
    g = np.asarray(g, dtype=np.float64)
    g = g[None] if g.ndim == 2 else g
    feat, other = _off_target(data)  # (n, k, V), (n, k)
    present = feat.any(-1)
    n = g.shape[1]
    y = np.asarray(data.y)
    out: dict[str, float | None] = {
        "temperature": None if temperature is None else float(temperature),
        "score_true": float(g[:, np.arange(n), y].mean()),
        "score_present": _mean(g, np.broadcast_to(present, g.shape)),
        "score_absent": _mean(g, np.broadcast_to(other & ~present, g.shape)),
    }
    p = None
    if temperature is not None:
        z = g / temperature
        p = np.exp(z - z.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        out["prob_present"] = _mean(p, np.broadcast_to(present, g.shape))
        out["prob_absent"] = _mean(p, np.broadcast_to(other & ~present, g.shape))
    if learned is not None:
        known = np.asarray(learned)[:, None]  # (G, 1, k, V)
        gv = np.broadcast_to(g[..., None], known.shape[:1] + feat.shape)
        for name, mask in (("known", feat & known), ("unknown", feat & ~known)):
            out[f"score_present_student_{name}"] = _mean(gv, mask)
            if p is not None:
                out[f"prob_present_student_{name}"] = _mean(
                    np.broadcast_to(p[..., None], gv.shape), mask
                )
    return out


def offtarget_noise(cfg: SimConfig, data: Dataset, w: jax.Array) -> dict[str, float]:
    """Mean score of models ``w (S, k, m, d)`` on present off-target classes of ``data``
    with its own noise and with fresh noise (stream ``kd_fresh_noise``)."""
    fresh = redraw_noise(cfg.data, data, data_stream(cfg, "kd_fresh_noise"))
    present = _off_target(data)[0].any(-1)
    s_tr = predict(cfg.model, w, data.x)
    s_fr = predict(cfg.model, w, fresh.x)
    return {
        "offtarget_score_train_noise": _mean(s_tr, np.broadcast_to(present, s_tr.shape)),
        "offtarget_score_fresh_noise": _mean(s_fr, np.broadcast_to(present, s_fr.shape)),
    }


def lambda_split(lam: np.ndarray, learned: np.ndarray) -> dict[str, Any]:
    """Mean final Lambda ``(S, k, V)`` of the learned and the not learned views."""
    lam, learned = np.asarray(lam), np.asarray(learned)
    return {
        "lambda_learned": _mean(lam, learned),
        "lambda_unlearned": _mean(lam, ~learned),
        "frac_classes_all_views": float(learned.all(-1).mean()),
    }
