"""A sweep killed midway and resumed gives the results of an uninterrupted run.

All runs share one small config, so the in-process ones compile once (conftest's 4 CPU
devices pad a 1-seed block and the 3-seed sweep to the same 4-seed shapes).
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from multiview.experiments.simulate import run_simulation
from multiview.sim.config import preset, with_overrides

OPTS = dict(
    k=3,
    d=16,
    patches=6,
    n_train=24,
    n_test=20,
    off_target=1,
    width=2,
    steps=400,
    chunks=40,
    log_points=6,
    seeds=3,
)
CFG = with_overrides(preset("default"), **OPTS)


@pytest.fixture(scope="module")
def whole():
    """The uninterrupted sweep, all seeds at once."""
    return run_simulation(CFG)


def _assert_same(a, b):
    np.testing.assert_allclose(np.asarray(a.weights), np.asarray(b.weights), rtol=1e-5, atol=1e-7)
    for name in b.history.records:
        np.testing.assert_allclose(
            a.history.records[name], b.history.records[name], rtol=1e-5, atol=1e-7, err_msg=name
        )
    for name in ("learned", "test_acc_multi", "test_acc_single", "train_acc"):
        np.testing.assert_array_equal(a.per_seed[name], b.per_seed[name], err_msg=name)
    assert a.summary["metrics"] == pytest.approx(
        b.summary["metrics"], rel=1e-6, abs=1e-9, nan_ok=True
    )
    assert [p["holds"] for p in a.summary["predictions"]] == [
        p["holds"] for p in b.summary["predictions"]
    ]


class _CtrlC(KeyboardInterrupt):
    pass


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, whole):
    def stop_after_first(start, stop, reused):
        raise _CtrlC  # Ctrl-C right after the first block was saved

    with pytest.raises(KeyboardInterrupt):
        run_simulation(CFG, out=tmp_path, seed_block=1, on_block=stop_after_first)
    assert [p.name for p in (tmp_path / "blocks").glob("seeds_*.npz")] == [
        "seeds_000000_000001.npz"
    ]
    blocks = []
    resumed = run_simulation(
        CFG,
        out=tmp_path,
        seed_block=1,
        resume=True,
        on_block=lambda a, b, r: blocks.append((a, b, r)),
    )
    assert blocks == [(0, 1, True), (1, 2, False), (2, 3, False)]
    _assert_same(resumed, whole)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cli_sweep_stopped_by_ctrl_c_then_resumed(tmp_path, sig, code):
    """`multiview simulate --seed-block 1`, SIGINT (Ctrl-C) or SIGTERM (a scheduler) once a
    block is on disk, then resume: the results of an uninterrupted run."""
    seeds = 12  # enough blocks that the signal lands while later blocks still train
    cfg = with_overrides(CFG, seeds=seeds)
    opts = [
        a
        for key, v in {**OPTS, "seeds": seeds}.items()
        for a in (f"--{key.replace('_', '-')}", str(v))
    ]
    cmd = [
        sys.executable,
        "-m",
        "multiview",
        "simulate",
        *opts,
        "--seed-block",
        "1",
        "--out",
        str(tmp_path),
        "--quiet",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "XLA_FLAGS": ""},
    )
    blocks = tmp_path / "blocks"
    first = blocks / "seeds_000000_000001.npz"
    deadline = time.time() + 90
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err  # it was interrupted midway, not finished
    assert "--resume" in err and not (tmp_path / "summary.json").exists()
    saved = sorted(p.name for p in blocks.glob("seeds_*.npz"))
    assert 1 <= len(saved) < seeds
    assert saved == [f"seeds_{s:06d}_{s + 1:06d}.npz" for s in range(len(saved))]
    reused = []
    resumed = run_simulation(
        cfg, out=tmp_path, seed_block=1, resume=True, on_block=lambda a, b, r: reused.append(r)
    )
    assert reused == [True] * len(saved) + [False] * (seeds - len(saved))
    _assert_same(resumed, run_simulation(cfg))
