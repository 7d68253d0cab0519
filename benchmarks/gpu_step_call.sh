#!/usr/bin/env bash
# A second device call after benchmarks/gpu_run.sh, when its clock cut the step_variants
# stage: the matmul peak and that stage's missing part alone, packed into at most 8 files.
#   bash benchmarks/gpu_step_call.sh OUT PARTS SECONDS   (PARTS: xla, kernels or kernels,xla)
# SECONDS is the device call's timeout_s: gpu.sh is killed 15 s before it, so the files are
# always packed. CPU rehearsal (tests/benchmarks/test_gpu_script.py): SMOKE=1 ... /tmp/x xla 120
set -uo pipefail
cd "$(dirname "$0")/.."
out=$1 parts=$2 seconds=$3
work=$(mktemp -d)
mkdir -p "$out"
export PYTHONUNBUFFERED=1 COLUMNS=120
budget=$((seconds - 75))
[ "$budget" -lt 30 ] && budget=30
timeout $((seconds - 15)) bash benchmarks/gpu.sh --out "$work" --budget "$budget" \
  --skip sim_step,simulate,cifar,simulate_bf16_store,cifar_epochs,kd_grid \
  --step-parts "$parts" ${SMOKE:+--smoke} >"$work/gpu_log.txt" 2>&1
echo "gpu.sh: exit $?" >>"$work/gpu_log.txt"
cp "$work"/{gpu.json,gpu.md,gpu_log.txt} "$out"/ 2>/dev/null
tar czf "$out/extra.tar.gz" -C "$work" hlo isolated.json 2>/dev/null
ls -la "$out"
