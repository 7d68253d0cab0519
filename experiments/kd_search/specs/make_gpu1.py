"""Lanes of the first GPU screen of the regime search (one jsonl per lane)."""

import json
import math
import pathlib

here = pathlib.Path(__file__).parent / "gpu1"
here.mkdir(exist_ok=True)


def base(k=20, **kw):
    scale = {
        20: (400, 512, 4000),
        30: (600, 768, 6000),
        40: (800, 1024, 8000),
        50: (1000, 1024, 10000),
    }[k]
    c = dict(
        k=k,
        n_train=scale[0],
        d=scale[1],
        steps=scale[2],
        patches=16,
        patches_per_feature=1,
        off_target_multi=0.4,
        off_target=6,
        noise_scale=1.25,
        single_view_frac=0.1,
        varrho=3.0,
        init_std=0.009,
        lr=15.0,
        seeds=32,
        n_test=1000,
        chunks=4,
        log_points=30,
    )
    c.update(kw)
    return c


def objectives(k):
    T = math.log(k) ** 2
    return [
        {"tag": "hin", "kd_loss": "hinton", "hinton_temperature": T, "hinton_alpha": 0.5},
        {"tag": "lg05", "kd_loss": "logits", "kd_weight": 0.5},
        {"tag": "lg2", "kd_loss": "logits", "kd_weight": 2.0},
        {"tag": "ts", "kd_loss": "two_sided", "kd_tau": T, "kd_weight": 2 * T},
        {"tag": "ps", "kd_loss": "paper", "kd_tau": T, "kd_weight": 1.0},
    ]


TH = {"ensemble_sizes": [1, 2, 4, 8], "kd_students": 4, "sd_pairs": 16}
P3 = ["ensemble", "kd", "sd"]


def spec(name, cfg, k, parts=P3, variants=None):
    return {
        "name": name,
        "cfg": cfg,
        "th": TH,
        "th_variants": variants or objectives(k),
        "parts": parts,
    }


lanes = {
    0: [spec("k20_G0.1", base(), 20), spec("k20_G0.2", base(off_target_single=0.2), 20)],
    1: [
        spec("k20_G0.3", base(off_target_single=0.3), 20),
        spec("k20_G0.2_s10", base(off_target_single=0.2, off_target=10), 20),
    ],
    2: [spec("k30_G0.1", base(30), 30), spec("k30_G0.2", base(30, off_target_single=0.2), 30)],
    3: [spec("k40_G0.2", base(40, off_target_single=0.2), 40), spec("k40_G0.1", base(40), 40)],
    4: [
        spec(
            "k20_G0.2_v2_i006_lr10",
            base(off_target_single=0.2, varrho=2.0, init_std=0.006, lr=10.0),
            20,
        ),
        spec("k20_G0.2_i005", base(off_target_single=0.2, init_std=0.005), 20),
    ],
    5: [
        spec("k20_G0.2_bern6", base(off_target_single=0.2, off_target_mode="bernoulli"), 20),
        spec("k20_G0.2_noise1.0", base(off_target_single=0.2, noise_scale=1.0), 20),
    ],
    6: [
        spec(
            "k20_G0.2_full",
            base(off_target_single=0.2),
            20,
            parts=["ensemble", "average", "kd", "sd", "rf", "gaussian", "ablation"],
            variants=[objectives(20)[0]],
        )
    ],
    7: [spec("k50_G0.2", base(50, off_target_single=0.2), 50)],
}
for i, specs in lanes.items():
    (here / f"lane{i}.jsonl").write_text("".join(json.dumps(s) + "\n" for s in specs))
