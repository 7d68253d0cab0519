"""The fused weight-gradient kernel (benchmarks/fused_wgrad.py): right in Pallas's
interpreter, the same merged over seeds as one seed at a time, and it lowers to Triton for a
GPU on this CPU machine, so a lowering error shows here and not on a GPU."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.fused_wgrad import (
    CANDIDATES,
    TILES,
    Tiles,
    fused_wgrad,
    pallas_scores_fn,
    reference_wgrad,
    weight_gradient,
)
from multiview.bench import bench_config
from multiview.bench.jax_runs import problem
from multiview.sim.data import inputs_and_labels
from multiview.sim.losses import cross_entropy_with_accuracy

# What the lowering targets. jax 0.10 lowers a Triton kernel without a GPU for compute
# capability 9.0; from jax 0.11 on, Pallas asks the default device which GPU it is, and on a CPU
# machine it needs an abstract one (jax's own tests of the GPU info do the same). The context is
# harmless under 0.10, so these tests pin the target on both.
H100 = jax.sharding.AbstractDevice(
    device_kind="NVIDIA H100 80GB HBM3", num_cores=None, platform="gpu"
)


def lower_for_gpu(traced):
    """The StableHLO text of ``traced`` lowered for CUDA as on one H100."""
    mesh = jax.sharding.AbstractMesh((), (), abstract_device=H100)
    with jax.sharding.use_abstract_mesh(mesh):
        return traced.lower(lowering_platforms=("cuda",)).as_text()


def _operands(shape_pnc, d, dtype, key=0):
    p, n, c = shape_pnc
    k1, k2, k3 = jax.random.split(jax.random.key(key), 3)
    pre = (2.0 * jax.random.normal(k1, (p, n, c))).astype(dtype)  # every piece of ReLU~
    g = jax.random.normal(k2, (n, c))
    x = jax.random.normal(k3, (p, n, d)).astype(dtype)
    return pre, g, x


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("q", [1, 3])
def test_kernel_matches_plain_jax_on_ragged_tiles(dtype, q):
    bn, bc, bd, _, _ = TILES[dtype]
    # no size a multiple of its tile: every mask is used, and a full chunk and the tail run
    pre, g, x = _operands((3, bn + 5, bc + 7), bd + 9, dtype)
    out = fused_wgrad(pre, g, x, q=q, rho=1.5, interpret=True)
    ref = reference_wgrad(pre, g, x, q=q, rho=1.5)
    assert out.shape == (bc + 7, bd + 9) and out.dtype == jnp.float32
    assert float(jnp.abs(out - ref).max() / jnp.abs(ref).max()) < 1e-5


def test_kernel_with_a_bf16_store_and_fp32_operands_matches_plain_jax():
    # the mixed variants: TF32 GEMM operands, the pre-activations stored in bf16; the tiles
    # and dF/dpre follow the operands (fp32), the cotangent is not rounded to bf16
    bn, bc, bd, _, _ = TILES["float32"]
    pre32, g, x = _operands((3, bn + 5, bc + 7), bd + 9, "float32")
    pre = pre32.astype(jnp.bfloat16)
    out = fused_wgrad(pre, g, x, q=3, rho=1.5, interpret=True)
    ref = reference_wgrad(pre, g, x, q=3, rho=1.5)
    assert float(jnp.abs(out - ref).max() / jnp.abs(ref).max()) < 1e-5
    # against an fp32 store: only the store's rounding (~2^-8 of pre) separates them
    full = reference_wgrad(pre32, g, x, q=3, rho=1.5)
    assert 1e-5 < float(jnp.abs(out - full).max() / jnp.abs(full).max()) < 2e-2


@pytest.mark.parametrize("n", [5, 32, 40, 84])  # tail only; full chunks only; both; tail > 16
def test_full_chunks_and_the_tail_cover_every_sample_once(n):
    tiles = Tiles(32, 32, 32, 4, 2)
    pre, g, x = _operands((2, n, 40), 48, "float32", key=n)
    out = fused_wgrad(pre, g, x, q=3, rho=1.5, tiles=tiles, interpret=True)
    ref = reference_wgrad(pre, g, x, q=3, rho=1.5)
    assert float(jnp.abs(out - ref).max() / jnp.abs(ref).max()) < 1e-5


def test_tiles_labels_round_trip_and_bad_ones_are_refused():
    for cands in CANDIDATES.values():
        assert cands[0] in TILES.values() and len(set(cands)) == len(cands)
        for t in cands:
            assert Tiles.parse(t.label) == t
    for bad in ("64x128x256", "8x128x128w4s3", "48x128x128w4s3", "64x100x128w4s3"):
        with pytest.raises(ValueError):
            Tiles.parse(bad)


def test_merged_seeds_equal_one_seed_at_a_time():
    s, p, n, k, m, d = 3, 4, 37, 5, 2, 40
    k1, k2, k3 = jax.random.split(jax.random.key(1), 3)
    pre = 2.0 * jax.random.normal(k1, (s, p, n, k, m))
    g = jax.random.normal(k2, (s, n, k))
    x = jax.random.normal(k3, (p, n, d))
    wgrad = weight_gradient(3, 1.5, True)
    merged = jax.jit(jax.vmap(wgrad, in_axes=(0, 0, None)))(pre, g, x)
    loop = jnp.stack([wgrad(pre[i], g[i], x) for i in range(s)])
    assert merged.shape == (s, k, m, d)
    np.testing.assert_allclose(merged, loop, rtol=1e-5, atol=1e-5)
    # a batched x (not the trainer's shape) takes the per-seed path and agrees too
    xs = jnp.broadcast_to(x, (s, *x.shape))
    per_seed = jax.vmap(wgrad)(pre, g, xs)
    np.testing.assert_allclose(per_seed, loop, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "dtype, store", [("float32", None), ("bfloat16", None), ("float32", "bfloat16")]
)
def test_the_step_at_1024_seeds_lowers_to_one_triton_kernel(dtype, store):
    cfg = bench_config("default")
    data, w0, _, _ = problem(cfg, 1)
    w = jax.ShapeDtypeStruct((1024, *w0.shape[1:]), w0.dtype)  # abstract: no memory
    scores = pallas_scores_fn(cfg.model, dtype, interpret=False, store=store)

    def loss(w, data):
        x, y = inputs_and_labels(data["train"], None)
        return cross_entropy_with_accuracy(scores(w, x), y)[0]

    step = jax.jit(jax.vmap(jax.value_and_grad(loss), in_axes=(0, None)))
    text = lower_for_gpu(step.trace(w, data))
    assert re.findall(r"custom_call @(\S+)\(", text) == ["__gpu$xla.gpu.triton"]
    bn, bc, bd, warps, _ = TILES[dtype]
    columns = 1024 * cfg.data.k * cfg.model.width
    assert re.findall(r"grid_x = (\d+)", text) == [str(-(-columns // bc) * -(-cfg.data.d // bd))]
    assert re.findall(r"num_warps = (\d+)", text) == [str(warps)]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_every_candidate_lowers_to_triton_at_1024_seeds(dtype):
    cfg = bench_config("default")
    p, n, d = cfg.data.patches, cfg.data.n_train, cfg.data.d
    c = 1024 * cfg.data.k * cfg.model.width
    args = [
        jax.ShapeDtypeStruct(s, t)
        for s, t in (((p, n, c), dtype), ((n, c), jnp.float32), ((p, n, d), dtype))
    ]
    for t in CANDIDATES[dtype]:
        fn = jax.jit(
            lambda pre, g, x, t=t: fused_wgrad(pre, g, x, q=3, rho=1.5, tiles=t, interpret=False)
        )
        text = lower_for_gpu(fn.trace(*args))
        assert re.findall(r"grid_x = (\d+)", text) == [str(-(-c // t.bc) * -(-d // t.bd))], t
        assert re.findall(r"num_warps = (\d+)", text) == [str(t.warps)], t
