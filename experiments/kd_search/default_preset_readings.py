"""The default preset (16 seeds, 2 KD students, 8 SD pairs) under both readings of the
paper's KD temperature, with the distillation diagnostics: experiments/kd_search/
results/default_preset_readings.jsonl (one line per reading)."""

import json
import time

from multiview.experiments.theorems import run_theorems
from multiview.sim.config import TheoremsConfig, preset, with_overrides

cfg = with_overrides(preset("default"), seeds=16)
sim = None
for reading in ("softening", "sharpening"):
    t0 = time.time()
    th = TheoremsConfig(kd_reading=reading, kd_students=2, sd_pairs=8, ensemble_sizes=(1, 2, 4, 8))
    res = run_theorems(cfg, th, parts=("ensemble", "kd", "sd"), sim=sim)
    sim = res["sim"]
    preds = {
        p["id"]: (
            round(p["measured"], 3),
            p["holds"],
            {k: v for k, v in p["details"].items() if isinstance(v, float)},
        )
        for p in res["predictions"]
    }
    d = res["kd"]["diagnostics"]
    print(
        json.dumps(
            {
                "reading": reading,
                "wall": round(time.time() - t0),
                "preds": preds,
                "contrast": d["teacher_contrast"],
                "oracle": d.get("oracle"),  # Lambda and the six ideal-teacher variants
                "real": d["real_teacher"],
                "student_noise": d["student_noise"],
                "student_lambda": d["student_lambda"],
                "single_lambda": d["single_lambda"],
            },
            default=float,
        ),
        flush=True,
    )
