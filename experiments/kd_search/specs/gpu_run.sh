#!/bin/bash
# Run every lane of $1 (a folder of lane*.jsonl) in parallel on one GPU; results into $OUT.
# From the repository root: bash experiments/kd_search/specs/gpu_run.sh experiments/kd_search/specs/gpu1
set -u
DIR=$1; LIMIT=${2:-500}
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
export JAX_COMPILATION_CACHE_DIR=/tmp/jaxcache
nvidia-smi --query-gpu=name,memory.used --format=csv
python3 -c "import jax; print(jax.__version__, jax.devices())"
for f in $DIR/lane*.jsonl; do
  n=$(basename $f .jsonl)
  timeout $LIMIT python3 -m experiments.kd_search.kd_search $f --out $OUT/$n.jsonl > /tmp/$n.log 2>&1 &
done
wait
cat $OUT/lane*.jsonl > $OUT/runs.jsonl; rm -f $OUT/lane*.jsonl
for f in /tmp/lane*.log; do echo "== $f"; grep -v '^{' $f | tail -5; done > $OUT/logs.txt
grep -h '^{' /tmp/lane*.log | cut -c1-400
