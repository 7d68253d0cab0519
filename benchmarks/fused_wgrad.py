"""The simulator's weight gradient as one Pallas (Triton) kernel that forms ``dF/dpre`` on the
fly, so the ``(N P) x (S k m)`` tensor ``g * ReLU~'(pre)`` is never written to HBM.

Why: on an H100 the GD step is bound by passes over the pre-activation tensor, not by its two
GEMMs (benchmarks/README.md, "What run 2's bf16_store program spends its time on"). XLA writes
``dF/dpre`` and reads it back for the weight-gradient GEMM (2 of the 5 passes a mask-free step
needs), and its GEMM-fusion heuristic will not pull an elementwise product of two full-size
operands into the GEMM. Here the kernel loads tiles of ``pre`` and of the expanded cotangent,
evaluates ``g * ReLU~'(pre)`` in registers and feeds it to the tensor cores: 3 passes.

The kernel works on all seeds at once (one ``(S k m) x d`` output, the data shared), which is
what makes the GEMM large; the per-seed code the trainer vmaps calls :func:`weight_gradient`,
a ``jax.custom_batching.custom_vmap`` whose batching rule merges the seeds into the kernel's
columns. On a backend other than a GPU the kernel runs in Pallas's interpreter (slow, exact),
which is how the CPU tests check it; ``jax.jit(...).trace(...).lower(lowering_platforms=
("cuda",))`` lowers it to Triton on a CPU machine too, which the tests also do.

Tile sizes are a first guess for Hopper (no GPU was at hand when this was written); the GPU
script times the kernel and saves its program.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

try:  # Pallas's Triton backend: deprecated in JAX 0.11 and to be removed in a later one
    from jax.experimental.pallas import triton as plgpu
except ImportError:  # pragma: no cover - then the kernel's variants fail alone, with why
    plgpu = None

from multiview.sim.config import ModelConfig
from multiview.sim.model import relu_derivative, smoothed_relu

__all__ = [
    "CANDIDATES",
    "TILES",
    "Tiles",
    "fused_wgrad",
    "pallas_scores_fn",
    "reference_wgrad",
    "stored_gemm",
    "weight_gradient",
]


class Tiles(NamedTuple):
    """One launch configuration of the kernel: ``bn`` samples of the contraction per step,
    ``bc`` output columns, ``bd`` output ``d`` (each a power of two >= 16: Triton's blocks
    are powers of two and its dot needs K >= 16), Triton warps and pipeline stages."""

    bn: int
    bc: int
    bd: int
    warps: int
    stages: int

    @property
    def label(self) -> str:
        """``'64x128x256w8s3'``: how a variant name carries it (``bf16_pallas@<label>``)."""
        return f"{self.bn}x{self.bc}x{self.bd}w{self.warps}s{self.stages}"

    @classmethod
    def parse(cls, label: str) -> Tiles:
        m = re.fullmatch(r"(\d+)x(\d+)x(\d+)w(\d+)s(\d+)", label)
        if m is None:
            raise ValueError(f"tiles {label!r}: expected e.g. 64x128x256w8s3")
        t = cls(*map(int, m.groups()))
        if any(b < 16 or b & (b - 1) for b in t[:3]):  # Triton's blocks: powers of two
            raise ValueError(f"tiles {label!r}: bn, bc, bd must be powers of two >= 16")
        return t


#: The default per operand dtype. Shared memory per stage: bf16 (64 x 128 + 64 x 256) x 2 B =
#: 48 KB; fp32 (32 x 128 + 32 x 128) x 4 B = 32 KB; three stages fit Hopper's 228 KB.
TILES = {
    "bfloat16": Tiles(64, 128, 256, 8, 3),
    "float32": Tiles(32, 128, 128, 8, 3),
}
#: What the GPU script tunes over (the kernel alone, a few seconds each), the default first.
#: All are first guesses for Hopper: narrower d-blocks (more programs, less accumulator per
#: thread), shorter contraction steps with deeper pipelines, 4 warps. The accumulator is
#: ``bc x bd`` fp32 in registers: at most 128 per thread in every candidate.
CANDIDATES = {
    "bfloat16": (
        TILES["bfloat16"],
        Tiles(64, 128, 128, 4, 4),
        Tiles(32, 128, 256, 8, 4),
        Tiles(64, 256, 128, 8, 3),
        Tiles(128, 128, 128, 8, 3),
    ),
    "float32": (
        TILES["float32"],
        Tiles(32, 64, 128, 4, 4),
        Tiles(16, 128, 128, 8, 4),
        Tiles(32, 128, 64, 4, 4),
    ),
}


def _kernel(pre_ref, g_ref, x_ref, o_ref, *, q, rho, bn, bc, bd, nd):
    """One ``(bc, bd)`` tile of ``o = sum_{p, n} (g * ReLU~'(pre))[p, n, :]^T x[p, n, :]``.

    Program ``i`` takes columns ``(i // nd) * bc`` and d-block ``i % nd``, so the ``nd``
    programs that read the same columns of ``pre`` run next to each other (L2 reuse). Loops:
    sample chunks outside (the cotangent tile is loaded once per chunk), patches inside.
    The ``n // bn`` full chunks need no row mask; the ``n % bn`` samples left go through a
    narrower chunk (the next power of two, >= 16), so a ragged ``n`` (the preset's 200 =
    3 x 64 + 8) costs 8 masked rows, not 56: at ``bn = 64`` the tensor cores do 4% more
    work than the samples need (208 rows) instead of 28% more (256).
    """
    n_patches, n, c = pre_ref.shape
    d = x_ref.shape[2]
    pid = pl.program_id(0)
    c0 = jax.lax.div(pid, nd) * bc  # lax.div/rem: jnp's // and % lower badly to Triton
    d0 = jax.lax.rem(pid, nd) * bd
    cmask = (c0 + jnp.arange(bc)) < c
    dmask = (d0 + jnp.arange(bd)) < d

    def chunk(n0, rows, acc):
        """``acc`` plus the products of samples ``n0 .. n0 + rows`` (masked past ``n``)."""
        rmask = (n0 + jnp.arange(rows)) < n
        tile_mask = rmask[:, None] & cmask[None, :]
        g = plgpu.load(g_ref.at[pl.ds(n0, rows), pl.ds(c0, bc)], mask=tile_mask, other=0.0)
        g = g.astype(jnp.float32)

        def patch(p, acc):
            z = plgpu.load(pre_ref.at[p, pl.ds(n0, rows), pl.ds(c0, bc)], mask=tile_mask, other=0.0)
            z = z.astype(jnp.float32)
            x = plgpu.load(
                x_ref.at[p, pl.ds(n0, rows), pl.ds(d0, bd)],
                mask=rmask[:, None] & dmask[None, :],
                other=0.0,
            )
            a = (g * relu_derivative(z, q, rho)).astype(x.dtype)  # dF/dpre, never leaves the SM
            return acc + plgpu.dot(a, x, trans_a=True)

        return jax.lax.fori_loop(0, n_patches, patch, acc)

    acc = jax.lax.fori_loop(
        0, n // bn, lambda j, acc: chunk(j * bn, bn, acc), jnp.zeros((bc, bd), jnp.float32)
    )
    if n % bn:  # static: the shapes are known when the kernel is traced
        # A traced start: Pallas refuses a static slice that runs past the array; the mask
        # keeps a traced one from reading there, as in the full chunks' last rows before.
        start = jnp.asarray(n - n % bn, jnp.int32)
        acc = chunk(start, max(16, 1 << (n % bn - 1).bit_length()), acc)
    plgpu.store(o_ref.at[pl.ds(c0, bc), pl.ds(d0, bd)], acc, mask=cmask[:, None] & dmask[None, :])


def fused_wgrad(
    pre: jax.Array,
    g: jax.Array,
    x: jax.Array,
    *,
    q: int,
    rho: float,
    tiles: Tiles | None = None,
    interpret: bool | None = None,
) -> jax.Array:
    """``o[c, :] = sum_{p, n} g[n, c] ReLU~'(pre[p, n, c]) x[p, n, :]``, one kernel.

    Arguments:
        pre: ``(P, N, C)`` pre-activations (``C`` = seeds x k x m), fp32 or bf16.
        g: ``(N, C)`` cotangent of the scores, expanded over ``m`` (any float dtype; rounded
            to ``x``'s dtype, the product's).
        x: ``(P, N, d)`` inputs, fp32 or bf16: the GEMM's operand dtype, which ``dF/dpre`` is
            formed in. ``pre`` in that dtype, or bf16 with fp32 ``x`` (a bf16 store of TF32
            GEMMs' output: the ``mixed`` variants).
        tiles: the launch configuration; None: :data:`TILES` of ``x``'s dtype.
        interpret: run in Pallas's interpreter; None: unless the default backend is a GPU
            (False on a CPU lowers the Triton kernel, e.g. for ``lowering_platforms``).

    Returns:
        ``(C, d)`` float32.
    """
    if plgpu is None:
        raise RuntimeError(f"JAX {jax.__version__} has no Pallas Triton backend")
    _, _, c = pre.shape
    d = x.shape[2]
    t = TILES[jnp.dtype(x.dtype).name] if tiles is None else tiles
    nd = pl.cdiv(d, t.bd)
    kernel = functools.partial(_kernel, q=q, rho=rho, bn=t.bn, bc=t.bc, bd=t.bd, nd=nd)
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((c, d), jnp.float32),
        grid=(pl.cdiv(c, t.bc) * nd,),
        interpret=jax.default_backend() != "gpu" if interpret is None else interpret,
        compiler_params=plgpu.CompilerParams(num_warps=t.warps, num_stages=t.stages),
        name="fused_wgrad",
    )(pre, g.astype(x.dtype), x)


def stored_gemm(spec: str, a: jax.Array, b: jax.Array, store) -> jax.Array:
    """``einsum(spec, a, b)`` accumulated in fp32 and written in ``store``. JAX refuses a
    ``preferred_element_type`` narrower than the operands, so fp32 operands with a bf16
    store get a convert after the product (fused into a Triton GEMM's epilogue on a GPU)."""
    if jnp.dtype(store).itemsize >= jnp.dtype(a.dtype).itemsize:
        return jnp.einsum(spec, a, b, preferred_element_type=store)
    return jnp.einsum(spec, a, b, preferred_element_type=jnp.float32).astype(store)


def reference_wgrad(pre: jax.Array, g: jax.Array, x: jax.Array, *, q: int, rho: float):
    """:func:`fused_wgrad` in plain JAX (same shapes and roundings), for tests."""
    deriv = relu_derivative(pre.astype(jnp.float32), q, rho)
    a = (g.astype(x.dtype).astype(jnp.float32)[None] * deriv).astype(x.dtype)
    return jnp.einsum("pnc,pnd->cd", a, x, preferred_element_type=jnp.float32)


@functools.lru_cache(maxsize=8)
def weight_gradient(q: int, rho: float, interpret: bool | None = None, tiles: Tiles | None = None):
    """Per-seed ``(pre (P, N, k, m), g (N, k), x (P, N, d)) -> dW (k, m, d)`` float32, for
    code that is vmapped over seeds: under ``vmap`` (seeds batched, ``x`` shared) it is one
    :func:`fused_wgrad` call over ``S k m`` columns. Cached per activation, ``interpret`` and
    ``tiles``."""
    fused = functools.partial(fused_wgrad, q=q, rho=rho, tiles=tiles, interpret=interpret)

    def one(pre, g, x):
        p, n, k, m = pre.shape
        gexp = jnp.broadcast_to(g[:, :, None], (n, k, m)).reshape(n, k * m)
        out = fused(pre.reshape(p, n, k * m), gexp, x)
        return out.reshape(k, m, x.shape[2])

    @jax.custom_batching.custom_vmap
    def wgrad(pre, g, x):
        return one(pre, g, x)

    @wgrad.def_vmap
    def _seeds(axis_size, in_batched, pre, g, x):
        pre_b, g_b, x_b = in_batched
        if x_b or not (pre_b and g_b):  # not the trainer's shape: no merged kernel
            axes = tuple(0 if b else None for b in in_batched)
            return jax.vmap(one, in_axes=axes)(pre, g, x), True
        s, p, n, k, m = pre.shape
        pre_m = jnp.moveaxis(pre, 0, 2).reshape(p, n, s * k * m)  # the GEMM's own layout
        gexp = jnp.broadcast_to(jnp.moveaxis(g, 0, 1)[..., None], (n, s, k, m))
        out = fused(pre_m, gexp.reshape(n, s * k * m), x)
        return out.reshape(s, k, m, x.shape[2]), True

    return wgrad


@functools.lru_cache(maxsize=8)
def pallas_scores_fn(
    model: ModelConfig,
    dtype: str = "float32",
    interpret: bool | None = None,
    tiles: Tiles | None = None,
    store: str | None = None,
):
    """``scores(w (k, m, d), x (n, P, d)) -> (n, k)`` float32 whose VJP saves only the
    pre-activations ``(P, n, k, m)`` (as the GEMM writes them) and computes the weight
    gradient with :func:`weight_gradient`'s fused kernel. The step's passes over the tensor:
    the GEMM's write, the scores' read and the kernel's read. ``dtype``: the GEMMs' operands
    (fp32: TF32 on a GPU); ``store``: the dtype the tensor is written in (None: ``dtype``;
    ``"bfloat16"`` with fp32 operands halves the three passes and keeps the TF32 GEMMs, if
    the forward GEMM writes bf16 itself, as a Triton GEMM with a convert epilogue can).
    ``interpret`` and ``tiles``: as :func:`fused_wgrad`."""
    q, rho, dt = model.q, model.varrho, jnp.dtype(dtype)
    st = jnp.dtype(store or dtype)
    wgrad = weight_gradient(q, rho, interpret, tiles)

    def pre_acts(w, x):
        xt = jnp.swapaxes(x, 0, 1).astype(dt)  # (P, n, d): the data, small and shared
        return stored_gemm("kmd,pnd->pnkm", w.astype(dt), xt, st), xt

    def from_pre(pre):
        return smoothed_relu(pre.astype(jnp.float32), q, rho).sum((0, 3))

    @jax.custom_vjp
    def scores(w, x):
        return from_pre(pre_acts(w, x)[0])

    def fwd(w, x):
        pre, xt = pre_acts(w, x)
        return from_pre(pre), (xt, pre)

    def bwd(res, g):
        xt, pre = res
        return wgrad(pre, g, xt), None

    scores.defvjp(fwd, bwd)
    return scores
