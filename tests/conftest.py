"""Strict test configuration: float32 numerics, rank promotion raises, two fake CPU devices.

The device count must be set before JAX initialises its backend, so it is set here, at
import time of the test session.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(scope="session")
def tiny_config():
    """A simulation small enough for unit tests (seconds)."""
    from multiview.config import DataConfig, ModelConfig, SimConfig, TrainConfig

    return SimConfig(
        data=DataConfig(k=4, d=64, patches=8, n_train=40, n_test=50, off_target=2),
        model=ModelConfig(width=2),
        train=TrainConfig(steps=40, chunks=4, log_points=8),
        seeds=3,
    )
