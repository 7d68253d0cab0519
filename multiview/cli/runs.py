"""The output contract of every command that writes results: the folder is claimed (checked,
locked, marked with the command and its config) before any compute, a folder holding another
run is refused unless ``--resume`` (the same command and config) or ``--force`` (replaced once
the new run is complete), and a run that fails leaves no half-written folder behind. Also the
one way to print JSON on stdout.
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

from multiview.io import to_jsonable
from multiview.outdir import MARKER, RunDir, claim_run_dir, same_config
from multiview.run_lock import LOCK_NAME

__all__ = ["ForceOpt", "run_folder", "print_json", "same_config"]

MANIFEST = "blocks/config.json"  # written before the first block: not a result
_NOT_RESULTS = {MANIFEST, MARKER, LOCK_NAME}

ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="replace the run already in --out (only a folder a multiview run made, holding "
        "only its files); the old run is kept until the new one is complete (default: refuse "
        "a folder that holds another run)",
    ),
]


def print_json(obj: Any) -> None:
    """Write ``obj`` to stdout as strict JSON (NaN and infinities become null)."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def _holds_nothing(path: Path) -> bool:
    """No result file under ``path`` (folders, the marker, the lock, the blocks' manifest)."""
    return all(
        p.is_dir() or p.relative_to(path).as_posix() in _NOT_RESULTS for p in path.rglob("*")
    )


@contextmanager
def run_folder(
    out: str | Path | None,
    prefix: str,
    *,
    resume: bool = False,
    force: bool = False,
    config: Any = None,
    lock: bool = True,
) -> Iterator[RunDir]:
    """Claim ``out`` (see :func:`multiview.outdir.claim_run_dir`) and yield its
    :class:`~multiview.outdir.RunDir`; write under ``run.path``.

    ``prefix`` is the command and ``config`` its full config: both are recorded in the
    folder's marker, and ``--resume`` refuses a folder made by another command or config.
    On success a ``--force`` replacement is swapped in; on failure it is dropped, and a folder
    that holds no result file is left as it was found (removed if this call created it;
    an interrupted run keeps its blocks). The claim is released either way.
    """
    run = claim_run_dir(out, prefix, resume=resume, force=force, config=config, lock=lock)
    try:
        yield run
    except BaseException:
        run.abort()
        if not run.resumed and run.final.is_dir() and _holds_nothing(run.final):
            if run.created:
                shutil.rmtree(run.final, ignore_errors=True)
            elif not run.staged and {p.name for p in run.final.iterdir()} <= {MARKER}:
                (run.final / MARKER).unlink()  # the empty folder it was
        raise
    run.commit()
