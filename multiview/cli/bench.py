"""``multiview bench``: throughput and peak fraction of the trainer on this machine."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from multiview import bench
from multiview.cli.common import add_command, console, interruptible
from multiview.cli.runs import print_json
from multiview.errors import ConfigError
from multiview.sim.config import MAX_SEED, preset
from multiview.sim.parallel import auto_seed_block

__all__ = ["register", "bench_command", "parse_seeds", "print_bench"]


def parse_seeds(text: str) -> list[int]:
    """``"1,4,16"`` -> ``[1, 4, 16]`` (positive integers)."""
    try:
        seeds = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise ConfigError(
            f"--seeds {text!r} is invalid: must be a comma-separated list of positive integers"
        ) from None
    if not seeds or min(seeds) < 1:
        raise ConfigError(
            f"--seeds {text!r} is invalid: must be a comma-separated list of positive integers"
        )
    return seeds


def print_bench(result: dict, console: Console) -> None:
    """The human-readable report of :func:`multiview.bench.run_bench`'s result."""
    m = result["machine"]
    console.print(
        f"{m['cpu']} ({m['cpu_count']} cores), jax {m['jax_version']} "
        f"{m['backend']}, {len(m['devices'])} device(s); "
        f"load average {m['load_average_1min']:.1f}",
        highlight=False,
    )
    console.print(
        f"matmul peak: {result['matmul_peak_flops'] / 1e9:.1f} GFLOP/s; "
        f"{result['model_flops_per_seed_step'] / 1e6:.1f} MFLOP per seed-step "
        f"(preset {result['preset']!r})",
        highlight=False,
    )
    table = Table(title="vmapped trainer step (full-batch GD)")
    for col in ("seeds", "ms / step", "seed-steps / s", "GFLOP/s", "of peak"):
        table.add_column(col, justify="right")
    for r in result["throughput"]:
        table.add_row(
            str(r["seeds"]),
            f"{1e3 * r['step_s']:.2f}",
            f"{r['seed_steps_per_s']:.1f}",
            f"{r['model_flops'] / 1e9:.1f}",
            f"{100 * r['peak_fraction']:.0f}%",
        )
    console.print(table)
    cs = result["compare_seeds"]
    records = (
        f" (with the simulator's per-step records: {100 * result['trainer_peak_fraction']:.0f}%)"
        if "trainer_peak_fraction" in result
        else ""
    )
    console.print(
        f"at {cs} seeds: {100 * result['peak_fraction']:.0f}% of the matmul peak" + records,
        highlight=False,
    )
    console.print(
        f"speedup vs a jitted per-seed loop: {result['speedup_vs_jax_loop']:.1f}x", highlight=False
    )
    if result.get("speedup_vs_torch_loop") is not None:
        console.print(
            f"speedup vs the PyTorch per-seed loop: {result['speedup_vs_torch_loop']:.1f}x",
            highlight=False,
        )
    if "bf16" in result:
        b = result["bf16"]
        console.print(f"bf16 matmuls: {b['speedup_vs_fp32']:.2f}x the fp32 step", highlight=False)
        if "check" in b:
            console.print(
                f"  bf16 vs fp32 predictions agree on "
                f"{100 * b['check']['prediction_agreement']:.2f}% of test samples",
                highlight=False,
            )
    if "large" in result:
        lg = result["large"]
        for r in lg["throughput"]:
            console.print(
                f"large preset {lg['preset']!r}, {r['seeds']} seeds: "
                f"{r['model_flops'] / 1e9:.1f} GFLOP/s "
                f"({100 * r['peak_fraction']:.0f}% of peak)",
                highlight=False,
            )
        if lg.get("speedup_vs_torch_loop") is not None:
            console.print(
                f"large preset, speedup vs the PyTorch loop (8 seeds): "
                f"{lg['speedup_vs_torch_loop']:.1f}x",
                highlight=False,
            )


def bench_command(
    preset_name: Annotated[
        str, typer.Option("--preset", help="preset whose sizes are timed: default, quick, paper")
    ] = "default",
    seeds: Annotated[
        str,
        typer.Option(
            "--seeds",
            help="seed counts of the throughput table: comma-separated integers >= 1, e.g. 1,4,64",
        ),
    ] = "1,2,4,8,16,32,64,128,256",
    as_json: Annotated[bool, typer.Option("--json", help="print the results as JSON")] = False,
    torch: Annotated[
        Optional[bool],  # noqa: UP045 - typer needs Optional here
        typer.Option(
            "--torch/--no-torch",
            help="compare with the PyTorch loop (default: if torch is installed)",
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="few steps and repeats, no large preset (smoke test)")
    ] = False,
    large: Annotated[
        str,
        typer.Option(
            "--large",
            help="a larger preset timed at 1 and 8 seeds: default, quick, paper, or '' to skip",
        ),
    ] = "paper",
    compare_seeds: Annotated[
        int,
        typer.Option(
            "--compare-seeds", min=1, help="seeds of the loop comparisons (an integer >= 1)"
        ),
    ] = 64,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress messages on stderr")] = False,
) -> None:
    """Time the seed-parallel trainer: FLOP/s against this machine's matmul peak, throughput
    over seed counts, and the speedup over per-seed JAX and PyTorch loops."""
    preset(preset_name)  # bad options stop here, before anything is timed
    if large:
        try:
            preset(large)
        except ConfigError:
            raise ConfigError(
                f"--large {large!r} is invalid: must be a preset name or '' (skip)"
            ) from None
    seed_counts = parse_seeds(seeds)
    if max(seed_counts) > MAX_SEED or compare_seeds > MAX_SEED:
        raise ConfigError(f"--seeds {seeds!r} is invalid: each must be <= {MAX_SEED}")
    for n in [*seed_counts, compare_seeds]:
        fit = auto_seed_block(replace(preset(preset_name), seeds=n))
        if fit < n:
            raise ConfigError(f"seeds = {n} is invalid: at most {fit} fit in memory at once")
    with interruptible("no benchmark results were written"):
        result = bench.run_bench(
            preset_name,
            seed_counts,
            torch=torch,
            quick=quick,
            large=large or None,
            compare_seeds=compare_seeds,
            log=None
            if (as_json or quiet)
            else (lambda s: console.print(s, style="dim", highlight=False)),
        )
    if as_json:
        print_json(result)
    else:
        print_bench(result, Console())


def register(app: typer.Typer) -> None:
    """Add the ``bench`` command to the ``multiview`` app."""
    add_command(app, "bench", bench_command)
