"""Results on disk: atomic writes, JSON with numpy values, run metadata.

Every file is written to a temporary sibling and renamed into place, so an interrupted run
never leaves a half-written file behind: a reader sees either the old file or the new one.
"""

from __future__ import annotations

import datetime as _dt
import io as _io
import json
import os
import subprocess
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import jax
import numpy as np

from multiview import __version__
from multiview.errors import ConfigError, DamagedFileError, DamagedFileWarning, WriteError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "write_json",
    "read_json",
    "save_npz",
    "load_npz",
    "set_aside",
    "run_metadata",
    "default_run_dir",
    "expand_user",
    "to_jsonable",
]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then rename),
    readable as a plain ``open`` would make it (``0666 & ~umask``, e.g. 0644).

    A failed write (a full disk, a quota) raises :class:`~multiview.errors.WriteError`
    naming the file; the temporary file is removed and ``path`` keeps its old content.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are for the group too
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise WriteError(
                f"cannot write {path} ({exc.strerror or exc}): it was not written; every "
                "file written before it is intact"
            ) from None
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj: Any) -> Any:
    """Convert numpy / jax scalars and arrays, tuples and paths into plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if np.isfinite(v) else None
    if hasattr(obj, "__array__") and not isinstance(obj, (str, bytes)):
        arr = np.asarray(obj)
        return to_jsonable(arr.item() if arr.ndim == 0 else arr.tolist())
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """The JSON value in ``path``; a file that is not JSON (truncated, flipped bits, not
    UTF-8) raises :class:`~multiview.errors.DamagedFileError` naming it."""
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
            raise DamagedFileError(f"{path} is damaged (not valid JSON: {err})") from None


#: The zip comment of every ``.npz`` this package writes: its array names, so a damaged
#: central directory that drops or renames a member is caught (CRCs guard the data only).
_KEYS_TAG = b"multiview-keys:"


def save_npz(path: str | os.PathLike, **arrays: Any) -> Path:
    """Save arrays to a compressed ``.npz`` atomically, its array names in the zip comment."""
    buf = _io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    with zipfile.ZipFile(buf, "a") as zf:
        zf.comment = _KEYS_TAG + json.dumps(sorted(arrays)).encode()
    return atomic_write_bytes(path, buf.getvalue())


# What numpy raises on a damaged .npz: bad CRC or zip structure, a short read, a bad
# deflate stream, a member that is not an array (TypeError/AttributeError: not an archive).
_DAMAGE = (
    ValueError,
    NotImplementedError,  # a flipped compression-method field
    EOFError,
    KeyError,
    OSError,
    TypeError,
    AttributeError,
    zlib.error,
    zipfile.BadZipFile,
)


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` in ``path``; a damaged file (flipped bits, truncated)
    raises :class:`~multiview.errors.DamagedFileError` naming it."""
    # The file is opened here so that it is closed even when numpy rejects a damaged one.
    with open(path, "rb") as fh:
        try:
            with np.load(fh, allow_pickle=False) as f:
                out = {k: f[k] for k in f.files}
                comment = f.zip.comment
            if comment.startswith(_KEYS_TAG):
                names = json.loads(comment[len(_KEYS_TAG) :])
                if sorted(out) != names:
                    raise ValueError(f"holds arrays {sorted(out)}, written with {names}")
            return out
        except _DAMAGE as err:
            raise DamagedFileError(
                f"{path} is damaged or truncated ({type(err).__name__}: {err})"
            ) from None


def set_aside(path: str | os.PathLike, redone: str) -> Path:
    """Keep a damaged file's bytes beside it (``NAME.damaged``, never deleted) and say, in a
    :class:`~multiview.errors.DamagedFileWarning`, what is recomputed instead (``redone``)."""
    path = Path(path)
    kept = path.with_name(path.name + ".damaged")
    os.replace(path, kept)
    warnings.warn(
        f"{path} is damaged; kept as {kept.name}, {redone}", DamagedFileWarning, stacklevel=3
    )
    return kept


def _git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def run_metadata() -> dict[str, Any]:
    """Package, JAX and device facts to store beside every result."""
    devices = jax.devices()
    return {
        "multiview_version": __version__,
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in devices],
        "device_count": len(devices),
        "process_count": jax.process_count(),
        "git_commit": _git_commit(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def default_run_dir(prefix: str = "") -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / (f"{prefix}-{stamp}" if prefix else stamp)


def expand_user(path: str | os.PathLike) -> Path:
    """``path`` with ``~`` or ``~user`` expanded; an unknown user (or no home folder) is a
    :class:`~multiview.errors.ConfigError` naming the path, not a traceback."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        raise ConfigError(f"{path} cannot be expanded: no such user or home folder") from None
