"""Do the step variants train the same models? The default preset, 8 seeds, its full 1,500
full-batch GD steps under each variant from the same initializations; test predictions,
weights and learned views compared with the trainer's own step (``baseline``).

    python -m benchmarks.step_variants_physics [OUT.json]

"learned" is a view whose best neuron's correlation exceeds half the largest correlation of
that run (a coarse, threshold-free-of-tuning agreement measure, not the report's metric).
On the CPU ``bf16_store`` rounds the pre-activations to bf16 exactly as it would on a GPU
(only where the rounding happens differs), so its numerical effect is measured here.
"""

import dataclasses
import json
import sys
import time

import jax
import numpy as np

from benchmarks.step_variants import variant_loss_fn
from multiview.bench.jax_runs import problem
from multiview.sim.config import preset
from multiview.sim.data import make_datasets
from multiview.sim.model import correlations, forward
from multiview.sim.seeds import data_key
from multiview.sim.train import train


def main() -> None:
    cfg = preset("default")
    seeds = 8
    data, w0, keys, _ = problem(cfg, seeds)
    tcfg = dataclasses.replace(cfg.train, chunks=1, batch_size=0)
    ds = make_datasets(cfg.data, data_key(cfg))
    out = {"preset": "default", "seeds": seeds, "steps": tcfg.steps}
    res = {}
    for v in ("baseline", "bf16_store", "custom_vjp"):
        t = time.perf_counter()
        w, _ = train(
            variant_loss_fn(cfg.model, v), w0, data, tcfg, n_train=cfg.data.n_train, keys=keys
        )
        w = np.asarray(w)
        pm = np.stack(
            [
                np.argmax(
                    np.asarray(forward(cfg.model, jax.numpy.asarray(wi), ds.test_multi.x)), -1
                )
                for wi in w
            ]
        )
        ps = np.stack(
            [
                np.argmax(
                    np.asarray(forward(cfg.model, jax.numpy.asarray(wi), ds.test_single.x)), -1
                )
                for wi in w
            ]
        )
        lam = np.asarray(correlations(w, ds.features)).max(
            axis=-2
        )  # (S, k, V): best neuron per view
        res[v] = (w, pm, ps, lam)
        out[v] = {
            "seconds": time.perf_counter() - t,
            "multi_acc": float((pm == np.asarray(ds.test_multi.y)).mean()),
            "single_acc": float((ps == np.asarray(ds.test_single.y)).mean()),
        }
        print(v, out[v], flush=True)
    w0_, pm0, ps0, lam0 = res["baseline"]
    for v in ("bf16_store", "custom_vjp"):
        w, pm, ps, lam = res[v]
        learned0 = lam0 > 0.5 * lam0.max()
        learned = lam > 0.5 * lam.max()
        out[v].update(
            {
                "multi_agreement": float((pm == pm0).mean()),
                "single_agreement": float((ps == ps0).mean()),
                "max_weight_rel_diff": float(np.abs(w - w0_).max() / np.abs(w0_).max()),
                "learned_view_agreement": float((learned == learned0).mean()),
            }
        )
        print(v, out[v], flush=True)
    text = json.dumps(out, indent=1)
    print(text)
    if len(sys.argv) > 1:
        open(sys.argv[1], "w").write(text + "\n")


if __name__ == "__main__":
    main()
