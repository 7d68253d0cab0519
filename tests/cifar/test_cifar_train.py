"""Training engine: the seed strategies agree, learning happens, checkpoints resume exactly."""

import importlib

import jax
import numpy as np
import pytest

from multiview.cifar.augment import normalize
from multiview.cifar.config import CifarTrainConfig, DistillConfig, NetConfig, RFConfig
from multiview.cifar.fixtures import fake_images
from multiview.cifar.nets import build_net
from multiview.cifar.predict import predict_logits
from multiview.cifar.random_features import (
    concat_features,
    patch_whitening,
    random_features,
    rf_logits,
    train_rf_heads,
)
from multiview.cifar.train import train_models
from multiview.errors import ConfigError

NET = build_net(NetConfig("tiny", width=4, num_classes=4))


def _data(n=64, seed=0):
    y = np.random.default_rng(seed).permutation(np.arange(n) % 4).astype(np.int32)
    return fake_images(y, 4, seed), y


def _cfg(**kw):
    base = dict(epochs=2, batch_size=16, lr=0.05, warmup_epochs=0.5, eval_batch_size=40)
    return CifarTrainConfig(**{**base, **kw})


def _strategies_agree(strategies):
    x, y = _data(32)
    outs = {}
    for strategy in strategies:
        cfg = _cfg(seed_parallel=strategy, epochs=1)
        tr = train_models(NET, cfg, x, y, key=jax.random.key(0), runs=2)
        outs[strategy] = predict_logits(NET, tr, x[:8], cfg=cfg)
        assert outs[strategy].shape == (2, 1, 8, 4)
    first = outs[strategies[0]]
    for s in strategies[1:]:
        np.testing.assert_allclose(first, outs[s], rtol=2e-3, atol=2e-3)
    assert not np.allclose(first[0], first[1])  # seeds differ


def test_vmap_and_unrolled_seeds_give_the_same_models():
    _strategies_agree(("unroll", "vmap"))


@pytest.mark.slow
def test_lax_map_seeds_give_the_same_models():
    _strategies_agree(("unroll", "map"))


def test_training_learns_the_generated_classes():
    x, y = _data(128)
    cfg = _cfg(epochs=3, lr=0.1)
    tr = train_models(NET, cfg, x, y, key=jax.random.key(1), runs=1)
    xt, yt = _data(64, seed=7)
    acc = (predict_logits(NET, tr, xt, cfg=cfg)[0, 0].argmax(-1) == yt).mean()
    assert acc > 0.6


def test_checkpoint_resume_is_exact(tmp_path, run_until_first_checkpoint):
    x, y = _data()
    cfg = _cfg(epochs=2)
    ck = tmp_path / "m.npz"
    reports = []
    full = train_models(
        NET,
        cfg,
        x,
        y,
        key=jax.random.key(2),
        runs=2,
        checkpoint=ck,
        progress=reports.append,
        name="m",
    )
    assert [r.epoch for r in reports] == [1, 2] and reports[0].loss.shape == (2,)
    # Interrupt after epoch 1: train a 1-epoch prefix into another checkpoint, then resume.
    ck2 = tmp_path / "m2.npz"
    run_until_first_checkpoint(
        lambda: train_models(
            NET, cfg, x, y, key=jax.random.key(2), runs=2, checkpoint=ck2, name="m"
        )
    )
    resumed_reports = []
    resumed = train_models(
        NET,
        cfg,
        x,
        y,
        key=jax.random.key(2),
        runs=2,
        checkpoint=ck2,
        progress=resumed_reports.append,
        name="m",
    )
    assert [r.epoch for r in resumed_reports] == [2] and resumed_reports[0].resumed
    for a, b in zip(
        jax.tree_util.tree_leaves(full.params),
        jax.tree_util.tree_leaves(resumed.params),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_train_average_and_distillation_shapes():
    x, y = _data()
    cfg = _cfg(epochs=1)
    avg = train_models(NET, cfg, x, y, key=jax.random.key(3), runs=1, members=2)
    assert predict_logits(NET, avg, x[:8], cfg=cfg).shape == (1, 2, 8, 4)
    teacher = np.random.default_rng(0).normal(size=(1, 64, 4)).astype(np.float32)
    kd = train_models(
        NET,
        cfg,
        x,
        y,
        key=jax.random.key(4),
        runs=1,
        teacher_logits=teacher,
        distill=DistillConfig(alpha=0.5, temperature=2.0),
    )
    assert predict_logits(NET, kd, x[:8], cfg=cfg).shape == (1, 1, 8, 4)
    with pytest.raises(ConfigError, match="teacher_logits"):
        train_models(NET, cfg, x, y, key=jax.random.key(4), runs=2, teacher_logits=teacher)


def test_mixed_precision_path_runs():
    x, y = _data(32)
    cfg = _cfg(epochs=1, mixed_precision=True, tta_flip=True)
    tr = train_models(NET, cfg, x, y, key=jax.random.key(5), runs=2)
    out = predict_logits(NET, tr, x[:4], cfg=cfg)
    assert out.dtype == np.float32 and np.isfinite(out).all()


def test_random_feature_heads_learn_and_average():
    x, y = _data(128)
    xt, yt = _data(64, seed=9)
    cfg = RFConfig(channels=4, pool=8, epochs=10, batch_size=32, lr=0.05)
    tr, te = random_features(jax.random.key(0), cfg, x, xt)
    assert tr.shape == (128, cfg.dim) and te.shape == (64, cfg.dim)
    np.testing.assert_allclose(tr.mean(0), 0, atol=1e-4)
    heads = train_rf_heads(tr[None], y, cfg, key=jax.random.key(1))
    logits = rf_logits(te[None], heads)
    assert logits.shape == (1, 64, 4) and (logits[0].argmax(-1) == yt).mean() > 0.5
    two = train_rf_heads(
        np.stack([tr, tr]),
        y,
        cfg,
        key=jax.random.key(1),
        teacher_logits=rf_logits(tr[None], heads)[0],
    )
    assert two[0].shape == (2, cfg.dim, 4)


def test_a_head_on_concatenated_features_is_the_sum_of_member_heads():
    # Member-major columns: one head with the members' weights stacked (and their biases
    # summed) computes the sum of the member heads' logits, K times their averaged logits.
    rng = np.random.default_rng(0)
    f = rng.normal(size=(3, 5, 4)).astype(np.float32)
    w, b = rng.normal(size=(3, 4, 2)).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)
    one = concat_features(f)
    assert one.shape == (1, 5, 12)
    np.testing.assert_allclose(
        rf_logits(one, (w.reshape(1, 12, 2), b.sum(0)[None]))[0],
        rf_logits(f, (w, b)).sum(0),
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_array_equal(concat_features(f[:1]), f[:1])  # one member: unchanged


def _patches(x: np.ndarray) -> np.ndarray:
    """Every zero-padded 3x3 patch of normalized images ``(N, H, W, 3)``, flattened in
    ``(h, w, c)`` order, by explicit slicing: ``(N, H, W, 27)`` float64."""
    z = np.pad(np.asarray(normalize(x), np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    h, w = x.shape[1:3]
    return np.stack(
        [z[:, i : i + h, j : j + w, c] for i in range(3) for j in range(3) for c in range(3)], -1
    )


def test_patch_whitening_whitens_the_training_patches():
    x = np.random.default_rng(0).integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    p = _patches(x).reshape(-1, 27)
    for eps in (1e-6, 1.0):
        z, mean = patch_whitening(x, eps, batch=16)  # batches of 16, 16, 8: sums add up
        np.testing.assert_allclose(mean, p.mean(0), atol=1e-5)
        lam, u = np.linalg.eigh(np.cov(p, rowvar=False, bias=True))
        cov = np.cov((p - mean) @ z.T, rowvar=False, bias=True)
        np.testing.assert_allclose(cov, (u * (lam / (lam + eps))) @ u.T, atol=1e-4)
    assert np.abs(cov - np.eye(27)).max() > 0.1  # eps = 1 is not the identity
    np.testing.assert_allclose(
        np.cov((p - mean) @ patch_whitening(x, 1e-6)[0].T, rowvar=False, bias=True),
        np.eye(27),
        atol=1e-3,
    )


def test_whitened_features_are_random_filters_on_whitened_patches():
    """The whitening folded into the filters equals ``relu(w^T Z (p - mean) + b)`` computed
    explicitly, pooled and standardized."""
    x = np.random.default_rng(1).integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
    xt = np.random.default_rng(2).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    cfg = RFConfig(channels=5, pool=16, whiten=True, whiten_eps=0.1)
    key = jax.random.key(3)
    tr, te = random_features(key, cfg, x, xt, batch=10)
    k_w, k_b = jax.random.split(key)
    w = np.asarray(jax.random.normal(k_w, (3, 3, 3, 5)), np.float64).reshape(27, 5) / np.sqrt(27)
    b = 0.5 * np.asarray(jax.random.normal(k_b, (5,)), np.float64)
    z, mean = patch_whitening(x, 0.1)

    def raw(imgs):
        h = np.maximum(((_patches(imgs) - mean) @ z.T) @ w + b, 0)  # (N, 32, 32, 5)
        return h.reshape(len(imgs), 2, 16, 2, 16, 5).mean((2, 4)).reshape(len(imgs), -1)

    f, ft = raw(x), raw(xt)
    mu, sd = f.mean(0), f.std(0) + 1e-6
    np.testing.assert_allclose(np.asarray(tr), (f - mu) / sd, atol=2e-3)
    np.testing.assert_allclose(np.asarray(te), (ft - mu) / sd, atol=2e-3)
    plain, _ = random_features(key, RFConfig(channels=5, pool=16), x, xt)
    assert np.abs(np.asarray(plain) - np.asarray(tr)).max() > 0.1  # whitening changed them


def test_feature_map_fits_the_whitening_once_for_every_seed(monkeypatch):
    # the module, not the function of the same name that multiview.cifar re-exports
    rf_module = importlib.import_module("multiview.cifar.random_features")

    x = np.random.default_rng(4).integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    cfg = RFConfig(channels=3, pool=16, whiten=True)
    keys = [jax.random.key(i) for i in range(3)]
    one_by_one = [random_features(k, cfg, x, x[:4]) for k in keys]
    fits = []
    fit = rf_module.patch_whitening
    monkeypatch.setattr(
        rf_module, "patch_whitening", lambda *a, **kw: fits.append(1) or fit(*a, **kw)
    )
    seed_features = rf_module.make_random_features(cfg, x, x[:4])
    for key, (tr, te) in zip(keys, one_by_one, strict=True):
        got_tr, got_te = seed_features(key)
        np.testing.assert_array_equal(np.asarray(got_tr), np.asarray(tr))
        np.testing.assert_array_equal(np.asarray(got_te), np.asarray(te))
    assert len(fits) == 1


def test_bad_whiten_eps_is_refused():
    with pytest.raises(ConfigError, match="rf.whiten_eps"):
        RFConfig(whiten=True, whiten_eps=0.0)


@pytest.mark.parametrize(
    "kw,field",
    [
        (dict(epochs=0), "epochs"),
        (dict(lr=0), "lr"),
        (dict(seed_parallel="pmap"), "seed_parallel"),
        (dict(warmup_epochs=5, epochs=2), "warmup_epochs"),
    ],
)
def test_bad_train_config_names_the_field(kw, field):
    with pytest.raises(ConfigError, match=f"train.{field}"):
        CifarTrainConfig(**kw)


def test_data_key_pairs_the_data_order_and_keeps_the_init():
    """``data_key``: the same key as ``key`` changes nothing; another key changes the batches
    but not the initialization (a student paired with its single model)."""
    x, y = _data(32)
    cfg = _cfg(epochs=1, seed_parallel="unroll")
    k0, k1 = jax.random.key(7), jax.random.key(8)
    plain = train_models(NET, cfg, x, y, key=k0, runs=2)
    same = train_models(NET, cfg, x, y, key=k0, runs=2, data_key=k0)
    for a, b in zip(jax.tree_util.tree_leaves(plain), jax.tree_util.tree_leaves(same), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = train_models(NET, cfg, x, y, key=k0, runs=2, data_key=k1)
    swapped = train_models(NET, cfg, x, y, key=k1, runs=2, data_key=k0)
    assert not np.allclose(
        predict_logits(NET, plain, x, cfg=cfg), predict_logits(NET, other, x, cfg=cfg)
    )
    assert not np.allclose(
        predict_logits(NET, other, x, cfg=cfg), predict_logits(NET, swapped, x, cfg=cfg)
    )
