import dataclasses

import numpy as np
import pytest

from multiview.experiments.simulate import run_simulation
from multiview.sim.config import with_overrides
from multiview.sim.data import make_datasets
from multiview.sim.losses import ce_loss_fn
from multiview.sim.metrics import predict
from multiview.sim.model import init_weights
from multiview.sim.seeds import data_key, init_keys
from multiview.sim.single import record_views, train_single_models, training_data
from multiview.sim.train import log_steps, train


def test_log_steps_start_at_zero_end_at_total_and_increase():
    s = log_steps(1500, 60)
    assert s[0] == 0 and s[-1] == 1500
    assert np.all(np.diff(s) > 0)


def test_vmapped_trainer_equals_a_per_seed_loop(tiny_config):
    cfg = tiny_config
    ds = make_datasets(cfg.data, data_key(cfg))
    w, hist = train_single_models(cfg, ds)
    keys = init_keys(cfg)
    for s in range(cfg.seeds):
        w0 = init_weights(cfg.model, cfg.data.k, cfg.data.d, keys[s])[None]
        ws, hs = train(
            ce_loss_fn(cfg.model),
            w0,
            training_data(ds),
            cfg.train,
            n_train=cfg.data.n_train,
            keys=keys[s : s + 1],
            record_fn=record_views,
        )
        np.testing.assert_allclose(np.asarray(ws[0]), np.asarray(w[s]), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(hs.records["loss"][0], hist.records["loss"][s], rtol=1e-4)


def test_every_block_of_seeds_reuses_the_first_blocks_compilation(tiny_config, compile_log):
    # A learning rate no other test uses, so the first block must compile here.
    cfg = with_overrides(tiny_config, seeds=6, lr=0.123456)
    with compile_log as log:
        run_simulation(cfg, seed_block=2)  # three blocks of two seeds
    assert log.count("train_chunk") == 1, log.names
    assert log.count("predict_scores") <= 2, log.names  # one per batch shape, not per block
    with compile_log as log:
        run_simulation(cfg, seed_block=2)
    assert log.count("train_chunk") == 0 and log.count("predict_scores") == 0, log.names


def test_loss_decreases_and_records_have_seed_time_shapes(tiny_config):
    cfg = tiny_config
    ds = make_datasets(cfg.data, data_key(cfg))
    _, hist = train_single_models(cfg, ds)
    T = len(hist.steps)
    assert hist.records["lambda"].shape == (cfg.seeds, T, cfg.data.k, cfg.data.views)
    assert hist.records["loss"].shape == (cfg.seeds, T)
    assert np.all(hist.records["loss"][:, -1] < hist.records["loss"][:, 0])


def test_minibatch_sgd_runs_and_differs_from_full_batch(tiny_config):
    cfg = dataclasses.replace(
        tiny_config, train=dataclasses.replace(tiny_config.train, batch_size=10)
    )
    ds = make_datasets(cfg.data, data_key(cfg))
    w_sgd, _ = train_single_models(cfg, ds)
    w_gd, _ = train_single_models(tiny_config, ds)
    assert np.all(np.isfinite(np.asarray(w_sgd)))
    assert not np.allclose(np.asarray(w_sgd), np.asarray(w_gd))


@pytest.mark.parametrize("dtype", ["bfloat16", "bfloat16-store"])
def test_bfloat16_matmuls_leave_predictions_nearly_unchanged(tiny_config, dtype):
    bf = dataclasses.replace(tiny_config, train=dataclasses.replace(tiny_config.train, dtype=dtype))
    ds = make_datasets(tiny_config.data, data_key(tiny_config))
    w32, _ = train_single_models(tiny_config, ds)
    w16, _ = train_single_models(bf, ds)
    p32 = predict(tiny_config.model, w32, ds.test_multi.x).argmax(-1)
    p16 = predict(tiny_config.model, w16, ds.test_multi.x).argmax(-1)
    assert not np.array_equal(np.asarray(w32), np.asarray(w16))  # bf16 was really used
    assert (p32 == p16).mean() >= 0.9
