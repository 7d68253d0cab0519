"""CIFAR loaders: python-pickle directories and image folders (directory or zip), cached as uint8.

Layouts recognised by :func:`load_cifar` (``path`` may also be a folder that holds one of the
two pickle directories):

- ``cifar-10-batches-py/``: ``data_batch_1`` .. ``data_batch_5``, ``test_batch``,
  ``batches.meta`` (the official CIFAR-10 python version);
- ``cifar-100-python/``: ``train``, ``test``, ``meta``; ``labels="fine"`` (100 classes) or
  ``"coarse"`` (20 superclasses);
- an image folder ``train/<class>/*.jpg|*.jpeg|*.png`` and ``test/<class>/...``, as a
  directory or a ``.zip`` (optionally under one top-level folder), 32x32 images.

The first load decodes everything once and stores uint8 arrays in the cache folder
(:func:`resolve_cache_dir`); later loads read that file. Anything missing or corrupt raises
:class:`~multiview.errors.DataError` with one message naming the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from multiview.cifar.safe_pickle import UnsafePickleError, safe_loads
from multiview.errors import ConfigError, DataError
from multiview.io import atomic_write_bytes, expand_user

__all__ = [
    "CifarData",
    "data_fingerprint",
    "load_cifar",
    "resolve_cache_dir",
    "verify_cifar",
    "class_balanced_subset",
    "CACHE_ENV",
]

CACHE_ENV = "MULTIVIEW_DATA_DIR"
_CACHE_VERSION = 1
_IMAGE_RE = re.compile(r"(?:^|.*/)(train|test)/([^/]+)/[^/]+\.(?:jpe?g|png)$", re.IGNORECASE)
_HINT = (
    "expected a cifar-10-batches-py or cifar-100-python directory, or an image folder "
    "train/<class>/*.jpg + test/<class>/*.jpg as a directory or .zip "
    "(`multiview cifar-download` fetches the official archives)"
)


@dataclass(frozen=True)
class CifarData:
    """A decoded data set.

    Attributes:
        train_x: ``(N_train, 32, 32, 3)`` uint8 RGB.
        train_y: ``(N_train,)`` int32 labels in ``[0, len(classes))``.
        test_x: ``(N_test, 32, 32, 3)`` uint8.
        test_y: ``(N_test,)`` int32.
        classes: class names, index = label.
        name: a short description of the source (layout and path).
        fingerprint: a hash of the arrays (:func:`data_fingerprint`), computed once when
            the cache is built: what a checkpoint or a resumed run was trained on.
    """

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: tuple[str, ...]
    name: str = ""
    fingerprint: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset_train(self, indices: np.ndarray) -> CifarData:
        """The same data with the training set restricted to ``indices`` ``(n,)``."""
        return CifarData(
            self.train_x[indices],
            self.train_y[indices],
            self.test_x,
            self.test_y,
            self.classes,
            self.name,
            self.fingerprint,  # the subset is a function of the source and the config
        )


def data_fingerprint(data: CifarData) -> str:
    """A hash of the images, labels and class names (``data.fingerprint`` once computed):
    two data sets of the same size but other images have different fingerprints."""
    if data.fingerprint:
        return data.fingerprint
    h = hashlib.sha256("|".join(data.classes).encode())
    for a in (data.train_x, data.train_y, data.test_x, data.test_y):
        h.update(f"|{a.dtype}{a.shape}|".encode())
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()[:16]


def resolve_cache_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``data_dir`` if given, else ``$MULTIVIEW_DATA_DIR``, else
    ``~/.cache/multiview``."""
    if data_dir is not None:
        return expand_user(data_dir)
    env = os.environ.get(CACHE_ENV)
    return expand_user(env) if env else expand_user("~/.cache/multiview")


def verify_cifar(data: CifarData) -> CifarData:
    """Check shapes, dtypes, label ranges and per-class counts; raise DataError otherwise."""
    c = data.num_classes
    if c < 2:
        raise DataError(f"{data.name}: found {c} class(es); a classification set needs >= 2")
    for split, x, y in (("train", data.train_x, data.train_y), ("test", data.test_x, data.test_y)):
        if x.ndim != 4 or x.shape[1:] != (32, 32, 3) or x.dtype != np.uint8:
            raise DataError(
                f"{data.name}: {split} images have shape {x.shape} {x.dtype}, "
                "expected (N, 32, 32, 3) uint8"
            )
        if y.shape != (x.shape[0],):
            raise DataError(f"{data.name}: {split} has {x.shape[0]} images but {y.shape} labels")
        if x.shape[0] == 0:
            raise DataError(f"{data.name}: the {split} split is empty")
        if y.min() < 0 or y.max() >= c:
            raise DataError(f"{data.name}: {split} labels outside [0, {c})")
    missing = sorted(set(range(c)) - set(np.unique(data.train_y).tolist()))
    if missing:
        names = ", ".join(data.classes[i] for i in missing[:5])
        raise DataError(f"{data.name}: no training images for class(es) {names}")
    return data


def class_balanced_subset(
    labels: np.ndarray, n: int, seed: int = 0, *, what: str = "train_subset"
) -> np.ndarray:
    """Indices ``(n,)`` (sorted) of a random subset with (as nearly as possible) equal class
    counts. Never a prefix: an image-folder set is stored class by class, so its first ``n``
    images are one or two classes. ``what`` names the setting in the error message."""
    labels = np.asarray(labels)
    if not 1 <= n <= labels.shape[0]:
        raise ConfigError(f"{what} must be in [1, {labels.shape[0]}]; got {n}")
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per_class = [rng.permutation(np.flatnonzero(labels == k)) for k in classes]
    # Round-robin over classes so every prefix is balanced.
    order = [idx[i] for i in range(max(map(len, per_class))) for idx in per_class if i < len(idx)]
    return np.sort(np.asarray(order[:n], dtype=np.int64))


def load_cifar(
    path: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    labels: str = "fine",
    use_cache: bool = True,
) -> CifarData:
    """Load (and on first use, decode and cache) a CIFAR data set; see the module docstring.

    Arguments:
        path: a pickle directory, an image-folder directory or an image-folder ``.zip``.
        cache_dir: cache folder (default :func:`resolve_cache_dir`).
        labels: ``"fine"`` or ``"coarse"`` (CIFAR-100 only).
        use_cache: read and write the cache (False: always decode).

    Returns a verified :class:`CifarData`.
    """
    if labels not in ("fine", "coarse"):
        raise ConfigError(f"labels must be 'fine' or 'coarse'; got {labels!r}")
    path = expand_user(path)
    if not path.exists():
        raise DataError(f"CIFAR data not found at {path}: {_HINT}")
    layout, root = _detect_layout(path)
    if labels == "coarse" and layout != "cifar100":
        raise ConfigError("labels='coarse' needs the cifar-100-python layout")
    cache_file = None
    if use_cache:
        cache_file = (
            resolve_cache_dir(cache_dir) / "cifar" / f"{_fingerprint(layout, root, labels)}.npz"
        )
        cached = _read_cache(cache_file)
        if cached is not None:
            return cached
    reader = {
        "cifar10": _read_cifar10,
        "cifar100": _read_cifar100,
        "folder": _read_folder,
        "zip": _read_zip,
    }[layout]
    data = verify_cifar(reader(root, labels) if layout == "cifar100" else reader(root))
    data = replace(data, fingerprint=data_fingerprint(data))
    if cache_file is not None:
        _write_cache(cache_file, data)
    return data


# ----------------------------------------------------------------------------- layouts


def _detect_layout(path: Path) -> tuple[str, Path]:
    if path.is_file():
        if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
            if not zipfile.is_zipfile(path):
                raise DataError(f"{path} is not a readable zip file (corrupt or truncated)")
            return "zip", path
        raise DataError(f"{path} is a file but not a zip: {_HINT}")
    if (path / "data_batch_1").exists() or (path / "batches.meta").exists():
        return "cifar10", path
    if (path / "meta").is_file() and (path / "train").is_file():
        return "cifar100", path
    if (path / "train").is_dir() and (path / "test").is_dir():
        return "folder", path
    for sub in ("cifar-10-batches-py", "cifar-100-python"):
        if (path / sub).is_dir():
            return _detect_layout(path / sub)
    raise DataError(f"unrecognised CIFAR layout at {path}: {_HINT}")


def _fingerprint(layout: str, root: Path, labels: str) -> str:
    root = root.resolve()
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    h = hashlib.sha256(f"{_CACHE_VERSION}|{layout}|{labels}|{root}".encode())
    for f in files:
        st = f.stat()
        h.update(f"|{f.relative_to(root.parent)}|{st.st_size}|{st.st_mtime_ns}".encode())
    return f"{layout}-{root.name}-{h.hexdigest()[:16]}"


def _read_cache(cache_file: Path) -> CifarData | None:
    if not cache_file.exists():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as f:
            data = CifarData(
                f["train_x"],
                f["train_y"],
                f["test_x"],
                f["test_y"],
                tuple(str(c) for c in f["classes"]),
                str(f["name"]),
                str(f["fingerprint"]),  # a cache without it is rebuilt once
            )
        return verify_cifar(data)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, DataError):
        return None  # a damaged cache is rebuilt from the source


def _write_cache(cache_file: Path, data: CifarData) -> None:
    buf = io.BytesIO()
    np.savez(
        buf,
        train_x=data.train_x,
        train_y=data.train_y,
        test_x=data.test_x,
        test_y=data.test_y,
        classes=np.asarray(data.classes),
        name=np.asarray(data.name),
        fingerprint=np.asarray(data.fingerprint),
    )
    try:
        atomic_write_bytes(cache_file, buf.getvalue())
    except OSError as err:  # a read-only cache must not stop the run
        warnings.warn(f"could not write the CIFAR cache {cache_file}: {err}", stacklevel=3)


def _unpickle(file: Path) -> dict:
    if not file.is_file():
        raise DataError(f"missing CIFAR file {file}: {_HINT}")
    try:
        obj = safe_loads(file.read_bytes())
    except UnsafePickleError as err:
        raise DataError(f"unsafe CIFAR file {file}: {err}; nothing in it was run") from None
    except Exception as err:  # pickle raises many types on damaged input
        raise DataError(f"corrupt CIFAR file {file}: {type(err).__name__}: {err}") from None
    if not isinstance(obj, dict):
        raise DataError(f"corrupt CIFAR file {file}: expected a dict, got {type(obj).__name__}")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _field(d: dict, key: str, file: Path):
    if key not in d:
        raise DataError(f"corrupt CIFAR file {file}: no '{key}' entry")
    return d[key]


def _pickle_images(d: dict, file: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.asarray(_field(d, "data", file))
    y = np.asarray(_field(d, label_key, file), dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(
            f"corrupt CIFAR file {file}: data is {data.shape} {data.dtype}, "
            "expected (N, 3072) uint8"
        )
    if y.shape != (data.shape[0],):
        raise DataError(f"corrupt CIFAR file {file}: {data.shape[0]} images, {y.size} labels")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), y.astype(np.int32)


def _names(values) -> tuple[str, ...]:
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in values)


def _read_cifar10(root: Path) -> CifarData:
    meta = root / "batches.meta"
    classes = _names(_field(_unpickle(meta), "label_names", meta))
    parts = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        parts.append(_pickle_images(_unpickle(root / name), root / name, "labels"))
    train_x = np.concatenate([p[0] for p in parts[:5]])
    train_y = np.concatenate([p[1] for p in parts[:5]])
    return CifarData(train_x, train_y, parts[5][0], parts[5][1], classes, f"cifar-10 {root}")


def _read_cifar100(root: Path, labels: str) -> CifarData:
    meta = root / "meta"
    classes = _names(_field(_unpickle(meta), f"{labels}_label_names", meta))
    tr = _pickle_images(_unpickle(root / "train"), root / "train", f"{labels}_labels")
    te = _pickle_images(_unpickle(root / "test"), root / "test", f"{labels}_labels")
    return CifarData(tr[0], tr[1], te[0], te[1], classes, f"cifar-100 {labels} {root}")


def _decode(blob: bytes, where: str) -> np.ndarray:

    try:
        with Image.open(io.BytesIO(blob)) as img:
            arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as err:
        raise DataError(f"corrupt image {where}: {err}") from None
    if arr.shape != (32, 32, 3):
        raise DataError(f"image {where} is {arr.shape[1]}x{arr.shape[0]}, expected 32x32")
    return arr


def _assemble(entries: list[tuple[str, str, str]], read, name: str) -> CifarData:
    """``entries``: (split, class, key) triples; ``read(key) -> bytes``."""
    classes = tuple(sorted({c for s, c, _ in entries if s == "train"}))
    if not classes:
        raise DataError(f"no training images found in {name}: {_HINT}")
    index = {c: i for i, c in enumerate(classes)}
    out = {}
    for split in ("train", "test"):
        items = sorted((c, k) for s, c, k in entries if s == split)
        if not items:
            raise DataError(f"no {split} images found in {name}: {_HINT}")
        unknown = sorted({c for c, _ in items if c not in index})
        if unknown:
            raise DataError(f"{name}: test class(es) {', '.join(unknown[:5])} not in train")
        x = np.stack([_decode(read(k), f"{k} in {name}") for _, k in items])
        y = np.asarray([index[c] for c, _ in items], dtype=np.int32)
        out[split] = (x, y)
    return CifarData(*out["train"], *out["test"], classes, name)


def _read_folder(root: Path) -> CifarData:
    entries = []  # split/class/image, symlinked folders followed (two levels: no loops)
    for here, dirs, files in os.walk(root, followlinks=True):
        depth = len(Path(here).relative_to(root).parts)
        dirs[:] = dirs if depth < 2 else []
        for p in (Path(here) / f for f in files if depth == 2):
            m = _IMAGE_RE.fullmatch(p.relative_to(root).as_posix())
            if m and p.is_file():
                entries.append((m.group(1).lower(), m.group(2), str(p)))
    return _assemble(entries, lambda k: Path(k).read_bytes(), f"image folder {root}")


def _read_zip(path: Path) -> CifarData:
    try:
        with zipfile.ZipFile(path) as zf:
            entries = []
            for info in zf.infolist():
                m = _IMAGE_RE.fullmatch(info.filename)
                if m and not info.is_dir():
                    entries.append((m.group(1).lower(), m.group(2), info.filename))
            prefixes = {k[: k.lower().rfind(f"{s}/")] for s, _, k in entries}
            if len(prefixes) > 1:
                raise DataError(
                    f"zip {path} holds several train/test trees: {', '.join(sorted(prefixes)[:3])}"
                )
            return _assemble(entries, zf.read, f"zip {path}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
        raise DataError(f"corrupt zip {path}: {err}") from None
