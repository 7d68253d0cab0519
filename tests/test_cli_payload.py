"""A CIFAR folder cannot run code: a payload pickle is refused with one line, never run."""

import os
import pickle

from typer.testing import CliRunner

from multiview.cifar.fixtures import write_cifar10_pickles
from multiview.cli import app


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
