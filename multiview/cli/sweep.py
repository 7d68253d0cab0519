"""``multiview sweep``: a phase diagram over two config fields."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from multiview.cli.common import (
    JsonOpt,
    OutOpt,
    ProgressDisplay,
    QuietOpt,
    add_command,
    console,
    interruptible,
    with_config_options,
)
from multiview.cli.runs import ForceOpt, print_json, run_folder
from multiview.errors import ConfigError
from multiview.experiments.sweep import cell_config, parse_axis, run_sweep
from multiview.report.sweep import write_sweep
from multiview.sim.config import SimConfig, TheoremsConfig
from multiview.sim.parallel import auto_seed_block

__all__ = ["register", "sweep"]

XOpt = Annotated[str, typer.Option("--x", help="x axis: FIELD=v1,v2,... (any config field)")]
YOpt = Annotated[str, typer.Option("--y", help="y axis: FIELD=v1,v2,... (any config field)")]
CellResumeOpt = Annotated[
    bool, typer.Option("--resume", help="keep the cells already saved in --out/cells")
]
EnsOpt = Annotated[
    Optional[int],  # noqa: UP045 - typer needs Optional here
    typer.Option(
        "--ensemble-size",
        min=2,
        help="K of each cell's ensembles, at most the seeds (default: 8, or the seeds if fewer)",
    ),
]


MeasureOpt = Annotated[
    str,
    typer.Option(
        "--measure",
        help="theorem1: single models and ensembles; kd: also distil students in each cell "
        "(recovered gain, all-views fraction, teacher contrast; the experiment fields apply)",
    ),
]


def sweep(
    cfg: SimConfig,
    th: TheoremsConfig,
    x: XOpt,
    y: YOpt,
    out: OutOpt = None,
    resume: CellResumeOpt = False,
    ensemble_size: EnsOpt = None,
    measure: MeasureOpt = "theorem1",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
):
    """Grid over two config fields: heatmaps of single-view accuracy, one-view fraction and
    ensemble gain (out/phase_diagram.png). Cells are saved as they finish; --resume reuses
    them."""
    started = time.time()
    if measure not in ("theorem1", "kd"):
        raise ConfigError(f"measure = {measure!r} is invalid: must be 'theorem1' or 'kd'")
    xa, ya = parse_axis(x), parse_axis(y)
    if xa[0] == ya[0]:
        raise ConfigError(f"--x and --y are both {xa[0]!r}: sweep two different fields")
    for yv in ya[1]:  # every cell is valid and fits in memory, before anything is trained
        for xv in xa[1]:
            ccfg = cell_config(cfg, xa[0], xv, ya[0], yv)
            if auto_seed_block(ccfg) < ccfg.seeds:
                raise ConfigError(
                    f"cell {xa[0]}={xv}, {ya[0]}={yv}: seeds = {ccfg.seeds} is invalid: must "
                    f"be <= {auto_seed_block(ccfg)} (what fits in memory at once)"
                )
    if ensemble_size is None:
        ensemble_size = min(8, max(2, cfg.seeds))
    else:
        for yv in ya[1]:  # a K larger than a cell's seeds is refused, not clamped
            for xv in xa[1]:
                seeds = cell_config(cfg, xa[0], xv, ya[0], yv).seeds
                if ensemble_size > seeds:
                    raise ConfigError(
                        f"--ensemble-size {ensemble_size} is more than the {seeds} seeds of "
                        f"cell {xa[0]}={xv}, {ya[0]}={yv}: give --ensemble-size {seeds} or "
                        "less, or more --seeds"
                    )
    n = len(xa[1]) * len(ya[1])
    done = []
    with run_folder(out, "sweep", resume=resume, force=force) as run:
        out_path = run.path

        def kept() -> str:
            if run.staged:
                return f"the earlier run in {run.final} is untouched"
            if not done:
                return "no cell had finished; nothing was kept"
            return (
                f"{len(done)} finished cell(s) are saved in {out_path}/cells; rerun with "
                f"--resume --out {out_path} to continue"
            )

        with ProgressDisplay(enabled=not (quiet or as_json)) as display, interruptible(kept):
            display.expect(n, unit="cell", auto=False)

            def on_cell(name: str, reused: bool) -> None:
                done.append(name)
                state = "reused from disk" if reused else "done"
                display.note(f"[{len(done)}/{n}] {name}: {state}")
                display.advance(name)

            grid = run_sweep(
                cfg,
                xa,
                ya,
                out_path,
                resume=resume,
                ensemble_size=ensemble_size,
                on_cell=on_cell,
                progress=display,
                kd=th if measure == "kd" else None,
            )
        paths = write_sweep(grid, out_path)  # heatmaps and report.html
    if as_json:
        print_json({k: v["metrics"] for k, v in grid["cells"].items()})
    elif not quiet:
        console.print(f"phase diagram: {run.final / paths['phase_diagram'].name}", highlight=False)
    if not quiet:
        console.print(f"results in {run.final} ({time.time() - started:.1f} s)", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to ``app``."""
    add_command(app, "sweep", with_config_options(sweep))
