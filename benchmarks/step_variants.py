"""Variants of the simulator's full-batch GD step, to find what bounds it on an accelerator.

On one H100 the trainer's step at 1,024 seeds of the default preset runs at 38% of the fp32
(TF32) matmul peak, and bf16 matmuls do not make it faster: the step looks bound by memory
traffic over the pre-activation tensor (``N P x S k m`` values: 3,200 x 20,480 at 1,024
seeds, 262 MB in fp32 per pass), not by its two GEMMs. Each variant below changes one thing
of the step, so a timing of all of them on the same card says which hypothesis holds:

- ``baseline``: the trainer's step itself (``ce_loss_fn``, ``"kmd,npd->nkmp"``).
- ``np_layout``: pre-activations as ``"npd,kmd->npkm"``, the GEMM's natural
  ``(n p) x (k m)`` output (seeds join ``k m`` under vmap), so no transpose is needed.
- ``bf16_store``: bf16 operands and a bf16 pre-activation tensor (the GEMM accumulates in
  fp32; the activation is evaluated in fp32 inside the fusion); its cotangent is bf16 too.
  If the step is traffic-bound, halving the bytes per pass should show as 1.5-2x.
- ``custom_vjp``: the scores ``F(W, X)`` as a ``jax.custom_vjp`` whose forward keeps only the
  activation derivative, in bf16; the backward forms ``dF/dpre`` from it and the weight
  gradient with one GEMM, so no fp32 copy of the tensor survives the forward.
- ``vjp_pre`` / ``bf16_vjp_pre``: run 2 found ``bf16_store`` 1.76x faster (the traffic bound
  holds) and its program and the baseline's still writing a boolean mask of the tensor's
  size; this custom VJP keeps only the tensor the GEMM writes (fp32 / bf16) and recomputes
  the derivative from it (:func:`pre_vjp_scores_fn`): 5 passes.
- ``vjp_pre_triton`` / ``bf16_vjp_pre_triton``: the same programs compiled with Triton GEMMs
  only (:data:`COMPILER_OPTIONS`), so XLA may fuse ``g * ReLU~'(pre)`` into the second
  GEMM: 3 passes.
- ``pallas`` / ``bf16_pallas``: that fusion written by hand, a Pallas (Triton) kernel for the
  weight gradient (:mod:`benchmarks.fused_wgrad`): 3 passes whatever XLA decides.
- ``mixed_vjp_pre_triton`` / ``mixed_pallas``: fp32 operands (TF32 GEMMs on a GPU, so the
  fp32 peak is theirs) with the tensor stored in bf16, compiled with Triton GEMMs so that the
  forward GEMM can write bf16 itself (a convert epilogue): the TF32 step's GEMMs at half
  its traffic, if XLA fuses the convert (the saved HLO says).

Every variant is a per-seed loss (:func:`variant_loss_fn`) that the trainer's own chunk
(:func:`multiview.sim.train.make_chunk`: jit of a vmap over seeds of a ``lax.scan`` over
steps, the data shared) runs, so only the loss differs from what is timed in ``sim_step``.
:func:`gradients` compares them; :mod:`benchmarks.variant_runs` times their chunks, gives
the compiled programs for offline reading (parsed by :mod:`benchmarks.hlo`) and checks
on the device that each timed program trains the same models; :func:`floor_seconds` /
:func:`implied_passes` are the roofline arithmetic of ``benchmarks/README.md``.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.fused_wgrad import Tiles, pallas_scores_fn, stored_gemm
from multiview.bench.jax_runs import problem
from multiview.bench.timing import model_flops_per_seed_step
from multiview.sim.config import ModelConfig, SimConfig
from multiview.sim.data import inputs_and_labels
from multiview.sim.losses import ce_loss_fn, cross_entropy_with_accuracy
from multiview.sim.model import relu_derivative, smoothed_relu

__all__ = [
    "VARIANTS",
    "TOLERANCE",
    "np_layout_scores",
    "bf16_store_scores",
    "vjp_scores_fn",
    "variant_loss_fn",
    "gradients",
    "pre_vjp_scores_fn",
    "COMPILER_OPTIONS",
    "TRITON_ONLY",
    "PALLAS_DTYPE",
    "PALLAS_STORE",
    "copy_bandwidth",
    "tensor_bytes",
    "floor_seconds",
    "implied_passes",
]

VARIANTS = (
    "baseline",
    "np_layout",
    "bf16_store",
    "custom_vjp",
    "vjp_pre",
    "vjp_pre_triton",
    "bf16_vjp_pre",
    "bf16_vjp_pre_triton",
    "pallas",
    "bf16_pallas",
    "mixed_vjp_pre_triton",
    "mixed_pallas",
)

#: Largest accepted ``max |g - g_baseline| / max |g_baseline|`` per seed (checked by
#: tests/benchmarks/test_step_variants.py): fp32 variants differ from the baseline only in summation
#: order, bf16 ones by rounding (measured: 4e-7, 8e-3 and 8e-4 on the quick preset).
TOLERANCE = {
    "baseline": 0.0,
    "np_layout": 1e-5,
    "bf16_store": 3e-2,
    "custom_vjp": 1e-2,
    "vjp_pre": 1e-5,
    "vjp_pre_triton": 1e-5,
    "bf16_vjp_pre": 3e-2,
    "bf16_vjp_pre_triton": 3e-2,
    "pallas": 1e-5,
    "bf16_pallas": 3e-2,
    "mixed_vjp_pre_triton": 3e-2,
    "mixed_pallas": 3e-2,
}

#: XLA options a variant is compiled with (``Lowered.compile(compiler_options)``; a CPU
#: accepts and ignores the GPU ones). The ``_triton`` variants ask XLA to emit every GEMM
#: it can as a Triton kernel and not to fall back to cuBLAS, so that the elementwise
#: ``g * ReLU~'(pre)`` can be fused into the weight-gradient GEMM's operand load: that
#: removes a write and a read of the tensor (benchmarks/README.md, the roofline).
TRITON_ONLY = {"xla_gpu_triton_gemm_any": True, "xla_gpu_cublas_fallback": False}
COMPILER_OPTIONS = {
    "vjp_pre_triton": TRITON_ONLY,
    "bf16_vjp_pre_triton": TRITON_ONLY,
    "mixed_vjp_pre_triton": TRITON_ONLY,
    "mixed_pallas": TRITON_ONLY,  # the kernel is Triton anyway; this is for the forward GEMM
}

BF16 = jnp.bfloat16


# ----------------------------------------------------------------------------- scores
def np_layout_scores(model: ModelConfig, w: jax.Array, x: jax.Array) -> jax.Array:
    """Scores ``(n, k)`` of ``w (k, m, d)`` on ``x (n, P, d)`` via ``(n, P, k, m)``
    pre-activations, the layout a ``(n P) x d`` by ``d x (k m)`` GEMM writes."""
    pre = jnp.einsum("npd,kmd->npkm", x.astype(w.dtype), w)
    return smoothed_relu(pre, model.q, model.varrho).sum((1, 3))


def bf16_store_scores(model: ModelConfig, w: jax.Array, x: jax.Array) -> jax.Array:
    """Scores ``(n, k)`` float32 with the ``(n, k, m, P)`` pre-activations stored in bf16.

    The operands are bf16 and the GEMM accumulates in fp32 (what ``preferred_element_type``
    asks of cuBLAS / Triton) but writes bf16; the convert to fp32 before the activation sits
    in the consumer fusion, so on a GPU no fp32 copy of the tensor is written (XLA's CPU
    backend computes bf16 dots in fp32 and converts, so on a CPU it writes both).
    """
    pre = jnp.einsum("kmd,npd->nkmp", w.astype(BF16), x.astype(BF16), preferred_element_type=BF16)
    return smoothed_relu(pre.astype(jnp.float32), model.q, model.varrho).sum((2, 3))


@functools.lru_cache(maxsize=8)
def vjp_scores_fn(model: ModelConfig, residual_dtype: str = "bfloat16"):
    """``scores(w (k, m, d), x (n, P, d)) -> (n, k)`` with a hand-written VJP.

    The forward saves ``x`` (the shared data: no copy) and the activation derivative
    ``(n, k, m, P)`` in ``residual_dtype``; the backward computes ``g * derivative`` and the
    weight gradient ``einsum("nkmp,npd->kmd")`` in fp32, so the only big tensor kept between
    the passes is the residual. ``x`` gets no cotangent (it is data). Cached per config.

    Forward and backward are one XLA program in the trainer's chunk, so XLA may still fuse
    the residual away (the CPU backend does: it recomputes the derivative from the fp32
    pre-activations inside the backward's fusion); the bf16 rounding stays either way.
    """
    q, rho, rdt = model.q, model.varrho, jnp.dtype(residual_dtype)

    def pre_acts(w, x):
        return jnp.einsum("kmd,npd->nkmp", w, x.astype(w.dtype))

    @jax.custom_vjp
    def scores(w, x):
        return smoothed_relu(pre_acts(w, x), q, rho).sum((2, 3))

    def fwd(w, x):
        pre = pre_acts(w, x)
        deriv = relu_derivative(pre, q, rho).astype(rdt)
        return smoothed_relu(pre, q, rho).sum((2, 3)), (x, deriv)

    def bwd(res, g):
        x, deriv = res
        dpre = g[:, :, None, None] * deriv.astype(jnp.float32)  # (n, k, m, P)
        return jnp.einsum("nkmp,npd->kmd", dpre, x.astype(dpre.dtype)), None

    scores.defvjp(fwd, bwd)
    return scores


@functools.lru_cache(maxsize=8)
def pre_vjp_scores_fn(model: ModelConfig, dtype: str = "bfloat16", store: str | None = None):
    """``scores(w (k, m, d), x (n, P, d)) -> (n, k)`` float32 with a VJP whose only saved
    tensor is the pre-activations ``(n, k, m, P)`` the GEMM writes, in ``store`` (None:
    ``dtype``, the GEMMs' operand dtype; accumulation in fp32). With fp32 operands and a bf16
    ``store`` the GEMMs stay TF32 on a GPU and the tensor's passes are bf16; ``dF/dpre`` is
    formed in the operand dtype.

    Run 2 on an H100 read the trainer's programs: besides the GEMMs the ``bfloat16-store``
    step makes 7.5 bf16 passes over the tensor and the fp32 step 6.75 fp32 passes, in both
    1.5 units of a mask's size for a boolean ``z >= varrho`` (the ``where`` of
    :func:`smoothed_relu`) that XLA materialised because the forward ``where`` and its
    transpose share it. Here the backward sees only ``pre`` and recomputes the derivative
    from it, so no mask or derivative can be saved: the GEMM's write, the scores' read, the
    derivative's read and write of ``g * ReLU~'(pre)`` and the weight-gradient GEMM's read,
    5 passes (3 when that product is fused into the GEMM). The weight gradient is fp32.
    """
    q, rho, dt = model.q, model.varrho, jnp.dtype(dtype)
    st = jnp.dtype(store or dtype)

    def pre_acts(w, x):
        return stored_gemm("kmd,npd->nkmp", w.astype(dt), x.astype(dt), st)

    def from_pre(pre):
        return smoothed_relu(pre.astype(jnp.float32), q, rho).sum((2, 3))

    @jax.custom_vjp
    def scores(w, x):
        return from_pre(pre_acts(w, x))

    def fwd(w, x):
        pre = pre_acts(w, x)
        return from_pre(pre), (x, pre)

    def bwd(res, g):
        x, pre = res
        deriv = relu_derivative(pre.astype(jnp.float32), q, rho)
        dpre = (g[:, :, None, None] * deriv).astype(dt)  # (n, k, m, P)
        dw = jnp.einsum("nkmp,npd->kmd", dpre, x.astype(dt), preferred_element_type=jnp.float32)
        return dw, None

    scores.defvjp(fwd, bwd)
    return scores


#: The scores function of each variant that is neither a trainer loss nor the kernel, per
#: model config. A ``_triton`` variant is its twin's loss compiled with other XLA options.
_SCORES = {
    "np_layout": lambda model: functools.partial(np_layout_scores, model),
    "custom_vjp": vjp_scores_fn,
    "vjp_pre": lambda model: pre_vjp_scores_fn(model, "float32"),
    "vjp_pre_triton": lambda model: pre_vjp_scores_fn(model, "float32"),
    "bf16_vjp_pre": lambda model: pre_vjp_scores_fn(model, "bfloat16"),
    "bf16_vjp_pre_triton": lambda model: pre_vjp_scores_fn(model, "bfloat16"),
    "mixed_vjp_pre_triton": lambda model: pre_vjp_scores_fn(model, "float32", "bfloat16"),
}
#: The kernel variants' operand dtypes (:func:`pallas_scores_fn`; the tiles are chosen per
#: operand dtype); ``<variant>@<Tiles.label>`` runs one with other tiles than the default.
PALLAS_DTYPE = {"pallas": "float32", "bf16_pallas": "bfloat16", "mixed_pallas": "float32"}
#: The kernel variants whose pre-activations are stored in another dtype than the operands.
PALLAS_STORE = {"mixed_pallas": "bfloat16"}


@functools.lru_cache(maxsize=16)
def variant_loss_fn(model: ModelConfig, variant: str):
    """The per-seed loss of ``variant``: ``loss_fn(w, data, idx) -> (loss, {"acc": acc})``,
    as :func:`multiview.sim.losses.ce_loss_fn`. ``baseline`` *is* ``ce_loss_fn(model)``, the
    object the trainer and ``prepare_vmapped`` use, so its chunk is their compiled chunk."""
    if variant == "baseline":
        return ce_loss_fn(model)
    if variant == "bf16_store":  # now a trainer option: time the trainer's own loss
        return ce_loss_fn(model, "bfloat16-store")
    base, _, label = variant.partition("@")  # "bf16_pallas@64x128x256w8s3": other tiles
    if base in PALLAS_DTYPE:
        tiles = Tiles.parse(label) if label else None
        store = PALLAS_STORE.get(base)
        scores = pallas_scores_fn(model, PALLAS_DTYPE[base], tiles=tiles, store=store)
    elif variant in _SCORES:
        scores = _SCORES[variant](model)
    else:
        raise ValueError(f"unknown step variant {variant!r}; known: {', '.join(VARIANTS)}")

    def loss_fn(w, data, idx):
        x, y = inputs_and_labels(data["train"], idx)
        loss, acc = cross_entropy_with_accuracy(scores(w, x).astype(jnp.float32), y)
        return loss, {"acc": acc}

    return loss_fn


def gradients(
    cfg: SimConfig, variant: str, seeds: int, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Loss ``(seeds,)`` and weight gradient ``(seeds, k, m, d)`` under ``variant`` at every
    seed's initial weights times ``scale`` (full batch, no sharding: for comparisons).

    At initialization every pre-activation is far below ``varrho`` (only the cubic piece is
    used); a ``scale`` of ~200 on the default sizes puts some above it, as in training.
    """
    data, w0, _, _ = problem(cfg, seeds)
    loss_fn = variant_loss_fn(cfg.model, variant)
    vg = jax.vmap(jax.value_and_grad(lambda w: loss_fn(w, data, None)[0]))
    loss, g = jax.jit(vg)(w0 * scale)
    return np.asarray(loss), np.asarray(g)


def copy_bandwidth(n_floats: int, repeats: int = 5) -> float:
    """Bytes per second of a jitted ``x + 1`` over ``n_floats`` float32 values (one read and
    one write of each: ``8 n_floats`` bytes), the best of ``repeats`` calls: the memory
    bandwidth an elementwise pass over the pre-activation tensor can reach."""
    # Donated: the output reuses the input's buffer, so no call pays for fresh pages.
    f = jax.jit(lambda a: a + 1.0, donate_argnums=0)
    x = f(jnp.zeros((n_floats,), jnp.float32)).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        x = f(x).block_until_ready()
        best = min(best, time.perf_counter() - t)
    return 8 * n_floats / best


# ----------------------------------------------------------------------------- roofline
def tensor_bytes(cfg: SimConfig, seeds: int, itemsize: int = 4) -> int:
    """Bytes of one copy of the pre-activation tensor: ``N P S k m`` values."""
    d = cfg.data
    n = cfg.train.batch_size or d.n_train
    return n * d.patches * seeds * d.k * cfg.model.width * itemsize


def floor_seconds(
    gemm_flops: float, peak_flops: float, passes: float, pass_bytes: float, bandwidth: float
) -> float:
    """The roofline floor of a step: its GEMMs at the matmul peak plus ``passes`` full reads
    or writes of a ``pass_bytes`` tensor at ``bandwidth`` (no overlap of the two)."""
    return gemm_flops / peak_flops + passes * pass_bytes / bandwidth


def implied_passes(
    step_s: float, cfg: SimConfig, seeds: int, peak_flops: float, bandwidth: float
) -> float:
    """How many fp32 passes over the pre-activation tensor the time of a step beyond its
    GEMMs at peak would pay for: ``(step_s - GEMM time) / (tensor bytes / bandwidth)``."""
    gemm = model_flops_per_seed_step(cfg) * seeds / peak_flops
    return (step_s - gemm) / (tensor_bytes(cfg, seeds) / bandwidth)
