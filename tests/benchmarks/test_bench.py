"""`multiview bench --quick --json` runs and reports the promised keys."""

import json

import pytest
import typer
from typer.testing import CliRunner

from multiview.bench import model_flops_per_seed_step, torch_loop_step_time
from multiview.cli.bench import parse_seeds, register
from multiview.errors import ConfigError
from multiview.sim.config import preset


def _app():
    app = typer.Typer()
    register(app)

    @app.command()
    def _other():  # a second command, so typer keeps "bench" as a subcommand
        pass

    return app


def test_bench_quick_json_has_the_promised_keys(tiny_config, monkeypatch):
    import multiview.bench as bench

    run = bench.run_bench
    monkeypatch.setattr(bench, "run_bench", lambda *a, **k: run(*a, **k, config=tiny_config))
    res = CliRunner().invoke(
        _app(),
        ["bench", "--quick", "--seeds", "1,2", "--compare-seeds", "2", "--json"],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for key in (
        "peak_fraction",
        "speedup_vs_torch_loop",
        "speedup_vs_jax_loop",
        "matmul_peak_flops",
        "achieved_flops",
        "throughput",
        "machine",
    ):
        assert key in out
    assert out["peak_fraction"] > 0 and out["matmul_peak_flops"] > 0
    assert [r["seeds"] for r in out["throughput"]] == [1, 2]
    assert all(r["seed_steps_per_s"] > 0 for r in out["throughput"])
    if out["speedup_vs_torch_loop"] is not None:
        assert out["speedup_vs_torch_loop"] > 0
    import io

    from rich.console import Console

    from multiview.cli.bench import print_bench

    buf = io.StringIO()
    print_bench(out, Console(file=buf, width=120))
    assert "of the matmul peak" in buf.getvalue()


def test_flop_count_and_seed_parsing():
    cfg = preset("default")
    d = cfg.data
    assert model_flops_per_seed_step(cfg) == 4 * d.n_train * d.patches * d.d * d.k * cfg.model.width
    assert parse_seeds("1, 4,64") == [1, 4, 64]
    for bad in ("", "0", "a,b"):
        with pytest.raises(ConfigError):
            parse_seeds(bad)


def test_torch_loop_matches_the_jax_step():
    """The PyTorch baseline does the same math as the JAX trainer (one GD step)."""
    torch = pytest.importorskip("torch")
    import jax
    import numpy as np

    from multiview.sim.config import ModelConfig
    from multiview.sim.losses import cross_entropy_with_accuracy as cross_entropy
    from multiview.sim.model import forward, init_weights

    del torch
    mc = ModelConfig(width=2, q=3, varrho=0.5)
    w = init_weights(mc, 3, 8, jax.random.key(0)) * 100
    x = jax.random.normal(jax.random.key(1), (6, 4, 8))
    y = np.arange(6) % 3
    g = jax.grad(lambda w: cross_entropy(forward(mc, w, x), y)[0])(w)
    want = np.asarray(w - 0.5 * g)
    got = {}
    torch_loop_step_time(
        np.asarray(w)[None], np.asarray(x), y, 3, 0.5, 0.5, steps=1, repeats=1, out=got, threads=1
    )
    np.testing.assert_allclose(got["weights"][0], want, rtol=1e-4, atol=1e-6)


def test_bf16_matmuls_keep_scores_close():
    import jax
    import numpy as np

    from multiview.sim.config import ModelConfig
    from multiview.sim.model import forward, init_weights

    mc = ModelConfig(width=2, q=3, varrho=0.5)
    w = init_weights(mc, 3, 32, jax.random.key(0)) * 100
    x = jax.random.normal(jax.random.key(1), (6, 4, 32))
    f32, f16 = forward(mc, w, x), forward(mc, w, x, matmul_dtype="bfloat16")
    assert f16.dtype == f32.dtype
    np.testing.assert_allclose(np.asarray(f16), np.asarray(f32), rtol=0.05, atol=0.05)
