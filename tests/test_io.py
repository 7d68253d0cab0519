"""Results on disk (multiview.io): atomic writes and JSON of numpy values."""

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from multiview.io import (
    atomic_write_bytes,
    load_npz,
    read_json,
    save_npz,
    to_jsonable,
    write_json,
)

scalars = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=5),
    st.none(),
)
numpy_scalars = st.one_of(
    st.integers(-1000, 1000).map(np.int64),
    st.floats(-1e6, 1e6).map(np.float32),
    st.booleans().map(np.bool_),
)
trees = st.recursive(
    st.one_of(scalars, numpy_scalars),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=4), inner, max_size=4),
    ),
    max_leaves=12,
)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(trees)
def test_to_jsonable_gives_strict_json_that_round_trips(tree):
    plain = to_jsonable(tree)
    text = json.dumps(plain, allow_nan=False)  # NaN and inf became None
    assert json.loads(text) == plain


@SETTINGS
@given(hnp.arrays(hnp.floating_dtypes() | hnp.integer_dtypes(), hnp.array_shapes(max_dims=3)))
def test_arrays_become_nested_lists_of_the_same_shape(a):
    plain = to_jsonable(a)
    back = np.asarray([np.nan if v is None else v for v in np.ravel(np.array(plain, object))])
    assert back.size == a.size
    finite = np.isfinite(a.astype(float)).ravel()
    np.testing.assert_allclose(back[finite].astype(float), a.astype(float).ravel()[finite])


@SETTINGS
@given(trees)
def test_write_json_then_read_json_is_to_jsonable(tmp_path, tree):
    path = write_json(tmp_path / "x.json", tree)
    assert read_json(path) == json.loads(json.dumps(to_jsonable(tree)))


@SETTINGS
@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True),
        hnp.arrays(np.float32, hnp.array_shapes(max_dims=2)),
        max_size=3,
    )
)
def test_save_npz_then_load_npz_gives_the_arrays_back(tmp_path, arrays):
    loaded = load_npz(save_npz(tmp_path / "a.npz", **arrays))
    assert set(loaded) == set(arrays)
    for k, v in arrays.items():
        np.testing.assert_array_equal(loaded[k], v)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = atomic_write_bytes(tmp_path / "f.bin", b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
