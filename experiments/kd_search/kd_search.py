"""Search for the `separated` regime (scale-separated KD): run cells, one JSON line each.

Usage: python -m experiments.kd_search.kd_search SPECS.jsonl [--out results/runs.jsonl]
       python -m experiments.kd_search.kd_search --spec '{"name": ..., "cfg": {...}, "th": {...}}'

A spec: ``{"name", "preset" (default "default"), "cfg": {config overrides},
"th": {TheoremsConfig overrides}, "parts": [...], "th_variants": [{"tag", ...}, ...]}``
(variants: several objectives on one set of single models, trained once). Each cell runs
:func:`multiview.experiments.theorems.run_theorems` on those parts and appends every
prediction (measured, verdict) and the distillation diagnostics of
:func:`multiview.experiments.distill.distill_diagnostics` (teacher contrast, oracle-teacher
control, off-target score with training vs fresh noise, Lambda of learned / not learned
views).

Reading of ``kd_tau``: the research record (``results/runs.jsonl`` beside this driver) was written
when ``kd_tau`` was the *divisor* of the tempered softmax, ``softmax(F / kd_tau)`` (so
``psT`` cells, "softening reading", set ``kd_tau = T = log^2 k``). To replay a spec with
that meaning this script sets ``kd_reading = "sharpening"`` (divisor = ``kd_tau``) unless
the spec names a reading. ``hinton_alpha`` now weights the soft term (it weighted CE then);
the record's cells use 0.5, where both agree.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields
from pathlib import Path

import jax
import numpy as np

from multiview.experiments.theorems import run_theorems
from multiview.sim.config import TheoremsConfig, preset, with_overrides
from multiview.sim.dark_knowledge import lambda_split

TH_FIELDS = {f.name for f in fields(TheoremsConfig)}


def theorems_config(th_over: dict) -> TheoremsConfig:
    th_over = dict(th_over)
    if "ensemble_sizes" in th_over:
        th_over["ensemble_sizes"] = tuple(th_over["ensemble_sizes"])
    bad = set(th_over) - TH_FIELDS
    if bad:
        raise SystemExit(f"unknown TheoremsConfig fields {sorted(bad)}")
    th_over.setdefault("kd_reading", "sharpening")  # kd_tau is the divisor (see above)
    return TheoremsConfig(**th_over)


def run_cell(spec: dict, sim=None) -> tuple[dict, object]:
    cfg = with_overrides(preset(spec.get("preset", "default")), **spec.get("cfg", {}))
    th = theorems_config(spec.get("th", {}))
    parts = tuple(spec.get("parts", ("ensemble", "kd", "sd")))
    t0 = time.time()
    res = run_theorems(cfg, th, parts=parts, sim=sim)
    preds = {
        p["id"]: {k: p.get(k) for k in ("measured", "holds", "expected", "details")}
        for p in res["predictions"]
    }
    row = {
        "name": spec.get("name", ""),
        "preset": spec.get("preset", "default"),
        "cfg_overrides": spec.get("cfg", {}),
        "th_overrides": spec.get("th", {}),
        "kd_temperature": th.kd_temperature(cfg.data.k),
        "parts": list(parts),
        "seeds": cfg.seeds,
        "wall_s": round(time.time() - t0, 1),
        "device": jax.devices()[0].platform,
        "metrics": res["metrics"],
        "predictions": preds,
        "all_hold": all(p["holds"] for p in res["predictions"]),
        "failing": [p["id"] for p in res["predictions"] if not p["holds"]],
        "sim_reused": sim is not None,
    }
    s = res["sim"]
    row["sim_lambda"] = lambda_split(s.per_seed["lambda_final"], s.per_seed["learned"])
    for key in ("kd", "sd"):
        if res.get(key) is not None:
            row[f"{key}_diagnostics"] = res[key]["diagnostics"]
            st = res[key]["student"]
            row[f"{key}_student_single"] = float(np.mean(st["test_acc_single"]))
            row[f"{key}_student_multi"] = float(np.mean(st["test_acc_multi"]))
    if res.get("kd") is not None:
        row["kd_teacher_single"] = float(np.mean(res["kd"]["teacher"]["test_acc_single"]))
    if res.get("sd") is not None:
        row["sd_union_covered"] = float(np.mean(res["sd"]["union_covered"]))
    ens = res["ensemble"]
    row["ensemble_single"] = {
        int(K): float(np.mean(a)) for K, a in zip(ens["K"], ens["acc_single"], strict=False)
    }
    return row, s


def emit(out: str, row: dict) -> None:
    with open(out, "a") as f:
        f.write(json.dumps(row, default=float) + "\n")
    short = {k: (v["measured"], v["holds"]) for k, v in row.get("predictions", {}).items()}
    brief = {k: row.get(k) for k in ("name", "wall_s", "failing", "error")}
    print(json.dumps({**brief, "preds": short}, default=float), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="?", help="a .jsonl file of specs")
    ap.add_argument("--spec", action="append", default=[], help="one spec as JSON")
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parent / "results" / "runs.jsonl")
    )
    a = ap.parse_args(argv)
    specs = [json.loads(s) for s in a.spec]
    if a.specs:
        with open(a.specs) as f:
            specs += [json.loads(line) for line in f if line.strip()]
    for spec in specs:
        variants = spec.get("th_variants") or [spec.get("th", {})]
        sim = None
        for i, thv in enumerate(variants):
            sub = {**spec, "th": {**spec.get("th", {}), **thv}}
            if len(variants) > 1:
                sub["name"] = f"{spec.get('name', '')}/{thv.get('tag', i)}"
            sub["th"].pop("tag", None)
            try:
                row, sim = run_cell(sub, sim)
            except Exception as e:  # record the failure and go on
                row = {"name": sub.get("name"), "spec": sub, "error": repr(e)}
            emit(a.out, row)


if __name__ == "__main__":
    sys.exit(main())
