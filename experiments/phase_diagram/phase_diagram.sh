#!/usr/bin/env bash
# The committed phase diagram (experiments/phase_diagram/results/phase_diagram*.png): a 3x3 grid of the Gaussian patch
# noise sigma_p * sqrt(d) against the training-set size N, 8 seeds per cell, everything else
# at the default preset (1500 steps). About 6 minutes on a quiet 2-core CPU. Rerun with
# --resume to keep the finished cells of an interrupted run. From the repository root:
#   bash experiments/phase_diagram/phase_diagram.sh [OUT] [more multiview sweep options]
set -euo pipefail
OUT=${1:-runs/phase_diagram}
multiview sweep --x noise_scale=1.0,1.5,2.5 --y n_train=100,200,300 --seeds 8 \
  --ensemble-size 8 --out "$OUT" --resume "${@:2}"
RESULTS=experiments/phase_diagram/results
mkdir -p "$RESULTS"
cp "$OUT/phase_diagram.png" "$RESULTS/phase_diagram.png"
for m in single_view one_view ensemble_gain; do
  cp "$OUT/heatmap_$m.png" "$RESULTS/phase_diagram_$m.png"
done
