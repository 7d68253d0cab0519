"""A stage file gives back what was saved, value for value and type for type; a damaged one
or one of another config is never reused."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from multiview.errors import DamagedFileError, DamagedFileWarning
from multiview.sim.predictions import Prediction, at_least
from multiview.sim.stages import StageStore, decode_tree, encode_tree, load_stage, save_stage
from multiview.sim.train import History

KEY = {"sim": {"seeds": 4, "noise": float("nan")}, "parts": ("ensemble", "kd")}


def _tree():
    pred = Prediction(
        "kd_transfer",
        "a claim",
        "paper",
        np.float64(0.75),
        (float("nan"), 1.0),
        3,
        "students",
        at_least(0.8).text(),
        "inconclusive",
        details={"sensitivity": [(0.5, True), (2.0, None)], "bar": at_least(0.8)},
        objective={"loss": "paper"},
    )
    return {
        "float32": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
        "float64": np.array([np.nan, np.inf, -0.0, 1e-300]),
        "float16": np.ones(3, np.float16),
        "int8": np.array([-128, 127], np.int8),
        "uint16": np.array([65535], np.uint16),
        "int64": np.arange(3),
        "bool": np.array([[True, False]]),
        "complex": np.array([1 + 2j], np.complex64),
        "text": np.array(["single", "ensemble"]),
        "empty": np.zeros((0, 4), np.float32),
        "zero_d": np.array(3.5),
        "jax": jnp.arange(4.0),
        "scalars": [np.float32(0.1), np.int64(7), np.bool_(True), np.float64(np.nan)],
        "python": [1, 2.5, float("nan"), float("inf"), True, None, "x", 10**30],
        "tuple": (1, (2, [3])),
        "keys": {0: "int key", (1, 2): "tuple key", "s": {}},
        "history": History(np.array([0, 10]), {"loss": np.ones((2, 2), np.float32)}),
        "predictions": [pred],
        "nothing": None,
    }


def _same(a, b, path="tree"):
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            _same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):  # History and tuples included
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, Prediction):
        for name in a.__dataclass_fields__:
            _same(getattr(a, name), getattr(b, name), f"{path}.{name}")
    elif hasattr(a, "dtype"):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), path  # bit for bit
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    else:
        assert a == b, path


def test_every_kind_of_value_comes_back_as_it_was(tmp_path):
    tree = _tree()
    _same(decode_tree(*encode_tree(tree)), tree)
    save_stage(tmp_path / "s.npz", tree, KEY)
    found, back = load_stage(tmp_path / "s.npz", KEY)
    assert found
    _same(back, tree)
    assert back["predictions"][0].to_dict().keys() == tree["predictions"][0].to_dict().keys()


@pytest.mark.parametrize(
    "value",
    [np.array([object()]), {1, 2}, lambda: 0, np.float32],
    ids=["object-array", "set", "function", "type"],
)
def test_a_value_that_would_need_pickle_is_refused_and_nothing_is_written(tmp_path, value):
    with pytest.raises(TypeError):
        save_stage(tmp_path / "s.npz", {"x": value}, KEY)
    assert not (tmp_path / "s.npz").exists()


def test_a_result_that_cannot_be_saved_warns_and_the_run_goes_on(tmp_path):
    store = StageStore(tmp_path, KEY)
    with pytest.warns(DamagedFileWarning, match="'kd' was not saved"):
        store.save("kd", {"x": {1, 2}})
    assert not store.path("kd").exists()


def test_a_stage_of_another_config_is_not_reused(tmp_path):
    save_stage(tmp_path / "kd.npz", {"x": 1}, KEY)
    assert load_stage(tmp_path / "kd.npz", {**KEY, "parts": ("kd",)}) == (False, None)
    with pytest.warns(DamagedFileWarning, match="another config"):
        store = StageStore(tmp_path, {"other": 1}, ["kd"], resume=True)
    assert "kd" not in store


@pytest.mark.parametrize("damage", ["truncate", "flip", "not_a_stage"])
def test_a_damaged_stage_is_set_aside_with_a_warning_and_computed_again(tmp_path, damage):
    store = StageStore(tmp_path, KEY)
    store.save("kd", {"w": np.ones(1000, np.float32)})
    store.save("sd", {"w": np.zeros(3)})
    path = store.path("kd")
    good = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "flip":
        path.write_bytes(good[:100] + bytes([good[100] ^ 0xFF]) + good[101:])
    else:  # a valid .npz that no stage wrote
        np.savez(path, w=np.ones(3))
    with pytest.raises(DamagedFileError):
        load_stage(path, KEY)
    with pytest.warns(DamagedFileWarning, match="'kd' is computed again"):
        resumed = StageStore(tmp_path, KEY, ["kd", "sd", "ablation"], resume=True)
    assert "kd" not in resumed and "sd" in resumed and "ablation" not in resumed
    assert not path.exists() and (tmp_path / "kd.npz.damaged").exists()  # its bytes kept


def test_without_resume_nothing_is_read(tmp_path):
    StageStore(tmp_path, KEY).save("kd", {"x": 1})
    (tmp_path / "sd.npz").write_bytes(b"damaged")
    assert "kd" not in StageStore(tmp_path, KEY, ["kd", "sd"])
    assert (tmp_path / "sd.npz").exists()  # not even looked at
