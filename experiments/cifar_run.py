"""Run ``multiview cifar`` through a typer app built from multiview.cifar.cli.register.

Usage: python experiments/cifar_run.py --preset cpu-small --data PATH --out DIR [...]
(the same options as ``multiview cifar``; useful before the command is registered).
"""

import sys
import time

import typer

from multiview.cifar.cli import register
from multiview.errors import MultiviewError

app = typer.Typer(add_completion=False)
register(app)

if __name__ == "__main__":
    t0 = time.perf_counter()
    try:
        app(["cifar", *sys.argv[1:]], standalone_mode=False)
    except MultiviewError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    print(f"total wall time {time.perf_counter() - t0:.1f} s", file=sys.stderr)
