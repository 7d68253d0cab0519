"""Small generated CIFAR-like data sets in every supported layout (for tests and demos).

Images are class-dependent: class ``c`` has a mean colour and a stripe pattern of its own plus
noise, so a tiny network can learn them in a few steps.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = [
    "fake_images",
    "write_cifar10_pickles",
    "write_cifar100_pickles",
    "write_image_folder",
    "write_image_zip",
]


def fake_images(labels: np.ndarray, num_classes: int, seed: int = 0) -> np.ndarray:
    """Class-dependent uint8 images ``(N, 32, 32, 3)`` for ``labels`` ``(N,)``."""
    rng = np.random.default_rng(seed)
    palette = np.random.default_rng(1234).integers(40, 216, (num_classes, 3))
    yy, xx = np.mgrid[:32, :32]
    out = np.empty((labels.shape[0], 32, 32, 3), np.uint8)
    for i, c in enumerate(labels):
        stripes = 30 * np.sin((xx * (1 + c % 4) + yy * (c // 4)) * 0.4)[..., None]
        img = palette[c] + stripes + rng.normal(0, 20, (32, 32, 3))
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def _labels(n: int, num_classes: int, rng) -> np.ndarray:
    return rng.permutation(np.arange(n) % num_classes)


def _dump(path: Path, obj: dict) -> None:
    path.write_bytes(pickle.dumps(obj, protocol=2))


def _chw_rows(images: np.ndarray) -> np.ndarray:
    return images.transpose(0, 3, 1, 2).reshape(images.shape[0], 3072)


def write_cifar10_pickles(
    root: str | Path, per_batch: int = 20, n_test: int = 20, seed: int = 0
) -> Path:
    """Write a ``cifar-10-batches-py`` folder under ``root`` (5 x ``per_batch`` + ``n_test``)."""
    rng = np.random.default_rng(seed)
    d = Path(root) / "cifar-10-batches-py"
    d.mkdir(parents=True, exist_ok=True)
    names = [
        b"airplane",
        b"automobile",
        b"bird",
        b"cat",
        b"deer",
        b"dog",
        b"frog",
        b"horse",
        b"ship",
        b"truck",
    ]
    _dump(d / "batches.meta", {b"label_names": names, b"num_vis": 3072})
    for i, n in enumerate([per_batch] * 5 + [n_test]):
        y = _labels(n, 10, rng)
        x = fake_images(y, 10, seed + i)
        name = f"data_batch_{i + 1}" if i < 5 else "test_batch"
        _dump(
            d / name,
            {b"data": _chw_rows(x), b"labels": [int(v) for v in y], b"batch_label": name.encode()},
        )
    return d


def write_cifar100_pickles(
    root: str | Path, n_train: int = 200, n_test: int = 100, seed: int = 0
) -> Path:
    """Write a ``cifar-100-python`` folder (fine label f has coarse label f // 5)."""
    rng = np.random.default_rng(seed)
    d = Path(root) / "cifar-100-python"
    d.mkdir(parents=True, exist_ok=True)
    _dump(
        d / "meta",
        {
            b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
        },
    )
    for name, n in (("train", n_train), ("test", n_test)):
        y = _labels(n, 100, rng)
        _dump(
            d / name,
            {
                b"data": _chw_rows(fake_images(y, 100, seed)),
                b"fine_labels": [int(v) for v in y],
                b"coarse_labels": [int(v) // 5 for v in y],
            },
        )
    return d


def _folder_items(classes, per_class_train, per_class_test, seed):
    rng = np.random.default_rng(seed)
    for split, per in (("train", per_class_train), ("test", per_class_test)):
        y = np.repeat(np.arange(len(classes)), per)
        x = fake_images(y, len(classes), int(rng.integers(1 << 30)))
        for j, (img, c) in enumerate(zip(x, y, strict=True)):
            yield f"{split}/{classes[c]}/{j:04d}", img


def _encode(img: np.ndarray, fmt: str) -> bytes:

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt)
    return buf.getvalue()


def write_image_folder(
    root: str | Path,
    classes=("cat", "dog", "frog"),
    per_class_train=8,
    per_class_test=4,
    fmt: str = "PNG",
    seed: int = 0,
) -> Path:
    """Write ``root/train/<class>/NNNN.png`` and ``root/test/<class>/...``; returns ``root``."""
    root = Path(root)
    ext = "png" if fmt.upper() == "PNG" else "jpg"
    for name, img in _folder_items(classes, per_class_train, per_class_test, seed):
        p = root / f"{name}.{ext}"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(_encode(img, fmt))
    return root


def write_image_zip(
    path: str | Path,
    classes=("cat", "dog", "frog"),
    per_class_train=8,
    per_class_test=4,
    fmt: str = "JPEG",
    prefix: str = "",
    seed: int = 0,
) -> Path:
    """Write the image-folder layout into a zip (under ``prefix/`` if given); returns ``path``."""
    path = Path(path)
    ext = "png" if fmt.upper() == "PNG" else "jpg"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, img in _folder_items(classes, per_class_train, per_class_test, seed):
            zf.writestr(f"{prefix}{name}.{ext}", _encode(img, fmt))
    return path
