"""Blocks of seeds: a sweep trained a block at a time, each block saved as it finishes.

A *block* is a contiguous range ``[start, stop)`` of the sweep's seeds, trained together
(``--seed-block N``: at most N seeds per block; 0: one block). With an output folder every
finished block is written atomically to ``out/blocks/seeds_<start>_<stop>.npz`` (six-digit
zero-padded numbers), beside ``out/blocks/config.json``; a resumed sweep loads the blocks
that are there instead of training them, so an interrupted sweep loses nothing finished; a
damaged block is kept beside as ``NAME.npz.damaged`` and its seeds are trained again.
(A *chunk*, by contrast, is the trainer's unit of jitted steps: ``TrainConfig.chunks``.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from multiview.errors import ConfigError, DamagedFileError, DataError
from multiview.io import load_npz, read_json, save_npz, set_aside, to_jsonable, write_json
from multiview.sim.config import SimConfig, config_to_dict
from multiview.sim.data import Datasets
from multiview.sim.single import evaluate_single_models, train_single_models

__all__ = [
    "BLOCKS_DIR",
    "seed_blocks",
    "block_path",
    "prepare_block_dir",
    "train_and_measure_block",
    "collect_blocks",
    "check_saved_blocks",
]

BLOCKS_DIR = "blocks"


def seed_blocks(seeds: int, seed_block: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` blocks of at most ``seed_block`` seeds (0: one block)."""
    step = seed_block if seed_block > 0 else seeds
    return [(a, min(a + step, seeds)) for a in range(0, seeds, step)]


def block_path(block_dir: Path, start: int, stop: int) -> Path:
    """The file of block ``[start, stop)``: ``block_dir/seeds_<start>_<stop>.npz``."""
    return Path(block_dir) / f"seeds_{start:06d}_{stop:06d}.npz"


def prepare_block_dir(cfg: SimConfig, block_dir: Path, resume: bool) -> None:
    """Create ``block_dir`` and record the config beside the blocks.

    Blocks of a different config are deleted, or, with ``resume``, refused with a
    :class:`~multiview.errors.ConfigError` (they must not be mixed into this sweep).
    """
    block_dir = Path(block_dir)
    block_dir.mkdir(parents=True, exist_ok=True)
    manifest = block_dir / "config.json"
    body = {"config": config_to_dict(cfg)}
    if manifest.exists():
        try:
            saved = read_json(manifest)
        except DamagedFileError as err:  # which config the blocks are of is unknown
            raise DamagedFileError(
                f"{err}; the blocks beside it cannot be checked: move {block_dir} away to "
                "train them again, or use another --out"
            ) from None
        if saved != json.loads(json.dumps(to_jsonable(body))):
            if resume:
                raise ConfigError(
                    f"--resume: the blocks in {block_dir} were made with a different config; "
                    "use another --out or the same options"
                )
            for old in block_dir.glob("seeds_*.npz"):
                old.unlink()
    write_json(manifest, body)


def train_and_measure_block(
    cfg: SimConfig,
    datasets: Datasets,
    start: int,
    stop: int,
    on_chunk: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Train seeds ``[start, stop)`` and return their per-seed arrays (weights included)."""
    w, history = train_single_models(
        cfg, datasets, seeds=stop - start, offset=start, on_chunk=on_chunk
    )
    per_seed = evaluate_single_models(cfg, datasets, w, history)
    return {
        "weights": np.asarray(w),
        "steps": history.steps,
        **{f"history_{k}": v for k, v in history.records.items()},
        **per_seed,
    }


def _load_block(path: Path) -> dict[str, np.ndarray] | None:
    """A saved block, or None for a damaged one: its bytes are kept beside
    (``NAME.npz.damaged``) and a :class:`~multiview.errors.DamagedFileWarning` says that its
    seeds are trained again."""
    try:
        return load_npz(path)
    except (OSError, ValueError) as err:  # DamagedFileError is a ValueError
        try:
            set_aside(path, "its seeds are trained again")
        except OSError:
            raise DataError(f"--resume: the block file {path} is damaged ({err})") from None
        return None


def check_saved_blocks(out: Path, cfg: SimConfig, seed_block: int) -> None:
    """Before a ``--resume``: every saved block of this plan reads back; a damaged one is set
    aside (and said so) now, before any compute, and its seeds are trained again."""
    block_dir = Path(out) / BLOCKS_DIR
    for start, stop in seed_blocks(cfg.seeds, seed_block):
        path = block_path(block_dir, start, stop)
        if path.exists():
            _load_block(path)


def collect_blocks(
    cfg: SimConfig,
    datasets: Datasets,
    *,
    out: Path | None = None,
    seed_block: int = 0,
    resume: bool = False,
    on_chunk: Callable[[int, int], None] | None = None,
    on_block: Callable[[int, int, bool], None] | None = None,
) -> dict[str, np.ndarray]:
    """Train (or, with ``resume``, load) every block of ``cfg.seeds`` and concatenate them.

    Returns:
        The arrays of :func:`train_and_measure_block` over all seeds (``steps`` once).
    """
    block_dir = None if out is None else Path(out) / BLOCKS_DIR
    if block_dir is not None:
        prepare_block_dir(cfg, block_dir, resume)
    blocks = seed_blocks(cfg.seeds, seed_block)
    if block_dir is not None:  # blocks of another --seed-block would never be read: drop them
        planned = {block_path(block_dir, a, b) for a, b in blocks}
        for stale in set(block_dir.glob("seeds_*.npz")) - planned:
            stale.unlink()
    parts = []
    for start, stop in blocks:
        path = None if block_dir is None else block_path(block_dir, start, stop)
        part = _load_block(path) if resume and path is not None and path.exists() else None
        reused = part is not None
        if part is None:
            part = train_and_measure_block(cfg, datasets, start, stop, on_chunk)
            if path is not None:
                save_npz(path, **part)
        parts.append(part)
        if on_block is not None:
            on_block(start, stop, reused)
    return {
        k: parts[0][k] if k == "steps" else np.concatenate([p[k] for p in parts], axis=0)
        for k in parts[0]
    }
