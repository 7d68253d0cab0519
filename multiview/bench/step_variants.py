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

Every variant is the trainer's own chunk (:func:`multiview.sim.train.make_chunk`: jit of a
vmap over seeds of a ``lax.scan`` over steps, the data shared) around a different per-seed
loss, so only the loss differs from what is timed in ``sim_step``. :func:`gradients` compares
them, :func:`hlo_text` / :func:`hlo_summary` give the compiled program for offline reading,
:func:`time_variants` times them in interleaved rounds, and :func:`floor_seconds` /
:func:`implied_passes` are the roofline arithmetic of ``benchmarks/README.md``.
"""

from __future__ import annotations

import collections
import functools
import re
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from multiview.bench.jax_runs import problem
from multiview.bench.timing import model_flops_per_seed_step, round_times
from multiview.sim.config import ModelConfig, SimConfig, TrainConfig
from multiview.sim.data import inputs_and_labels
from multiview.sim.losses import ce_loss_fn, cross_entropy_with_accuracy
from multiview.sim.model import smoothed_relu
from multiview.sim.parallel import replicate, seed_mesh, shard_seeds
from multiview.sim.train import make_chunk

__all__ = [
    "VARIANTS",
    "TOLERANCE",
    "np_layout_scores",
    "bf16_store_scores",
    "relu_derivative",
    "vjp_scores_fn",
    "variant_loss_fn",
    "gradients",
    "prepare_variant",
    "hlo_text",
    "hlo_summary",
    "time_variants",
    "copy_bandwidth",
    "tensor_bytes",
    "floor_seconds",
    "implied_passes",
]

VARIANTS = ("baseline", "np_layout", "bf16_store", "custom_vjp")

#: Largest accepted ``max |g - g_baseline| / max |g_baseline|`` per seed (checked by
#: tests/test_step_variants.py): fp32 variants differ from the baseline only in summation
#: order, bf16 ones by rounding (measured: 4e-7, 8e-3 and 8e-4 on the quick preset).
TOLERANCE = {"baseline": 0.0, "np_layout": 1e-5, "bf16_store": 3e-2, "custom_vjp": 1e-2}

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


def relu_derivative(z: jax.Array, q: int, varrho: float) -> jax.Array:
    """``d ReLU~ / dz``: 0 below 0, ``(z / varrho)^(q-1)`` on ``[0, varrho]``, 1 above (same
    shape as ``z``). The ``where`` keeps ``q = 1`` at 0 below 0 (``0^0`` would give 1)."""
    r = jnp.clip(z, 0.0, varrho) / varrho
    return jnp.where(z > 0, r ** (q - 1), 0.0)


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


@functools.lru_cache(maxsize=16)
def variant_loss_fn(model: ModelConfig, variant: str):
    """The per-seed loss of ``variant``: ``loss_fn(w, data, idx) -> (loss, {"acc": acc})``,
    as :func:`multiview.sim.losses.ce_loss_fn`. ``baseline`` *is* ``ce_loss_fn(model)``, the
    object the trainer and ``prepare_vmapped`` use, so its chunk is their compiled chunk."""
    if variant == "baseline":
        return ce_loss_fn(model)
    if variant == "bf16_store":  # now a trainer option: time the trainer's own loss
        return ce_loss_fn(model, "bfloat16-store")
    if variant == "np_layout":
        scores = functools.partial(np_layout_scores, model)
    elif variant == "custom_vjp":
        scores = vjp_scores_fn(model)
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


# ----------------------------------------------------------------------------- the chunk
def _chunk(cfg: SimConfig, variant: str, seeds: int, steps: int):
    """The jitted chunk of ``steps`` steps and its arguments, as ``prepare_vmapped`` builds
    them (same TrainConfig, mesh, sharding; no per-step records beyond loss and accuracy)."""
    data, w0, keys, _ = problem(cfg, seeds)
    tcfg = TrainConfig(steps=steps * 10**6, lr=cfg.train.lr, chunks=10**6)  # never ends
    mesh = seed_mesh()
    (w, keys), _ = shard_seeds((w0, keys), mesh)
    loss_fn = variant_loss_fn(cfg.model, variant)
    chunk = make_chunk(loss_fn, None, tcfg, cfg.data.n_train, mesh)
    return chunk, (w, replicate(data, mesh), 0, keys)


def prepare_variant(
    cfg: SimConfig, variant: str, seeds: int, steps: int = 10
) -> Callable[[], None]:
    """A function that runs ``steps`` GD steps of ``seeds`` seeds under ``variant`` and
    waits for them (compiled on its first call), like ``prepare_vmapped``."""
    chunk, (w, data, start, keys) = _chunk(cfg, variant, seeds, steps)
    state = {"w": w}

    def run():
        state["w"], rec = chunk(state["w"], data, start, keys)
        jax.block_until_ready((state["w"], rec))

    return run


def hlo_text(cfg: SimConfig, variant: str, seeds: int, steps: int = 1) -> str:
    """The optimized HLO of ``variant``'s chunk (``jit.lower(...).compile().as_text()``)."""
    chunk, args = _chunk(cfg, variant, seeds, steps)
    return chunk.lower(*args).compile().as_text()


# An HLO instruction line: "%name = <shape> opcode(operands), attributes". The opcode is the
# first lower-case word directly followed by "(" after the "=" (shapes never are).
_INSTR = re.compile(r"^\s*(?:ROOT\s+)?%?[\w.\-]+\s*=\s*.*?\s([a-z][a-z0-9\-]*)\(")
_CALLED = re.compile(r"(?:calls|to_apply)=\{?%?([\w.\-]+)")
_FREE = ("parameter", "constant", "get-tuple-element", "tuple", "bitcast")  # no kernel
_CONTROL = ("while", "call", "conditional")  # run kernels, are none (and pass tuples through)
_ARRAY = re.compile(r"\b(pred|[a-z]+)(\d*)\[([\d,]*)\]")  # f32[3200,80]: kind, bits, dims


def _big_bytes(shape: str, big_elements: int) -> int:
    """Bytes of the arrays of exactly ``big_elements`` elements (any layout) in an HLO
    output shape (``f32[3200,80]{1,0}`` or a tuple of such)."""
    total = 0
    for kind, bits, dims in _ARRAY.findall(shape):
        size = int(np.prod([int(x) for x in dims.split(",") if x]))
        if size == big_elements:
            total += size * (1 if kind == "pred" else max(1, int(bits or 8) // 8))
    return total


def hlo_summary(text: str, big_elements: int | None = None) -> dict[str, int]:
    """Counts of the scheduled instructions of an HLO module by opcode, plus
    ``fusion:<kind>`` and ``custom-call:<target>`` breakdowns, ``kernels`` (all but loops
    and calls) and ``gemm`` (dots, fusions around a dot, GEMM custom calls): what runs as a
    kernel.

    Computations called by a fusion, custom call or reduction (``calls=`` / ``to_apply=``)
    are bodies, not kernels, and are not counted. A ``transpose`` or ``copy`` left at the
    top level is a kernel of its own: one more read and write of its operand.

    ``big_elements`` (the pre-activation tensor's size, ``N P S k m``): also count, as
    ``big:<opcode>`` and ``big_bytes_written``, the kernels whose outputs hold arrays of that
    many elements, i.e. the full writes of that tensor (each is read again later).
    """
    comps: dict[str, list[str]] = {}
    lines: list[str] | None = None
    for line in text.splitlines():
        if line[:1].strip() and line.rstrip().endswith("{"):  # a computation's header
            name = line.removeprefix("ENTRY ").split()[0].lstrip("%")
            lines = comps.setdefault(name, [])
        elif line.strip() == "}":
            lines = None
        elif lines is not None:
            lines.append(line)
    bodies = set()
    for body in comps.values():
        for line in body:
            m = _INSTR.match(line)
            if m and m.group(1) != "call":
                bodies.update(_CALLED.findall(line))
    has_dot = {name for name, body in comps.items() if any(" dot(" in line for line in body)}
    counts: collections.Counter[str] = collections.Counter()
    for name, body in comps.items():
        if name in bodies:
            continue
        for line in body:
            m = _INSTR.match(line)
            if not m or m.group(1) in _FREE:
                continue
            op = m.group(1)
            counts[op] += 1
            if op in _CONTROL:
                continue
            counts["kernels"] += 1
            called = _CALLED.findall(line)
            if op == "dot" or (op == "fusion" and called and called[0] in has_dot):
                counts["gemm"] += 1
            elif op == "custom-call" and re.search(r'target="[^"]*(gemm|matmul)', line, re.I):
                counts["gemm"] += 1
            if big_elements:
                written = _big_bytes(line.split("=", 1)[1].split(f" {op}(")[0], big_elements)
                if written:
                    counts[f"big:{op}"] += 1
                    counts["big_bytes_written"] += written
            if op == "fusion":
                kind = re.search(r"kind=(k\w+)", line)
                counts[f"fusion:{kind.group(1) if kind else '?'}"] += 1
            elif op == "custom-call":
                target = re.search(r'custom_call_target="([^"]+)"', line)
                counts[f"custom-call:{target.group(1) if target else '?'}"] += 1
    return dict(sorted(counts.items()))


# ----------------------------------------------------------------------------- timing
def time_variants(
    cfg: SimConfig,
    seeds: int,
    steps: int,
    rounds: int,
    variants: tuple[str, ...] = VARIANTS,
) -> list[dict]:
    """Seconds per step of each variant, in ``rounds`` interleaved rounds after a first
    (compiling) call, so every variant sees the same background load.

    Returns one row per variant: ``variant``, ``seeds``, ``step_s`` (median over rounds),
    ``best_step_s`` (least), ``first_call_s`` (compile + first run).
    """
    runners, first = {}, {}
    for v in variants:
        runners[v] = prepare_variant(cfg, v, seeds, steps)
        t = time.perf_counter()
        runners[v]()
        first[v] = time.perf_counter() - t
    times = {v: [t / steps for t in ts] for v, ts in round_times(runners, rounds).items()}
    return [
        {
            "variant": v,
            "seeds": seeds,
            "step_s": float(np.median(times[v])),
            "best_step_s": float(np.min(times[v])),
            "first_call_s": first[v],
        }
        for v in variants
    ]


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
