"""Seeds sharded over 4 forced CPU devices (see conftest.py) give the 1-device results.

Each seed computes the same thing on any device; only the GEMM shapes (seeds per device)
differ, and XLA's CPU GEMM picks its blocking from the shapes. So the results are bitwise
equal when the per-device seed count matches and equal to float32 rounding otherwise.
"""

import jax
import numpy as np
import pytest

import multiview.sim.train as train_mod
from multiview.errors import ConfigError
from multiview.sim import parallel
from multiview.sim.config import DataConfig, SimConfig
from multiview.sim.data import make_datasets
from multiview.sim.seeds import data_key
from multiview.sim.single import train_single_models


def test_conftest_gives_four_cpu_devices():
    assert jax.local_device_count() == 4


def test_sharded_training_equals_one_device(tiny_config, monkeypatch):
    seeds = 6  # not a multiple of 4: the sharded run pads to 8
    cfg = SimConfig(
        data=tiny_config.data, model=tiny_config.model, train=tiny_config.train, seeds=seeds
    )
    ds = make_datasets(cfg.data, data_key(cfg))
    w4, h4 = train_single_models(cfg, ds)
    monkeypatch.setattr(train_mod, "seed_mesh", lambda: parallel.seed_mesh(jax.devices()[:1]))
    w1, h1 = train_single_models(cfg, ds)
    assert w4.shape == w1.shape == (seeds, cfg.data.k, cfg.model.width, cfg.data.d)
    np.testing.assert_allclose(np.asarray(w4), np.asarray(w1), rtol=1e-5, atol=1e-7)
    assert h4.records.keys() == h1.records.keys()
    for name in h1.records:
        np.testing.assert_allclose(
            h4.records[name], h1.records[name], rtol=1e-5, atol=1e-7, err_msg=name
        )


def test_shard_seeds_pads_places_and_unpads():
    mesh = parallel.seed_mesh()
    tree = {"w": np.arange(10.0).reshape(5, 2), "key": jax.random.split(jax.random.key(0), 5)}
    sharded, n = parallel.shard_seeds(tree, mesh)
    assert n == 5 and sharded["w"].shape == (8, 2) and sharded["key"].shape == (8,)
    assert sharded["w"].sharding.spec == jax.sharding.PartitionSpec("seeds")
    assert len(sharded["w"].addressable_shards) == 4
    np.testing.assert_array_equal(np.asarray(sharded["w"])[5:], np.stack([tree["w"][0]] * 3))
    back = parallel.unpad_seeds(sharded, n)
    np.testing.assert_array_equal(np.asarray(back["w"]), tree["w"])
    rep = parallel.replicate(np.ones(3), mesh)
    assert rep.sharding.is_fully_replicated


@pytest.mark.parametrize("seeds,count", [(10, 3), (2, 4), (7, 1), (64, 8)])
def test_process_seed_ranges_cover_every_seed_once(seeds, count):
    ranges = [parallel.process_seed_range(seeds, i, count) for i in range(count)]
    covered = [s for a, b in ranges for s in range(a, b)]
    assert covered == list(range(seeds))
    sizes = [b - a for a, b in ranges]
    assert max(sizes) - min(sizes) <= 1


def test_distributed_env_parsing():
    assert parallel.distributed_env({}) is None
    env = {
        "MULTIVIEW_COORDINATOR": "h:1",
        "MULTIVIEW_NUM_PROCESSES": "2",
        "MULTIVIEW_PROCESS_ID": "1",
    }
    assert parallel.distributed_env(env) == {
        "coordinator_address": "h:1",
        "num_processes": 2,
        "process_id": 1,
    }
    with pytest.raises(ConfigError, match="must be set too"):
        parallel.distributed_env({"MULTIVIEW_COORDINATOR": "h:1"})
    with pytest.raises(ConfigError, match="PROCESS_ID"):
        parallel.distributed_env({**env, "MULTIVIEW_PROCESS_ID": "2"})
    assert parallel.distributed_env({"SLURM_JOB_ID": "7", "SLURM_NTASKS": "4"}) == {}
    assert parallel.distributed_env({"SLURM_JOB_ID": "7", "SLURM_NTASKS": "1"}) is None
    assert parallel.maybe_initialize_distributed({}) is False


def test_memory_estimate_chunks_automatically_and_refuses_what_cannot_fit():
    cfg = SimConfig(seeds=64)
    per_seed = parallel.estimate_bytes_per_seed(cfg)
    shared = parallel.estimate_shared_bytes(cfg)
    assert per_seed > cfg.data.k * cfg.model.width * cfg.data.d * 4
    plenty = 100 * 2**30
    assert parallel.auto_seed_block(cfg, plenty) == 64
    assert parallel.plan_seed_block(cfg, 0, plenty) == 0
    tight = int((shared + 10.5 * per_seed) / 0.6)
    assert parallel.auto_seed_block(cfg, tight) == 10
    assert parallel.plan_seed_block(cfg, 0, tight) == 10
    assert parallel.plan_seed_block(cfg, 4, tight) == 4
    with pytest.raises(ConfigError, match="--seed-block 10"):
        parallel.plan_seed_block(cfg, 32, tight)
    huge = SimConfig(data=DataConfig(n_train=10**6), seeds=2)
    with pytest.raises(ConfigError, match="cannot fit in memory"):
        parallel.auto_seed_block(huge, 2**30)
    assert parallel.available_memory_bytes() > 0
