"""Fault injection: damaged files, a full disk and SIGTERM give one line and lose nothing.

Every reader of run files turns flipped bits and truncation into one line naming the file
(or, for a CIFAR checkpoint, sets it aside and retrains); a write that fails (ENOSPC,
injected by a patched ``os.fdopen``) is one line and exit 1 with every earlier file intact;
SIGTERM is handled like Ctrl-C (exit 143) and removes a ``--force`` staging folder.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiny_args import tiny_args
from typer.testing import CliRunner

import multiview.io as mio
from multiview.cifar.checkpoint import load_checkpoint, save_checkpoint
from multiview.cli import app
from multiview.errors import DamagedFileError, DamagedFileWarning, WriteError
from multiview.experiments.sweep import run_sweep
from multiview.io import load_npz, read_json, save_npz, write_json
from multiview.outdir import MARKER
from multiview.run_lock import LOCK_NAME
from multiview.sim.config import preset

runner = CliRunner()
TINY = tiny_args()
ARRAYS = {"w": np.arange(600, dtype=np.float32).reshape(20, 30), "steps": np.arange(7)}


def _one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def _flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --------------------------------------------------------------------------- every reader


@settings(max_examples=60, deadline=None)
@given(bit=st.integers(0, 10**7), cut=st.floats(0, 1))
def test_a_flipped_or_truncated_npz_loads_intact_or_names_the_file(tmp_path_factory, bit, cut):
    path = tmp_path_factory.mktemp("npz") / "seeds_000000_000002.npz"
    good = save_npz(path, **ARRAYS).read_bytes()
    for damaged in (_flip(good, bit), good[: int(cut * len(good))]):
        path.write_bytes(damaged)
        try:
            got = load_npz(path)
        except DamagedFileError as err:
            assert str(path) in str(err)
        else:  # a flip in a field nothing checks (a timestamp): the arrays are intact
            assert set(got) == set(ARRAYS)
            for k, v in ARRAYS.items():
                np.testing.assert_array_equal(got[k], v)


@settings(max_examples=40, deadline=None)
@given(bit=st.integers(0, 10**5), cut=st.integers(0, 200))
def test_a_flipped_or_truncated_json_reads_or_names_the_file(tmp_path_factory, bit, cut):
    path = tmp_path_factory.mktemp("json") / "cell.json"
    good = write_json(path, {"x": ["lr", 0.5], "metrics": {"acc": 0.75}}).read_bytes()
    for damaged in (_flip(good, bit), good[:cut]):
        path.write_bytes(damaged)
        try:
            read_json(path)
        except DamagedFileError as err:
            assert str(path) in str(err)


@settings(max_examples=25, deadline=None)
@given(bit=st.integers(0, 10**7))
def test_a_damaged_cifar_checkpoint_is_set_aside_and_retrained(tmp_path_factory, bit):
    path = tmp_path_factory.mktemp("ck") / "single.npz"
    tree = {"w": jnp.arange(256.0).reshape(16, 16), "b": jnp.ones(3)}
    save_checkpoint(path, "tag", 3, tree)
    good = path.read_bytes()
    path.write_bytes(_flip(good, bit))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        loaded = load_checkpoint(path, "tag", tree)
    damaged = [w for w in seen if issubclass(w.category, DamagedFileWarning)]
    if loaded is None and damaged:  # said so, and the bytes are kept
        assert str(path) in str(damaged[0].message)
        assert (path.parent / "single.npz.damaged").read_bytes() == _flip(good, bit)
    elif loaded is not None:  # an unchecked byte: the state is the saved one
        assert loaded[0] == 3
        for a, b in zip(
            jax.tree_util.tree_leaves(loaded[1]), jax.tree_util.tree_leaves(tree), strict=True
        ):
            np.testing.assert_array_equal(a, b)
    else:  # not this run's checkpoint (the tag's bytes): trained again, file untouched
        assert path.exists()


def test_a_damaged_sweep_cell_is_set_aside_and_measured_again(tmp_path):
    cfg = preset("quick")
    measured = []

    def measure(c, k, on_chunk):
        measured.append(c)
        return {"metrics": {"acc": 1.0}}

    grid = ("lr", [0.5]), ("width", [2])
    first = run_sweep(cfg, *grid, tmp_path, measure=measure)
    (cell,) = (tmp_path / "cells").glob("*.json")
    good = cell.read_bytes()
    cell.write_bytes(good[:40])
    with pytest.warns(DamagedFileWarning, match=str(cell)):
        again = run_sweep(cfg, *grid, tmp_path, resume=True, measure=measure)
    assert len(measured) == 2 and again["cells"] == first["cells"]
    assert cell.with_name(cell.name + ".damaged").read_bytes() == good[:40]


# --------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny simulate run with two blocks."""
    out = tmp_path_factory.mktemp("runs") / "run"
    res = runner.invoke(app, ["simulate", *TINY, "--out", str(out), "--quiet", "--seed-block", "2"])
    assert res.exit_code == 0, res.output
    return out


def _resume(out):
    args = ["simulate", *TINY, "--out", str(out), "--quiet", "--seed-block", "2", "--resume"]
    return runner.invoke(app, args)


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("blocks/config.json", lambda b: b[:-20] + b"\xff"),
        (MARKER, lambda b: b[:30]),
    ],
    ids=["garbled-manifest", "truncated-marker"],
)
def test_resume_of_a_damaged_run_is_one_line_naming_the_file(finished, tmp_path, name, damage):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    (out / name).write_bytes(damage((out / name).read_bytes()))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = _resume(out)
    line = _one_line(result)
    assert result.exit_code == 2 and str(out / name) in line, line
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not (out / LOCK_NAME).exists()


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("seeds_000000_000002.npz", lambda b: _flip(b, len(b) * 4)),
        ("seeds_000002_000004.npz", lambda b: b[: len(b) // 2]),
    ],
    ids=["flipped", "truncated"],
)
def test_resume_sets_a_damaged_block_aside_retrains_it_and_says_so(
    finished, tmp_path, name, damage
):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    block = out / "blocks" / name
    good = block.read_bytes()
    block.write_bytes(damage(good))
    result = _resume(out)
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "warning:" in line]
    assert len(said) == 1 and str(block) in said[0] and "trained again" in said[0]
    assert (out / "blocks" / (name + ".damaged")).read_bytes() == damage(good)  # kept
    np.testing.assert_array_equal(load_npz(block)["weights"], _npz_bytes(good)["weights"])
    assert json.loads((out / "summary.json").read_text()) == json.loads(
        (finished / "summary.json").read_text()
    )


def _npz_bytes(data: bytes) -> dict:
    with np.load(io.BytesIO(data)) as f:
        return {k: f[k] for k in f.files}


class _FullDisk(io.RawIOBase):
    def writable(self):
        return True

    def write(self, b):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("fail_at", [1, 4])  # the run's marker; the second block
def test_a_full_disk_is_one_line_exit_1_and_resume_works_once_space_is_freed(
    tmp_path, monkeypatch, fail_at
):
    opened = []
    real = os.fdopen

    def fdopen(fd, *args, **kwargs):
        opened.append(fd)
        if len(opened) == fail_at:
            os.close(fd)
            return _FullDisk()
        return real(fd, *args, **kwargs)

    out = tmp_path / "run"
    args = ["simulate", *TINY, "--out", str(out), "--quiet", "--seed-block", "2"]
    monkeypatch.setattr(mio.os, "fdopen", fdopen)
    result = runner.invoke(app, args)
    monkeypatch.undo()
    line = _one_line(result)
    assert result.exit_code == 1 and "No space left on device" in line, line
    assert "intact" in line and str(out) in line
    left = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert left == []  # nothing half-written
    if fail_at == 1:
        assert not out.exists()  # nothing was kept: no folder left behind
        return
    kept = sorted(p.name for p in (out / "blocks").iterdir())
    assert kept == ["config.json", "seeds_000000_000002.npz"]
    again = runner.invoke(app, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    assert (out / "summary.json").is_file()


@pytest.fixture
def small_disk(tmp_path):
    """A 96 KiB tmpfs (root and mount allowed; else the patched os.fdopen above stands in)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mnt)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_a_real_full_disk_is_one_line_and_resume_finishes_once_space_is_freed(small_disk):
    out = small_disk / "run"
    args = ["simulate", *TINY, "--out", str(out), "--quiet", "--seed-block", "2"]
    result = runner.invoke(app, args)
    line = _one_line(result)
    assert result.exit_code == 1 and "No space left on device" in line, line
    assert line.startswith("error: cannot write") and str(out) in line
    assert [p for p in out.rglob("*") if ".tmp" in p.name or p.name.startswith(".tmp")] == []
    blocks = sorted(p.name for p in (out / "blocks").glob("seeds_*.npz"))
    assert blocks == ["seeds_000000_000002.npz", "seeds_000002_000004.npz"]  # kept, whole
    for name in blocks:
        load_npz(out / "blocks" / name)
    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
    again = runner.invoke(app, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    assert (out / "summary.json").is_file() and (out / "report.html").is_file()


def test_write_error_is_an_oserror_for_callers_that_catch_those(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OSError) as err:
        write_json(tmp_path / "f" / "sub.json", {})
    assert isinstance(err.value, WriteError) and "sub.json" in str(err.value)


# --------------------------------------------------------------------------- SIGTERM


def _start(args, env_extra=None):
    return subprocess.Popen(
        [sys.executable, "-m", "multiview", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "XLA_FLAGS": "", **(env_extra or {})},
    )


@pytest.mark.slow
def test_sigterm_during_a_force_replacement_keeps_the_old_run_and_no_staging(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = (out / "summary.json").read_bytes()
    args = tiny_args(seeds=24, steps=200)
    proc = _start(["simulate", *args, "--out", str(out), "--quiet", "--seed-block", "1", "--force"])
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        staged = list(tmp_path.glob(".run.new-*/blocks/seeds_*.npz"))
        if staged:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "untouched" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging folder left
    assert (out / "summary.json").read_bytes() == before
    assert not (out / LOCK_NAME).exists()


def test_sigterm_while_starting_is_143_and_says_nothing_was_done(tmp_path):
    proc = _start(["simulate", *TINY, "--out", str(tmp_path / "r")])
    time.sleep(0.3)  # JAX is still being imported
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "nothing was done" in err
    assert not (tmp_path / "r").exists()


def test_a_lock_of_another_host_is_never_judged_stale(tmp_path):
    body = json.dumps({"pid": 1, "host": "x"})  # another host's lock: not ours to judge
    (tmp_path / LOCK_NAME).write_text(body)
    result = runner.invoke(app, ["simulate", *TINY, "--out", str(tmp_path), "--resume"])
    assert result.exit_code == 2 and "in use by another run (process 1 on x" in result.output
    assert (tmp_path / LOCK_NAME).read_text() == body
