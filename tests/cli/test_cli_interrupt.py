"""Ctrl-C on a real ``multiview simulate`` process: exit 130 every time, no traceback, and
the message names only what exists."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from tiny_args import tiny_args

ARGS = [
    "simulate",
    *tiny_args(n_test=50, steps=200_000, chunks=2000, log_points=6, seeds=8),
    *["--seed-block", "2"],
]


def _interrupt_after(delay: float, out, sig=signal.SIGINT) -> tuple[int, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "multiview", *ARGS, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(delay)
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=300)
    return proc.returncode, output


_SIGINT = (signal.SIGINT, 130, "interrupted")
_SIGTERM = (signal.SIGTERM, 143, "terminated (SIGTERM)")  # timeout, Slurm, a scheduler


@pytest.mark.slow
@pytest.mark.parametrize(
    ("delay", "stop"),
    [(d, _SIGINT) for d in (0.2, 1.5, 4.0, 8.0, 15.0)] + [(d, _SIGTERM) for d in (0.2, 4.0, 15.0)],
)
def test_ctrl_c_exits_130_without_a_traceback(delay, stop, tmp_path):
    out = tmp_path / "run"
    sig, exit_code, word = stop
    code, output = _interrupt_after(delay, out, sig)
    assert code == exit_code and word in output, output
    assert "Traceback" not in output and "Exception ignored" not in output, output
    for named in re.findall(r"saved in (\S+);", output):
        assert os.path.isdir(named), output


# A Ctrl-C while typer parses the options never reaches the command's handler; typer 0.29
# turns it into a bare exit code 130 (earlier versions raised Abort). The slow test above
# hit that window once in CI (no message at all); these pin the exit's own line.
_RUN = "from multiview.signals import run, interrupt_reported\n"


@pytest.mark.parametrize(
    "body, said",
    [
        ("run(lambda: 130)", "interrupted: nothing was done"),  # typer's silent 130
        ("def c():\n    raise KeyboardInterrupt\nrun(c)", "interrupted: nothing was done"),
        ("def c():\n    print('kept X')\n    interrupt_reported()\n    return 130\nrun(c)", None),
        # JAX re-raises an interrupt that lands in a pytree comparison as a ValueError
        (
            "def c():\n    try:\n        raise KeyboardInterrupt\n    except KeyboardInterrupt"
            " as e:\n        raise ValueError('metadata') from e\nrun(c)",
            "interrupted: nothing was done",
        ),
    ],
)
def test_an_exit_130_always_says_what_was_kept_once(body, said):
    proc = subprocess.run(
        [sys.executable, "-c", _RUN + body], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 130
    out = proc.stdout + proc.stderr
    assert out.count("interrupted") == (1 if said else 0) and "Traceback" not in out, out
    if said:
        assert said in out
    else:
        assert out.strip() == "kept X"


def _wrapped_interrupt() -> ValueError:
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as e:
        try:
            raise ValueError("Exception raised while checking equality of metadata") from e
        except ValueError as wrapped:
            return wrapped


def test_an_interrupt_wrapped_by_a_library_is_still_an_interrupt(capsys):
    # Seen once in CI: SIGINT landed inside JAX's pytree equality, which re-raised it as a
    # ValueError; the command then exited 1 with a traceback instead of 130.
    import typer

    from multiview.cli.common import interruptible
    from multiview.signals import caused_by_interrupt

    wrapped = _wrapped_interrupt()
    assert caused_by_interrupt(wrapped) and caused_by_interrupt(KeyboardInterrupt())
    plain = ValueError("a real bug")
    assert not caused_by_interrupt(plain)
    loop = ValueError("cycle")
    loop.__context__ = ValueError("back")
    loop.__context__.__context__ = loop
    assert not caused_by_interrupt(loop)  # a cyclic chain ends
    with pytest.raises(typer.Exit) as exit_info, interruptible("kept X"):
        raise wrapped
    assert exit_info.value.exit_code == 130 and "interrupted: kept X" in capsys.readouterr().err
    with pytest.raises(ValueError, match="a real bug"), interruptible("kept X"):
        raise plain


def test_an_interrupt_reported_inside_a_command_is_reported_once():
    # interruptible() reports and raises typer.Exit(130) from None inside the KeyboardInterrupt
    # handler; the command's wrapper must not take that exit for a second interrupt.
    import typer
    from typer.testing import CliRunner

    from multiview.cli.common import add_command, interruptible

    app = typer.Typer()

    def interrupted():
        with interruptible("kept X"):
            raise _wrapped_interrupt()

    def other():  # a second command, so that typer keeps command names
        pass

    add_command(app, "interrupted", interrupted)
    add_command(app, "other", other)
    res = CliRunner().invoke(app, ["interrupted"])
    assert res.exit_code == 130
    assert res.output.count("interrupted") == 1 and "kept X" in res.output, res.output
