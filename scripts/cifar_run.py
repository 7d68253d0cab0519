"""Run ``multiview cifar`` and report the total wall time of the process.

Usage: python scripts/cifar_run.py --preset cpu-small --data PATH --out DIR [...]
(the same options as ``multiview cifar``).
"""

import sys
import time

from multiview.cli import app

if __name__ == "__main__":
    t0 = time.perf_counter()
    try:
        app(["cifar", *sys.argv[1:]])
    finally:
        print(f"total wall time {time.perf_counter() - t0:.1f} s", file=sys.stderr)
