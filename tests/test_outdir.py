"""The output-folder contract: checked before compute, earlier runs never destroyed."""

from __future__ import annotations

import os

import pytest

from multiview.errors import ConfigError
from multiview.outdir import claim_run_dir, holds_run


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
