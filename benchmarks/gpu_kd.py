"""The ``kd_grid`` stage of benchmarks/gpu.py: the scale-separated distillation regimes at larger k,
one cell per fresh process (``gpu.py --kd-cell SPEC``), cells from ``gpu_kd_grid.json`` in
order until the time budget is spent, one JSON line each in ``OUT/kd_grid.jsonl``."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path


def kd_cell(spec: dict) -> dict:
    """One cell of the distillation grid (run in a fresh process: ``--kd-cell JSON``)."""
    from multiview.experiments.theorems import run_theorems
    from multiview.sim.config import preset, theorems_preset, with_overrides

    name = spec.get("preset", "default")
    cfg = with_overrides(preset(name), **spec["sim"])
    # a named regime brings its KD objective and student schedule, as `theorems --preset`
    given = spec.get("theorems", {})
    th = theorems_preset(
        name, **{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
    )
    t = time.perf_counter()
    res = run_theorems(cfg, th, parts=tuple(spec.get("parts", ("ensemble", "kd", "sd"))))
    preds = {
        p["id"]: {
            "measured": p["measured"],
            "holds": p["holds"],
            **({"details": p["details"]} if p.get("details") else {}),
        }
        for p in res["predictions"]
    }
    return {
        "name": spec["name"],
        "spec": spec,
        "wall_s": time.perf_counter() - t,
        "theorems": dataclasses.asdict(th),
        "predictions": preds,
        "metrics": {k: v for k, v in res["metrics"].items() if not k.endswith("_std")},
    }


def kd_grid(run, process) -> dict:
    """The stage: ``run`` is gpu.py's ``Run``; ``process(args, timeout)`` runs a command
    (gpu.py's, with this checkout on the path) and returns ``(wall seconds, CompletedProcess)``."""
    grid_file = Path(__file__).with_name("gpu_kd_grid.json")
    grid = json.loads(grid_file.read_text())
    cells = grid["smoke"] if run.smoke else grid["cells"]
    lines, done = run.out / "kd_grid.jsonl", []
    for spec in cells:
        need = spec.get("expect_s", 60)
        if run.left() < need:
            done.append({"name": spec["name"], "status": "skipped"})
            continue
        try:
            wall, proc = process(
                [
                    sys.executable,
                    str(Path(__file__).with_name("gpu.py")),
                    "--kd-cell",
                    json.dumps(spec),
                ],
                timeout=max(30.0, run.left()),
            )
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-1500:])
            cell = json.loads(proc.stdout.strip().splitlines()[-1])
            cell["process_wall_s"] = wall
        except Exception as e:
            cell = {"name": spec["name"], "spec": spec, "error": f"{type(e).__name__}: {e}"}
        with lines.open("a") as f:
            f.write(json.dumps(cell, default=float) + "\n")
        brief = {
            pid: round(p["measured"], 3) if isinstance(p["measured"], float) else p["measured"]
            for pid, p in cell.get("predictions", {}).items()
        }
        print(f"  {spec['name']}: {brief or cell.get('error')}", flush=True)
        done.append(
            {
                "name": spec["name"],
                "status": "error" if "error" in cell else "ok",
                "wall_s": cell.get("process_wall_s"),
            }
        )
    return {"cells": done, "file": str(lines.name)}
