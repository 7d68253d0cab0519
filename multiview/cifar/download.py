"""Opt-in download of the official CIFAR python archives (checked by MD5, then extracted).

Only ``multiview cifar-download`` calls this; nothing else touches the network.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from multiview.errors import ConfigError, DataError
from multiview.io import expand_user

__all__ = ["Archive", "ARCHIVES", "download_cifar"]


@dataclass(frozen=True)
class Archive:
    """An official archive: where it is, its published MD5, the folder it unpacks to."""

    url: str
    md5: str
    folder: str


ARCHIVES = {
    "cifar10": Archive(
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
        "cifar-10-batches-py",
    ),
    "cifar100": Archive(
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
        "cifar-100-python",
    ),
}


def download_cifar(
    name: str,
    dest: str | os.PathLike,
    *,
    url: str | None = None,
    md5: str | None = None,
    force: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Fetch ``name`` (``cifar10`` or ``cifar100``) into ``dest`` and unpack it.

    Arguments:
        name: which archive.
        dest: folder to unpack into (created).
        url, md5: override the official address and checksum (mirrors, tests).
        force: download again even if the unpacked folder exists.

    Returns the unpacked pickle folder (``dest/cifar-10-batches-py`` or
    ``dest/cifar-100-python``), ready for :func:`multiview.cifar.data.load_cifar`.
    """
    if name not in ARCHIVES:
        raise ConfigError(f"dataset must be one of {', '.join(ARCHIVES)}; got {name!r}")
    arch = ARCHIVES[name]
    url, md5 = url or arch.url, (md5 or arch.md5).lower()
    dest = expand_user(dest)
    target = dest / arch.folder
    if target.is_dir() and not force:
        return target
    dest.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tar.gz", dir=dest)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, os.fdopen(fd, "wb") as f:
                while chunk := resp.read(1 << 20):
                    digest.update(chunk)
                    f.write(chunk)
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise DataError(f"could not download {url}: {err}") from None
        if digest.hexdigest() != md5:
            raise DataError(
                f"checksum mismatch for {url}: md5 {digest.hexdigest()}, "
                f"expected {md5}; the file was not kept"
            )
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=dest))
        try:
            try:
                with tarfile.open(tmp, "r:gz") as tf:
                    tf.extractall(staging, filter="data")
            except (tarfile.TarError, OSError, EOFError) as err:
                raise DataError(f"corrupt archive from {url}: {err}") from None
            if not (staging / arch.folder).is_dir():
                raise DataError(f"archive from {url} has no {arch.folder}/ folder")
            if target.exists():
                shutil.rmtree(target)
            (staging / arch.folder).rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
