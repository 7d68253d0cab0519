"""examples/quickstart.ipynb runs top to bottom in a fresh kernel (so it cannot rot), is
committed without outputs, and its progress bars and tables are notebook output (HTML and
plain text), never terminal control codes."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def test_the_quickstart_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.slow
def test_the_quickstart_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)  # one CPU device, as a user has
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = repr(outputs)
    assert "\\x1b" not in text and "\x1b" not in text  # no terminal control codes
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("multiview-verdicts" in h for h in html)  # r's verdict table
    assert any("<progress" in h for h in html)  # the notebook progress bar
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # Lambda, curve, sweep
    assert "True" in nb.cells[-1].outputs[-1].data["text/plain"]  # load(save(r)) == r
    assert os.environ.get("XLA_FLAGS") is None
