"""The output-folder contract shared by every command that writes results.

A run folder is checked before any compute (a file, an unwritable or an empty-named path stop
with one line), a folder that holds another run is never overwritten by accident, and a
replacement (``--force``) is written beside the old run and swapped in only once it is
complete, so an interrupt leaves the earlier results intact.

A folder knows whose it is: the marker file ``.multiview-run.json`` records the command, its
full config and the data fingerprint (CIFAR), so ``--resume`` refuses another command's run,
another config, other data or a folder that holds no run, and ``--force`` replaces only a
folder carrying the marker, and only when it holds nothing but the run's files. While a run
writes, the folder is claimed (:mod:`multiview.run_lock`), so two runs never share it.

    plan = claim_run_dir(out, prefix="simulate", resume=resume, force=force, config=cfg)
    ... write everything under plan.path ...
    plan.commit()          # swaps a --force replacement in, records the files, unlocks
"""

from __future__ import annotations

import datetime as _dt
import glob
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from multiview.errors import ConfigError, DamagedFileError
from multiview.io import default_run_dir, expand_user, to_jsonable, write_json
from multiview.run_lock import LOCK_NAME, RunLock, acquire_lock

__all__ = [
    "MARKER",
    "RUN_MARKERS",
    "RunDir",
    "claim_run_dir",
    "holds_run",
    "read_marker",
    "same_config",
]

#: The file that makes a folder a multiview run (command, config, data, its files).
MARKER = ".multiview-run.json"

# Names a run writes before it has finished (an interrupted run owns these too).
RUN_MARKERS = (
    "config.json",
    "summary.json",
    "report.md",
    "report.html",
    "chunks",
    "blocks",
    "stages",
    "checkpoints",
    "cells",
    "per_seed.npz",
)
_OWN = {MARKER, LOCK_NAME}


def holds_run(path: Path) -> list[str]:
    """The run files present in ``path`` (empty: no run there)."""
    return [m for m in RUN_MARKERS if (path / m).exists()]


def same_config(a: Any, b: Any) -> bool:
    """Whether two configs are equal once both are JSON values (tuples == lists)."""
    return json.loads(json.dumps(to_jsonable(a))) == json.loads(json.dumps(to_jsonable(b)))


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of the run in ``folder`` (None: no marker). A damaged marker is one line
    naming it (:class:`~multiview.errors.DamagedFileError`)."""
    path = Path(folder) / MARKER
    if not path.is_file():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or "command" not in body:
        raise DamagedFileError(
            f"{path} is damaged (not the JSON a run writes): restore it, or move the folder "
            "away and start a new run"
        )
    return body


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


def _user_entries(folder: Path, marker: dict[str, Any]) -> list[str]:
    """Entries of ``folder`` the run did not write (a user's own files)."""
    owned = _OWN | set(RUN_MARKERS) | set(marker.get("files", []))
    return sorted(p.name for p in folder.iterdir() if p.name not in owned)


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
    marker: dict[str, Any] = field(default_factory=dict)
    lock: RunLock | None = None
    created: bool = False  # this claim made ``final``

    @property
    def staged(self) -> bool:
        return self.path != self.final

    def _write_marker(self) -> None:
        if self.marker:
            write_json(self.path / MARKER, self.marker)

    def record_data(self, fingerprint: str) -> None:
        """Record the data the run trains on; a resumed run made with other data is refused
        (its checkpoints would be reused as if they had been trained on this data)."""
        old = self.marker.get("data")
        if self.resumed and old and fingerprint and old != fingerprint:
            raise ConfigError(
                f"--resume: the run in {self.final} was trained on other data (fingerprint "
                f"{old}, this data is {fingerprint}); give the same --data, use another "
                "--out, or --force to replace it"
            )
        self.marker["data"] = fingerprint
        self._write_marker()

    def commit(self) -> Path:
        """Finish the run: record its files in the marker, swap a staged replacement in
        (the old run is removed only after the swap) and release the claim."""
        if self.marker:
            self.marker["files"] = sorted(
                p.name for p in self.path.iterdir() if p.name != LOCK_NAME
            )
            self.marker["complete"] = True
            self._write_marker()
        if self.staged:
            old = self.final.with_name(f".{self.final.name}.old-{os.getpid()}")
            os.replace(self.final, old)
            os.replace(self.path, self.final)
            shutil.rmtree(old, ignore_errors=True)
            self.path = self.final
        self.release()
        return self.final

    def abort(self) -> None:
        """Drop a staged replacement (the old run is untouched) and release the claim."""
        if self.staged:
            shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def _resolve(out: str | os.PathLike | None, prefix: str) -> Path:
    if out is not None and str(out).strip() == "":
        raise ConfigError("--out '' is invalid: give a folder name")
    if out is not None:
        try:
            os.fsencode(out).decode("utf-8")
        except UnicodeError:
            raise ConfigError(
                f"--out {ascii(str(out))} holds bytes that are not UTF-8: "
                "choose a name that is (the results would name it)"
            ) from None
    final = expand_user(out) if out is not None else default_run_dir(prefix)
    if final.is_symlink() or final.name in ("", ".."):  # '.', '..': a sibling needs a name
        final = final.resolve()  # a link: stage and swap beside its target, keep the link
    return final


def claim_run_dir(
    out: str | os.PathLike | None,
    prefix: str = "",
    *,
    resume: bool = False,
    force: bool = False,
    config: Any = None,
    lock: bool = True,
) -> RunDir:
    """Check, claim and prepare the results folder before any compute.

    Arguments:
        out: the ``--out`` value (``None``: :func:`default_run_dir` of ``prefix``).
        prefix: the command: recorded in the marker, and ``--resume`` needs the same one.
        resume: continue the run in ``out`` (made by this command with ``config``), or
            start one in a new or empty folder.
        force: replace the run in ``out`` once the new one is complete.
        config: the run's full config (JSON-able); ``--resume`` needs an equal one.
        lock: claim the folder exclusively (off for the processes of a distributed job,
            which share it).

    Raises :class:`ConfigError` (one line, exit code 2) for an empty or non-UTF-8 name, a
    file, a folder that cannot be created or written, one in use by another run, one
    holding another run without ``--resume`` or ``--force``, a non-empty folder that holds
    no run, a ``--resume`` of another command or config, a ``--force`` of a folder that
    holds a user's files, or both flags at once.
    """
    if resume and force:
        raise ConfigError("--resume and --force exclude each other: continue the run or replace it")
    final = _resolve(out, prefix)
    if final.exists() and not final.is_dir():
        raise ConfigError(f"--out {final} is a file, not a folder")
    created = not final.exists()
    if created:
        _make_dir(final)
    _probe_writable(final)
    held = acquire_lock(final) if lock else None
    try:
        return _plan(final, prefix, resume, force, config, held, created)
    except BaseException:
        if held is not None:
            held.release()
        if created and {p.name for p in final.iterdir()} <= _OWN:  # nothing written yet
            shutil.rmtree(final, ignore_errors=True)  # a failed claim leaves no folder
        raise


def _plan(final, prefix, resume, force, config, held, created) -> RunDir:
    marker = {
        "multiview_run": 1,
        "command": prefix,
        "config": to_jsonable(config),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    entries = [p for p in final.iterdir() if p.name not in _OWN]
    old = read_marker(final)
    if not entries and old is None:  # a new or empty folder: a fresh run
        run = RunDir(final, final, marker=marker, lock=held, created=created)
        run._write_marker()
        return run
    if old is None:
        found = holds_run(final)
        what = (
            f"holds files of a run with no {MARKER} ({', '.join(found)}: made by an older "
            "multiview, or not by multiview)"
            if found
            else "is not empty and holds no multiview run"
        )
        raise ConfigError(f"--out {final} {what}: choose another folder")
    if resume:
        if old.get("command") != prefix:
            raise ConfigError(
                f"--resume: {final} holds a `{old.get('command')}` run, not a `{prefix}` one; "
                "use another --out"
            )
        if config is not None and old.get("config") is not None:
            if not same_config(old["config"], config):
                raise ConfigError(
                    f"--resume: the run in {final} was made with a different config; give "
                    "the same options, use another --out, or --force to replace it"
                )
        return RunDir(final, final, resumed=True, marker={**old, **marker, **_kept(old)}, lock=held)
    if not force:
        raise ConfigError(
            f"--out {final} holds another run (a `{old.get('command')}` run): "
            "--resume continues it, --force replaces it, or choose another --out"
        )
    mine = _user_entries(final, old)
    if mine:
        raise ConfigError(
            f"--force: {final} holds files that are not the run's ({', '.join(mine[:5])}"
            f"{', ...' if len(mine) > 5 else ''}): move them away first, or choose another --out"
        )
    if held is not None:  # staging needs this lock: any other one was left by a killed run
        for stale in final.parent.glob(f".{glob.escape(final.name)}.new-*"):
            shutil.rmtree(stale, ignore_errors=True)
    staging = final.with_name(f".{final.name}.new-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    _make_dir(staging)
    run = RunDir(staging, final, marker=marker, lock=held)
    run._write_marker()
    return run


def _kept(old: dict[str, Any]) -> dict[str, Any]:
    """What a resumed run keeps from its marker (when it started, its data)."""
    return {k: old[k] for k in ("created", "data") if k in old}
