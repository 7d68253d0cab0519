"""The exclusive claim on a results folder: one run writes into a folder at a time.

Two commands started at once with the same ``--out`` would interleave their files (the
second one's config beside the first one's results). The claim is a lock file created with
``O_CREAT | O_EXCL``, which the file system grants to exactly one process, holding the
claimant's PID and host. A second claimant gets one line naming the first; a lock whose
process has died (a run killed with SIGKILL, a crashed machine) is reported as stale, with
the command that clears it, and is never removed behind the user's back.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from multiview.errors import ConfigError

__all__ = ["LOCK_NAME", "RunLock", "acquire_lock"]

LOCK_NAME = ".multiview.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process (or a PID we cannot test): assume it runs
    return True


def _holder(path: Path) -> dict:
    try:
        held = json.loads(path.read_text(encoding="utf-8"))
        return held if isinstance(held, dict) else {}
    except (OSError, ValueError):
        return {}


_STARTING = 30.0  # seconds a lock may stay unwritten while its process starts


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


@dataclass
class RunLock:
    """A lock this process holds on ``folder`` (``folder/.multiview.lock``)."""

    path: Path

    def release(self) -> None:
        """Remove the lock if it is still this process's (idempotent)."""
        held = _holder(self.path)
        if held.get("pid") == os.getpid() and held.get("host") == socket.gethostname():
            try:
                self.path.unlink()
            except OSError:
                pass


def acquire_lock(folder: Path) -> RunLock:
    """Claim ``folder`` for this process, or raise :class:`ConfigError` (one line) naming the
    process that holds it, or saying how to clear a stale lock."""
    path = Path(folder) / LOCK_NAME
    body = json.dumps(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
    ).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        held = _holder(path)
        pid, host = held.get("pid"), held.get("host", "?")
        who = (
            f"process {pid} on {host}" + (f" since {held['started']}" if "started" in held else "")
            if pid is not None
            else "a process that is starting"
        )
        dead = host == socket.gethostname() and isinstance(pid, int) and not _alive(pid)
        if dead or (pid is None and _age(path) > _STARTING):  # unreadable: killed mid-write
            who = f"{who}, which is no longer running" if dead else "a run killed as it started"
            raise ConfigError(
                f"--out {folder} has a stale lock from {who}: check no other run uses it, "
                f"then `rm {path}` and rerun (--resume keeps what it saved)"
            ) from None
        if held.get("pid") == os.getpid() and host == socket.gethostname():
            raise ConfigError(f"--out {folder} is already in use by this process") from None
        raise ConfigError(
            f"--out {folder} is in use by another run ({who}): wait for it to finish or "
            "choose another --out"
        ) from None
    except OSError as err:
        raise ConfigError(f"--out {folder} cannot be locked ({err.strerror})") from None
    try:
        os.write(fd, body)
    except OSError as err:
        os.close(fd)
        os.unlink(path)
        raise ConfigError(f"--out {folder} cannot be locked ({err.strerror})") from None
    os.close(fd)
    return RunLock(path)
