"""How much memory a run may use, and how to say an amount: the one estimate of free memory
that every size check (simulator seed blocks, CIFAR models) compares against.
"""

from __future__ import annotations

import jax

__all__ = ["available_memory_bytes", "gib"]


def available_memory_bytes() -> int:
    """Memory a run may use: the free memory of the first local device (accelerators), or
    ``MemAvailable`` of the host for CPU devices, summed over the local devices' share."""
    dev = jax.local_devices()[0]
    if dev.platform != "cpu":
        stats = dev.memory_stats() or {}
        if "bytes_limit" in stats:
            free = stats["bytes_limit"] - stats.get("bytes_in_use", 0)
            return int(free) * jax.local_device_count()
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def gib(b: float) -> str:
    """``b`` bytes as GiB with two decimals, the unit of every memory message."""
    return f"{b / 2**30:.2f} GiB"
