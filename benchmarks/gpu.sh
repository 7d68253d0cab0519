#!/usr/bin/env bash
# One prepared measurement on a GPU: python -m benchmarks.gpu from the repository root, with
# the environment below; see benchmarks/gpu.py for the stages.
#   bash benchmarks/gpu.sh [--out DIR] [--data cifar10-jpeg.zip] [--budget 450]
#   bash benchmarks/gpu.sh --smoke --out /tmp/gpu-smoke     # CPU check, run by the tests
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
# Stages that start a fresh process (simulate, the distillation cells) need GPU memory the
# parent has not reserved: allocate on demand instead of taking 75% of the card up front.
export XLA_PYTHON_CLIENT_PREALLOCATE=false
PY="${PYTHON:-python3}"
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && ! "$PY" -c 'import jax' 2>/dev/null; then
  PY=.venv/bin/python
fi
exec "$PY" -m benchmarks.gpu "$@"
