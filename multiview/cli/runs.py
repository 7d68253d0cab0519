"""The output contract of every command that writes results: the folder is claimed (checked,
created) before any compute, a folder holding another run is refused unless ``--resume`` (the
same config) or ``--force`` (replaced once the new run is complete), and a run that fails
leaves no half-written folder behind. Also the one way to print JSON on stdout.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from multiview.errors import ConfigError
from multiview.io import read_json, to_jsonable
from multiview.outdir import RunDir, claim_run_dir

__all__ = ["ForceOpt", "run_folder", "print_json", "same_config"]

MANIFEST = "blocks/config.json"  # written before the first block: not a result

ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="replace the run already in --out; the old run is kept until the new one is "
        "complete (default: refuse a folder that holds another run)",
    ),
]


def print_json(obj: Any) -> None:
    """Write ``obj`` to stdout as strict JSON (NaN and infinities become null)."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def same_config(a: Any, b: Any) -> bool:
    """Whether two configs are equal once both are JSON values (tuples == lists)."""
    return json.loads(json.dumps(to_jsonable(a))) == json.loads(json.dumps(to_jsonable(b)))


def _holds_nothing(path: Path) -> bool:
    """No result file under ``path`` (folders and the blocks' config manifest only)."""
    return all(p.is_dir() or p.relative_to(path).as_posix() == MANIFEST for p in path.rglob("*"))


@contextmanager
def run_folder(
    out: str | Path | None,
    prefix: str,
    *,
    resume: bool = False,
    force: bool = False,
    config: dict[str, Any] | None = None,
) -> Iterator[RunDir]:
    """Claim ``out`` (see :func:`multiview.outdir.claim_run_dir`) and yield its
    :class:`~multiview.outdir.RunDir`; write under ``run.path``.

    With ``resume``, a folder whose ``config.json`` holds a different ``config`` is refused.
    On success a ``--force`` replacement is swapped in; on failure it is dropped, and a folder
    this call created that holds no file is removed (an interrupted run keeps its blocks).
    """
    existed = out is not None and Path(out).exists()
    run = claim_run_dir(out, prefix, resume=resume, force=force)
    saved = run.final / "config.json"
    if resume and config is not None and saved.is_file():
        try:
            old = read_json(saved).get("config")
        except (OSError, ValueError, AttributeError):
            old = None
        if old is not None and not same_config(old, config):
            run.abort()
            raise ConfigError(
                f"--resume: the run in {run.final} was made with a different config; "
                "give the same options, use another --out, or --force to replace it"
            )
    try:
        yield run
    except BaseException:
        run.abort()
        if not existed and run.final.is_dir() and _holds_nothing(run.final):
            shutil.rmtree(run.final, ignore_errors=True)
        raise
    run.commit()
