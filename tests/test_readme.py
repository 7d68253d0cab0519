"""The README's two set-up commands are the ones users and CI run."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.strip().splitlines() if line.strip()]


def test_readme_has_exactly_two_setup_commands_install_run_and_test():
    cmds = _setup_commands()
    assert len(cmds) == 2
    assert "pip install" in cmds[0] and "multiview simulate --views 2 --seeds 64" in cmds[0]
    assert "'.[dev]'" in cmds[1] and "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _setup_commands()[1] in ci
