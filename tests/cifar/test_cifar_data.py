"""Loaders: pickle (CIFAR-10/100), image folder (dir and zip), the real zip, clear errors."""

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from multiview.cifar.data import (
    CACHE_ENV,
    CifarData,
    class_balanced_subset,
    load_cifar,
    resolve_cache_dir,
)
from multiview.cifar.experiments import prepare_data
from multiview.cifar.fixtures import (
    fake_images,
    write_cifar10_pickles,
    write_cifar100_pickles,
    write_image_folder,
    write_image_zip,
)
from multiview.cifar.presets import preset_config
from multiview.errors import ConfigError, DataError

SHARED_ZIP = Path(__file__).parents[2] / ".." / "shared" / "data" / "cifar10-jpeg.zip"


def test_cifar10_pickles_load_with_pixels_labels_and_counts(tmp_path):
    root = write_cifar10_pickles(tmp_path / "raw", per_batch=12, n_test=10)
    data = load_cifar(root, cache_dir=tmp_path / "cache")
    assert data.train_x.shape == (60, 32, 32, 3) and data.train_x.dtype == np.uint8
    assert data.test_x.shape == (10, 32, 32, 3)
    assert data.classes[0] == "airplane" and data.num_classes == 10
    # pixels survive the CHW-row round trip: batch 1 was generated with seed 0
    np.testing.assert_array_equal(data.train_x[:12], fake_images(data.train_y[:12], 10, 0))


def test_parent_folder_of_the_pickle_dir_is_accepted(tmp_path):
    write_cifar10_pickles(tmp_path / "raw")
    assert load_cifar(tmp_path / "raw", use_cache=False).train_x.shape[0] == 100


def test_cifar100_fine_and_coarse_labels(tmp_path):
    root = write_cifar100_pickles(tmp_path, n_train=200, n_test=100)
    fine = load_cifar(root, cache_dir=tmp_path / "c")
    coarse = load_cifar(root, cache_dir=tmp_path / "c", labels="coarse")
    assert fine.num_classes == 100 and coarse.num_classes == 20
    np.testing.assert_array_equal(coarse.train_y, fine.train_y // 5)
    np.testing.assert_array_equal(coarse.train_x, fine.train_x)


def test_image_folder_directory_and_zip_agree(tmp_path):
    folder = write_image_folder(tmp_path / "folder", fmt="PNG")
    zipped = write_image_zip(tmp_path / "set.zip", fmt="PNG", prefix="top/")
    a = load_cifar(folder, use_cache=False)
    b = load_cifar(zipped, use_cache=False)
    assert a.classes == b.classes == ("cat", "dog", "frog")
    assert a.train_x.shape == (24, 32, 32, 3) and a.test_x.shape == (12, 32, 32, 3)
    np.testing.assert_array_equal(a.train_x, b.train_x)
    np.testing.assert_array_equal(a.test_y, b.test_y)


def test_cache_is_written_then_used(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "envcache"))
    assert resolve_cache_dir() == tmp_path / "envcache"
    assert resolve_cache_dir(tmp_path / "x") == tmp_path / "x"
    zipped = write_image_zip(tmp_path / "set.zip")
    first = load_cifar(zipped)
    files = list((tmp_path / "envcache" / "cifar").glob("*.npz"))
    assert len(files) == 1
    import multiview.cifar.data as data_module

    monkeypatch.setattr(data_module, "_read_zip", lambda path: pytest.fail("decoded again"))
    second = load_cifar(zipped)
    np.testing.assert_array_equal(first.train_x, second.train_x)
    assert first.classes == second.classes


def test_damaged_cache_is_rebuilt(tmp_path):
    zipped = write_image_zip(tmp_path / "set.zip")
    load_cifar(zipped, cache_dir=tmp_path / "c")
    (cache_file,) = (tmp_path / "c" / "cifar").glob("*.npz")
    cache_file.write_bytes(b"garbage")
    assert load_cifar(zipped, cache_dir=tmp_path / "c").train_x.shape[0] == 24


def test_missing_path_gives_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_cifar(tmp_path / "nope")


def test_missing_batch_file(tmp_path):
    root = write_cifar10_pickles(tmp_path)
    (root / "data_batch_3").unlink()
    with pytest.raises(DataError, match="missing CIFAR file .*data_batch_3"):
        load_cifar(root, use_cache=False)


def test_corrupt_pickle(tmp_path):
    root = write_cifar10_pickles(tmp_path)
    (root / "test_batch").write_bytes(b"\x80\x02not a pickle")
    with pytest.raises(DataError, match="corrupt CIFAR file .*test_batch"):
        load_cifar(root, use_cache=False)


def test_truncated_zip(tmp_path):
    zipped = write_image_zip(tmp_path / "set.zip")
    zipped.write_bytes(zipped.read_bytes()[:1000])
    with pytest.raises(DataError, match="zip"):
        load_cifar(zipped, use_cache=False)


def test_corrupt_image_in_zip(tmp_path):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("train/cat/0.jpg", b"not a jpeg")
        zf.writestr("test/cat/0.jpg", b"not a jpeg")
    with pytest.raises(DataError, match="corrupt image train/cat/0.jpg"):
        load_cifar(path, use_cache=False)


def test_wrong_image_size(tmp_path):
    from PIL import Image

    folder = write_image_folder(tmp_path / "f", per_class_train=1, per_class_test=1)
    Image.new("RGB", (40, 30)).save(folder / "train" / "cat" / "0000.png")
    with pytest.raises(DataError, match="40x30, expected 32x32"):
        load_cifar(folder, use_cache=False)


def test_unrecognised_layout(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="unrecognised CIFAR layout"):
        load_cifar(tmp_path / "empty")


def test_coarse_labels_need_cifar100(tmp_path):
    with pytest.raises(ConfigError, match="coarse"):
        load_cifar(write_image_zip(tmp_path / "s.zip"), labels="coarse")


def test_class_balanced_subset():
    y = np.repeat(np.arange(10), 50)
    idx = class_balanced_subset(y, 100, seed=3)
    assert idx.shape == (100,) and len(set(idx.tolist())) == 100
    assert np.bincount(y[idx], minlength=10).tolist() == [10] * 10
    np.testing.assert_array_equal(idx, class_balanced_subset(y, 100, seed=3))
    with pytest.raises(ConfigError, match="^train_subset must be"):
        class_balanced_subset(y, 0)
    with pytest.raises(ConfigError, match="^test_subset must be"):
        class_balanced_subset(y, 501, what="test_subset")


def test_test_subset_is_class_balanced_not_the_first_files():
    """An image folder's test split loads class by class: its first n are one class."""
    y = np.repeat(np.arange(10), 20).astype(np.int32)
    data = CifarData(fake_images(y, 10), y, fake_images(y, 10), y, tuple("abcdefghij"))
    cfg = preset_config("tiny", train_subset=None, test_subset=50)
    sub = prepare_data(data, cfg)
    assert np.bincount(sub.test_y, minlength=10).tolist() == [5] * 10
    assert sub.train_x.shape[0] == 200


@pytest.mark.skipif(not SHARED_ZIP.exists(), reason="shared CIFAR-10 zip not present")
def test_real_cifar10_zip_slice(tmp_path):
    """A slice of the shared zip (3 train + 2 test images per class) loads like the whole."""
    slice_zip = tmp_path / "slice.zip"
    with zipfile.ZipFile(SHARED_ZIP) as src, zipfile.ZipFile(slice_zip, "w") as dst:
        names = src.namelist()
        counts = {}
        for split in ("train", "test"):
            per_class = {}
            for n in names:
                parts = n.split("/")
                if len(parts) == 3 and parts[0] == split and parts[2].endswith(".jpg"):
                    per_class.setdefault(parts[1], []).append(n)
            counts[split] = {c: len(v) for c, v in per_class.items()}
            for files in per_class.values():
                for n in sorted(files)[: 3 if split == "train" else 2]:
                    dst.writestr(n, src.read(n))
    assert set(counts["train"].values()) == {5000} and set(counts["test"].values()) == {1000}
    data = load_cifar(slice_zip, use_cache=False)
    assert data.classes == (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    )
    assert data.train_x.shape == (30, 32, 32, 3) and data.test_x.shape == (20, 32, 32, 3)
    assert np.bincount(data.train_y).tolist() == [3] * 10
    assert 40 < data.train_x.mean() < 200 and data.train_x.std() > 20  # real photos


def test_folder_copy_of_a_zip_loads_the_same(tmp_path):
    zipped = write_image_zip(tmp_path / "s.zip", fmt="PNG")
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(tmp_path / "unzipped")
    a = load_cifar(zipped, use_cache=False)
    b = load_cifar(tmp_path / "unzipped", use_cache=False)
    np.testing.assert_array_equal(a.train_x, b.train_x)
    shutil.rmtree(tmp_path / "unzipped")
