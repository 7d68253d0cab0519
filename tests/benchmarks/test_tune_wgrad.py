"""Tuning the fused kernel's tiles (benchmarks/tune_wgrad.py): every candidate is timed
or says why not, the fastest is chosen, and a failing candidate costs only its own row."""

import pytest

import benchmarks.tune_wgrad as tune_module
from benchmarks.fused_wgrad import TILES, Tiles
from benchmarks.tune_wgrad import kernel_flops, kernel_operands, tune_tiles
from multiview.bench import bench_config

SMALL = (Tiles(32, 64, 128, 4, 4), Tiles(16, 128, 128, 8, 4))


@pytest.fixture(scope="module")
def cfg():
    return bench_config("quick")


def test_operands_have_the_steps_shapes_and_the_flops_count_the_gemm(cfg):
    pre, g, x = kernel_operands(cfg, 3, "bfloat16")
    d = cfg.data
    c = 3 * d.k * cfg.model.width
    assert pre.shape == (d.patches, d.n_train, c) and str(pre.dtype) == "bfloat16"
    assert g.shape == (d.n_train, c) and x.shape == (d.patches, d.n_train, d.d)
    assert kernel_flops(cfg, 3) == 2 * d.patches * d.n_train * c * d.d


def test_every_candidate_is_timed_and_the_fastest_is_chosen(cfg):
    best, rows = tune_tiles(cfg, 2, "float32", SMALL, rounds=2, calls=1, interpret=True)
    assert [r["tiles"] for r in rows] == [t.label for t in SMALL]
    assert all(r["kernel_s"] > 0 and r["flops"] > 0 and r["first_call_s"] > 0 for r in rows)
    fastest = min(rows, key=lambda r: r["kernel_s"])
    assert best.label == fastest["tiles"]


def test_a_failing_candidate_is_a_row_with_its_error(cfg, monkeypatch):
    real = tune_module.fused_wgrad

    def fail_on_first(*args, tiles, **kwargs):
        if tiles == SMALL[0]:
            raise RuntimeError("out of resource: shared memory")
        return real(*args, tiles=tiles, **kwargs)

    monkeypatch.setattr(tune_module, "fused_wgrad", fail_on_first)
    best, rows = tune_tiles(cfg, 2, "float32", SMALL, rounds=1, calls=1, interpret=True)
    assert "shared memory" in rows[0]["error"] and "kernel_s" not in rows[0]
    assert best == SMALL[1] and rows[1]["kernel_s"] > 0
    best, rows = tune_tiles(cfg, 2, "float32", SMALL[:1], rounds=1, calls=1, interpret=True)
    assert best == TILES["float32"] and "error" in rows[0]  # none ran: the default


def test_the_budget_stops_compiling_after_the_first(cfg):
    best, rows = tune_tiles(cfg, 2, "float32", SMALL, rounds=1, calls=1, budget_s=0.0)
    assert best == SMALL[0] and rows[0]["kernel_s"] > 0 and rows[1]["skipped"]
