"""``theorems --resume``: an interrupted run keeps its finished stages, and resuming it gives
a summary.json byte for byte that of an uninterrupted run, training only what was missing."""

import dataclasses

import pytest
from tiny_args import tiny_args
from typer.testing import CliRunner

import multiview.experiments.theorems as theorems_module
from multiview.cli import app
from multiview.errors import DamagedFileWarning
from multiview.experiments.theorems import run_theorems
from multiview.io import write_json
from multiview.report.theorems import theorems_summary
from multiview.sim.config import TheoremsConfig

runner = CliRunner()

TH = TheoremsConfig(
    ensemble_sizes=(1, 2), teacher_size=2, kd_students=2, average_size=2, average_groups=1
)
PARTS = ("ensemble", "average", "sd", "ablation")  # the ablation reads the SD students


class _CtrlC(KeyboardInterrupt):
    pass


def _stop(*args, **kwargs):
    raise _CtrlC


class Recorder:
    """A display that records the stages started and the stages reused."""

    def __init__(self):
        self.started, self.skipped = [], []

    def __call__(self, label):
        self.started.append(label)

    def skip(self, label, count):
        self.skipped.append((label, count))


def _summary(cfg, out, **kw) -> bytes:
    """summary.json of a run of :data:`PARTS` into ``out``, as ``theorems`` writes it."""
    res = run_theorems(cfg, TH, parts=PARTS, out=out, **kw)
    return write_json(out / "summary.json", theorems_summary(res)).read_bytes()


@pytest.fixture(scope="module")
def whole(tiny_config, tmp_path_factory):
    """The summary of the uninterrupted run."""
    return _summary(tiny_config, tmp_path_factory.mktemp("whole"))


def test_interrupted_then_resumed_is_byte_identical_and_damage_is_recomputed(
    tiny_config, tmp_path, monkeypatch, whole
):
    with monkeypatch.context() as m:  # Ctrl-C in the last part: two parts are finished
        m.setattr(theorems_module, "run_view_ablation", _stop)
        with pytest.raises(KeyboardInterrupt):
            _summary(tiny_config, tmp_path)
    assert sorted(p.name for p in (tmp_path / "stages").iterdir()) == ["average.npz", "sd.npz"]
    assert any((tmp_path / "blocks").glob("seeds_*.npz"))

    shown = Recorder()
    assert _summary(tiny_config, tmp_path, resume=True, progress=shown) == whole
    assert shown.started == []  # nothing was trained again (the ablation trains nothing)
    assert shown.skipped == [
        ("single models", 1),
        ("training the average", 1),
        ("self-distillation", 1),
    ]
    assert (tmp_path / "stages" / "ablation.npz").exists()  # the last part is saved too

    stage = tmp_path / "stages" / "average.npz"
    stage.write_bytes(stage.read_bytes()[:-40])
    shown = Recorder()
    with pytest.warns(DamagedFileWarning, match="average"):
        assert _summary(tiny_config, tmp_path, resume=True, progress=shown) == whole
    assert shown.started == ["training the average"]
    assert (tmp_path / "stages" / "average.npz.damaged").exists()


def test_a_stage_of_other_settings_is_never_reused(tiny_config, tmp_path):
    _summary(tiny_config, tmp_path)
    other = dataclasses.replace(TH, average_lr_scale=TH.average_lr_scale / 2)
    shown = Recorder()
    with pytest.warns(DamagedFileWarning, match="another config"):
        run_theorems(tiny_config, other, parts=PARTS, out=tmp_path, resume=True, progress=shown)
    # a stage is keyed by the whole config: the single models (of the same SimConfig) are
    # reused, every experiment is trained again
    assert shown.skipped == [("single models", 1)]
    assert shown.started == ["training the average", "self-distillation"]


#: ``train-average`` at ``tiny_config``'s sizes (its programs are compiled already).
ARGS = [
    "train-average",
    *tiny_args(n_test=50, off_target=2, steps=40, chunks=4, log_points=8, seeds=3),
    *("--average-size", "2", "--average-groups", "1"),
]


def test_ctrl_c_keeps_the_finished_stages_and_resume_finishes_the_run(tmp_path, monkeypatch):
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(theorems_module, "run_train_average", _stop)
        stopped = runner.invoke(app, [*ARGS, "--out", str(out)])
    assert stopped.exit_code == 130
    said = [line for line in stopped.output.splitlines() if line.startswith("interrupted")]
    assert said == [
        f"interrupted: 1 finished stage(s) are saved in {out} (single models); rerun with "
        f"--resume --out {out} to continue"
    ]
    assert "Traceback" not in stopped.output
    resumed = runner.invoke(app, [*ARGS, "--resume", "--out", str(out)])
    assert resumed.exit_code == 0, resumed.output
    assert "single models: reused from disk" in resumed.output
    assert (out / "stages" / "average.npz").exists()
    summary = (out / "summary.json").read_bytes()
    with monkeypatch.context() as m:  # a complete run resumed trains nothing, changes nothing
        m.setattr(theorems_module, "run_train_average", _stop)
        again = runner.invoke(app, [*ARGS, "--quiet", "--resume", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert (out / "summary.json").read_bytes() == summary
