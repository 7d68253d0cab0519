"""The CIFAR pickle reader admits the official format and refuses code.

A CIFAR folder cannot run code: a payload pickle is refused with one line, never run.
"""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from multiview.cifar.fixtures import write_cifar10_pickles
from multiview.cifar.safe_pickle import UnsafePickleError, safe_loads
from multiview.cli import app


class _Payload:
    """Unpickling this calls ``os.system``: what a malicious ``batches.meta`` would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_official_layout_round_trips():
    batch = {
        b"batch_label": b"training batch 1 of 5",
        b"labels": [3, 1, 4],
        b"data": np.arange(3 * 3072, dtype=np.uint8).reshape(3, 3072) % 251,
        b"filenames": [b"a.png", b"b.png", b"c.png"],
    }
    for protocol in (2, 4, 5):
        out = safe_loads(pickle.dumps(batch, protocol=protocol))
        assert out[b"labels"] == [3, 1, 4] and out[b"filenames"] == batch[b"filenames"]
        np.testing.assert_array_equal(out[b"data"], batch[b"data"])


def test_numpy_scalars_and_plain_containers_load():
    obj = {"n": np.int64(7), "f": np.float32(0.5), "t": (1, 2.0, "x", None, True)}
    assert safe_loads(pickle.dumps(obj, protocol=2)) == obj


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_payload_is_refused_and_not_executed(tmp_path, protocol):
    marker = tmp_path / "pwned"
    blob = pickle.dumps({b"label_names": _Payload(marker)}, protocol=protocol)
    with pytest.raises(UnsafePickleError, match="refusing to load"):
        safe_loads(blob)
    assert not marker.exists()


def test_object_of_an_arbitrary_class_is_refused():
    with pytest.raises(UnsafePickleError):
        safe_loads(pickle.dumps({"x": pickle.PickleError("x")}))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_execute_or_escape_as_other_errors(blob):
    try:
        safe_loads(blob)
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
        OverflowError,
        MemoryError,
        UnicodeDecodeError,
        RecursionError,
    ):
        pass


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_payload_pickle_in_the_data_folder_is_refused_and_not_run(tmp_path):
    root = write_cifar10_pickles(tmp_path / "raw")
    marker = tmp_path / "pwned"
    (root / "batches.meta").write_bytes(pickle.dumps(_Payload(marker)))
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["cifar", "--data", str(root), "--out", str(out), "--data-dir", str(tmp_path / "c")]
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "unsafe CIFAR file" in lines[0], result.output
    assert "Traceback" not in result.output
    assert not marker.exists()
