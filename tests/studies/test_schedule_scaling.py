"""Presets scale their training schedule with k and N when the steps are not given."""

import math

import pytest
import typer
from typer.testing import CliRunner

import multiview as mv
from multiview.cli.common import add_command, with_config_options
from multiview.sim.config import PRESETS, SimConfig, scale_schedule, with_overrides


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_rule_is_the_identity_on_an_unchanged_preset(name):
    base = PRESETS[name]
    assert scale_schedule(base, base) is base
    assert mv.preset(name) == base
    smaller = with_overrides(base, k=base.data.k // 2, n_train=base.data.n_train // 2, seeds=3)
    assert scale_schedule(base, smaller) == smaller  # never shortened


def test_steps_scale_with_the_larger_of_k_and_n_ratios():
    base = PRESETS["default"]  # k = 10, N = 200, 1500 steps
    steps = base.train.steps
    assert mv.preset(k=20).train.steps == 2 * steps
    assert mv.preset(n_train=600).train.steps == 3 * steps
    assert mv.preset(k=20, n_train=400).train.steps == 2 * steps
    assert mv.preset(k=30, n_train=400).train.steps == 3 * steps
    assert mv.preset(k=15).train.steps == math.ceil(1.5 * steps)
    cfg = mv.preset(k=40, n_train=800)
    assert cfg.train.steps == 4 * steps
    assert cfg.train.lr == base.train.lr and cfg.train.chunks == base.train.chunks
    sep = PRESETS["separated"]  # its own k and N are the reference
    assert mv.preset("separated", k=40).train.steps == 2 * sep.train.steps


def test_given_steps_win():
    assert mv.preset(k=20, n_train=400, steps=700).train.steps == 700
    assert mv.preset(k=20, steps=1500).train.steps == 1500  # the preset's value, given
    base = PRESETS["default"]
    given = with_overrides(base, k=20, steps=900)
    assert scale_schedule(base, given) == given


def _resolved(args: list[str]) -> SimConfig:
    seen: list[SimConfig] = []

    def probe(cfg: SimConfig) -> None:
        seen.append(cfg)

    app = typer.Typer()
    add_command(app, "probe", with_config_options(probe))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return seen[0]


def test_the_command_line_scales_the_preset_unless_steps_is_given():
    assert _resolved([]) == PRESETS["default"]
    assert _resolved(["--preset", "quick"]) == PRESETS["quick"]
    assert _resolved(["--k", "20", "--n-train", "400"]).train.steps == 3000
    assert _resolved(["--k", "20", "--steps", "1500"]).train.steps == 1500
    assert _resolved(["--preset", "quick", "--n-train", "300"]).train.steps == 2250
