"""Reading a run folder as the CLI writes it, for the pages of :mod:`multiview.report.page`.

Only the folder's files are read (``summary.json``, ``config.json``, ``report.md``,
``table.md``, ``figures/*.png``, top-level ``*.png``, ``sweep.json``), never the package's
internals, so any earlier run can be rendered. A missing optional file is left out; a missing
or corrupt ``summary.json`` is a :class:`ReportError` naming the file.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from multiview.errors import DataError

__all__ = ["PNG_MAGIC", "ReportError", "load_run", "flatten"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class ReportError(DataError, ValueError):
    """A run folder that cannot be rendered (missing or corrupt ``summary.json`` ...); the
    message names the offending file. The CLI prints it on one line and exits 2."""

    exit_code = 2


def _read(path: Path, binary: bool = False) -> Any:
    try:
        return path.read_bytes() if binary else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _read_json(path: Path, required: bool) -> Any:
    if required and not path.is_file():
        raise ReportError(f"{path}: no such file (is this a multiview run folder?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        if required:
            raise ReportError(f"{path}: cannot read it as JSON ({err})") from None


def load_run(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Everything a page shows of one run folder: ``{"dir", "kind", "summary", "config",
    "provenance", "markdown", "figures", "sweep"}``. ``config`` holds the resolved config and
    the other sections of ``config.json`` (e.g. ``theorems``); ``figures`` lists ``(name, PNG
    bytes or None if unreadable)``. Raises :class:`ReportError` when the folder has neither a
    readable ``summary.json`` nor a ``sweep.json``."""
    run = Path(run_dir)
    if not run.is_dir():
        raise ReportError(f"{run}: no such run folder")
    sweep, summary = None, {"predictions": []}
    if not (run / "summary.json").exists() and (run / "sweep.json").exists():
        sweep = _read_json(run / "sweep.json", required=True)
        if not isinstance(sweep, dict) or not isinstance(sweep.get("cells"), dict):
            raise ReportError(f"{run / 'sweep.json'}: not a multiview sweep (no 'cells')")
    else:
        summary = _read_json(run / "summary.json", required=True)
    if not isinstance(summary, dict):
        raise ReportError(f"{run / 'summary.json'}: expected a JSON object")
    preds = summary.setdefault("predictions", [])
    if not isinstance(preds, list) or not all(isinstance(p, dict) for p in preds):
        raise ReportError(f"{run / 'summary.json'}: 'predictions' is not a list of objects")
    cfg_file = _read_json(run / "config.json", required=False)
    cfg_file = cfg_file if isinstance(cfg_file, dict) else {}
    s_cfg = summary.get("config") if isinstance(summary.get("config"), dict) else None
    config = cfg_file.get("config") or s_cfg or (sweep or {}).get("base_config") or {}
    provenance = dict(cfg_file.get("run") or summary.get("metadata") or {})
    walls = [
        src[k]
        for src in (summary, cfg_file, provenance)
        for k in ("wall_seconds", "wall_time_s", "wall_s", "elapsed_s")
        if k in src
    ]
    if walls:
        provenance["wall time (s)"] = round(walls[0], 2) if _finite(walls[0]) else walls[0]
    kind = (
        "sweep"
        if sweep is not None
        else "theorems"
        if "theorems" in cfg_file
        else "cifar"
        if "runs" in summary and "methods" in summary
        else "simulate"
    )
    figures = [
        (p.relative_to(run).as_posix(), _read(p, binary=True))
        for p in sorted(run.glob("*.png")) + sorted(run.glob("figures/*.png"))
    ]
    config = {**config, **{k: v for k, v in cfg_file.items() if k not in ("config", "run")}}
    return {
        "dir": run,
        "kind": kind,
        "summary": summary,
        "config": config,
        "provenance": provenance,
        "sweep": sweep,
        "markdown": {n: t for n in ("report.md", "table.md") if (t := _read(run / n))},
        "figures": [(n, d if d and d.startswith(PNG_MAGIC) else None) for n, d in figures],
    }


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level of dotted keys: ``{"data": {"k": 10}} -> {"data.k": 10}``."""
    if not (isinstance(obj, dict) and obj):
        return {prefix: obj}
    return {
        key: val
        for k, v in obj.items()
        for key, val in flatten(v, f"{prefix}.{k}" if prefix else str(k)).items()
    }
