"""A run's numbers as CSV, for pandas, spreadsheets and TensorBoard-style viewers:
``per_seed.csv`` (one row per seed: every scalar metric of that seed) and ``history.csv``
(long format, one row per seed and logged step: every scalar history, e.g. loss and
accuracy). Values are written at full precision (``repr``); NaN is ``nan``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from multiview.io import atomic_write_text

__all__ = ["PER_SEED_CSV", "HISTORY_CSV", "write_run_tables", "read_per_seed"]

PER_SEED_CSV = "per_seed.csv"
HISTORY_CSV = "history.csv"


def _cell(v: Any) -> str:
    return repr(float(v)) if np.asarray(v).dtype.kind == "f" else str(np.asarray(v).item())


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_run_tables(
    out: Path, per_seed: dict[str, Any], steps: Any, records: dict[str, Any]
) -> dict[str, Path]:
    """Write ``out/per_seed.csv`` and ``out/history.csv``.

    Arguments:
        per_seed: metric -> array; the ``(S,)`` ones become columns (arrays with more axes,
            such as the ``(S, k, V)`` learned views, stay in ``per_seed.npz``).
        steps: ``(T,)`` logged steps.
        records: history name -> array; the ``(S, T)`` ones become columns.
    """
    scalars = {k: np.asarray(v) for k, v in per_seed.items() if np.ndim(v) == 1}
    S = len(next(iter(scalars.values()))) if scalars else 0
    names = list(scalars)
    rows = [[str(s)] + [_cell(scalars[n][s]) for n in names] for s in range(S)]
    paths = {"per_seed_csv": atomic_write_text(out / PER_SEED_CSV, _csv(["seed", *names], rows))}
    steps = np.asarray(steps)
    hist = {k: np.asarray(v) for k, v in records.items() if np.ndim(v) == 2}
    hist = {k: v for k, v in hist.items() if v.shape[1] == steps.shape[0]}
    if hist:
        S = next(iter(hist.values())).shape[0]
        rows = [
            [str(s), str(int(steps[t]))] + [_cell(hist[n][s, t]) for n in hist]
            for s in range(S)
            for t in range(steps.shape[0])
        ]
        paths["history_csv"] = atomic_write_text(
            out / HISTORY_CSV, _csv(["seed", "step", *hist], rows)
        )
    return paths


def read_per_seed(run_dir: Path) -> dict[str, np.ndarray]:
    """The ``(S,)`` per-seed metrics of a run folder: ``per_seed.csv``, or the 1-D arrays of
    ``per_seed.npz`` for a folder written before the CSV existed; ``{}`` when neither is
    readable."""
    run_dir = Path(run_dir)
    try:
        with open(run_dir / PER_SEED_CSV, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        return {
            name: np.array([float(r[i]) for r in body])
            for i, name in enumerate(header)
            if name != "seed"
        }
    except (OSError, IndexError, ValueError, UnicodeDecodeError):
        pass
    try:
        with np.load(run_dir / "per_seed.npz", allow_pickle=False) as z:
            return {
                k: np.asarray(z[k], dtype=float)
                for k in z.files
                if z[k].ndim == 1 and z[k].dtype.kind in "fiub" and k != "steps"
            }
    except (OSError, ValueError, KeyError):
        return {}
