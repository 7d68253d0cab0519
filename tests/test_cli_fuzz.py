"""Fuzz every command's options (hypothesis, in-process): whatever the values and types,
the exit code is 0, 2 (one line) or 130, there is no traceback, and no folder is left
half-written. The compute itself is replaced by an interrupt, so an example costs what
the checks before the compute cost, and the interrupt's clean-up is fuzzed too."""

import shutil
import tempfile
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import multiview.cli.bench as cli_bench
import multiview.cli.cifar as cli_cifar
import multiview.cli.simulate as cli_simulate
import multiview.cli.sweep as cli_sweep
import multiview.cli.theorems as cli_theorems
from multiview.cli import app

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
def no_compute(monkeypatch):
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
def test_any_option_values_give_0_2_or_130_and_leave_no_half_written_folder(no_compute, case):
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
