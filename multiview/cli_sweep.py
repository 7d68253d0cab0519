"""``multiview sweep``: a phase diagram over two config fields (see :mod:`multiview.sweep`)."""

import sys
import time
from typing import Annotated

import typer

from multiview._cli_common import (
    JsonOpt,
    OutOpt,
    QuietOpt,
    _out_dir,
    console,
    with_config_options,
)
from multiview.config import SimConfig

__all__ = ["register", "sweep"]

XOpt = Annotated[str, typer.Option("--x", help="x axis: FIELD=v1,v2,... (any config field)")]
YOpt = Annotated[str, typer.Option("--y", help="y axis: FIELD=v1,v2,... (any config field)")]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="keep the cells already saved in --out/cells")
]
EnsOpt = Annotated[
    int, typer.Option("--ensemble-size", min=2, help="K of each cell's ensembles (<= seeds)")
]


def sweep(
    cfg: SimConfig,
    x: XOpt,
    y: YOpt,
    out: OutOpt = None,
    resume: ResumeOpt = False,
    ensemble_size: EnsOpt = 8,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
):
    """Grid over two config fields: heatmaps of single-view accuracy, one-view fraction and
    ensemble gain (out/phase_diagram.png). Cells are saved as they finish; --resume reuses
    them."""
    import json

    from multiview._cli_common import StageProgress
    from multiview.sweep import parse_axis, plot_heatmaps, run_sweep

    started = time.time()
    xa, ya = parse_axis(x), parse_axis(y)
    out_dir = _out_dir(out, "sweep")
    n = len(xa[1]) * len(ya[1])
    done = []

    def on_cell(name: str, reused: bool) -> None:
        done.append(name)
        if not (quiet or as_json):
            what = "reused from disk" if reused else "done"
            console.print(f"[{len(done)}/{n}] {name}: {what}", highlight=False)

    with StageProgress(enabled=not (quiet or as_json)) as progress:
        try:
            grid = run_sweep(cfg, xa, ya, out_dir, resume=resume, ensemble_size=ensemble_size,
                             on_cell=on_cell, progress=progress)
        except KeyboardInterrupt:
            console.print(
                f"\n[yellow]interrupted[/]: finished cells are saved in {out_dir}/cells; rerun "
                f"with --resume --out {out_dir} to continue", highlight=False,
            )
            raise typer.Exit(130) from None
    paths = plot_heatmaps(grid, out_dir)
    if as_json:
        sys.stdout.write(json.dumps({k: v["metrics"] for k, v in grid["cells"].items()},
                                    indent=2, default=float) + "\n")
    else:
        console.print(f"phase diagram: {paths['phase_diagram']}", highlight=False)
    console.print(f"results in [bold]{out_dir}[/] ({time.time() - started:.1f} s)",
                  highlight=False)


def register(app: typer.Typer) -> None:
    app.command("sweep")(with_config_options(sweep))
