"""Strict test configuration: float32 numerics, rank promotion raises, two fake CPU devices.

The device count must be set before JAX initialises its backend, so it is set here, at
import time of the test run.
"""

import logging
import os
import re

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
# A persistent compilation cache, shared by this pytest run, the next one (CI runs the fast tests,
# then the slow ones) and every subprocess the tests start (the CLI, the GPU script's smoke
# run, the notebook): ~60% of the suite's time is XLA compiling, and many tests compile the
# same programs (measured on 2 cores: the slow tests after the fast ones 5:00 -> 3:42; a warm
# fast run 6:19 -> 2:32). Keyed by the program, the compile options and the jax version, so a
# hit is the same executable. JAX_ENABLE_COMPILATION_CACHE=false turns it off; the folder is
# not bounded (JAX's size limit needs the filelock package), rm -rf .cache/jax-tests clears it.
# pytest-xdist's workers (pyproject: `-n auto`) share the folder. Without filelock JAX writes
# an entry in place, so a worker can read one that another is still writing: zlib's checksum
# fails, JAX warns and compiles afresh (pyproject ignores that one warning; checked by
# test_compile_cache.py). On 2 cores a folder per worker took 47 s longer (all tests, cold).
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR",
    os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache", "jax-tests"
    ),
)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")  # small ones add up
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# CI replays a fixed set of examples (a red CI then means a change, not an unlucky draw);
# a developer's run keeps searching randomly.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(scope="session")
def tiny_config():
    """A simulation small enough for unit tests (seconds)."""
    from multiview.sim.config import DataConfig, ModelConfig, SimConfig, TrainConfig

    return SimConfig(
        data=DataConfig(k=4, d=64, patches=8, n_train=40, n_test=50, off_target=2),
        model=ModelConfig(width=2),
        train=TrainConfig(steps=40, chunks=4, log_points=8),
        seeds=3,
    )


@pytest.fixture
def run_until_first_checkpoint(monkeypatch):
    """``run(fn)``: call ``fn()`` with the CIFAR trainer stopped by a KeyboardInterrupt right
    after it writes its first checkpoint (an interrupted run, for resume tests)."""
    import multiview.cifar.train as train_module

    real = train_module.save_checkpoint

    def save_then_stop(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt

    def run(fn):
        with monkeypatch.context() as m:
            m.setattr(train_module, "save_checkpoint", save_then_stop)
            with pytest.raises(KeyboardInterrupt):
                fn()

    return run


class CompileLog:
    """Names of the functions XLA compiled while active (``jax.log_compiles`` messages)."""

    PATTERN = re.compile(r"^Compiling jit\((\w+)\)")

    def __init__(self):
        self.names: list[str] = []
        self.handler = logging.Handler()
        self.handler.emit = self._emit

    def _emit(self, record):
        m = self.PATTERN.match(record.getMessage())
        if m:
            self.names.append(m.group(1))

    def count(self, name: str) -> int:
        return self.names.count(name)

    def __enter__(self):
        self.names.clear()
        self.logger = logging.getLogger("jax")
        self.level = self.logger.level
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.WARNING)
        self.ctx = jax.log_compiles(True)
        self.ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self.ctx.__exit__(*exc)
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)


@pytest.fixture
def compile_log():
    """A :class:`CompileLog` to use as ``with compile_log as log: ...``."""
    return CompileLog()
