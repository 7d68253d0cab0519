"""Plausible mistakes are one line and exit 2 before any compute, and leave no folder.

Sizes are checked against memory with the estimate in the message (seeds, a jointly trained
average, CIFAR models), float fields stay inside float32, seeds inside their range, a path
with an unknown ``~user``, an unreachable coordinator, a backend that is not there: each is
one line, never a traceback; nothing is clamped without a word. A hypothesis fuzz of the
numeric options keeps it so.

Fuzz every command's options (hypothesis, in-process): whatever the values and types,
the exit code is 0, 2 (one line) or 130, there is no traceback, and no folder is left
half-written. The compute itself is replaced by an interrupt, so an example costs what
the checks before the compute cost, and the interrupt's clean-up is fuzzed too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import typer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tiny_args import tiny_args
from typer.testing import CliRunner

import multiview.cli.bench as cli_bench
import multiview.cli.cifar as cli_cifar
import multiview.cli.simulate as cli_simulate
import multiview.cli.sweep as cli_sweep
import multiview.cli.theorems as cli_theorems
from multiview.cifar.data import load_cifar
from multiview.cifar.fixtures import write_cifar10_pickles, write_image_folder
from multiview.cli import app, run_command_line

runner = CliRunner()
TINY = tiny_args()


def _never(*args, **kwargs):
    raise AssertionError("the compute started")


@pytest.fixture
def no_compute(monkeypatch):
    for module, attr in [
        (cli_simulate, "simulate_run"),
        (cli_theorems, "run_theorems"),
        (cli_cifar, "run_cifar"),
        (cli_cifar, "download_cifar"),
    ]:
        monkeypatch.setattr(module, attr, _never)


@pytest.fixture(scope="module")
def cifar_data(tmp_path_factory):
    return write_cifar10_pickles(tmp_path_factory.mktemp("cifar"), per_batch=20, n_test=10)


def _one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def _invoke(args, monkeypatch, capsys):
    """The command line as the console script runs it (a usage error is one line too)."""
    monkeypatch.setattr("sys.argv", ["multiview", *args])
    code = run_command_line()
    captured = capsys.readouterr()
    return SimpleNamespace(exit_code=code, output=captured.out + captured.err)


CASES = [
    (["simulate", "--preset", "quick", "--seeds", "1000000000"], "is too many", None),
    (["train-average", "--preset", "quick", "--average-size", "1000000000"], "GiB", None),
    (["train-average", "--preset", "quick", "--average-lr-scale", "1e-9"], "1e+09", None),
    (["simulate", "--preset", "quick", "--init-std", "1e39"], "float32", None),
    (["simulate", *tiny_args(seeds=2), "--seed-block", "3"], "more than the 2 seeds", None),
    (
        ["sweep", *tiny_args(seeds=2), "--x", "lr=1,2", "--y", "width=1,2", "--ensemble-size", "3"],
        "more than the 2 seeds",
        None,
    ),
    (["cifar", "--seed", str(2**63)], "--seed", "DATA"),
    (["cifar", "--seed", "-1"], "--seed", "DATA"),
    (["cifar", "--seeds", "1000000000", "--preset", "tiny"], "do not fit in memory", "DATA"),
    (["cifar", "--data", "~nosuchuser-mv/x"], "cannot be expanded", None),
]


@pytest.mark.parametrize(("args", "said", "data"), CASES, ids=lambda v: str(v)[:40])
def test_a_plausible_mistake_is_one_line_exit_2_and_no_folder(
    no_compute, cifar_data, tmp_path, monkeypatch, capsys, args, said, data
):
    out = tmp_path / "out"
    extra = ["--data", str(cifar_data)] if data else []
    result = _invoke([*args, *extra, "--out", str(out)], monkeypatch, capsys)
    line = _one_line(result)
    assert result.exit_code == 2 and said in line, line
    assert not out.exists()


def test_cifar_download_into_a_file_is_one_line(no_compute, tmp_path):
    target = tmp_path / "f"
    target.write_text("mine")
    result = runner.invoke(app, ["cifar-download", "--dest", str(target)])
    assert result.exit_code == 2 and "is a file" in _one_line(result)
    assert target.read_text() == "mine"


@pytest.mark.parametrize(
    ("env", "code", "said"),
    [
        (
            {"MULTIVIEW_NUM_PROCESSES": str(2**70), "MULTIVIEW_PROCESS_ID": "0"},
            2,
            "[1, 2147483647]",
        ),
        ({"MULTIVIEW_NUM_PROCESSES": "2", "MULTIVIEW_PROCESS_ID": "1"}, 1, "did not answer"),
        ({"MULTIVIEW_NUM_PROCESSES": "2", "MULTIVIEW_PROCESS_ID": "1", "T": "x"}, 2, "TIMEOUT"),
    ],
)
def test_a_bad_or_unreachable_coordinator_is_one_line_and_no_folder(
    no_compute, tmp_path, monkeypatch, env, code, said
):
    monkeypatch.setenv("MULTIVIEW_COORDINATOR", "127.0.0.1:9")  # discard: nobody listens
    monkeypatch.setenv("MULTIVIEW_COORDINATOR_TIMEOUT", env.pop("T", "1"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    result = runner.invoke(app, ["simulate", *TINY, "--distributed", "--quiet", "--out", str(out)])
    assert result.exit_code == code and said in _one_line(result)
    assert not out.exists()


def test_an_unavailable_backend_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "multiview", "simulate", *TINY, "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env={**os.environ, "JAX_PLATFORMS": "nosuchplatform"},
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "JAX could not start its backend" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_the_help_names_only_options_the_command_has():
    commands = typer.main.get_command(app).commands
    without = 0
    for name, command in commands.items():
        opts = {o for p in command.params for o in getattr(p, "opts", [])}
        text = runner.invoke(app, [name, "--help"], terminal_width=200).output
        assert ("--resume" in text) == ("--resume" in opts), name
        without += "--resume" not in opts
    assert without >= 3  # report, bench, cifar-download ... have no --resume


# --------------------------------------------------------------------------- fuzz

_COMMANDS = typer.main.get_command(app).commands


def _numeric_options(name):
    return [
        p
        for p in _COMMANDS[name].params
        if p.param_type_name == "option"
        and not p.is_flag
        and str(p.bare_type()) in ("int", "float")
    ]


@st.composite
def _bad_numbers(draw):
    name = draw(st.sampled_from(["simulate", "ensemble", "sweep", "cifar"]))
    option = draw(st.sampled_from(_numeric_options(name)))
    if str(option.bare_type()) == "float":
        value = draw(st.sampled_from(["nan", "inf", "-inf", "1e39", "-1e39", "x"]))
    else:
        value = draw(st.sampled_from([str(-(2**64)), "-1e400", "1.5", "", "x"]))
    return name, option.opts[0], value


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=_bad_numbers())
def test_fuzz_a_bad_number_is_one_line_exit_2_no_traceback_no_folder(
    no_compute, cifar_data, tmp_path_factory, monkeypatch, capsys, case
):
    name, option, value = case
    out = tmp_path_factory.mktemp("fuzz") / "out"
    extra = {
        "sweep": ["--x", "lr=1,2", "--y", "width=1,2"],
        "cifar": ["--data", str(cifar_data), "--preset", "tiny"],
    }.get(name, [])
    result = _invoke([name, *extra, option, value, "--out", str(out)], monkeypatch, capsys)
    assert result.exit_code == 2, result.output
    _one_line(result)
    assert not out.exists()


def test_symlinked_class_folders_are_followed(tmp_path):
    real = write_image_folder(tmp_path / "real")
    linked = tmp_path / "linked"
    for split in ("train", "test"):
        (linked / split).mkdir(parents=True)
        for cls in (real / split).iterdir():
            (linked / split / cls.name).symlink_to(cls, target_is_directory=True)
    a, b = load_cifar(real, use_cache=False), load_cifar(linked, use_cache=False)
    assert a.classes == b.classes and a.fingerprint == b.fingerprint
    np.testing.assert_array_equal(a.train_x, b.train_x)


def test_ctrl_c_before_the_first_cifar_epoch_says_nothing_was_kept(
    cifar_data, tmp_path, monkeypatch
):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_cifar, "run_cifar", interrupted)
    out = tmp_path / "out"
    args = ["cifar", "--preset", "tiny", "--data", str(cifar_data), "--out", str(out), "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 130
    assert "no epoch had finished; nothing was kept" in result.output
    assert "--resume" not in result.output and not out.exists()


@pytest.mark.parametrize(
    "args",
    [["simulate", *TINY, "--out"], ["cifar-download", "--dest"], ["report"]],
    ids=["out", "dest", "report"],
)
def test_an_unknown_home_folder_is_one_line(no_compute, tmp_path, monkeypatch, capsys, args):
    monkeypatch.chdir(tmp_path)
    result = _invoke([*args, "~nosuchuser-mv/x"], monkeypatch, capsys)
    assert result.exit_code == 2 and "~nosuchuser-mv/x" in _one_line(result)
    assert list(tmp_path.iterdir()) == []  # no literal '~nosuchuser-mv' folder


COMMANDS = typer.main.get_command(app).commands
SKIP = {"--help", "--out", "--data-dir", "--dest", "--distributed"}

VALUES = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "0", "-1", "1", "2", "nan", "inf", "1e20", "1,2", "0,1", "paper", "x"]),
    st.text(max_size=6),
)


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@st.composite
def invocations(draw):
    name = draw(st.sampled_from(sorted(COMMANDS)))
    options = [p for p in COMMANDS[name].params if p.param_type_name == "option"]
    options = [p for p in options if not SKIP & set(p.opts)]
    chosen = draw(st.lists(st.sampled_from(options), max_size=4, unique_by=lambda p: p.name))
    args = [name]
    for param in chosen:
        args.append(param.opts[0])
        if not param.is_flag:
            args.append(draw(VALUES))
    if name == "report":
        args.append(draw(st.sampled_from(["RUN", "nowhere"])))
    return args, draw(st.sampled_from(["new", "file", "empty"]))


@pytest.fixture
def interrupted_compute(monkeypatch):
    for module, attr in [
        (cli_simulate, "simulate_run"),  # the API call that does the work
        (cli_theorems, "run_theorems"),
        (cli_sweep, "run_sweep"),
        (cli_cifar, "run_cifar"),
        (cli_cifar, "download_cifar"),
        (cli_bench.bench, "run_bench"),
    ]:
        monkeypatch.setattr(module, attr, _interrupt)


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(invocations())
def test_any_option_values_give_0_2_or_130_and_leave_no_half_written_folder(
    interrupted_compute, case
):
    args, out_kind = case
    root = Path(tempfile.mkdtemp())
    try:
        out = root / "out"
        if out_kind == "file":
            out.write_text("x")
        elif out_kind == "empty":
            out.mkdir()
        if args[0] == "report":
            args = [a if a != "RUN" else str(out) for a in args]
        elif "--out" in {o for p in COMMANDS[args[0]].params for o in p.opts}:
            args = [*args, "--out", str(out)]
        if args[0] == "cifar" and "--data" not in args:
            args = [*args, "--data", str(root / "nowhere")]
        result = CliRunner().invoke(app, args, env={"MULTIVIEW_DATA_DIR": str(root / "cache")})
        event(f"exit {result.exit_code}")
        assert result.exit_code in (0, 2, 130), (args, result.output, result.exception)
        assert "Traceback" not in result.output, (args, result.output)
        if result.exit_code == 2:
            lines = [line for line in result.output.splitlines() if line.strip()]
            assert len(lines) <= 8, (args, result.output)  # a usage error box or one line
        if out_kind == "new" and args[0] != "report":
            assert not out.exists(), (args, result.output)  # nothing half-written
        if out_kind == "empty" and args[0] != "report":
            assert out.is_dir() and not any(out.iterdir()), (args, result.output)
    finally:
        shutil.rmtree(root, ignore_errors=True)
