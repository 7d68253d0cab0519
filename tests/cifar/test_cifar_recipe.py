"""airbench94's recipe: schedule, parameter groups, lookahead, alternating flips, reflect
translation, translate TTA, the airbench net's init - each checked against what it must do."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import multiview.cifar.train as train_module
from multiview.cifar.augment import alternating_flips, normalize, random_crop
from multiview.cifar.config import CifarTrainConfig, DistillConfig, NetConfig
from multiview.cifar.data import class_balanced_subset
from multiview.cifar.fixtures import fake_images
from multiview.cifar.nets import build_net, param_count, whitening_kernel
from multiview.cifar.optim import LOOKAHEAD_BASE, lookahead_step, lr_schedule, make_optimizer
from multiview.cifar.predict import predict_logits, translate_views
from multiview.cifar.presets import AIRBENCH94, preset_config
from multiview.cifar.train import (
    Trained,
    make_epoch_keys,
    make_init,
    make_step,
    resolve_strategy,
    train_models,
)
from multiview.errors import ConfigError


def test_airbench94_units():
    """The preset's numbers are airbench94's hyperparameters converted to a batch-mean loss."""
    t = preset_config("gpu").train
    kilostep = 1024 * (1 + 1 / (1 - 0.85))
    torch_lr = 11.5 / kilostep  # airbench's SGD lr on the summed loss
    assert t.lr == pytest.approx(torch_lr * 1024)
    torch_wd = 0.0153 * 1024 / kilostep / torch_lr  # its SGD weight_decay argument
    assert t.weight_decay * t.lr == pytest.approx(torch_wd * torch_lr)  # same shrink per step
    assert (t.batch_size, t.bias_lr_scale, t.lookahead_every, t.whiten_bias_epochs) == (
        1024,
        64.0,
        5,
        3,
    )


def test_schedule_starts_peaks_and_ends_where_asked():
    cfg = dataclasses.replace(AIRBENCH94, epochs=10, warmup_epochs=2.0)
    sched = lr_schedule(cfg, 10)  # 100 steps, warm-up 20
    assert float(sched(0)) == pytest.approx(0.2 * cfg.lr)
    assert float(sched(20)) == pytest.approx(cfg.lr)
    assert float(sched(100)) == pytest.approx(0.07 * cfg.lr)
    assert float(sched(60)) == pytest.approx(cfg.lr * (1 + 0.07) / 2)


def _tree():
    return {
        "g0": {"a": {"w": jnp.ones((3, 3, 2, 2)), "bn": {"bias": jnp.ones((2,))}}},
        "whiten_b": jnp.ones((2,)),
        "head": {"w": jnp.ones((2, 2))},
    }


def test_batch_norm_group_gets_scaled_lr_and_matching_decay():
    params = _tree()
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    base = dict(epochs=1, lr=0.1, warmup_epochs=0.0, momentum=0.0, weight_decay=0.0)
    plain = make_optimizer(CifarTrainConfig(**base), 10)
    scaled = make_optimizer(CifarTrainConfig(**base, bias_lr_scale=64.0), 10)
    u1, _ = plain.update(grads, plain.init(params), params)
    u64, _ = scaled.update(grads, scaled.init(params), params)
    np.testing.assert_allclose(u64["g0"]["a"]["bn"]["bias"], 64 * u1["g0"]["a"]["bn"]["bias"])
    np.testing.assert_allclose(u64["g0"]["a"]["w"], u1["g0"]["a"]["w"])
    # decay_all: with zero gradients every parameter shrinks by lr * wd per step, scaled or not.
    zero = jax.tree_util.tree_map(jnp.zeros_like, params)
    dec = make_optimizer(
        CifarTrainConfig(**{**base, "weight_decay": 0.01}, bias_lr_scale=64.0, decay_all=True), 10
    )
    u, _ = dec.update(zero, dec.init(params), params)
    for leaf in jax.tree_util.tree_leaves(u):
        np.testing.assert_allclose(leaf, -0.1 * 0.01, rtol=1e-5)
    kernels_only = make_optimizer(CifarTrainConfig(**{**base, "weight_decay": 0.01}), 10)
    u, _ = kernels_only.update(zero, kernels_only.init(params), params)
    assert float(jnp.abs(u["whiten_b"]).max()) == 0 and float(u["head"]["w"][0, 0]) < 0


def test_whitening_bias_freezes_after_its_epochs():
    params = _tree()
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    opt = make_optimizer(
        CifarTrainConfig(epochs=3, lr=0.1, warmup_epochs=0, whiten_bias_epochs=1), 2
    )
    state = opt.init(params)
    moved = []
    for _ in range(4):
        u, state = opt.update(grads, state, params)
        moved.append(float(jnp.abs(u["whiten_b"]).max()) > 0)
    assert moved == [True, True, False, False]  # 1 epoch of 2 steps


def test_lookahead_moves_on_ticks_and_resets_at_the_end():
    cfg = CifarTrainConfig(lookahead_every=5)
    params, ema = {"w": jnp.array([1.0])}, {"w": jnp.array([0.0])}
    state, ema_state = {"m": jnp.array([2.0])}, {"m": jnp.array([0.0])}
    p, s, e = lookahead_step(cfg, 100, jnp.asarray(3), params, state, (ema, ema_state))
    assert float(p["w"][0]) == 1.0 and float(e[0]["w"][0]) == 0.0  # not a tick
    p, s, e = lookahead_step(cfg, 100, jnp.asarray(50), params, state, (ema, ema_state))
    decay = LOOKAHEAD_BASE**5 * 0.5**3
    assert float(e[0]["w"][0]) == pytest.approx(1 - decay)
    assert float(p["w"][0]) == pytest.approx(1 - decay)  # the model is reset to the EMA
    assert float(s["m"][0]) == pytest.approx(2 * (1 - decay))  # BN statistics too
    p, s, e = lookahead_step(cfg, 101, jnp.asarray(101), params, state, (ema, ema_state))
    assert float(p["w"][0]) == 0.0  # last step: the EMA, even off a tick


def test_alternating_flips_complement_each_other():
    key = jax.random.key(0)
    even, odd = alternating_flips(key, 1000, 0), alternating_flips(key, 1000, 1)
    assert bool(jnp.all(even != odd)) and 400 < int(even.sum()) < 600
    assert bool(jnp.all(alternating_flips(key, 1000, 2) == even))


def test_reflect_crop_only_moves_pixels_of_the_image():
    x = jnp.arange(2 * 6 * 6 * 1, dtype=jnp.float32).reshape(2, 6, 6, 1) + 1
    out = random_crop(jax.random.key(3), x, 2, "reflect")
    for b in range(2):
        assert set(np.asarray(out[b]).ravel()) <= set(np.asarray(x[b]).ravel())
    zero = random_crop(jax.random.key(3), x, 2, "zero")
    assert bool(jnp.any(zero == 0)) or bool(jnp.all(zero == out))


def test_translate_views_shift_by_one_pixel():
    x = jnp.arange(5 * 5, dtype=jnp.float32).reshape(1, 5, 5, 1)
    down_right, up_left = translate_views(x)
    np.testing.assert_array_equal(down_right[0, 1:, 1:, 0], x[0, :-1, :-1, 0])
    np.testing.assert_array_equal(up_left[0, :-1, :-1, 0], x[0, 1:, 1:, 0])


def test_translate_tta_is_a_no_op_on_flat_images():
    net = build_net(NetConfig("tiny", width=4, num_classes=3))  # any net: the views are equal
    params, state = net.init(jax.random.key(0), None)
    trained = Trained(*jax.tree_util.tree_map(lambda a: a[None, None], (params, state)))
    flat = np.full((4, 32, 32, 3), 100, np.uint8)
    cfg0 = CifarTrainConfig(eval_batch_size=4)
    cfg2 = CifarTrainConfig(eval_batch_size=4, tta_flip=True, tta_translate=True)
    np.testing.assert_allclose(
        predict_logits(net, trained, flat, cfg=cfg0),
        predict_logits(net, trained, flat, cfg=cfg2),
        rtol=1e-5,
        atol=1e-6,
    )
    with pytest.raises(ConfigError, match="tta_translate"):
        CifarTrainConfig(tta_translate=True)


def test_airbench_net_matches_airbench94():
    """Same trained-parameter count as airbench94 (PyTorch), identity second convs at init,
    scale-free batch norms."""
    full = build_net(NetConfig("airbench", width=64))
    shapes, _ = jax.eval_shape(full.init, jax.random.key(0), None)
    widths, c_in, expected = (64, 256, 256), 24, 24  # the whitening bias
    for w in widths:
        expected += 9 * c_in * w + 9 * w * w + 2 * w  # two convs, two BN biases
        c_in = w
    expected += 256 * 10
    assert sum(math.prod(a.shape) for a in jax.tree_util.tree_leaves(shapes)) == expected
    params, _ = build_net(NetConfig("airbench", width=8)).init(jax.random.key(0), None)
    assert param_count(params) < expected
    for g in ("g0", "g1", "g2"):
        w = params[g]["b"]["w"]
        np.testing.assert_array_equal(w[1, 1], np.eye(w.shape[-1]))
        assert float(jnp.abs(w[0]).max()) == 0 and set(params[g]["a"]["bn"]) == {"bias"}
    bound = 1 / math.sqrt(9 * 8)  # g1's first conv: 8 -> 32 channels, 24 not dirac
    assert 0 < float(jnp.abs(params["g1"]["a"]["w"][..., 8:]).max()) <= bound


def _airbench_cfg(**kw):
    tiny = dict(epochs=2, batch_size=16, lr=0.2, warmup_epochs=0.5, eval_batch_size=32)
    return dataclasses.replace(AIRBENCH94, mixed_precision=False, **{**tiny, **kw})


def test_airbench_recipe_trains_and_resumes_exactly(tmp_path, run_until_first_checkpoint):
    """Every knob of the recipe on at once (lookahead, alternating flips, reflect crops, frozen
    whitening bias, scaled BN lr): it learns, and an interrupted run resumes bit-identically
    (the lookahead EMA travels in the checkpoint)."""
    net = build_net(NetConfig("airbench", width=4, num_classes=4))
    y = np.random.default_rng(0).permutation(np.arange(64) % 4).astype(np.int32)
    x = fake_images(y, 4, 0)
    cfg = _airbench_cfg(whiten_bias_epochs=1)
    full = train_models(net, cfg, x, y, key=jax.random.key(5), runs=2, checkpoint=tmp_path / "a")
    run_until_first_checkpoint(
        lambda: train_models(
            net, cfg, x, y, key=jax.random.key(5), runs=2, checkpoint=tmp_path / "b"
        )
    )
    resumed = train_models(net, cfg, x, y, key=jax.random.key(5), runs=2, checkpoint=tmp_path / "b")
    leaves = zip(jax.tree_util.tree_leaves(full), jax.tree_util.tree_leaves(resumed), strict=True)
    for a, b in leaves:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.allclose(full.params["whiten_b"], 0)  # trained in its first epoch
    logits = predict_logits(net, full, x, cfg=cfg)
    assert (logits[:, 0].argmax(-1) == y).mean() > 0.5


def test_whitening_is_fitted_on_every_class_not_the_first_files(monkeypatch):
    """airbench fits its whitening on the first 5,000 images of CIFAR's shuffled order: a
    random sample. An image folder loads class by class, so here the sample must be drawn
    across classes, not taken as a prefix (which would be one class)."""
    monkeypatch.setattr(train_module, "WHITEN_SAMPLE", 16)
    y = np.repeat(np.arange(4), 16).astype(np.int32)  # class-sorted, as an image folder loads
    x = fake_images(y, 4, 0)
    net = build_net(NetConfig("airbench", width=4, num_classes=4))
    trained = train_models(net, _airbench_cfg(epochs=1), x, y, key=jax.random.key(0), runs=1)
    idx = class_balanced_subset(y, 16, 0)
    assert np.bincount(y[idx]).tolist() == [4, 4, 4, 4]
    want = np.asarray(whitening_kernel(normalize(jnp.asarray(x[idx]))))
    got = np.asarray(trained.state["whiten_w"])[0, 0]  # frozen: still its initial value
    scale = np.abs(want).max()
    assert np.abs(got - want).max() < 1e-3 * scale  # the same up to float32 eigh rounding
    prefix = np.asarray(whitening_kernel(normalize(jnp.asarray(x[:16]))))
    assert np.abs(prefix - want).max() > 1e-1 * scale  # a prefix would differ


@pytest.mark.parametrize("arch", ["tiny", "wrn"])
def test_trainer_decays_kernels_but_not_biases_of_its_member_stacked_models(arch):
    # The trainer's leaves carry a members axis, (members, C) for a bias: before 2026-11-28 that
    # made every bias look rank 2, and the trainer decayed the dense biases (and, before the
    # path-based batch-norm group, the batch-norm parameters) contrary to the documented
    # "kernels only". One step of the trainer's own jitted step from the same point with and
    # without decay: only kernels may differ.
    net = build_net(NetConfig(arch, width=4, **({"depth": 10} if arch == "wrn" else {})))
    x = jnp.asarray(np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)), jnp.uint8)
    y = jnp.arange(8, dtype=jnp.int32) % 10
    after = {}
    for wd in (0.0, 0.5):
        cfg = CifarTrainConfig(epochs=1, batch_size=8, lr=0.1, warmup_epochs=0.0, weight_decay=wd)
        run_keys = jax.random.split(jax.random.key(0), 1)
        params, state, opt_state = make_init(net, cfg, 2, 1)(run_keys, normalize(x))
        params = jax.tree_util.tree_map(lambda a: a + 1.0, params)  # biases start at 0
        perms, keys, flips = make_epoch_keys(8)(run_keys, 0)
        step = make_step(net, cfg, DistillConfig(), resolve_strategy(cfg.seed_parallel), 8, 1)
        after[wd] = step(params, state, opt_state, perms, keys, flips, None, 0, 0, x, y)[0]
    kernels = biases = 0
    for (path, a), b in zip(
        jax.tree_util.tree_leaves_with_path(after[0.0]),
        jax.tree_util.tree_leaves(after[0.5]),
        strict=True,
    ):
        if a.ndim - 2 >= 2:  # (runs, members, ...): a kernel
            kernels += 1
            assert not np.allclose(a, b), jax.tree_util.keystr(path)
        else:
            biases += 1
            np.testing.assert_array_equal(a, b, err_msg=jax.tree_util.keystr(path))
    assert kernels >= 3 and biases >= 3
