"""The output-folder contract: checked before compute, earlier runs never destroyed.

A results folder knows whose it is, and one run at a time writes into it.

The marker records the command, its config and the data; ``--resume`` refuses anything
else, ``--force`` replaces only a marked folder that holds nothing of the user's, a symlink
is followed, and the O_EXCL lock lets exactly one of several racing claimants in.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from multiview.cli import app
from multiview.errors import ConfigError, DamagedFileError
from multiview.outdir import MARKER, claim_run_dir, holds_run, read_marker
from multiview.run_lock import LOCK_NAME, acquire_lock


def _fake_run(path, text="old"):
    plan = claim_run_dir(path, "simulate")
    (path / "summary.json").write_text(text)
    (path / "config.json").write_text(text)
    plan.commit()


def test_new_folder_is_created(tmp_path):
    plan = claim_run_dir(tmp_path / "a" / "b")
    assert plan.path == plan.final and plan.path.is_dir() and not plan.staged


def test_empty_name_and_file_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="give a folder name"):
        claim_run_dir("")
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        claim_run_dir(f)
    with pytest.raises(ConfigError, match="parent of it is a file"):
        claim_run_dir(f / "sub")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(ConfigError, match="not writable"):
        claim_run_dir(ro)


def test_another_run_is_refused_and_left_byte_identical(tmp_path):
    run = tmp_path / "run"
    _fake_run(run)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with pytest.raises(ConfigError, match="holds another run"):
        claim_run_dir(run)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_unrelated_nonempty_folder_is_refused_even_with_force(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for force in (False, True):
        with pytest.raises(ConfigError, match="holds no multiview run"):
            claim_run_dir(tmp_path, force=force)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_resume_reuses_the_folder(tmp_path):
    run = tmp_path / "run"
    _fake_run(run)
    plan = claim_run_dir(run, "simulate", resume=True)
    assert plan.path == run and plan.resumed
    plan.commit()
    with pytest.raises(ConfigError, match="exclude each other"):
        claim_run_dir(run, resume=True, force=True)


def test_force_replaces_only_on_commit(tmp_path):
    run = tmp_path / "run"
    _fake_run(run)
    plan = claim_run_dir(run, "simulate", force=True)
    assert plan.staged and plan.path != run
    (plan.path / "summary.json").write_text("new")
    assert (run / "summary.json").read_text() == "old"  # an interrupt here keeps the old run
    plan.commit()
    assert (run / "summary.json").read_text() == "new"
    assert not (run / "config.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_force_abort_keeps_the_old_run(tmp_path):
    run = tmp_path / "run"
    _fake_run(run)
    plan = claim_run_dir(run, "simulate", force=True)
    (plan.path / "summary.json").write_text("half")
    plan.abort()
    assert (run / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert holds_run(run) == ["config.json", "summary.json"]


CFG = {"seeds": 2, "lr": 0.5}


def _run(path, command="simulate", config=CFG, files=("summary.json", "config.json")):
    """A finished run of ``command`` in ``path`` (as the CLI leaves it)."""
    plan = claim_run_dir(path, command, config=config)
    for name in files:
        (plan.path / name).write_text("old")
    plan.commit()
    return path


def _snapshot(path):
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_the_marker_records_command_config_and_files_and_the_lock_is_released(tmp_path):
    run = _run(tmp_path / "r")
    marker = read_marker(run)
    assert marker["command"] == "simulate" and marker["config"] == CFG and marker["complete"]
    assert marker["files"] == sorted([MARKER, "config.json", "summary.json"])
    assert not (run / LOCK_NAME).exists()


@pytest.mark.parametrize(
    ("command", "config", "said"),
    [
        ("cifar", CFG, "holds a `simulate` run, not a `cifar` one"),
        ("sweep", None, "holds a `simulate` run, not a `sweep` one"),
        ("simulate", {**CFG, "lr": 0.25}, "different config"),
    ],
)
def test_resume_refuses_another_command_or_config_and_changes_nothing(
    tmp_path, command, config, said
):
    run = _run(tmp_path / "r")
    before = _snapshot(run)
    with pytest.raises(ConfigError, match=said):
        claim_run_dir(run, command, resume=True, config=config)
    assert _snapshot(run) == before  # the lock is gone again too


def test_resume_refuses_a_folder_with_no_run_and_a_damaged_marker(tmp_path):
    (tmp_path / "mine.txt").write_text("mine")
    with pytest.raises(ConfigError, match="holds no multiview run"):
        claim_run_dir(tmp_path, "simulate", resume=True)
    run = _run(tmp_path / "r")
    (run / MARKER).write_text('{"command": "simu')  # truncated
    with pytest.raises(DamagedFileError, match=MARKER):
        claim_run_dir(run, "simulate", resume=True, config=CFG)
    assert not (run / LOCK_NAME).exists()


def test_resume_with_other_data_is_refused(tmp_path):
    plan = claim_run_dir(tmp_path / "r", "cifar", config=CFG)
    plan.record_data("aaaa")
    plan.commit()
    again = claim_run_dir(tmp_path / "r", "cifar", resume=True, config=CFG)
    with pytest.raises(ConfigError, match="trained on other data"):
        again.record_data("bbbb")
    again.record_data("aaaa")
    again.commit()
    assert read_marker(tmp_path / "r")["data"] == "aaaa"


@pytest.mark.parametrize("legacy", [False, True])
def test_force_never_touches_a_users_file(tmp_path, legacy):
    run = tmp_path / "r"
    if legacy:  # generic names but no marker: not provably a run
        run.mkdir()
        (run / "config.json").write_text("{}")
    else:
        _run(run)
    (run / "mine.txt").write_text("mine")
    before = _snapshot(run)
    with pytest.raises(ConfigError, match="mine.txt" if not legacy else f"no {MARKER}"):
        claim_run_dir(run, "simulate", force=True, config=CFG)
    assert _snapshot(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_force_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    target = _run(tmp_path / "target")
    link = tmp_path / "link"
    link.symlink_to(target)
    plan = claim_run_dir(link, "simulate", force=True, config=CFG)
    assert plan.path.parent == tmp_path and plan.final == target
    (plan.path / "summary.json").write_text("new")
    plan.commit()
    assert link.is_symlink() and (link / "summary.json").read_text() == "new"
    assert not (target / "config.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]


def test_force_clears_the_staging_folder_a_killed_replacement_left(tmp_path):
    run = _run(tmp_path / "r")
    (tmp_path / ".r.new-999999" / "blocks").mkdir(parents=True)  # SIGKILL mid --force
    plan = claim_run_dir(run, "simulate", force=True, config=CFG)
    plan.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_force_of_the_current_folder(tmp_path, monkeypatch):
    run = _run(tmp_path / "r")
    monkeypatch.chdir(run)
    plan = claim_run_dir(".", "simulate", force=True, config=CFG)
    (plan.path / "summary.json").write_text("new")
    plan.commit()
    assert (tmp_path / "r" / "summary.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_a_second_claim_gets_one_line_and_the_first_keeps_the_folder(tmp_path):
    first = claim_run_dir(tmp_path / "r", "simulate", config=CFG)
    with pytest.raises(ConfigError, match="already in use"):
        claim_run_dir(tmp_path / "r", "simulate", resume=True, config=CFG)
    assert (tmp_path / "r" / LOCK_NAME).exists()
    first.commit()
    assert not (tmp_path / "r" / LOCK_NAME).exists()


def test_a_stale_lock_is_reported_with_how_to_clear_it(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK_NAME).write_text(
        json.dumps({"pid": dead.pid, "host": socket.gethostname(), "started": "then"})
    )
    with pytest.raises(ConfigError, match=f"stale lock .*rm {tmp_path / LOCK_NAME}"):
        acquire_lock(tmp_path)
    assert (tmp_path / LOCK_NAME).exists()  # never removed behind the user's back


def test_an_empty_lock_left_by_a_killed_start_is_reported_as_stale(tmp_path):
    lock = tmp_path / LOCK_NAME
    lock.write_text("")
    with pytest.raises(ConfigError, match="in use by another run .a process that is starting"):
        acquire_lock(tmp_path)
    os.utime(lock, (time.time() - 3600, time.time() - 3600))
    with pytest.raises(ConfigError, match=f"stale lock .*rm {lock}"):
        acquire_lock(tmp_path)


_RACER = """
import sys, time
from multiview.errors import ConfigError
from multiview.run_lock import acquire_lock
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
try:
    acquire_lock(sys.argv[1])
    print("won")
except ConfigError as err:
    print("lost:", err)
"""


def test_racing_claimants_exactly_one_wins(tmp_path):
    start = time.time() + 1.5  # every racer is up and waiting by then
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(tmp_path), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    said = [p.communicate(timeout=60)[0].strip() for p in racers]
    assert sorted(s.split(":")[0] for s in said) == ["lost"] * 5 + ["won"], said
    assert all("in use by another run" in s for s in said if s.startswith("lost"))


def _cli(*args):
    return CliRunner().invoke(app, list(args))


def test_cli_resume_into_another_commands_run_is_one_line_and_loses_nothing(tmp_path):
    run = _run(tmp_path / "c", command="cifar")
    before = _snapshot(run)
    res = _cli("simulate", "--preset", "quick", "--seeds", "2", "--resume", "--out", str(run))
    assert res.exit_code == 2, res.output
    assert "holds a `cifar` run" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert _snapshot(run) == before


def test_cli_refuses_an_out_that_is_not_utf8(tmp_path):
    bad = os.fsdecode(bytes(tmp_path / "r") + b"\xff")
    res = _cli("simulate", "--preset", "quick", "--out", bad)
    assert res.exit_code == 2 and "not UTF-8" in res.output, res.output
    assert list(tmp_path.iterdir()) == []
