"""A simulation sweep spread over the processes of a ``jax.distributed`` job.

Launch the same command once per process with, for example::

    # plain environment variables (any launcher, or by hand on one machine)
    MULTIVIEW_COORDINATOR=node0:12345 MULTIVIEW_NUM_PROCESSES=2 MULTIVIEW_PROCESS_ID=0 \\
        multiview simulate --distributed --out runs/big --seeds 256 &
    MULTIVIEW_COORDINATOR=node0:12345 MULTIVIEW_NUM_PROCESSES=2 MULTIVIEW_PROCESS_ID=1 \\
        multiview simulate --distributed --out runs/big --seeds 256 &

    # Slurm: one task per host (JAX reads the Slurm variables itself)
    srun --ntasks=4 multiview simulate --distributed --out /shared/runs/big --seeds 1024

The seeds are cut into the blocks that :func:`multiview.sim.blocks.seed_blocks`
makes (``seed_block`` seeds each; by default one block per process), every process trains
its contiguous share of blocks on all of its local devices and writes each finished block
atomically to ``out/blocks/seeds_A_B.npz`` (``out`` must be a directory every process can
see). After a barrier, process 0 merges the blocks with ``run_simulation(resume=True)``
(:func:`multiview.experiments.simulate.run_distributed_simulation` drives the whole job),
which loads them instead of training: the merged result is the one a single process would
have produced. Rerunning with ``resume=True`` skips blocks that are already on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np
from jax.experimental import multihost_utils

from multiview.io import save_npz
from multiview.sim.blocks import (
    BLOCKS_DIR,
    block_path,
    prepare_block_dir,
    seed_blocks,
    train_and_measure_block,
)
from multiview.sim.config import SimConfig
from multiview.sim.data import make_datasets
from multiview.sim.parallel import (
    maybe_initialize_distributed,
    plan_seed_block,
    process_seed_range,
)
from multiview.sim.seeds import data_key

__all__ = ["process_blocks", "plan_distributed", "train_process_blocks", "barrier"]


def process_blocks(
    seeds: int, seed_block: int, process_index: int, process_count: int
) -> tuple[int, list[tuple[int, int]]]:
    """The block size used by every process and this process's ``[(start, stop), ...]``.

    ``seed_block = 0`` means one block per process (``ceil(seeds / process_count)`` seeds).
    Blocks are handed out as contiguous runs by :func:`process_seed_range` over the block
    list, so the union over processes is exactly ``seed_blocks(seeds, block)``.
    """
    block = seed_block if seed_block > 0 else -(-seeds // process_count)
    blocks = seed_blocks(seeds, block)
    a, b = process_seed_range(len(blocks), process_index, process_count)
    return block, blocks[a:b]


def barrier(name: str) -> None:
    """Wait until every process of the job reaches ``barrier(name)`` (no-op for one)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)


def plan_distributed(
    cfg: SimConfig, seed_block: int = 0, check_memory: bool = True
) -> tuple[int, int, int, list[tuple[int, int]]]:
    """Start ``jax.distributed`` if the environment asks for it and share out the blocks.

    Arguments:
        cfg: the configuration (the same in every process).
        seed_block: seeds per block (0: one block per process).
        check_memory: estimate the memory first (:func:`multiview.sim.parallel.plan_seed_block`):
            a default block size that would not fit is lowered to one that does, an explicit
            ``seed_block`` that does not fit, or a config of which not even one seed fits,
            raises :class:`multiview.errors.ConfigError`.

    Returns:
        ``(process_index, process_count, block_size, this process's blocks)``.
    """
    maybe_initialize_distributed()
    index, count = jax.process_index(), jax.process_count()
    if check_memory:
        seed_block = plan_seed_block(cfg, seed_block, processes=count)
        if count > 1:  # hosts may differ in free memory: everyone uses process 0's blocks
            seed_block = int(multihost_utils.broadcast_one_to_all(np.int32(seed_block)))
    block, mine = process_blocks(cfg.seeds, seed_block, index, count)
    return index, count, block, mine


def train_process_blocks(
    cfg: SimConfig,
    out: Path,
    mine: list[tuple[int, int]],
    *,
    resume: bool = False,
    on_chunk: Callable[[int, int], None] | None = None,
    on_block: Callable[[int, int, bool], None] | None = None,
) -> None:
    """Train this process's blocks ``mine`` into ``out/blocks`` (between two barriers).

    Process 0 prepares the folder first (it may clear stale blocks: before anyone writes).
    """
    block_dir = Path(out) / BLOCKS_DIR
    if jax.process_index() == 0:
        prepare_block_dir(cfg, block_dir, resume)
    barrier("multiview-blocks-ready")
    datasets = make_datasets(cfg.data, data_key(cfg)) if mine else None
    for start, stop in mine:
        path = block_path(block_dir, start, stop)
        reused = resume and path.exists()
        if not reused:
            save_npz(path, **train_and_measure_block(cfg, datasets, start, stop, on_chunk))
        if on_block is not None:
            on_block(start, stop, reused)
    barrier("multiview-blocks-done")
