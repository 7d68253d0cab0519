"""Checkpoints of CIFAR training: the whole training state after every epoch, atomically.

A checkpoint is tagged with a fingerprint of everything that determines the run (recipe,
distillation, seed, sizes, the data's hash), so a checkpoint of another run is never resumed.
A damaged checkpoint (flipped bits, truncated) is kept beside as ``NAME.npz.damaged`` and its
training starts again, with a :class:`~multiview.errors.DamagedFileWarning` that says so.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from dataclasses import asdict
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from multiview.cifar.config import CifarTrainConfig, DistillConfig
from multiview.io import atomic_write_bytes, set_aside

__all__ = ["checkpoint_tag", "save_checkpoint", "load_checkpoint"]


def checkpoint_tag(
    cfg: CifarTrainConfig,
    distill: DistillConfig | None,
    key: jax.Array,
    tag: str,
    runs: int,
    members: int,
    n: int,
) -> str:
    """A fingerprint of everything that determines a training run (a checkpoint made under a
    different recipe, seed, teacher setting or data size is not resumed)."""
    key_bytes = np.asarray(jax.random.key_data(key)).tobytes().hex()
    text = f"{tag}|{runs}|{members}|{n}|{key_bytes}|{distill}|{sorted(asdict(cfg).items())}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save_checkpoint(path: Path, tag: str, epoch: int, tree) -> None:
    leaves = jax.tree_util.tree_leaves(tree)
    buf = io.BytesIO()
    np.savez(
        buf,
        tag=np.asarray(tag),
        epoch=np.asarray(epoch),
        **{f"leaf{i}": np.asarray(x) for i, x in enumerate(leaves)},
    )
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path, tag: str, like):
    """``(epoch, tree)`` from ``path`` if it matches ``tag`` and ``like``'s structure, else None."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["tag"]) != tag:
                return None
            leaves, treedef = jax.tree_util.tree_flatten(like)
            loaded = [f[f"leaf{i}"] for i in range(len(leaves))]
            epoch = int(f["epoch"])
    except KeyError:
        return None  # another layout: not this run's checkpoint
    except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile) as err:
        try:  # kept beside, said, and trained again
            set_aside(path, f"its models are trained again from the first epoch ({err})")
        except OSError:
            pass
        return None
    if any(a.shape != b.shape for a, b in zip(loaded, leaves, strict=True)):
        return None
    return epoch, jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a) for a in loaded])
