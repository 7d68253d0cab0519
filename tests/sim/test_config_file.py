"""Configs that round-trip: ``--config FILE``, ``KEY=VALUE`` overrides, ``--version``, and the
README's preset list against the code."""

import json
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tiny_args import TINY, tiny_args
from typer.testing import CliRunner

import multiview
from multiview.cli import app
from multiview.errors import ConfigError
from multiview.sim.config import PRESETS
from multiview.sim.config_file import parse_overrides, read_config_file

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _tiny_toml() -> str:
    sections = {"data": ("k", "d", "patches", "n_train", "n_test"), "model": ("width",)}
    sections["train"] = ("steps", "chunks", "log_points")
    lines = [f"seeds = {TINY['seeds']}"]
    for name, keys in sections.items():
        lines += [f"[{name}]"] + [f"{k} = {TINY[k]}" for k in keys]
    return "\n".join(lines) + "\n"


def test_a_runs_config_json_and_a_toml_file_reproduce_the_run_bit_for_bit(tmp_path):
    first = runner.invoke(app, ["simulate", *tiny_args(), "--out", str(tmp_path / "a"), "--quiet"])
    assert first.exit_code == 0, first.output
    summary = (tmp_path / "a" / "summary.json").read_text()
    again = ["simulate", "--config", str(tmp_path / "a" / "config.json")]
    result = runner.invoke(app, [*again, "--out", str(tmp_path / "b"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b" / "summary.json").read_text() == summary
    toml = tmp_path / "tiny.toml"
    toml.write_text(_tiny_toml())
    result = runner.invoke(
        app, ["simulate", "--config", str(toml), "--out", str(tmp_path / "c"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c" / "summary.json").read_text() == summary


def test_overrides_flags_and_file_are_applied_in_order(tmp_path):
    cfg = tmp_path / "run.json"
    cfg.write_text(json.dumps({"config": {"data": {"k": 6, "n_train": 40}, "seeds": 3}}))
    values = read_config_file(cfg)
    assert values.sim == {"k": 6, "n_train": 40, "seeds": 3}
    over = parse_overrides(["k=20", "data.noise_scale=1.5", "theorems.teacher_size=4"])
    assert over.sim == {"k": 20, "noise_scale": 1.5} and over.theorems == {"teacher_size": 4}
    assert parse_overrides(["ensemble_sizes=1,2,4"]).theorems == {"ensemble_sizes": (1, 2, 4)}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["k=abc"], "k = 'abc' is invalid: must be an integer"),
        (["k=3.5"], "must be an integer"),
        (["lr=fast"], "lr = 'fast' is invalid: must be a number"),
        (["bogus=1"], "unknown config field 'bogus'"),
        (["model.k=3"], "unknown config field 'model.k'"),
        (["k"], "'k' is not an override"),
        (["--k", "10", "k=20"], "k is given twice"),
        (["teacher_size=3"], "an experiment field"),
        (["k=1"], "k = 1 is invalid"),  # the range check of the config classes, as a flag's
        (["--config", "/no/such/file.toml"], "--config /no/such/file.toml: cannot read it"),
    ],
)
def test_bad_overrides_and_files_give_one_line_and_exit_2_before_compute(tmp_path, args, needle):
    result = runner.invoke(app, ["simulate", *args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_a_broken_or_unknown_config_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("k = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_config_file(bad)
    bad.write_text("[data]\nwidth = 3\n")
    with pytest.raises(ConfigError, match="unknown config field 'data.width'"):
        read_config_file(bad)


@given(k=st.integers(2, 1000), noise=st.floats(0, 100, allow_nan=False))
def test_override_values_keep_their_type_and_value(k, noise):
    over = parse_overrides([f"k={k}", f"noise_scale={noise!r}"])
    assert over.sim == {"k": k, "noise_scale": noise}
    assert type(over.sim["k"]) is int and type(over.sim["noise_scale"]) is float


def test_theorems_settings_come_from_the_file_and_the_overrides(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(
        "multiview.cli.theorems.run_and_write",
        lambda cfg, th, parts, out, quiet, **more: (
            seen.update(cfg=cfg, th=th) or {"predictions": []}
        ),
    )
    cfg = tmp_path / "th.toml"
    cfg.write_text("seeds = 8\n[theorems]\nteacher_size = 4\nkd_tau = 2.5\n")
    args = ["ensemble", "--config", str(cfg), "theorems.teacher_size=2", "k=5", "--quiet"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert seen["th"].teacher_size == 2 and seen["th"].kd_tau == 2.5
    assert seen["cfg"].seeds == 8 and seen["cfg"].data.k == 5


def test_version_flag_prints_the_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"multiview {multiview.__version__}"
    assert version("multiview") == multiview.__version__


def test_flags_show_no_bool_type_in_help():
    result = runner.invoke(app, ["simulate", "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    assert "--quiet" in result.stdout and "<bool>" not in result.stdout
    assert "<int>" in result.stdout  # value options still say what they take


def test_readme_lists_exactly_the_presets_of_the_code():
    text = (ROOT / "README.md").read_text()
    listed = re.search(r"`--preset \{([^}]*)\}`", text)
    assert listed is not None, "README: no `--preset {...}` list"
    assert listed.group(1).split(",") == list(PRESETS)
