from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.errors import ConfigError
from multiview.experiments import baselines as B
from multiview.sim import kernels as K
from multiview.sim.config import TheoremsConfig
from multiview.sim.data import make_datasets
from multiview.sim.losses import cross_entropy_with_accuracy
from multiview.sim.model import forward, init_weights
from multiview.sim.predictions import THRESHOLDS
from multiview.sim.seeds import data_key
from multiview.sim.train import train


@pytest.fixture(scope="module")
def setup(tiny_config):
    cfg = tiny_config
    return cfg, make_datasets(cfg.data, data_key(cfg))


def test_ntk_features_equal_the_jvp_linearization(setup):
    cfg, ds = setup
    w0 = init_weights(cfg.model, cfg.data.k, cfg.data.d, jax.random.key(3))
    # A larger init so the activation's curvature matters.
    w0 = 30 * w0
    dw = 0.01 * jax.random.normal(jax.random.key(4), w0.shape)
    x = ds.train.x[:12]
    f_ref, lin_ref = jax.jvp(lambda w: forward(cfg.model, w, x), (w0,), (dw,))
    f0, lin = K.ntk_linearize(cfg.model, w0, x)
    f0b, jac = K.ntk_features(cfg.model, w0, x)
    np.testing.assert_allclose(f0, f_ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(f0b, f_ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(lin(dw), lin_ref, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(jnp.einsum("nkmd,kmd->nk", jac, dw), lin_ref, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(
        K.ntk_scores(cfg.model, w0, dw, x, batch=5), f_ref + lin_ref, rtol=1e-4, atol=1e-7
    )
    # The linearization is not the network: it differs at second order.
    assert not np.allclose(forward(cfg.model, w0 + 30 * dw, x), f_ref + 30 * lin_ref, rtol=1e-3)


def _dual_run(kind, cfg, ds, p0, steps, kc):
    th = TheoremsConfig()
    gram, f0, feats = K.gram_and_offset(kind, cfg, p0, ds.train.x)
    psi, back = K.dual_features(gram, kc.eig_floor)
    gamma, last = K.train_linear(
        th, cfg, kc, steps, psi[None], f0[None], ds.train.y, jax.random.key(0)[None]
    )
    beta = K.sample_weights(back, gamma[0])
    s = float(np.linalg.eigvalsh(gram.astype(np.float64)).max()) / gram.shape[-1]
    return beta, feats, f0, s, last


@pytest.mark.parametrize("kind", ["rf", "ntk"])
def test_dual_gd_equals_primal_gd_and_first_layer_stays_frozen(setup, kind):
    """GD in the dual parameterization reproduces GD on the read-out (RF) / on W (NTK)."""
    cfg, ds = setup
    kc = K.KernelConfig(rf_width=48)
    steps = 30
    if kind == "rf":
        p0 = K.rf_init(cfg, kc, jax.random.key(5))
    else:
        p0 = init_weights(cfg.model, cfg.data.k, cfg.data.d, jax.random.key(5))
    beta, feats, f0, s, _ = _dual_run(kind, cfg, ds, p0, steps, kc)
    x, y = ds.train.x, ds.train.y
    tcfg = replace(cfg.train, steps=steps, lr=2.0 / s, chunks=3, log_points=4)
    if kind == "rf":

        def loss_fn(p, data, idx):
            phi = K.rf_feature_map(jax.lax.stop_gradient(p["w"]), x, cfg.model.q, cfg.model.varrho)
            ce, acc = cross_entropy_with_accuracy(phi @ p["a"].T, y)
            return ce, {"acc": acc}

        params = {"a": jnp.zeros((1, cfg.data.k, kc.rf_width)), "w": p0[None]}
        out, _ = train(loss_fn, params, {}, tcfg, n_train=x.shape[0], keys=jax.random.key(0)[None])
        np.testing.assert_array_equal(out["w"][0], p0)  # the random features are frozen
        primal = np.asarray(K.rf_features(cfg.model, p0, x) @ out["a"][0].T)
        dual = feats[:, 0, :] @ (feats[:, 0, :].T @ beta.T)
    else:

        def loss_fn(p, data, idx):
            f0_, lin = jax.jvp(lambda w: forward(cfg.model, w, x), (p0,), (p["dw"],))
            ce, acc = cross_entropy_with_accuracy(f0_ + lin, y)
            return ce, {"acc": acc}

        params = {"dw": jnp.zeros((1, *p0.shape))}
        out, _ = train(loss_fn, params, {}, tcfg, n_train=x.shape[0], keys=jax.random.key(0)[None])
        primal = np.asarray(K.ntk_scores(cfg.model, p0, out["dw"][0], x))
        theta = np.einsum("nkD,kn->kD", feats, beta)
        dual = f0 + np.einsum("nkD,kD->nk", feats, theta)
    scale = np.abs(primal).max()
    assert scale > 0.5  # training moved the scores
    np.testing.assert_allclose(dual, primal, atol=2e-3 * scale)


def test_kernel_baselines_report_every_method_and_prediction(setup):
    cfg, ds = setup
    th = TheoremsConfig(teacher_size=2)
    kc = K.KernelConfig(seeds=4, rf_width=32, rf_steps=40, ntk_steps=20)
    res = B.run_kernel_baselines(cfg, th, ds, kc=kc)
    for kind in ("rf", "ntk"):
        for m in ("single", "ensemble", "kd", "train_average"):
            entry = res["methods"][f"{kind}_{m}"]
            assert set(entry) >= {"single_view", "multi_view", "overall"}
            mu = cfg.data.single_view_frac
            raw = res["raw"][kind]["single"]
            np.testing.assert_allclose(
                raw["test_acc_overall"],
                (1 - mu) * raw["test_acc_multi"] + mu * raw["test_acc_single"],
            )
    ids = {p.id for p in res["predictions"]}
    assert ids == {
        f"{k}_{p}"
        for k in ("rf", "ntk")
        for p in ("ensemble_gain", "kd_no_transfer", "train_average_wins")
    }
    T = THRESHOLDS
    for kind in ("rf", "ntk"):
        p = {q.id[len(kind) + 1 :]: q for q in res["predictions"] if q.id.startswith(kind)}
        raw = res["raw"][kind]
        members = raw["single"]["test_acc_overall"][:2].mean()  # 4 seeds, groups of 2
        gain = raw["ensemble"]["test_acc_overall"][0] - members
        assert p["ensemble_gain"].n == 2 and p["ensemble_gain"].kind == "control"
        assert p["ensemble_gain"].measured == pytest.approx(
            np.mean(
                raw["ensemble"]["test_acc_overall"]
                - raw["single"]["test_acc_overall"].reshape(2, 2).mean(1)
            )
        )
        assert gain == pytest.approx(
            raw["ensemble"]["test_acc_overall"][0] - raw["single"]["test_acc_overall"][:2].mean()
        )
        assert p["kd_no_transfer"].expected == (
            f"in [{-T['kernel_kd_recovered_fraction']:.3g}, {T['kernel_kd_recovered_fraction']:.3g}]"
        )
        assert p["train_average_wins"].expected == f">= {-T['kernel_average_tolerance']:g}"
        for q in p.values():
            assert q.holds == (q.verdict == "holds")
            if q.holds:  # a decided verdict has an interval, inside the bar
                assert np.isfinite(q.interval).all() and q.n >= 2
    assert len(res["bar"]) == 8
    assert res["raw"]["rf"]["groups"] == 2


def test_kernel_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="kinds"):
        K.KernelConfig(kinds=("svm",))
    with pytest.raises(ConfigError, match="rf_width"):
        K.KernelConfig(rf_width=0)
