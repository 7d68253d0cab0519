"""Real run folders for the report tests: two tiny ``multiview simulate`` runs, made once per
test run by the console script (as a user would) and shared by the test modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TINY = [
    "--preset",
    "quick",
    "--seeds",
    "2",
    "--steps",
    "30",
    "--n-test",
    "50",
    "--n-train",
    "40",
    "--d",
    "64",
    "--k",
    "4",
    "--chunks",
    "1",
    "--log-points",
    "4",
    "--quiet",
]
NOISE_SCALES = (1.5, 2.0)


def _multiview() -> list[str]:
    exe = Path(sys.executable).with_name("multiview")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("multiview")
    if found is None:
        pytest.skip("the multiview console script is not installed (pip install -e .)")
    return [found]


def make_runs(root: Path, noise_scales=NOISE_SCALES) -> list[Path]:
    """Tiny simulate runs, one per noise scale, sharing the tests' persistent JAX compilation
    cache (conftest.py: the second run reuses the first one's compiled programs)."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(
        MPLBACKEND="Agg",
        COLUMNS="80",  # the terminal of a new user; test_api checks the tables fit it
    )
    runs = []
    for ns in noise_scales:
        out = root / f"noise-{ns}"
        if not (out / "summary.json").exists():
            proc = subprocess.run(
                _multiview() + ["simulate", *TINY, "--noise-scale", str(ns), "--out", str(out)],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert proc.returncode == 0, proc.stderr[-2000:]
            (root / f"noise-{ns}.stdout").write_text(proc.stdout)
        runs.append(out)
    return runs


def tiny_runs(tmp_path_factory) -> list[Path]:
    """The test run's two runs (made by the first module that asks, reused after)."""
    return make_runs(tmp_path_factory.getbasetemp() / "tiny-runs")
