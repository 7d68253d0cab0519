#!/usr/bin/env bash
# Both prepared GPU measurements in one lease (issue 11): benchmarks/gpu.py's stages, then the
# 10-seed Figure-1 table of the `gpu` CIFAR preset; results packed into at most 8 files, the
# device tool's limit on what comes back (the HLO dumps and the table's log go in one tarball).
#   bash benchmarks/gpu_lease.sh OUT DATA_ZIP [BENCH_BUDGET_S=210] [TABLE_LIMIT_S=340]
# Each part runs under its own timeout, so the packing at the end always happens.
# CPU rehearsal: SMOKE=1 PRESET=tiny bash benchmarks/gpu_lease.sh /tmp/x tests-zip 60 120
set -uo pipefail
cd "$(dirname "$0")/.."
out=$1 data=$2 budget=${3:-210} table_s=${4:-340}
work=$(mktemp -d)
mkdir -p "$work/bench" "$out"
export PYTHONPATH="$PWD" PYTHONUNBUFFERED=1 MPLBACKEND=Agg XLA_PYTHON_CLIENT_PREALLOCATE=false
PY="${PYTHON:-python3}"
(nvidia-smi -L; "$PY" -c 'import jax; print(jax.__version__, jax.devices())') 2>&1 | tee "$work/bench/gpu_log.txt"
timeout $((budget + 60)) bash benchmarks/gpu.sh --out "$work/bench" --data "$data" \
  --budget "$budget" --skip kd_grid ${SMOKE:+--smoke} 2>&1 | tee -a "$work/bench/gpu_log.txt"
t0=$(date +%s)
timeout "$table_s" "$PY" scripts/cifar_run.py --preset "${PRESET:-gpu}" --data "$data" --out "$work/cifar" \
  --data-dir "$work/cache" --json >"$work/cifar_stdout.json" 2>"$work/cifar_log.txt" \
  || echo "cifar table: exit $? after $(($(date +%s) - t0)) s" | tee -a "$work/cifar_log.txt"
tail -c 3000 "$work/cifar_log.txt"
cp "$work"/bench/{gpu.json,gpu.md,gpu_log.txt} "$out"/ 2>/dev/null
cp "$work"/cifar/{table.md,summary.json,figure1.png,report.html} "$out"/ 2>/dev/null
tar czf "$out/extra.tar.gz" -C "$work" bench/hlo cifar_log.txt cifar_stdout.json 2>/dev/null
ls -la "$out"
