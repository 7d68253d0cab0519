"""The GD-step variants timed on a GPU (benchmarks/step_variants.py) compute the trainer's
gradient, run, and their compiled programs can be read; the roofline arithmetic of
benchmarks/README.md holds."""

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.hlo import hlo_summary
from benchmarks.step_variants import (
    TOLERANCE,
    TRITON_ONLY,
    VARIANTS,
    bf16_store_scores,
    floor_seconds,
    gradients,
    implied_passes,
    pre_vjp_scores_fn,
    tensor_bytes,
    variant_loss_fn,
    vjp_scores_fn,
)
from benchmarks.variant_runs import (
    VariantRun,
    agreement,
    compiler_options,
    hlo_text,
    time_variants,
    update_errors,
)
from multiview.bench import bench_config
from multiview.bench.jax_runs import problem
from multiview.sim.losses import ce_loss_fn, cross_entropy_with_accuracy
from multiview.sim.model import forward

SEEDS = 3
SCALE = 200.0  # puts ~10% of the pre-activations above varrho: every piece of ReLU~ is used


@pytest.fixture(scope="module")
def cfg():
    return bench_config("quick")


def test_scaled_weights_use_every_piece_of_the_activation(cfg):
    data, w0, _, _ = problem(cfg, SEEDS)
    pre = np.asarray(jnp.einsum("skmd,npd->snkmp", w0 * SCALE, data["train"].x))
    assert 0.3 < (pre > 0).mean() < 0.7
    assert 0.01 < (pre > cfg.model.varrho).mean() < 0.5


@pytest.mark.parametrize(
    "variant",
    # the kernel with tiles of the GPU script's tuning (a tuned name: "<variant>@<tiles>")
    [v for v in VARIANTS if v != "baseline"]
    + ["pallas@16x128x128w8s4", "bf16_pallas@64x128x128w4s4"],
)
def test_variant_gradient_matches_the_trainers(cfg, variant):
    loss0, g0 = gradients(cfg, "baseline", SEEDS, SCALE)
    loss, g = gradients(cfg, variant, SEEDS, SCALE)
    tol = TOLERANCE[variant.partition("@")[0]]
    assert g.shape == (SEEDS, cfg.data.k, cfg.model.width, cfg.data.d)
    for s in range(SEEDS):
        err = np.abs(g[s] - g0[s]).max() / np.abs(g0[s]).max()
        assert err <= tol, (variant, s, err)
    np.testing.assert_allclose(loss, loss0, rtol=max(1e-6, tol / 10))


def test_a_tuned_kernel_variant_keeps_its_compiler_options():
    # mixed_pallas needs Triton GEMMs for its forward's bf16 write; tuning renames it
    assert compiler_options("mixed_pallas@16x128x128w8s4") == TRITON_ONLY
    assert compiler_options("mixed_vjp_pre_triton") == TRITON_ONLY
    assert (
        compiler_options("pallas@16x128x128w8s4") is None and compiler_options("baseline") is None
    )


def test_mixed_variants_round_less_than_bf16_operands(cfg):
    # TF32-style operands with a bf16 store: only the tensor is rounded, not x and w too
    _, g0 = gradients(cfg, "baseline", SEEDS, SCALE)
    errs = {}
    for v in ("mixed_vjp_pre_triton", "bf16_vjp_pre"):
        _, g = gradients(cfg, v, SEEDS, SCALE)
        errs[v] = max(np.abs(g[s] - g0[s]).max() / np.abs(g0[s]).max() for s in range(SEEDS))
    assert 0 < errs["mixed_vjp_pre_triton"] < errs["bf16_vjp_pre"], errs


@pytest.mark.parametrize("name", ["baseline@16x128x128w8s4", "pallas@64x128", "nope"])
def test_unknown_variants_and_tiles_are_refused(cfg, name):
    with pytest.raises(ValueError):
        variant_loss_fn(cfg.model, name)


def test_custom_vjp_with_an_fp32_residual_is_the_autodiff_gradient(cfg):
    data, w0, _, _ = problem(cfg, 1)
    w, x = w0[0] * SCALE, data["train"].x
    probe = jax.random.normal(jax.random.key(0), (x.shape[0], cfg.data.k))
    scores = vjp_scores_fn(cfg.model, "float32")
    g = jax.grad(lambda w: jnp.sum(probe * scores(w, x)))(w)
    g0 = jax.grad(lambda w: jnp.sum(probe * forward(cfg.model, w, x)))(w)
    assert np.abs(g - g0).max() / np.abs(g0).max() < 1e-5
    np.testing.assert_allclose(scores(w, x), forward(cfg.model, w, x), rtol=1e-6)


@pytest.mark.parametrize(
    "dtype, store", [("float32", None), ("bfloat16", None), ("float32", "bfloat16")]
)
def test_pre_vjp_saves_only_the_data_and_the_pre_activations(cfg, dtype, store):
    # The point of the variant: between forward and backward nothing but the tensor the GEMM
    # wrote survives; a saved derivative or mask would be more HBM passes.
    data, w0, _, _ = problem(cfg, 1)
    w, x = w0[0] * SCALE, data["train"].x
    scores, vjp = jax.vjp(pre_vjp_scores_fn(cfg.model, dtype, store), w, x)
    n, p = x.shape[:2]
    saved = sorted((a.shape, str(a.dtype)) for a in jax.tree.leaves(vjp))
    pre = ((n, cfg.data.k, cfg.model.width, p), store or dtype)
    assert saved == sorted([(x.shape, "float32"), pre])
    dw, dx = vjp(jnp.ones_like(scores))
    assert dw.dtype == jnp.float32 and not np.any(dx)  # x is data: no cotangent


def test_baseline_is_the_trainers_loss_object(cfg):
    # Same object -> make_chunk's cache returns the trainer's own compiled chunk.
    assert variant_loss_fn(cfg.model, "baseline") is ce_loss_fn(cfg.model)
    assert variant_loss_fn(cfg.model, "baseline") is problem(cfg, SEEDS)[3]
    with pytest.raises(ValueError, match="unknown step variant"):
        variant_loss_fn(cfg.model, "nope")


def test_every_variant_runs_trains_the_baselines_models_and_its_program_can_be_read(cfg):
    rows = time_variants(cfg, seeds=2, steps=2, rounds=1, check=True)
    assert [r["variant"] for r in rows] == list(VARIANTS)
    assert all(r["step_s"] > 0 and r["first_call_s"] > 0 for r in rows)
    # the check the GPU script runs on the card, here on the CPU: every timed program moves
    # the weights as the baseline at "highest" precision does (= the default on a CPU)
    for r in rows:
        assert r["agrees"] and r["update_error"] <= r["update_tolerance"], r
    assert rows[0]["variant"] == "baseline" and rows[0]["update_error"] == 0.0
    assert max(r["update_error"] for r in rows) > 0  # the bf16 ones round: the check sees it
    local = -(-2 // jax.local_device_count())  # the compiled program is one device's share
    big = tensor_bytes(cfg, local) // 4
    for v in VARIANTS:
        text = hlo_text(cfg, v, 2, 2)  # the program just run: no new compilation
        assert text.startswith("HloModule")
        summary = hlo_summary(text, big)
        # forward scores and weight gradient; the kernel in Pallas's interpreter has two dots,
        # its full chunks' and its tail's (N = 200 is no multiple of its chunk)
        assert summary["gemm"] == (3 if "pallas" in v else 2), (v, summary)
        assert summary["kernels"] > summary["gemm"]
        assert summary["big_bytes_written"] >= 2 * big, (v, summary)  # >= one bf16 write


HLO = """HloModule jit_step, entry_computation_layout={(f32[4,8]{1,0})->f32[8,4]{1,0}}

%fused_transpose (p0: f32[4,8]) -> f32[8,4] {
  %p0 = f32[4,8]{1,0} parameter(0)
  ROOT %transpose.1 = f32[8,4]{1,0} transpose(%p0), dimensions={1,0}
}

%gemm_body (a: f32[4,8], b: f32[8,4]) -> f32[4,4] {
  %a = f32[4,8]{1,0} parameter(0)
  %b = f32[8,4]{1,0} parameter(1)
  ROOT %dot.1 = f32[4,4]{1,0} dot(%a, %b), lhs_contracting_dims={1}, rhs_contracting_dims={0}
}

ENTRY %main.9 (x: f32[4,8]) -> (f32[8,4], bf16[8,4]) {
  %x = f32[4,8]{1,0} parameter(0)
  %fusion.1 = f32[8,4]{1,0} fusion(%x), kind=kLoop, calls=%fused_transpose
  %transpose.2 = f32[8,4]{0,1} transpose(%x), dimensions={1,0}
  %copy.3 = f32[8,4]{1,0} copy(%transpose.2)
  %gemm.4 = f32[4,4]{1,0} fusion(%x, %fusion.1), kind=kCustom, calls=%gemm_body
  %cc.5 = (f32[4,4]{1,0}, s8[64]{0}) custom-call(%x, %copy.3), custom_call_target="__cublas$gemm"
  %pair = (f32[8,4]{1,0}, bf16[8,4]{1,0}) fusion(%x), kind=kLoop, calls=%fused_transpose
  ROOT %t = (f32[8,4]{1,0}, bf16[8,4]{1,0}) tuple(%copy.3, %copy.3)
}
"""


def test_hlo_summary_counts_the_kernels_of_a_module():
    s = hlo_summary(HLO, big_elements=32)
    assert s["kernels"] == 6 and s["fusion"] == 3 and s["gemm"] == 2
    assert s["transpose"] == 1 and s["copy"] == 1  # the one inside a fusion is not a kernel
    assert s["fusion:kLoop"] == 2 and s["custom-call:__cublas$gemm"] == 1
    # 32-element outputs: fusion.1, transpose.2, copy.3 (4 bytes each) and the pair (4 + 2)
    assert s["big_bytes_written"] == 32 * (4 + 4 + 4 + 6)
    assert "dot" not in s and "parameter" not in s and "tuple" not in s


def test_roofline_arithmetic_of_the_h100_reading():
    cfg = bench_config("default")
    assert tensor_bytes(cfg, 1024) == 3200 * 20480 * 4  # 262 MB per fp32 pass
    gemm_flops = 4 * 200 * 16 * 512 * 10 * 2 * 1024
    assert floor_seconds(gemm_flops, 356e12, 0, 1, 1) == pytest.approx(377e-6, rel=0.01)
    floor5 = floor_seconds(gemm_flops, 356e12, 5, tensor_bytes(cfg, 1024), 3.35e12)
    assert floor5 == pytest.approx(768e-6, rel=0.01)
    # the measured 1.00 ms at 1,024 seeds is ~8 fp32 passes beyond the GEMMs at peak
    assert implied_passes(1.002e-3, cfg, 1024, 356e12, 3.35e12) == pytest.approx(7.99, abs=0.05)


def test_trainer_bf16_store_is_the_timed_bf16_store_program(cfg):
    """`--dtype bfloat16-store` computes what the GPU's bf16_store variant computed
    (bf16_store_scores), so that variant's measured step is this option's step."""
    data, w0, _, _ = problem(cfg, 2)
    x, y = data["train"].x, data["train"].y
    trainer = ce_loss_fn(cfg.model, "bfloat16-store")

    def statement(w):
        s = bf16_store_scores(cfg.model, w, x).astype(jnp.float32)
        return cross_entropy_with_accuracy(s, y)[0]

    for w in w0 * SCALE:
        ga = jax.jit(jax.grad(lambda w: trainer(w, data, None)[0]))(w)
        gb = jax.jit(jax.grad(statement))(w)
        np.testing.assert_allclose(np.asarray(ga), np.asarray(gb), rtol=1e-6, atol=1e-9)
        g32 = jax.jit(jax.grad(lambda w: ce_loss_fn(cfg.model)(w, data, None)[0]))(w)
        assert not np.allclose(np.asarray(ga), np.asarray(g32), rtol=1e-4)  # bf16 was used


def test_the_device_check_flags_a_program_that_trains_other_models(cfg):
    # A run whose steps are 1% longer stands for a kernel that is fast and slightly wrong.
    reference = VariantRun(cfg, "baseline", 2, steps=3, precision="highest")
    same = VariantRun(cfg, "pallas", 2, steps=3)
    other = VariantRun(
        replace(cfg, train=replace(cfg.train, lr=1.01 * cfg.train.lr)), "pallas", 2, 3
    )
    errors = update_errors(
        {"baseline": reference, "pallas": same, "pallas@other": other}, reference
    )
    assert errors["baseline"] == 0.0 and errors["pallas"] < 1e-5
    assert errors["pallas@other"] > 1e-3
    verdicts = agreement(errors)
    assert verdicts["pallas"][1] and not verdicts["pallas@other"][1]


def test_agreement_allows_the_devices_own_rounding():
    # On a GPU the baseline's fp32 dots run in TF32: fp32 variants get 4x the baseline's error.
    assert agreement({"baseline": 0.0, "pallas": 1e-4})["pallas"] == (TOLERANCE["pallas"], False)
    tol, ok = agreement({"baseline": 1e-3, "pallas": 3e-3})["pallas"]
    assert ok and tol == pytest.approx(4e-3)
    assert agreement({"baseline": 1e-3, "bf16_pallas@64x128x128w4s4": 2e-2})[
        "bf16_pallas@64x128x128w4s4"
    ][1]
    assert not agreement({"baseline": 1e-3, "bf16_store": 5e-2})["bf16_store"][1]
