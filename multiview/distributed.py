"""A simulation sweep spread over the processes of a ``jax.distributed`` job.

Launch the same command once per process with, for example::

    # plain environment variables (any launcher, or by hand on one machine)
    MULTIVIEW_COORDINATOR=node0:12345 MULTIVIEW_NUM_PROCESSES=2 MULTIVIEW_PROCESS_ID=0 \\
        multiview simulate --distributed --out runs/big --seeds 256 &
    MULTIVIEW_COORDINATOR=node0:12345 MULTIVIEW_NUM_PROCESSES=2 MULTIVIEW_PROCESS_ID=1 \\
        multiview simulate --distributed --out runs/big --seeds 256 &

    # Slurm: one task per host (JAX reads the Slurm variables itself)
    srun --ntasks=4 multiview simulate --distributed --out /shared/runs/big --seeds 1024

The seeds are cut into the blocks that :func:`multiview.experiments.simulate.seed_blocks`
makes (``seed_chunk`` seeds each; by default one block per process), every process trains
its contiguous share of blocks on all of its local devices and writes each finished block
atomically to ``out/chunks/seeds_A_B.npz`` (``out`` must be a directory every process can
see). After a barrier, process 0 merges the blocks with ``run_simulation(resume=True)``,
which loads them instead of training: the merged result is the one a single process would
have produced. Rerunning with ``resume=True`` skips blocks that are already on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from multiview.config import SimConfig
from multiview.data import make_datasets
from multiview.experiments.simulate import (
    SimulationResult,
    _check_resume,
    data_key,
    run_simulation,
    seed_blocks,
    train_and_measure_block,
)
from multiview.io import save_npz
from multiview.parallel import (
    maybe_initialize_distributed,
    plan_seed_chunk,
    process_seed_range,
)

__all__ = ["process_blocks", "run_distributed_simulation", "barrier"]


def process_blocks(
    seeds: int, seed_chunk: int, process_index: int, process_count: int
) -> tuple[int, list[tuple[int, int]]]:
    """The block size used by every process and this process's ``[(start, stop), ...]``.

    ``seed_chunk = 0`` means one block per process (``ceil(seeds / process_count)`` seeds).
    Blocks are handed out as contiguous runs by :func:`process_seed_range` over the block
    list, so the union over processes is exactly ``seed_blocks(seeds, chunk)``.
    """
    chunk = seed_chunk if seed_chunk > 0 else -(-seeds // process_count)
    blocks = seed_blocks(seeds, chunk)
    a, b = process_seed_range(len(blocks), process_index, process_count)
    return chunk, blocks[a:b]


def barrier(name: str) -> None:
    """Wait until every process of the job reaches ``barrier(name)`` (no-op for one)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def run_distributed_simulation(
    cfg: SimConfig,
    out: Path,
    *,
    seed_chunk: int = 0,
    resume: bool = False,
    on_chunk: Callable[[int, int], None] | None = None,
    on_block: Callable[[int, int, bool], None] | None = None,
    check_memory: bool = True,
) -> SimulationResult | None:
    """Train this process's share of ``cfg.seeds`` and, on process 0, merge everything.

    Starts ``jax.distributed`` from the environment if it asks for it (see
    :func:`multiview.parallel.maybe_initialize_distributed`); with one process this is
    ``run_simulation(cfg, out=out, seed_chunk=seed_chunk, resume=resume)``.

    Arguments:
        cfg: the configuration (the same in every process).
        out: results directory shared by all processes (blocks go to ``out/chunks``).
        seed_chunk: seeds per block (0: one block per process).
        resume: keep blocks already in ``out/chunks`` (made with the same config).
        on_chunk, on_block: progress callbacks, as for ``run_simulation``.
        check_memory: estimate the memory first (:func:`multiview.parallel.plan_seed_chunk`):
            a default block size that would not fit is lowered to one that does, an explicit
            ``seed_chunk`` that does not fit, or a config of which not even one seed fits,
            raises :class:`multiview.errors.ConfigError`.

    Returns:
        The merged :class:`SimulationResult` on process 0, None on the others.
    """
    maybe_initialize_distributed()
    index, count = jax.process_index(), jax.process_count()
    out = Path(out)
    if check_memory:
        fit = plan_seed_chunk(cfg, seed_chunk) or cfg.seeds
        if seed_chunk <= 0 and fit < -(-cfg.seeds // count):
            seed_chunk = fit
        if count > 1:  # hosts may differ in free memory: everyone uses process 0's blocks
            from jax.experimental import multihost_utils

            seed_chunk = int(multihost_utils.broadcast_one_to_all(np.int32(seed_chunk)))
    chunk, mine = process_blocks(cfg.seeds, seed_chunk, index, count)
    if count == 1:
        return run_simulation(
            cfg, on_chunk=on_chunk, out=out, seed_chunk=chunk, resume=resume, on_block=on_block
        )
    chunk_dir = out / "chunks"
    if index == 0:
        chunk_dir.mkdir(parents=True, exist_ok=True)
        _check_resume(cfg, chunk_dir, resume)  # may clear stale blocks: before anyone writes
    barrier("multiview-chunks-ready")
    datasets = make_datasets(cfg.data, data_key(cfg)) if mine else None
    for start, stop in mine:
        path = chunk_dir / f"seeds_{start:06d}_{stop:06d}.npz"
        reused = resume and path.exists()
        if not reused:
            save_npz(path, **train_and_measure_block(cfg, datasets, start, stop, on_chunk))
        if on_block is not None:
            on_block(start, stop, reused)
    barrier("multiview-blocks-done")
    if index != 0:
        return None
    return run_simulation(cfg, out=out, seed_chunk=chunk, resume=True)
