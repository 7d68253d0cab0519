"""Typed, frozen results of the Python API, each one the in-memory form of a run folder.

A result's ``save(dir)`` writes the files the command line writes for the same run
(``config.json``, ``summary.json``, figures, ``report.html`` ...), and :func:`load` reads
any folder the command line wrote back into a result: ``load(r.save(d)) == r``.

In a notebook a result shows its verdict table (``_repr_html_``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from multiview.errors import ConfigError, DataError
from multiview.experiments.sweep import grid_arrays
from multiview.io import load_npz, read_json, to_jsonable
from multiview.outdir import claim_run_dir, holds_run
from multiview.prediction_list import Predictions, predictions_from
from multiview.report.cifar import write_report
from multiview.report.page_parts import esc
from multiview.report.simulation import write_simulation
from multiview.report.sweep import write_sweep
from multiview.report.tables import (
    headline_text,
    verdict_table,
)
from multiview.report.theorems import write_theorems
from multiview.sim.config import SimConfig, TheoremsConfig, config_from_dict
from multiview.sim.grading import convergence
from multiview.sim.predictions import Prediction
from multiview.sim.train import History

__all__ = [
    "CifarRun",
    "Prediction",
    "Predictions",
    "SimulationRun",
    "SweepRun",
    "TheoremsRun",
    "load",
    "predictions_from",
]


def _plain(obj: Any) -> Any:
    """``obj`` as JSON stores it (NaN -> None, tuples -> lists): what a loaded run holds."""
    return json.loads(json.dumps(to_jsonable(obj)))


def _nan(v: Any) -> float:
    return math.nan if v is None else float(v)


def _metrics(d: dict[str, Any]) -> dict[str, float]:
    """Scalar metrics as floats, NaN where JSON stored null."""
    return {k: _nan(v) for k, v in d.items()}


def _same(a: Any, b: Any) -> bool:
    """Equality of nested dicts / lists / arrays, NaN equal to NaN."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc")
        )
    if isinstance(a, Prediction) and isinstance(b, Prediction):
        return _same(dataclasses.asdict(a), dataclasses.asdict(b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


class _Run:
    """What every result shares: the verdict table (text, HTML) and equality by value."""

    kind = "run"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(
            _same(getattr(self, f.name), getattr(other, f.name))
            for f in dataclasses.fields(self)
            if f.compare
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        preds = [p.to_dict() for p in self.predictions]
        ids = ", ".join(f"{p['id']}={p['verdict']}" for p in preds)
        verdicts = f"{headline_text(preds)}: {ids}" if preds else "no predictions"
        return f"{type(self).__name__}({verdicts})"

    @property
    def holds(self) -> bool:
        """Whether every paper prediction of the run holds (controls and diagnostics aside)."""
        return all(p.holds for p in self.predictions if p.kind == "paper")

    def verdicts(self, verbose: bool = False):
        """The verdict table as a ``rich`` table (id, measured, 95% interval, n, bar, verdict;
        with the claims when ``verbose``)."""
        return verdict_table([p.to_dict() for p in self.predictions], verbose=verbose)

    def _repr_html_(self) -> str:
        preds = Predictions(self.predictions)
        if not preds:
            return f"<p><b>multiview {esc(self.kind)} run</b> (no predictions)</p>"
        head = (
            f"<p><b>multiview {esc(self.kind)} run</b>: "
            f"{esc(headline_text([p.to_dict() for p in preds]))}</p>"
        )
        return head + preds._repr_html_()


@contextmanager
def _saving(out, force: bool) -> Iterator[Path]:
    """The folder a ``save`` writes into, under the command line's contract: a folder that
    holds another run is refused unless ``force``, and then replaced only once the new one
    is complete (written beside it and swapped in; a failure leaves the old run)."""
    out = Path(out)
    markers = holds_run(out) if out.is_dir() else []
    if markers and not force:
        raise ConfigError(
            f"{out} holds another run ({', '.join(markers)}): save(..., force=True) replaces "
            "it once the new one is complete, or choose another folder"
        )
    plan = claim_run_dir(out, force=force)
    try:
        yield plan.path
    except BaseException:
        plan.abort()
        raise
    plan.commit()


@dataclass(frozen=True, eq=False, repr=False)
class SimulationRun(_Run):
    """Theorem 1 over many seeds (:func:`multiview.simulate`).

    Attributes:
        config: the resolved :class:`~multiview.SimConfig`.
        predictions: the verdicts, :class:`Prediction` records.
        metrics: means and stds over seeds (``name`` and ``name_std``).
        per_seed: per-seed metric arrays ``(S, ...)`` (e.g. ``learned`` ``(S, k, V)``).
        steps: ``(T,)`` the steps at which trajectories were logged.
        trajectories: ``lambda``, ``phi`` ``(S, T, k, V)``; ``loss``, ``acc``,
            ``noise_corr`` ``(S, T)``.
        weights: ``(S, k, m, d)`` trained weights.
    """

    config: SimConfig
    predictions: tuple[Prediction, ...]
    metrics: dict[str, Any]
    per_seed: dict[str, np.ndarray]
    steps: np.ndarray
    trajectories: dict[str, np.ndarray]
    weights: np.ndarray
    kind = "simulate"

    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json``: ``{"metrics", "convergence", "learned_cut", "predictions"}``."""
        cut = self.per_seed.get("learned_cut")
        return {
            "metrics": self.metrics,
            "convergence": convergence(self.config, self.per_seed),
            "learned_cut": None if cut is None else float(np.asarray(cut).ravel()[0]),
            "predictions": [p.to_dict() for p in self.predictions],
        }

    @property
    def history(self) -> History:
        return History(self.steps, self.trajectories)

    @classmethod
    def from_result(cls, result) -> SimulationRun:
        """From :class:`multiview.experiments.simulate.SimulationResult`."""
        summary = _plain(result.summary)
        return cls(
            config=result.config,
            predictions=predictions_from(summary["predictions"]),
            metrics=_metrics(summary["metrics"]),
            per_seed={k: np.asarray(v) for k, v in result.per_seed.items()},
            steps=np.asarray(result.history.steps),
            trajectories={k: np.asarray(v) for k, v in result.history.records.items()},
            weights=np.asarray(result.weights),
        )

    def save(self, out, force: bool = False) -> Path:
        """Write the run folder ``multiview simulate --out`` writes; returns ``out``. A
        folder holding another run is refused unless ``force`` (as the command line)."""
        with _saving(out, force) as path:
            write_simulation(self, path)
        return Path(out)


@dataclass(frozen=True, eq=False, repr=False)
class TheoremsRun(_Run):
    """Ensembles, training the average, distillation (:func:`multiview.theorems` and the
    single-experiment helpers).

    Attributes:
        config, theorems_config: the configurations.
        predictions: every verdict (Theorem 1 first).
        metrics: the single models' means and stds over seeds.
        methods: accuracy by method, ``{method: {"single_view": {"mean", "std"}, ...}}``.
        ensemble_curve: ``{"K", "theory_single", "single_view": [{"mean", "std"}, ...]}``.
        simulation: the single models as a :class:`SimulationRun` (None when loaded from a
            folder, which does not store them).
    """

    config: SimConfig
    theorems_config: TheoremsConfig
    predictions: tuple[Prediction, ...]
    metrics: dict[str, Any]
    methods: dict[str, Any]
    ensemble_curve: dict[str, Any]
    simulation: SimulationRun | None = field(default=None, compare=False, repr=False)
    source: Any = field(default=None, compare=False, repr=False)  # raw results or a folder
    kind = "theorems"

    @property
    def summary(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "methods": self.methods,
            "predictions": [p.to_dict() for p in self.predictions],
            "ensemble_curve": self.ensemble_curve,
        }

    def save(self, out, force: bool = False) -> Path:
        """Write the run folder ``multiview theorems --out`` writes (a loaded run: copy the
        files of the folder it was loaded from); returns ``out``. A folder holding another
        run is refused unless ``force``."""
        out = Path(out)
        if not isinstance(self.source, dict) and Path(self.source or "").resolve() == out.resolve():
            return out  # already there
        with _saving(out, force) as path:
            if isinstance(self.source, dict):
                write_theorems(self.source, path, dataclasses.asdict(self.theorems_config))
            else:
                shutil.copytree(self.source, path, dirs_exist_ok=True)
        return out


@dataclass(frozen=True, eq=False, repr=False)
class SweepRun(_Run):
    """A grid of simulations over two config fields (:func:`multiview.sweep`).

    Attributes:
        grid: ``sweep.json``: ``{"x": {"field", "values"}, "y": {...}, "base_config",
            "cells": {name: {"x", "y", "config", "metrics": {name: [mean, std]}, ...}}}``.
    """

    grid: dict[str, Any]
    predictions: tuple[Prediction, ...] = ()
    kind = "sweep"

    @property
    def config(self) -> SimConfig:
        return config_from_dict(self.grid["base_config"])

    def metric(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` arrays ``(len(y values), len(x values))`` of one cell metric."""
        return grid_arrays(self.grid, name)

    def __repr__(self) -> str:
        xf, yf = self.grid["x"]["field"], self.grid["y"]["field"]
        return f"SweepRun({xf} x {yf}, {len(self.grid['cells'])} cells)"

    def _repr_html_(self) -> str:
        xf, yf = self.grid["x"]["field"], self.grid["y"]["field"]
        return (
            f"<p><b>multiview sweep</b> over {esc(xf)} x {esc(yf)}: "
            f"{len(self.grid['cells'])} cells</p>"
        )

    def save(self, out, force: bool = False) -> Path:
        """Write ``sweep.json``, ``cells/``, the heatmaps and ``report.html`` (a folder
        holding another run is refused unless ``force``)."""
        with _saving(out, force) as path:
            write_sweep(self.grid, path)
        return Path(out)


@dataclass(frozen=True, eq=False, repr=False)
class CifarRun(_Run):
    """The CIFAR Figure-1 experiments (:func:`multiview.cifar_experiments`).

    Attributes:
        summary: ``summary.json``: ``methods`` (``{mean, std}``), ``runs`` (per-run
            accuracies), ``gains_points``, ``seconds``, the configuration.
    """

    summary: dict[str, Any]
    predictions: tuple[Prediction, ...] = ()
    kind = "cifar"

    @property
    def methods(self) -> dict[str, Any]:
        return self.summary["methods"]

    @property
    def runs(self) -> dict[str, list[float]]:
        return self.summary["runs"]

    def save(self, out, force: bool = False) -> Path:
        """Write ``summary.json``, ``table.md``, ``figure1.png`` and ``report.html`` (a
        folder holding another run is refused unless ``force``)."""
        with _saving(out, force) as path:
            write_report({k: v for k, v in self.summary.items() if k != "metadata"}, path)
        return Path(out)


def theorems_run(res: dict[str, Any], th: TheoremsConfig, summary: dict[str, Any]) -> TheoremsRun:
    """A :class:`TheoremsRun` from :func:`multiview.experiments.theorems.run_theorems`'s
    results and the summary its writer made."""
    s = _plain(summary)
    return TheoremsRun(
        config=res["sim"].config,
        theorems_config=th,
        predictions=predictions_from(s["predictions"]),
        metrics=_metrics(s["metrics"]),
        methods=s["methods"],
        ensemble_curve=s["ensemble_curve"],
        simulation=SimulationRun.from_result(res["sim"]),
        source=res,
    )


def _theorems_config(d: dict[str, Any]) -> TheoremsConfig:
    d = dict(d)
    if isinstance(d.get("ensemble_sizes"), list):
        d["ensemble_sizes"] = tuple(d["ensemble_sizes"])
    return TheoremsConfig(**d)


def load(run_dir) -> SimulationRun | TheoremsRun | SweepRun | CifarRun:
    """The result stored in a run folder written by the command line or by ``save``.

    Raises :class:`~multiview.errors.DataError` when the folder is not a multiview run.
    """
    run = Path(run_dir)
    if not (run / "summary.json").is_file():
        if (run / "sweep.json").is_file():
            return SweepRun(grid=read_json(run / "sweep.json"))
        raise DataError(f"{run}: no summary.json or sweep.json (is this a multiview run folder?)")
    summary = read_json(run / "summary.json")
    cfg_file = read_json(run / "config.json") if (run / "config.json").is_file() else {}
    preds = predictions_from(summary.get("predictions", []))
    if "runs" in summary and "methods" in summary:
        return CifarRun(summary=summary, predictions=preds)
    if "config" not in cfg_file:
        raise DataError(f"{run / 'config.json'}: missing (needed to load a simulation run)")
    cfg = config_from_dict(cfg_file["config"])
    if "theorems" in cfg_file:
        return TheoremsRun(
            config=cfg,
            theorems_config=_theorems_config(cfg_file["theorems"]),
            predictions=preds,
            metrics=_metrics(summary.get("metrics", {})),
            methods=summary.get("methods", {}),
            ensemble_curve=summary.get("ensemble_curve", {}),
            source=run,
        )
    arrays = load_npz(run / "per_seed.npz")
    steps, weights = arrays.pop("steps"), arrays.pop("weights")
    return SimulationRun(
        config=cfg,
        predictions=preds,
        metrics=_metrics(summary.get("metrics", {})),
        per_seed={k: v for k, v in arrays.items() if not k.startswith("history_")},
        steps=steps,
        trajectories={k[8:]: v for k, v in arrays.items() if k.startswith("history_")},
        weights=weights,
    )
