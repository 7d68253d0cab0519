"""Phase diagrams: a grid over two config fields, one simulation per cell, resumable.

Each cell is a full :func:`~multiview.experiments.simulate.run_simulation` (all seeds
vmapped, in jitted chunks of steps) at the base config with the two fields overridden. Its
summary is written atomically to ``out/cells/<x>=<vx>__<y>=<vy>.json`` as soon as it is
done; with ``resume`` a cell whose file exists (made with the same cell config) is read back
instead of rerun. Per cell:

- ``single_view``: single-view test accuracy of single models (mean, std over seeds);
- ``one_view``: the fraction of classes where exactly one view was learned;
- ``ensemble_gain``: single-view accuracy of ensembles of ``K`` (disjoint groups of the
  cell's seeds) minus the single models' mean; ``ensemble_gain_overall`` the same on the
  mixture ``(1 - mu) D_m + mu D_s``.

The theory holds where single-view accuracy is near 1/V, one view is learned per class, and
ensembles gain: the heatmaps (:mod:`multiview.report.sweep`) show where that is so at finite
size.

With ``kd`` (a :class:`TheoremsConfig`; ``multiview sweep --measure kd``) each cell also
distils students from ensembles of its seeds (:func:`measure_kd_cell`), to map where
distillation transfers the views: ``kd_recovered`` (the fraction of the teacher's
single-view gain the students recover), ``kd_all_views`` (classes where a student learned
every view), ``teacher_contrast`` (the teacher's tempered probability of present over absent
off-target classes on its training data) and ``teacher_score_contrast`` (the difference of
their mean scores).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from multiview.errors import ConfigError, DamagedFileError
from multiview.experiments.distill import run_kd
from multiview.experiments.simulate import run_simulation
from multiview.io import read_json, set_aside, to_jsonable, write_json
from multiview.sim import metrics as M
from multiview.sim.config import (
    SimConfig,
    TheoremsConfig,
    all_fields,
    config_to_dict,
    with_overrides,
)
from multiview.sim.metrics import ensemble_scores, overall_accuracy
from multiview.sim.single import model_scores
from multiview.stats import accuracy, group_seeds, mean_std

__all__ = [
    "parse_axis",
    "cell_name",
    "cell_config",
    "measure_cell",
    "measure_kd_cell",
    "run_sweep",
    "grid_arrays",
]


def _cast(field: str, typ: type, text: str):
    text = text.strip()
    try:
        if typ is bool:
            raise ValueError
        if typ is int:
            return int(text)
        if typ is float:
            v = float(text)
            if not math.isfinite(v):
                raise ValueError
            return v
        if typ is str:
            if not text:
                raise ValueError
            return text
    except ValueError:
        pass
    raise ConfigError(f"{field} = {text!r} is invalid: must be a {typ.__name__}")


def parse_axis(text: str) -> tuple[str, list[Any]]:
    """``"FIELD=v1,v2,..."`` -> ``(field, [v1, v2, ...])`` cast to the field's type."""
    types = {name: typ for name, typ, _ in all_fields()}
    if "=" not in text:
        raise ConfigError(f"axis {text!r} is invalid: must look like FIELD=v1,v2,...")
    field, _, values = text.partition("=")
    field = field.strip().replace("-", "_")
    if field not in types or types[field] is tuple:
        raise ConfigError(f"axis field {field!r} is not a config field (see --help)")
    parts = [v for v in values.split(",") if v.strip()]
    if not parts:
        raise ConfigError(f"axis {text!r} is invalid: give at least one value after '='")
    vals = [_cast(field, types[field], v) for v in parts]
    if len(set(vals)) != len(vals):
        raise ConfigError(f"axis {text!r} is invalid: values must be distinct")
    return field, vals


def _slug(v: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]", "_", str(v))


def cell_name(xf: str, xv: Any, yf: str, yv: Any) -> str:
    """File stem of a cell: ``<x>=<vx>__<y>=<vy>`` (safe characters only)."""
    return f"{xf}={_slug(xv)}__{yf}={_slug(yv)}"


def cell_config(cfg: SimConfig, xf: str, xv: Any, yf: str, yv: Any) -> SimConfig:
    """The base config with the two fields set (validation errors name the cell)."""
    try:
        return with_overrides(cfg, **{xf: xv, yf: yv})
    except ConfigError as err:
        raise ConfigError(f"cell {xf}={xv}, {yf}={yv}: {err}") from None


def measure_cell(cfg: SimConfig, ensemble_size: int = 8, on_chunk=None) -> dict[str, Any]:
    """Run one cell's simulation and summarize it (JSON-ready)."""
    return _summarize(cfg, run_simulation(cfg, on_chunk=on_chunk), ensemble_size)


def measure_kd_cell(
    th: TheoremsConfig, cfg: SimConfig, ensemble_size: int = 8, on_chunk=None
) -> dict[str, Any]:
    """:func:`measure_cell` plus the distillation cells (students of ``th``, no oracle)."""
    sim = run_simulation(cfg, on_chunk=on_chunk)
    out = _summarize(cfg, sim, ensemble_size)
    kd = run_kd(cfg, th, sim, model_scores(cfg, sim.data, sim.weights), oracle=False)
    diag, nan = kd["diagnostics"], float("nan")
    c = diag["teacher_contrast"]
    ratio = c["prob_present"] / c["prob_absent"] if c["prob_absent"] > 0 else nan
    out["metrics"].update(
        {
            "kd_recovered": (diag["real_teacher"]["recovered_fraction"], nan),
            "kd_all_views": mean_std(kd["student"]["frac_classes_all_views"]),
            "kd_single_view": mean_std(kd["student"]["test_acc_single"]),
            "teacher_contrast": (ratio, nan),
            "teacher_score_contrast": (c["score_present"] - c["score_absent"], nan),
        }
    )
    return out


def _summarize(cfg: SimConfig, sim, ensemble_size: int) -> dict[str, Any]:
    ps = sim.per_seed
    mu = cfg.data.single_view_frac
    single = ps["test_acc_single"]
    multi = ps["test_acc_multi"]
    out = {
        "single_view": mean_std(single),
        "multi_view": mean_std(multi),
        "train_acc": mean_std(ps["train_acc"]),
        "one_view": mean_std(ps["frac_classes_one_view"]),
        "all_views": mean_std(ps["frac_classes_all_views"]),
        "memorization": mean_std(ps["memorization_flip_rate"]),
    }
    K = min(ensemble_size, cfg.seeds)
    if cfg.seeds >= 2 and K >= 2:
        groups = group_seeds(cfg.seeds, K)
        sc_s = M.predict(cfg.model, sim.weights, sim.data.test_single.x)
        sc_m = M.predict(cfg.model, sim.weights, sim.data.test_multi.x)
        ens_s = accuracy(ensemble_scores(sc_s, groups), sim.data.test_single.y)
        ens_m = accuracy(ensemble_scores(sc_m, groups), sim.data.test_multi.y)
        single_overall = overall_accuracy(np.mean(multi), np.mean(single), mu)
        out["ensemble_single_view"] = mean_std(ens_s)
        out["ensemble_gain"] = mean_std(ens_s - np.mean(single))
        out["ensemble_gain_overall"] = mean_std(overall_accuracy(ens_m, ens_s, mu) - single_overall)
    else:
        nan = (float("nan"), float("nan"))
        out["ensemble_single_view"] = out["ensemble_gain"] = out["ensemble_gain_overall"] = nan
    return {"ensemble_size": K, "metrics": out}


def _same(a: Any, b: Any) -> bool:
    return json.loads(json.dumps(to_jsonable(a))) == json.loads(json.dumps(to_jsonable(b)))


def _read_cell(path: Path) -> dict[str, Any] | None:
    """A saved cell, or None for a damaged one (kept beside, said, and measured again)."""
    try:
        body = read_json(path)
    except DamagedFileError:
        body = None
    if not isinstance(body, dict):
        set_aside(path, "the cell is measured again")
        return None
    return body


def run_sweep(
    cfg: SimConfig,
    x: tuple[str, list[Any]],
    y: tuple[str, list[Any]],
    out: Path,
    *,
    resume: bool = False,
    ensemble_size: int = 8,
    on_cell: Callable[[str, bool], None] | None = None,
    progress: Callable[[str], Callable[[int, int], None] | None] | None = None,
    measure: Callable[..., dict[str, Any]] | None = None,
    kd: TheoremsConfig | None = None,
) -> dict[str, Any]:
    """Run (or, with ``resume``, reuse) every cell of the grid and write ``out/sweep.json``.

    Arguments:
        cfg: base configuration.
        x: ``(field, values)`` of the first axis.
        y: ``(field, values)`` of the second axis (a field other than ``x``'s).
        out: results directory (``out/cells/*.json``, ``out/sweep.json``).
        resume: keep cells already on disk (refused if one was made with another config).
        ensemble_size: K of the ensembles of each cell.
        on_cell: called as ``on_cell(name, reused)`` after each cell.
        progress: ``progress(label)`` returns the trainer's ``on_chunk`` callback or None.
        measure: ``(cell_cfg, ensemble_size, on_chunk) -> dict`` (tests substitute it;
            default :func:`measure_cell`, or :func:`measure_kd_cell` with ``kd``).
        kd: distillation settings: measure the distillation cells too (part of each cell's
            header, so ``resume`` refuses cells made without them).

    Returns:
        ``{"x": {"field", "values"}, "y": {...}, "cells": {name: {...}}}``.
    """
    (xf, xs), (yf, ys) = x, y
    if xf == yf:
        raise ConfigError(f"--x and --y are both {xf!r}: sweep two different fields")
    if measure is None:
        measure = measure_cell if kd is None else functools.partial(measure_kd_cell, kd)
    out = Path(out)
    cells_dir = out / "cells"
    cells_dir.mkdir(parents=True, exist_ok=True)
    cells: dict[str, Any] = {}
    configs = {(xv, yv): cell_config(cfg, xf, xv, yf, yv) for yv in ys for xv in xs}
    for (xv, yv), ccfg in configs.items():
        name = cell_name(xf, xv, yf, yv)
        path = cells_dir / f"{name}.json"
        header = {
            "x": [xf, xv],
            "y": [yf, yv],
            "config": config_to_dict(ccfg),
            "requested_ensemble_size": ensemble_size,
        }
        if kd is not None:
            header["theorems"] = dataclasses.asdict(kd)
        reused = False
        body = _read_cell(path) if resume and path.exists() else None
        if body is not None:
            if not _same({k: body.get(k) for k in header}, header):
                raise ConfigError(
                    f"--resume: cell {path} was made with a different config; use another "
                    "--out or the same options"
                )
            reused = True
        else:
            on_chunk = progress(name) if progress is not None else None
            body = {**header, **measure(ccfg, ensemble_size, on_chunk)}
            write_json(path, body)
        cells[name] = body
        if on_cell is not None:
            on_cell(name, reused)
    grid = {
        "x": {"field": xf, "values": xs},
        "y": {"field": yf, "values": ys},
        "base_config": config_to_dict(cfg),
        "cells": cells,
    }
    write_json(out / "sweep.json", grid)
    return grid


def grid_arrays(grid: dict[str, Any], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` arrays ``(len(y), len(x))`` of one metric over the grid."""
    xf, xs = grid["x"]["field"], grid["x"]["values"]
    yf, ys = grid["y"]["field"], grid["y"]["values"]
    mean = np.full((len(ys), len(xs)), np.nan)
    std = np.full_like(mean, np.nan)
    for i, yv in enumerate(ys):
        for j, xv in enumerate(xs):
            m = grid["cells"][cell_name(xf, xv, yf, yv)]["metrics"][metric]
            mean[i, j] = np.nan if m[0] is None else m[0]
            std[i, j] = np.nan if m[1] is None else m[1]
    return mean, std
