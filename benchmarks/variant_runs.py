"""The step variants of :mod:`benchmarks.step_variants` as the trainer runs them, on
whatever device JAX sees: each variant's jitted chunk (the trainer's own ``make_chunk`` around
the variant's loss), timed in interleaved rounds (:func:`time_variants`), its compiled program
for offline reading (:func:`hlo_text`), and a check that the program just timed trains the same
models as the trainer (:func:`update_errors`, :func:`agreement`).

Why the check runs on the device and not only in the tests: the tests compare every variant's
gradient with the trainer's on a CPU, where the Pallas kernel runs in its interpreter and
XLA's GPU options do nothing. On a GPU the timed programs are other programs (a Triton
kernel, Triton GEMMs, TF32 dots), and a fast one that computes something else must not read as
a win. The check reuses each timed executable, so it costs one call of each chunk and one
compilation, the reference's.
"""

from __future__ import annotations

import contextlib
import time

import jax
import numpy as np

from benchmarks.step_variants import (
    COMPILER_OPTIONS,
    TOLERANCE,
    VARIANTS,
    variant_loss_fn,
)
from multiview.bench.jax_runs import sharded_chunk
from multiview.bench.timing import round_times
from multiview.sim.config import SimConfig

__all__ = [
    "CHECK_SCALE",
    "BASELINE_FACTOR",
    "VariantRun",
    "compiler_options",
    "prepare_variant",
    "hlo_text",
    "update_errors",
    "agreement",
    "time_variants",
]

#: The check starts every seed from its initial weights times this. The chunk's steps then
#: cross varrho and fit the training set (default preset: loss 2.3 -> 0.07 in 50 steps), so
#: every piece of the activation and of its derivative is used, as training uses them.
CHECK_SCALE = 30.0
#: A variant agrees when its update error is at most its :data:`TOLERANCE` or this many times
#: the trainer's own (the baseline at default precision against the reference at "highest"):
#: on a GPU fp32 dots run in TF32, a rounding every fp32 variant shares. Measured on the CPU
#: (default preset, 4 seeds, 50 steps from 30x the initial weights): fp32 variants 4e-7 to
#: 1e-6, the bf16 ones 3e-3 to 5e-3, ``custom_vjp`` 4e-4; the kernel without its tail (8 of
#: the 200 samples dropped) 0.48, a step size 1% or 0.1% longer 1.1e-2 or 1.1e-3.
BASELINE_FACTOR = 4.0


def compiler_options(variant: str) -> dict | None:
    """The XLA options ``variant`` compiles with (:data:`COMPILER_OPTIONS` of its base name:
    a tuned kernel variant, ``mixed_pallas@<tiles>``, keeps its twin's)."""
    return COMPILER_OPTIONS.get(variant.partition("@")[0])


def _precision(precision: str | None):
    return jax.default_matmul_precision(precision) if precision else contextlib.nullcontext()


class VariantRun:
    """``steps`` GD steps of ``seeds`` seeds under one variant, in the trainer's chunk
    (:func:`multiview.bench.jax_runs.sharded_chunk`, as ``prepare_vmapped``; no per-step
    records beyond loss and accuracy), compiled on first use with the variant's
    :data:`COMPILER_OPTIONS`, under ``precision`` (``jax.default_matmul_precision``; None:
    the device's default).

    ``run()`` advances the timed weights and waits for them; ``advance(w)`` runs the same
    executable from weights ``w`` ``(seeds, k, m, d)`` and returns the new ones, leaving the
    timed weights alone. ``w0``: the seeds' initial weights.
    """

    def __init__(
        self, cfg: SimConfig, variant: str, seeds: int, steps: int = 10, precision=None
    ) -> None:
        loss_fn = variant_loss_fn(cfg.model, variant)
        self.chunk, (self.w0, self._data, self._keys) = sharded_chunk(cfg, seeds, steps, loss_fn)
        self.w = self.w0
        self._options = compiler_options(variant)
        self._precision = precision
        self._fn = None

    def args(self, w=None) -> tuple:
        """The chunk's arguments ``(w, data, start, keys)``, from the timed weights or ``w``."""
        return (self.w if w is None else w, self._data, 0, self._keys)

    def _compiled(self):
        if self._fn is None:
            if self._options is None and self._precision is None:
                self._fn = self.chunk  # the jitted chunk itself: the trainer's compilation
            else:
                with _precision(self._precision):
                    lowered = self.chunk.lower(*self.args())
                self._fn = lowered.compile(self._options)
        return self._fn

    def run(self) -> None:
        self.w, rec = self._compiled()(*self.args())
        jax.block_until_ready((self.w, rec))

    __call__ = run

    def advance(self, w: jax.Array) -> jax.Array:
        return self._compiled()(*self.args(w))[0]


def prepare_variant(cfg: SimConfig, variant: str, seeds: int, steps: int = 10) -> VariantRun:
    """A runner of ``steps`` GD steps of ``seeds`` seeds under ``variant``, which waits for
    them when called (compiled on its first call), like ``prepare_vmapped``."""
    return VariantRun(cfg, variant, seeds, steps)


def hlo_text(cfg: SimConfig, variant: str, seeds: int, steps: int = 1) -> str:
    """The optimized HLO of ``variant``'s chunk (``jit.lower(...).compile().as_text()``, with
    the variant's :data:`COMPILER_OPTIONS`)."""
    run = VariantRun(cfg, variant, seeds, steps)
    return run.chunk.lower(*run.args()).compile(compiler_options(variant)).as_text()


def update_errors(
    runs: dict[str, VariantRun], reference: VariantRun, scale: float = CHECK_SCALE
) -> dict[str, float]:
    """For each run, the largest over seeds of ``max |dw - dw_ref| / max |dw_ref|``, where
    ``dw`` is what one call of its chunk does to the weights from ``scale`` times the initial
    ones and ``dw_ref`` what the reference's does (all runs of the same config and seeds)."""
    w = reference.w0 * scale
    w_host = np.asarray(w)
    ref = np.asarray(reference.advance(w)) - w_host
    seeds = ref.shape[0]
    den = np.abs(ref).reshape(seeds, -1).max(1)
    errors = {}
    for name, run in runs.items():
        diff = np.asarray(run.advance(w)) - w_host - ref
        errors[name] = float((np.abs(diff).reshape(seeds, -1).max(1) / den).max())
    return errors


def agreement(errors: dict[str, float]) -> dict[str, tuple[float, bool]]:
    """``variant -> (tolerance, agrees)`` for :func:`update_errors`' output: the tolerance is
    the larger of the variant's :data:`TOLERANCE` and :data:`BASELINE_FACTOR` times the
    baseline's own error (when the baseline was checked)."""
    own = BASELINE_FACTOR * errors.get("baseline", 0.0)
    out = {}
    for v, err in errors.items():
        if v == "baseline":  # its error is the device's own rounding, which sets ``own``
            out[v] = (own, True)
        else:
            tol = max(TOLERANCE[v.partition("@")[0]], own)
            out[v] = (tol, bool(err <= tol))
    return out


def time_variants(
    cfg: SimConfig,
    seeds: int,
    steps: int,
    rounds: int,
    variants: tuple[str, ...] = VARIANTS,
    check: bool = False,
) -> list[dict]:
    """Seconds per step of each variant, in ``rounds`` interleaved rounds after a first
    (compiling) call, so every variant sees the same background load.

    Returns one row per variant: ``variant``, ``seeds``, ``step_s`` (median over rounds),
    ``best_step_s`` (least), ``first_call_s`` (compile + first run); with ``check``, also
    ``update_error``, ``update_tolerance`` and ``agrees`` (:func:`update_errors` against the
    baseline compiled at "highest" precision, :func:`agreement`), or ``check_error`` if the
    check itself failed (the timings stand either way).
    """
    runners, first = {}, {}
    for v in variants:
        runners[v] = prepare_variant(cfg, v, seeds, steps)
        t = time.perf_counter()
        runners[v]()
        first[v] = time.perf_counter() - t
    times = {v: [t / steps for t in ts] for v, ts in round_times(runners, rounds).items()}
    rows = [
        {
            "variant": v,
            "seeds": seeds,
            "step_s": float(np.median(times[v])),
            "best_step_s": float(np.min(times[v])),
            "first_call_s": first[v],
        }
        for v in variants
    ]
    if check:
        try:
            reference = VariantRun(cfg, "baseline", seeds, steps, precision="highest")
            errors = update_errors(runners, reference)
            verdicts = agreement(errors)
            for r in rows:
                tol, agrees = verdicts[r["variant"]]
                r.update(update_error=errors[r["variant"]], update_tolerance=tol, agrees=agrees)
        except Exception as e:  # a failed check must not cost the timings of a one-shot run
            for r in rows:
                r["check_error"] = f"{type(e).__name__}: {e}"[:300]
    return rows
