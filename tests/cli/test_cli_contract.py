"""The command line's promises: every option documented, strict JSON on stdout, the results
folder checked before any compute and never overwritten by accident, every impossible
setting refused with one line, files readable by the group."""

import json
import os
import re
import stat
import time

import pytest
import typer
from tiny_args import tiny_args
from typer.testing import CliRunner

from multiview.cifar.fixtures import write_image_zip
from multiview.cli import app, run_command_line
from multiview.io import atomic_write_text

runner = CliRunner()

TINY = tiny_args()
TH_TINY = (
    "--ensemble-sizes 1,2 --teacher-size 2 --kd-students 1 --average-size 2 "
    "--average-groups 1 --sd-pairs 1"
).split()
EXPERIMENTS = ["ensemble", "train-average", "distill", "self-distill", "theorems"]


def _commands() -> dict:
    return typer.main.get_command(app).commands


def _one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_option_of_every_command_has_a_help_text(name):
    command = _commands()[name]
    for param in command.params:
        if param.param_type_name == "option" and not param.hidden:
            text = (param.help or "").strip()
            words = param.name.replace("_", " ")
            assert text and text.lower() not in (words, param.name), f"{name} {param.opts}"
    assert runner.invoke(app, [name, "--help"]).exit_code == 0


def test_help_keeps_brackets_and_shows_defaults_and_ranges():
    text = runner.invoke(app, ["simulate", "--help"], env={"COLUMNS": "200"}).output
    assert "[s, s(1 + jitter)]" in text
    assert "(default: 15.0" in text and "a number > 0" in text  # --lr
    root = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "Cells are saved as they finish; --resume reuses them." in root  # no mid-sentence breaks


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_renders_every_word_of_its_texts(name):
    # The app renders help as Markdown, which drops anything that reads as an HTML tag: a
    # placeholder written "runs/<command>-<timestamp>" was shown as "runs/-".
    text = runner.invoke(app, [name, "--help"], env={"COLUMNS": "250"}).output
    flat = re.sub(r"[│╭╮╰╯─\s]+", " ", text)
    command = _commands()[name]
    texts = [command.help or "", *(p.help or "" for p in command.params if not p.hidden)]
    lost = {w for t in texts for w in re.findall(r"[\w<>*/\[\]=.-]+", t) if w not in flat}
    assert not lost, lost


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_accepts_json_and_quiet(name):
    opts = {o for p in _commands()[name].params for o in p.opts}
    assert {"--json", "--quiet"} <= opts


def test_simulate_json_is_strict_and_the_folder_is_never_overwritten(tmp_path):
    out = tmp_path / "run"
    first = runner.invoke(app, ["simulate", *TINY, "--out", str(out), "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout, parse_constant=pytest.fail)  # NaN would fail here
    assert "nan" in json.dumps(summary).lower() or summary["predictions"]
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = runner.invoke(app, ["simulate", *TINY, "--out", str(out), "--lr", "3"])
    assert again.exit_code == 2 and "--resume" in _one_error_line(again)
    resumed = runner.invoke(app, ["simulate", *TINY, "--lr", "3", "--out", str(out), "--resume"])
    assert resumed.exit_code == 2 and "different config" in _one_error_line(resumed)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    mode = stat.S_IMODE(os.stat(out / "summary.json").st_mode)
    assert mode & 0o044 == 0o044 & ~_umask()  # readable by the group (and others) as umask says


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_force_replaces_a_run_only_once_the_new_one_is_complete(tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, ["simulate", *TINY, "--out", str(out), "--quiet"]).exit_code == 0
    (out / "figures" / "stale.png").write_bytes(b"old")
    bad = runner.invoke(app, ["simulate", *TINY, "--out", str(out), "--force", "--k", "1"])
    assert bad.exit_code == 2 and (out / "figures" / "stale.png").exists()
    ok = runner.invoke(app, ["simulate", *TINY, "--out", str(out), "--force", "--quiet"])
    assert ok.exit_code == 0, ok.output
    assert not (out / "figures" / "stale.png").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("command", ["simulate", *EXPERIMENTS, "sweep", "cifar", "report"], ids=str)
def test_a_bad_out_fails_at_once_with_one_line(command, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    extra = {"sweep": ["--x", "lr=1,2", "--y", "width=1,2"], "cifar": ["--data", "nowhere"]}
    for out in (blocker, blocker / "sub", ""):
        args = [command, *extra.get(command, []), "--out", str(out)]
        if command == "report":
            args = ["report", str(tmp_path), "--out", str(blocker / "sub" / "r.html")]
        started = time.perf_counter()
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        _one_error_line(result)
        assert time.perf_counter() - started < 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize(
    "args, field",
    [
        (["ensemble", "--seeds", "2", "--ensemble-sizes", "4,8"], "ensemble_sizes"),
        (["distill", "--seeds", "1"], "seeds"),
        (["self-distill", "--seeds", "1"], "seeds"),
        (["distill", "--seeds", "4", "--teacher-size", "8"], "teacher_size"),
        (["theorems", "--seeds", "1000000000000"], "seeds"),
        (["ensemble", "--seeds", "2000000000"], "seeds"),
        (["simulate", "--init-seed", str(2**63)], "init_seed"),
        (["simulate", "--data-seed", str(2**64)], "data_seed"),
        (["simulate", "--steps", "100000000000000000000"], "steps"),
        (["bench", "--large", "BAD"], "--large"),
        (["bench", "--seeds", "1,x"], "--seeds"),
        (["sweep", "--x", "seeds=1000000000", "--y", "lr=1"], "seeds"),
    ],
)
def test_impossible_settings_are_refused_before_any_compute(args, field, tmp_path):
    started = time.perf_counter()
    result = runner.invoke(
        app, [*args, "--out", str(tmp_path / "o")] if args[0] != "bench" else args
    )
    assert result.exit_code == 2, result.output
    assert field in _one_error_line(result)
    assert time.perf_counter() - started < 10
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "env, name",
    [
        ({"SLURM_JOB_ID": "1", "SLURM_NTASKS": "abc"}, "SLURM_NTASKS"),
        (
            {
                "MULTIVIEW_COORDINATOR": "localhost:1",
                "MULTIVIEW_NUM_PROCESSES": "x",
                "MULTIVIEW_PROCESS_ID": "0",
            },
            "MULTIVIEW_NUM_PROCESSES",
        ),
        (
            {
                "MULTIVIEW_COORDINATOR": "localhost:1",
                "MULTIVIEW_NUM_PROCESSES": "0",
                "MULTIVIEW_PROCESS_ID": "0",
            },
            "MULTIVIEW_NUM_PROCESSES",
        ),
    ],
)
def test_bad_distributed_variables_are_one_line(env, name, tmp_path, monkeypatch):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(app, ["simulate", "--distributed", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and name in _one_error_line(result)


def test_cifar_train_subset_larger_than_the_data_is_refused(tmp_path):
    data = write_image_zip(tmp_path / "d.zip", classes=("a", "b"), per_class_train=10)
    result = runner.invoke(
        app,
        ["cifar", "--data", str(data), "--train-subset", "100000", "--out", str(tmp_path / "o")]
        + ["--data-dir", str(tmp_path / "cache")],
    )
    assert result.exit_code == 2 and "train_subset" in _one_error_line(result)
    assert not (tmp_path / "o").exists()


def test_atomic_writes_are_readable_by_the_group(tmp_path):
    path = atomic_write_text(tmp_path / "f.txt", "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()


def _strict(text: str):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.slow
@pytest.mark.parametrize("command", EXPERIMENTS)
def test_experiment_commands_print_strict_json(command, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, [command, *TINY, *TH_TINY, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert _strict(result.stdout)["predictions"]
    again = runner.invoke(app, [command, *TINY, *TH_TINY, "--out", str(out), "--json"])
    assert again.exit_code == 2 and "--force" in _one_error_line(again)
    report = runner.invoke(app, ["report", str(out), "--json"])
    assert report.exit_code == 0 and _strict(report.stdout)["report"].endswith("report.html")


@pytest.mark.slow
def test_sweep_prints_strict_json(tmp_path):
    args = ["sweep", *TINY, "--x", "lr=5,10", "--y", "width=1", "--ensemble-size", "2"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "s"), "--json"])
    assert result.exit_code == 0, result.output
    assert len(_strict(result.stdout)) == 2


def test_resume_retrains_a_damaged_block_and_drops_blocks_of_another_size(tmp_path):
    out = tmp_path / "run"
    args = ["simulate", *TINY, "--out", str(out), "--quiet", "--seed-block", "2"]
    assert runner.invoke(app, args).exit_code == 0
    blocks = out / "blocks"
    assert runner.invoke(app, [*args[:-1], "3", "--resume"]).exit_code == 0
    assert sorted(p.name for p in blocks.glob("seeds_*")) == [
        "seeds_000000_000003.npz",
        "seeds_000003_000004.npz",
    ]
    damaged = blocks / "seeds_000000_000003.npz"
    damaged.write_bytes(damaged.read_bytes()[:100])
    result = runner.invoke(app, [*args[:-1], "3", "--resume"])
    (line,) = [x for x in result.output.splitlines() if "warning:" in x]  # one, said once
    assert result.exit_code == 0 and str(damaged) in line and "trained again" in line
    assert (blocks / "seeds_000000_000003.npz.damaged").stat().st_size == 100


def test_a_usage_error_is_one_line_too(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["multiview", "ensemble", "--seeds", "1e12"])
    assert run_command_line() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seeds" in err and "Traceback" not in err
