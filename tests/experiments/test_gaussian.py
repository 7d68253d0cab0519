import jax
import numpy as np
import pytest

from multiview.errors import ConfigError
from multiview.experiments import gaussian as G
from multiview.sim.config import TheoremsConfig
from multiview.sim.model import forward
from multiview.sim.predictions import THRESHOLDS


def test_teacher_labels_are_the_teachers_argmax_and_patches_are_pure_noise(tiny_config):
    cfg = tiny_config
    t = G.teacher_weights(cfg, jax.random.key(0))
    ds = G.sample_teacher(cfg, t, jax.random.key(1), 300)
    np.testing.assert_array_equal(ds.y, np.argmax(forward(cfg.model, t, ds.x), 1))
    assert len(np.unique(ds.y)) > 1
    np.testing.assert_allclose(np.std(ds.x), cfg.data.sigma_p, rtol=0.05)
    # The teacher's pre-activations reach its smoothed ReLU's threshold.
    pre = np.einsum("kmd,npd->nkmp", t, ds.x)
    np.testing.assert_allclose(np.std(pre), cfg.model.varrho, rtol=0.15)


def test_mixture_carries_the_class_mean_in_a_few_patches(tiny_config):
    cfg = tiny_config
    mu = G.class_means(cfg, jax.random.key(0))
    np.testing.assert_allclose(mu @ mu.T, np.eye(cfg.data.k), atol=1e-5)
    ds = G.sample_mixture(cfg, mu, jax.random.key(1), 50, carry=3)
    signal = np.einsum("npd,nd->np", ds.x - ds.noise, mu[ds.y])
    assert ((signal > 1e-6).sum(1) == 3).all()
    np.testing.assert_allclose(signal.sum(1), cfg.data.view_strength * cfg.data.views, rtol=1e-5)


def test_prediction_agreement():
    s = np.zeros((3, 4, 2))
    s[0, :, 0] = s[1, :, 0] = 1  # seeds 0 and 1 always say class 0
    s[2, :2, 1] = 1  # seed 2 says class 1 on half the samples
    np.testing.assert_allclose(G.prediction_agreement(s), [1.0, 0.5, 0.5])


def test_gaussian_control_grades_each_variant_by_its_paired_groups(tiny_config):
    th = TheoremsConfig(teacher_size=2)
    gc = G.GaussianConfig(seeds=4, d=32, n_train=40)
    res = G.run_gaussian_control(tiny_config, th, gc=gc)
    preds = {p.id: p for p in res["predictions"]}
    assert set(preds) == {f"gaussian_{v}_no_ensemble_gain" for v in gc.variants}
    for v in gc.variants:
        p, raw = preds[f"gaussian_{v}_no_ensemble_gain"], res["raw"][v]
        assert p.kind == "control" and p.n == 2  # two disjoint ensembles of 2
        assert 0.0 <= p.details["agreement"] <= 1.0
        assert f"gaussian_{v}_ensemble" in res["methods"]
        paired = raw["ensemble"] - raw["single"].reshape(2, 2).mean(1)
        assert p.measured == pytest.approx(paired.mean())
        if p.details["train_acc"] < THRESHOLDS["gaussian_fit"]:
            assert p.verdict == "not_converged"
        elif p.details["single"] > THRESHOLDS["gaussian_ceiling"]:
            assert p.verdict == "inconclusive" and "ceiling" in p.reason


def test_gaussian_config_rejects_unknown_variant():
    with pytest.raises(ConfigError, match="variants"):
        G.GaussianConfig(variants=("uniform",))
