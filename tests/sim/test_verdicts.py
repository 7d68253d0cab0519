"""What a verdict rests on: convergence, the absolute learned-view cut, the objective, and
the exact identity between training the average and one scaled wide network."""

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.experiments.average import as_scaled_wide_model, average_loss_fn
from multiview.experiments.simulate import run_simulation
from multiview.sim.config import (
    DataConfig,
    ModelConfig,
    SimConfig,
    TheoremsConfig,
    TrainConfig,
    theorems_preset,
)
from multiview.sim.data import make_datasets
from multiview.sim.grading import student_view_fraction
from multiview.sim.losses import ce_loss_fn
from multiview.sim.metrics import learned_views, view_cut
from multiview.sim.model import forward
from multiview.sim.predictions import THRESHOLDS, at_least, from_units
from multiview.sim.seeds import data_key
from multiview.sim.single import training_data

THEOREM_1 = {"learn_subset", "lottery", "memorize", "single_view_half"}


def test_the_learned_cut_is_absolute_and_anchored_on_the_single_models():
    varrho = 3.0
    lam = np.array([[[10.0, 0.1], [12.0, 0.2], [0.3, 14.0]]])  # (1, k=3, V=2)
    cut = view_cut(lam, varrho)
    assert cut == pytest.approx(max(varrho / 2, 0.5 * 12.0))
    # a view far under the cut does not count however weak the class's other view is
    assert not learned_views(np.array([[1.0, 0.01]]), cut).any()
    # nothing strong: the cut falls back to varrho / 2
    assert view_cut(np.full((2, 3, 2), 0.1), varrho) == varrho / 2


def test_a_collapsed_student_cannot_pass_kd_all_views():
    """A student whose every Lambda is huge (it 'knows' every view) but whose multi-view
    accuracy collapsed to 0.257 counts no class: kd_all_views fails for it."""
    cut = 5.0
    lam = np.full((4, 20, 2), 238.0)  # 4 collapsed students, every view far above the cut
    acc_multi = np.full(4, 0.257)
    values = student_view_fraction(lam, acc_multi, cut, "all")
    assert np.all(values == 0.0)
    p = from_units("kd_all_views", "c", "paper", values, at_least(THRESHOLDS["kd_all_views"]))
    assert p.verdict == "fails"
    # the same views in a student that works count in full
    good = student_view_fraction(lam, np.full(4, 0.99), cut, "all")
    assert np.all(good == 1.0)


def test_unconverged_single_models_grade_every_dependent_prediction_not_converged(tiny_config):
    short = replace(tiny_config, train=replace(tiny_config.train, steps=2, chunks=1))
    res = run_simulation(short)
    conv = res.summary["convergence"]
    assert not conv["converged"] and "--steps" in conv["hint"]
    preds = {p["id"]: p for p in res.summary["predictions"]}
    assert set(preds) == THEOREM_1
    assert all(p["verdict"] == "not_converged" for p in preds.values())
    assert all("did not converge" in p["reason"] for p in preds.values())


def test_converged_single_models_are_graded():
    fits = SimConfig(
        data=DataConfig(k=4, d=256, n_train=80, n_test=100),
        train=TrainConfig(steps=800, chunks=2, log_points=8),
        seeds=2,
    )
    res = run_simulation(fits)
    assert res.summary["convergence"]["converged"], res.summary["convergence"]
    verdicts = {p["verdict"] for p in res.summary["predictions"]}
    assert "not_converged" not in verdicts


def test_kd_objective_is_named_and_only_the_papers_is_called_the_paper():
    sep = theorems_preset("separated").objective(20)
    assert sep["loss"] == "logits" and not sep["paper_objective"] and sep["temperature"] is None
    paper = TheoremsConfig().objective(20)
    assert paper["paper_objective"] and paper["temperature"] == pytest.approx(np.log(20) ** 2)
    assert not TheoremsConfig(kd_ce_weight=0.0).objective(20)["paper_objective"]
    hinton = TheoremsConfig(kd_loss="hinton", hinton_temperature=3.0).objective(20)
    assert hinton["temperature"] == 3.0 and hinton["ce_weight"] == 0.5


def test_training_the_average_is_one_scaled_wide_network(tiny_config):
    """(1/K) sum_k F_k(w_k) == F(w / K) of a K-times-wider network at varrho / K, and a GD
    step of the average at lr is the wide network's step at lr / K^2 (float tolerance)."""
    cfg = replace(tiny_config, model=ModelConfig(width=2, init_std=0.05))
    K = 3
    data = make_datasets(cfg.data, data_key(cfg))
    w = cfg.model.init_std * jax.random.normal(
        jax.random.key(0), (K, cfg.data.k, cfg.model.width, cfg.data.d)
    )
    wide_cfg, u = as_scaled_wide_model(cfg, w)
    x = data.train.x
    avg = jnp.mean(jnp.stack([forward(cfg.model, w[i], x) for i in range(K)]), axis=0)
    np.testing.assert_allclose(forward(wide_cfg.model, u, x), avg, rtol=2e-5, atol=1e-6)
    assert wide_cfg.model.init_std == pytest.approx(cfg.model.init_std / K)

    tdata = training_data(data)
    lr = 7.0
    g_avg = jax.grad(lambda v: average_loss_fn(cfg.model)(v, tdata, None)[0])(w)
    g_wide = jax.grad(lambda v: ce_loss_fn(wide_cfg.model)(v, tdata, None)[0])(u)
    _, u_next = as_scaled_wide_model(cfg, w - lr * g_avg)
    np.testing.assert_allclose(u - wide_cfg.train.lr / cfg.train.lr * lr * g_wide, u_next,
                               rtol=1e-4, atol=1e-7)  # fmt: skip
    assert wide_cfg.train.lr == pytest.approx(cfg.train.lr / K**2)
