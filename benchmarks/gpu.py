"""One prepared accelerator measurement: every GPU target measured in one call.

    bash benchmarks/gpu.sh [--out DIR] [--data ZIP] [--budget SECONDS]
    bash benchmarks/gpu.sh --smoke --out /tmp/x      # CPU smoke run (the test suite runs it)

(``gpu.sh`` sets the environment and runs ``python -m benchmarks.gpu`` from the repository
root.)

Stages, in priority order; each is timed, guarded (a failing stage is recorded and the next
one runs) and skipped when the time budget is spent. Results are rewritten atomically after
every stage to ``OUT/gpu.json`` and ``OUT/gpu.md``, so a run killed at its limit still leaves
everything it measured.

1. ``device``: what JAX sees. Without ``--smoke`` a CPU backend stops the script (exit 2):
   device time must not be spent measuring the wrong machine.
2. ``peak``: matmul FLOP/s of an ``n^3`` product in fp32 (default precision, which is what
   the trainer uses; on Hopper that may be TF32), fp32 at ``highest`` precision, and bf16.
3. ``sim_step``: one full-batch GD step of the default preset at 64 / 256 / 1,024 / 4,096
   seeds (the trainer's own jitted, vmapped chunk) in fp32 and bf16 matmuls (and the
   ``bfloat16-store`` option at 64 and 1,024), as model FLOP/s and as a fraction of the peak
   of the same dtype, and of the fp32 peak, timed in this run.
4. ``step_variants``: the same step at 1,024 and 4,096 seeds in the variants still in
   question (first the Pallas kernel for the weight gradient in fp32, bf16 and fp32 with a
   bf16 store, in a child process; then ``bfloat16-store`` and custom VJPs that keep only
   the pre-activations, with cuBLAS or Triton GEMMs; ``--step-parts kernels`` or ``xla``
   runs one part; ``benchmarks/gpu_variants.py``),
   next to the copy bandwidth; each variant's compiled HLO goes to ``OUT/hlo/<variant>.txt``,
   and at 1,024 seeds each timed program is checked on the card against the baseline at
   "highest" precision (an update error and a verdict per row).
5. ``simulate``: wall time of ``multiview simulate --seeds 1024`` in a fresh process, compile
   and start-up included, and its Theorem-1 verdicts (``simulate_bf16_store``, after
   ``cifar``: the same with ``--dtype bfloat16-store``).
6. ``cifar``: models of the ``gpu`` CIFAR preset trained one after another on real CIFAR-10
   (first includes compilation): test accuracy, seconds per model, images per second.
7. ``cifar_epochs`` (after ``simulate_bf16_store``): one ``gpu``-preset model at 2x and at
   3x its epochs, to see whether longer training closes the gap to lossless CIFAR-10's 93.5%.
8. ``kd_grid``: the distillation regime search at larger k (the scale-separated regime, ``experiments/kd_search/``): each cell a fresh
   process running single models, ensembles, KD and self-distillation; cells come from
   ``benchmarks/gpu_kd_grid.json`` in order, until the budget is spent, the ``separated-gpu``
   preset first (k = 40, logit matching; not run yet), then the Hinton / paper cells run 1
   measured. One JSON line per cell in ``OUT/kd_grid.jsonl``, with the theorems settings used
   (``benchmarks/gpu_kd.py``).

``gpu.md`` is written by ``benchmarks/gpu_report.py``; the step variants' stage and its table
live in ``benchmarks/gpu_variants.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import jax
import numpy as np

from benchmarks.gpu_kd import kd_cell, kd_grid
from benchmarks.gpu_report import markdown
from benchmarks.gpu_variants import STEP_PARTS, step_variants
from multiview.io import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
SIM_SEEDS = (64, 256, 1024, 4096)
SMOKE_SEEDS = (2, 4)
CLI = [sys.executable, "-m", "multiview"]


class Run:
    """The results so far, the clock, and the files they are written to."""

    def __init__(self, out: Path, budget: float, smoke: bool, step_parts=STEP_PARTS):
        self.out, self.budget, self.smoke = out, budget, smoke
        self.step_parts = tuple(step_parts)  # which parts of the step_variants stage run
        self.t0 = time.perf_counter()
        self.results: dict = {"smoke": smoke, "budget_s": budget, "stages": {}}

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.t0)

    def stage(self, name: str, fn, need_s: float = 0.0) -> None:
        """Run ``fn()`` (returns a dict) as stage ``name`` unless under ``need_s`` is left."""
        if self.left() < need_s:
            self.results["stages"][name] = {"status": "skipped", "why": "time budget"}
            print(f"[{name}] skipped: {self.left():.0f} s left, needs ~{need_s:.0f} s", flush=True)
            self.save()
            return
        print(f"[{name}] start ({self.left():.0f} s left)", flush=True)
        t = time.perf_counter()
        try:
            res = {"status": "ok", **fn()}
        except Exception as e:  # a failing stage must not cost the stages after it
            prev = self.results["stages"].get(name, {})  # rows a stage saved as it went
            res = {
                **(prev if prev.get("status") == "partial" else {}),
                "status": "failed",
                "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc()[-3000:],
            }
            print(res["traceback"], flush=True)
        res["seconds"] = round(time.perf_counter() - t, 2)
        self.results["stages"][name] = res
        print(f"[{name}] {res['status']} in {res['seconds']:.1f} s", flush=True)
        self.save()

    def save(self) -> None:
        self.results["elapsed_s"] = round(time.perf_counter() - self.t0, 2)
        atomic_write_text(self.out / "gpu.json", json.dumps(self.results, indent=2) + "\n")
        atomic_write_text(self.out / "gpu.md", markdown(self.results))


# ----------------------------------------------------------------------------- stages
def device_info() -> dict:
    devs = jax.devices()
    info = {
        "backend": jax.default_backend(),
        "jax": jax.__version__,
        "devices": [d.device_kind for d in devs],
        "device_count": len(devs),
    }
    try:
        stats = devs[0].memory_stats() or {}
        info["memory_gib"] = round(stats.get("bytes_limit", 0) / 2**30, 1)
    except Exception:  # CPU devices have no memory stats
        pass
    return info


def _peak(n: int, dtype, precision=None, repeats: int = 10) -> float:
    import jax.numpy as jnp

    from multiview.bench.timing import round_times

    a = jax.random.normal(jax.random.key(0), (n, n), dtype)
    b = jax.random.normal(jax.random.key(1), (n, n), dtype)
    f = jax.jit(lambda x, y: jnp.matmul(x, y, precision=precision))
    f(a, b).block_until_ready()
    # The median, not the best: an asynchronous GPU's single fastest call can be an outlier.
    times = round_times({"matmul": lambda: f(a, b).block_until_ready()}, repeats)["matmul"]
    return 2 * n**3 / float(np.median(times))


def peaks(smoke: bool) -> dict:
    import jax.numpy as jnp

    n = 256 if smoke else 8192
    return {
        "n": n,
        "fp32_default_flops": _peak(n, jnp.float32),
        "fp32_highest_flops": _peak(n, jnp.float32, jax.lax.Precision.HIGHEST),
        "bf16_flops": _peak(n, jnp.bfloat16),
    }


def sim_step(run: Run) -> dict:
    from multiview.bench import bench_config, model_flops_per_seed_step, prepare_vmapped
    from multiview.bench.timing import round_times

    pk = run.results["stages"].get("peak", {})
    seeds_list = SMOKE_SEEDS if run.smoke else SIM_SEEDS
    steps = 2 if run.smoke else 50
    cfg = bench_config("quick" if run.smoke else "default")
    flops = model_flops_per_seed_step(cfg)
    rows = []
    for dtype in ("float32", "bfloat16", "bfloat16-store"):
        # bf16 operands run the GEMMs on the bf16 units: their peak is the fair one
        peak = pk.get("fp32_default_flops" if dtype == "float32" else "bf16_flops", float("nan"))
        for s in seeds_list:
            if dtype == "bfloat16-store" and s not in (seeds_list[0], seeds_list[-2]):
                continue  # two sizes are enough for the option: device time is short
            fn = prepare_vmapped(cfg, s, steps, matmul_dtype=None if dtype == "float32" else dtype)
            t = time.perf_counter()
            fn()  # compile + first run
            compile_s = time.perf_counter() - t
            times = round_times({"step": fn}, 3 if run.smoke else 5)["step"]
            step_s = float(np.median(times)) / steps
            rows.append(
                {
                    "dtype": dtype,
                    "seeds": s,
                    "step_s": step_s,
                    "first_call_s": compile_s,
                    "seed_steps_per_s": s / step_s,
                    "model_flops": s * flops / step_s,
                    "peak_fraction": s * flops / step_s / peak,
                    "fp32_peak_fraction": s * flops / step_s / pk.get("fp32_default_flops", peak),
                }
            )
            print(
                f"  {dtype} {s:5d} seeds: {1e3 * step_s:8.3f} ms/step, "
                f"{s * flops / step_s / 1e12:7.2f} TFLOP/s, {100 * rows[-1]['peak_fraction']:.0f}%"
                " of peak",
                flush=True,
            )
    return {
        "preset": "quick" if run.smoke else "default",
        "steps_per_call": steps,
        "model_flops_per_seed_step": flops,
        "rows": rows,
    }


def _cli(args: list[str], timeout: float) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    t = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    return time.perf_counter() - t, proc


def simulate_wall(run: Run, dtype: str = "float32") -> dict:
    out = Path(tempfile.mkdtemp()) / "simulate"  # its npz files stay off the results folder
    args = ["simulate", "--out", str(out), "--quiet", "--json", "--dtype", dtype]
    args += (
        ["--preset", "quick", "--seeds", "2", "--steps", "30", "--n-test", "50"]
        if run.smoke
        else ["--seeds", "1024"]
    )
    wall, proc = _cli(CLI + args, timeout=max(30.0, run.left()))
    if proc.returncode != 0:
        raise RuntimeError(f"simulate exited {proc.returncode}: {proc.stderr[-2000:]}")
    summary = json.loads(proc.stdout)
    preds = {
        p["id"]: {"measured": p["measured"], "holds": p["holds"]} for p in summary["predictions"]
    }
    return {
        "seeds": 2 if run.smoke else 1024,
        "dtype": dtype,
        "wall_s": wall,
        "predictions": preds,
        "metrics": {k: v for k, v in summary["metrics"].items() if not k.endswith("_std")},
    }


_DATA: dict = {}  # the decoded CIFAR set, shared by the cifar stages (decoding takes ~10 s)


def _cifar_data(run: Run, data: Path | None):
    from multiview.cifar.data import load_cifar
    from multiview.cifar.fixtures import write_image_zip

    if "ds" not in _DATA:
        tmp = Path(tempfile.mkdtemp())
        if run.smoke:
            data = tmp / "fake.zip"
            write_image_zip(data, classes=tuple("abcdefghij"), per_class_train=8, per_class_test=4)
        elif data is None or not data.exists():
            raise FileNotFoundError(f"CIFAR zip not found: {data}")
        t = time.perf_counter()
        _DATA["ds"] = load_cifar(data, cache_dir=tmp / "cache")
        _DATA["load_s"] = time.perf_counter() - t
    return _DATA["ds"], _DATA["load_s"]


def _cifar_models(run: Run, cfg, ds, seeds: list[int]) -> list[dict]:
    """Train one model per seed (stopping early when the budget is short); test accuracy."""
    from multiview.cifar.nets import build_net
    from multiview.cifar.predict import predict_logits
    from multiview.cifar.train import train_models
    from multiview.stats import accuracy

    net = build_net(cfg.net)
    n = int(ds.train_x.shape[0])
    models = []
    for seed in seeds:
        if models and run.left() < 1.5 * models[-1]["seconds"]:
            break
        t = time.perf_counter()
        trained = train_models(
            net, cfg.train, ds.train_x, ds.train_y, key=jax.random.key(seed), runs=1
        )
        jax.block_until_ready(trained.params)
        train_s = time.perf_counter() - t
        logits = predict_logits(net, trained, ds.test_x, cfg=cfg.train)[0, 0]
        acc = float(np.asarray(accuracy(logits, ds.test_y, xp=jax.numpy)))
        sec = time.perf_counter() - t
        models.append(
            {
                "seed": seed,
                "epochs": cfg.train.epochs,
                "test_accuracy": acc,
                "seconds": sec,
                "train_s": train_s,
                "train_images_per_s": cfg.train.epochs * n / train_s,
            }
        )
        print(
            f"  model seed {seed}, {cfg.train.epochs} epochs: acc {acc:.4f}, {sec:.1f} s",
            flush=True,
        )
    return models


def cifar(run: Run, data: Path | None) -> dict:
    """The accuracy bar's models: airbench94's own recipe (label smoothing 0.2 included; the
    `gpu` preset leaves the smoothing out for its teachers) in the `gpu` preset's net."""
    from multiview.cifar.presets import AIRBENCH94, preset_config

    ds, load_s = _cifar_data(run, data)
    cfg = preset_config("tiny") if run.smoke else preset_config("gpu").replace(train=AIRBENCH94)
    models = _cifar_models(run, cfg, ds, [100, 101])  # the first includes compilation
    later = [m for m in models[1:]] or models
    return {
        "preset": cfg.preset,
        "train_images": int(ds.train_x.shape[0]),
        "test_images": int(ds.test_x.shape[0]),
        "epochs": cfg.train.epochs,
        "load_s": load_s,
        "models": models,
        "seconds_per_model": float(np.mean([m["seconds"] for m in later])),
        "mean_accuracy": float(np.mean([m["test_accuracy"] for m in models])),
    }


def cifar_epochs(run: Run, data: Path | None) -> dict:
    """The `gpu` preset at 2x and 3x its epochs, one model each: does longer training close
    the gap to 93.5% on this JPEG data (airbench96 trains longer for its 96%)?"""
    from multiview.cifar.presets import preset_config

    ds, _ = _cifar_data(run, data)
    base = preset_config("tiny" if run.smoke else "gpu")
    models = []
    for factor in (2, 3):
        cfg = base.replace(train__epochs=factor * base.train.epochs)
        if models and run.left() < 1.5 * models[-1]["seconds"]:  # 3x takes longer than 2x
            break
        models += _cifar_models(run, cfg, ds, [100])
    return {"preset": base.preset, "models": models}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, CPU allowed")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--data", type=Path, default=None, help="CIFAR-10 JPEG zip")
    ap.add_argument("--budget", type=float, default=450.0, help="seconds for all stages")
    ap.add_argument("--skip", default="", help="comma-separated stages to skip")
    ap.add_argument(
        "--step-parts",
        default=",".join(STEP_PARTS),
        help="step_variants: the Pallas kernels (child process), the XLA variants, or both",
    )
    ap.add_argument("--kd-cell", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.kd_cell is not None:
        print(json.dumps(kd_cell(json.loads(a.kd_cell)), default=float))
        return 0
    try:
        a.out.mkdir(parents=True, exist_ok=True)
        probe = a.out / ".write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        print(f"error: --out {a.out} is not a writable folder ({e.strerror})", file=sys.stderr)
        return 2
    parts = tuple(filter(None, a.step_parts.split(",")))
    if not parts or set(parts) - set(STEP_PARTS):
        print(f"error: --step-parts takes some of {','.join(STEP_PARTS)}", file=sys.stderr)
        return 2
    run = Run(a.out, a.budget, a.smoke, parts)
    skip = set(filter(None, a.skip.split(",")))
    run.stage("device", device_info)
    if run.results["stages"]["device"].get("backend") == "cpu" and not a.smoke:
        print(
            "error: JAX sees only a CPU here; this script measures an accelerator "
            "(use --smoke for a CPU check)",
            file=sys.stderr,
        )
        return 2
    stages = [
        ("peak", lambda: peaks(a.smoke), 5),
        ("sim_step", lambda: sim_step(run), 30),
        ("step_variants", lambda: step_variants(run), 50),
        ("simulate", lambda: simulate_wall(run), 30),
        ("cifar", lambda: cifar(run, a.data), 60),
        ("simulate_bf16_store", lambda: simulate_wall(run, "bfloat16-store"), 30),
        ("cifar_epochs", lambda: cifar_epochs(run, a.data), 60),
        ("kd_grid", lambda: kd_grid(run, _cli), 30),
    ]
    for name, fn, need in stages:
        if name not in skip:
            run.stage(name, fn, 0 if a.smoke else need)
    print(markdown(run.results), flush=True)
    bad = [k for k, v in run.results["stages"].items() if v["status"] == "failed"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
