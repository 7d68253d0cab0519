"""The output-folder contract shared by every command that writes results.

A run folder is checked before any compute (a file, an unwritable or an empty-named path stop
with one line), a folder that holds another run is never overwritten by accident, and a
replacement (``--force``) is written beside the old run and swapped in only once it is
complete, so an interrupt leaves the earlier results intact.

    plan = claim_run_dir(out, prefix="simulate", resume=resume, force=force)
    ... write everything under plan.path ...
    plan.commit()          # a no-op unless --force staged a replacement
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from multiview.errors import ConfigError
from multiview.io import default_run_dir

__all__ = ["RUN_MARKERS", "RunDir", "claim_run_dir", "holds_run"]

# Files and folders whose presence means "a multiview run lives here".
RUN_MARKERS = (
    "config.json",
    "summary.json",
    "report.md",
    "report.html",
    "chunks",
    "blocks",
    "checkpoints",
    "cells",
    "per_seed.npz",
)


def holds_run(path: Path) -> list[str]:
    """The run markers present in ``path`` (empty: no run there)."""
    return [m for m in RUN_MARKERS if (path / m).exists()]


def _probe_writable(folder: Path) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise ConfigError(f"--out {folder} is not writable ({err.strerror})") from None


def _make_dir(path: Path) -> None:
    if any(p.exists() and not p.is_dir() for p in path.parents):
        raise ConfigError(f"--out {path} is invalid: a parent of it is a file")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"--out {path} cannot be created ({err.strerror})") from None


@dataclass
class RunDir:
    """Where a command writes (``path``) and where its results end up (``final``).

    ``path == final`` unless a ``--force`` replacement is being staged in a hidden sibling;
    :meth:`commit` then swaps it in (the old run is removed only after the swap) and
    :meth:`abort` deletes the staging folder, leaving the old run untouched.
    """

    path: Path
    final: Path
    resumed: bool = False

    @property
    def staged(self) -> bool:
        return self.path != self.final

    def commit(self) -> Path:
        if self.staged:
            old = self.final.with_name(f".{self.final.name}.old-{os.getpid()}")
            os.replace(self.final, old)
            os.replace(self.path, self.final)
            shutil.rmtree(old, ignore_errors=True)
            self.path = self.final
        return self.final

    def abort(self) -> None:
        if self.staged:
            shutil.rmtree(self.path, ignore_errors=True)


def claim_run_dir(
    out: str | os.PathLike | None, prefix: str = "", *, resume: bool = False, force: bool = False
) -> RunDir:
    """Check and prepare the results folder before any compute.

    Arguments:
        out: the ``--out`` value (``None``: :func:`default_run_dir` of ``prefix``).
        resume: continue the run in ``out`` (it must hold one, or be new).
        force: replace the run in ``out`` once the new one is complete.

    Raises :class:`ConfigError` (one line, exit code 2) for an empty name, a file, a folder
    that cannot be created or written, a folder holding another run without ``--resume`` or
    ``--force``, a non-empty folder that holds no run, or both flags at once.
    """
    if resume and force:
        raise ConfigError("--resume and --force exclude each other: continue the run or replace it")
    if out is not None and str(out).strip() == "":
        raise ConfigError("--out '' is invalid: give a folder name")
    final = Path(out) if out is not None else default_run_dir(prefix)
    if final.exists() and not final.is_dir():
        raise ConfigError(f"--out {final} is a file, not a folder")
    if not final.exists():
        _make_dir(final)
        _probe_writable(final)
        return RunDir(final, final)
    _probe_writable(final)
    markers = holds_run(final)
    if resume:
        return RunDir(final, final, resumed=bool(markers))
    if not any(final.iterdir()):
        return RunDir(final, final)
    if not markers:
        raise ConfigError(
            f"--out {final} is not empty and holds no multiview run: choose another folder"
        )
    if not force:
        raise ConfigError(
            f"--out {final} holds another run ({', '.join(markers)}): "
            "--resume continues it, --force replaces it, or choose another --out"
        )
    staging = final.with_name(f".{final.name}.new-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    _make_dir(staging)
    return RunDir(staging, final)
