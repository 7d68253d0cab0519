"""``multiview sweep``: a phase diagram over two config fields."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer

from multiview.cli.common import (
    JsonOpt,
    OutOpt,
    ProgressDisplay,
    QuietOpt,
    add_command,
    console,
    interruptible,
    out_dir,
    with_config_options,
)
from multiview.errors import ConfigError
from multiview.experiments.sweep import parse_axis, run_sweep
from multiview.report.sweep import write_sweep
from multiview.sim.config import SimConfig, TheoremsConfig

__all__ = ["register", "sweep"]

XOpt = Annotated[str, typer.Option("--x", help="x axis: FIELD=v1,v2,... (any config field)")]
YOpt = Annotated[str, typer.Option("--y", help="y axis: FIELD=v1,v2,... (any config field)")]
CellResumeOpt = Annotated[
    bool, typer.Option("--resume", help="keep the cells already saved in --out/cells")
]
EnsOpt = Annotated[
    int, typer.Option("--ensemble-size", min=2, help="K of each cell's ensembles (<= seeds)")
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
    ensemble_size: EnsOpt = 8,
    measure: MeasureOpt = "theorem1",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
):
    """Grid over two config fields: heatmaps of single-view accuracy, one-view fraction and
    ensemble gain (out/phase_diagram.png). Cells are saved as they finish; --resume reuses
    them."""
    started = time.time()
    if measure not in ("theorem1", "kd"):
        raise ConfigError(f"measure = {measure!r} is invalid: must be 'theorem1' or 'kd'")
    xa, ya = parse_axis(x), parse_axis(y)
    out_path = out_dir(out, "sweep")
    n = len(xa[1]) * len(ya[1])
    done = []
    kept = (
        f"finished cells are saved in {out_path}/cells; rerun with --resume --out "
        f"{out_path} to continue"
    )
    with ProgressDisplay(enabled=not (quiet or as_json)) as display, interruptible(kept):

        def on_cell(name: str, reused: bool) -> None:
            done.append(name)
            display.note(f"[{len(done)}/{n}] {name}: {'reused from disk' if reused else 'done'}")

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
        sys.stdout.write(
            json.dumps({k: v["metrics"] for k, v in grid["cells"].items()}, indent=2, default=float)
            + "\n"
        )
    else:
        console.print(f"phase diagram: {paths['phase_diagram']}", highlight=False)
    console.print(
        f"results in [bold]{out_path}[/] ({time.time() - started:.1f} s)", highlight=False
    )


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to ``app``."""
    add_command(app, "sweep", with_config_options(sweep))
