"""Starting a ``jax.distributed`` job from environment variables, and waiting for it.

A process reads its place in the job from ``MULTIVIEW_COORDINATOR`` / ``_NUM_PROCESSES`` /
``_PROCESS_ID`` (or Slurm), checks them before anything is written, and waits for the
coordinator a bounded, settable time (``MULTIVIEW_COORDINATOR_TIMEOUT``, seconds), so that an
unreachable coordinator is one line, not the runtime's fatal error minutes later.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from typing import Any

import jax

from multiview.errors import ConfigError, MultiviewError

__all__ = [
    "COORDINATOR_TIMEOUT_ENV",
    "distributed_env",
    "maybe_initialize_distributed",
    "coordinator_timeout",
    "wait_for_coordinator",
]

#: Seconds a process of a distributed job waits for the others (default 300).
COORDINATOR_TIMEOUT_ENV = "MULTIVIEW_COORDINATOR_TIMEOUT"
_MAX_PROCESSES = 2**31 - 1  # a C int in the runtime: larger counts overflow, not fail cleanly


def distributed_env(env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Arguments for ``jax.distributed.initialize`` from the environment, or None.

    Read, first match wins:

    * ``MULTIVIEW_COORDINATOR`` (``host:port``), ``MULTIVIEW_NUM_PROCESSES``,
      ``MULTIVIEW_PROCESS_ID`` -- all three, for plain launches;
    * Slurm (``SLURM_JOB_ID`` with ``SLURM_NTASKS > 1``): returns ``{}``, and JAX's own
      Slurm cluster detection fills in everything.
    """
    env = os.environ if env is None else env
    names = ("MULTIVIEW_COORDINATOR", "MULTIVIEW_NUM_PROCESSES", "MULTIVIEW_PROCESS_ID")
    given = [n for n in names if env.get(n)]
    if given:
        if len(given) != len(names):
            missing = ", ".join(n for n in names if n not in given)
            raise ConfigError(f"multi-process launch: {missing} must be set too")
        try:
            num, pid = int(env[names[1]]), int(env[names[2]])
        except ValueError:
            raise ConfigError(
                f"{names[1]} and {names[2]} must be integers, got "
                f"{env[names[1]]!r} and {env[names[2]]!r}"
            ) from None
        if not 1 <= num <= _MAX_PROCESSES:
            raise ConfigError(
                f"{names[1]} = {num} is invalid: must be an integer in [1, {_MAX_PROCESSES}]"
            )
        if not 0 <= pid < num:
            raise ConfigError(f"{names[2]} = {pid} is invalid: must be in [0, {num - 1}]")
        return {"coordinator_address": env[names[0]], "num_processes": num, "process_id": pid}
    ntasks = env.get("SLURM_NTASKS", "1") or "1"
    if env.get("SLURM_JOB_ID") and not ntasks.strip().isdigit():
        raise ConfigError(f"SLURM_NTASKS = {ntasks!r} is invalid: must be an integer >= 1")
    if env.get("SLURM_JOB_ID") and int(ntasks) > 1:
        return {}
    return None


def maybe_initialize_distributed(env: Mapping[str, str] | None = None) -> bool:
    """Call ``jax.distributed.initialize`` if the environment asks for several processes.

    A no-op (returns False) for a plain single-process run, or when the runtime is already
    up. Must run before any JAX computation. See :func:`distributed_env` for the variables.
    """
    kwargs = distributed_env(env)
    if kwargs is None:
        return False
    if jax.distributed.is_initialized():
        return True
    timeout = coordinator_timeout(env)
    wait_for_coordinator(kwargs, timeout)
    try:
        jax.distributed.initialize(**kwargs, initialization_timeout=timeout)
    except Exception as err:  # the runtime's own error is pages long
        where = kwargs.get("coordinator_address", "the Slurm job's coordinator")
        raise MultiviewError(
            f"the distributed job could not start within {timeout} s (coordinator {where}): "
            f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
        ) from None
    return True


def coordinator_timeout(env: Mapping[str, str] | None = None) -> int:
    """Seconds to wait for the other processes: ``MULTIVIEW_COORDINATOR_TIMEOUT`` (default
    300, JAX's own default)."""
    env = os.environ if env is None else env
    text = env.get(COORDINATOR_TIMEOUT_ENV) or "300"
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 86_400:
        raise ConfigError(
            f"{COORDINATOR_TIMEOUT_ENV} = {text!r} is invalid: must be seconds in [1, 86400]"
        )
    return value


def wait_for_coordinator(kwargs: Mapping[str, Any], timeout: float) -> None:
    """A process other than 0 waits (up to ``timeout`` s) for the coordinator's port to
    accept connections, so that an unreachable address is one line, not the runtime's
    fatal error minutes later. Process 0 hosts the coordinator: nothing to wait for."""
    address = kwargs.get("coordinator_address")
    if not address or kwargs.get("process_id", 0) == 0:
        return
    host, _, port = str(address).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"MULTIVIEW_COORDINATOR = {address!r} is invalid: must be host:port")
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=2).close()
            return
        except OSError as err:
            if time.monotonic() >= deadline:
                raise MultiviewError(
                    f"the coordinator {address} did not answer within {timeout:g} s "
                    f"({err.strerror or err}): is process 0 running? "
                    f"{COORDINATOR_TIMEOUT_ENV} sets the wait"
                ) from None
        time.sleep(0.5)
