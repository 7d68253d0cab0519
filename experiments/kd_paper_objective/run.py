"""The paper's KD objective on the ``separated`` preset at the temperature of its own scale.

    python -m experiments.kd_paper_objective.run              # the study (about an hour, 2 cores)
    python -m experiments.kd_paper_objective.run --smoke      # tiny sizes, seconds

Trains the separated sweep once (``seeds`` single models; ``seeds // 8`` disjoint 8-member
teacher ensembles, one student each), then distils every cell from the same teachers, with
the same student inits, so the cells are paired:

- ``logits``: the preset's centred logit matching (weight 0.2), the reference;
- ``paper_T_log2k``: the paper's truncated term at T = log^2 k, weight 1 (the old default);
- ``paper_r{r}_ce{c}``: the paper's truncated term, softening reading, at T = F_y log k
  (F_y: the teachers' mean true-class score on their training set), weight w = r k T with
  r = w / (kT) in {0.05, 0.1, 0.2}, and the student's own cross-entropy at weight c in {1, 0}.

One JSON line per cell goes to ``results/cells.jsonl`` (or ``--out``) as soon as it finishes.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

import multiview as mv
from multiview.experiments.distill import run_kd
from multiview.sim.config import config_to_dict, theorems_preset
from multiview.sim.metrics import ensemble_scores
from multiview.sim.single import model_scores
from multiview.stats import group_seeds, paired_interval

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "cells.jsonl"
RATIOS = (0.05, 0.1, 0.2)
BOOTSTRAP = 10_000


def study_config(smoke: bool, seeds: int, teacher_size: int = 8):
    """The sweep's config and the base experiment settings (the preset's objective, student
    steps; ``seeds // teacher_size`` disjoint teachers, one student each)."""
    if smoke:
        cfg = mv.preset("separated", k=4, d=64, n_train=40, n_test=40, steps=10, chunks=1, seeds=4)
        th = mv.theorems_config(
            kd_loss="logits", kd_weight=0.2, student_steps=5, teacher_size=2, kd_students=2
        )
        return cfg, th
    cfg = mv.preset("separated", seeds=seeds)
    th = theorems_preset("separated", teacher_size=teacher_size, kd_students=seeds // teacher_size)
    return cfg, th


def teacher_true_score(cfg, sim, scores, th) -> float:
    """F_y: the teacher ensembles' mean true-class score on their training set."""
    groups = group_seeds(cfg.seeds, min(th.teacher_size, cfg.seeds), th.kd_students)
    g = ensemble_scores(scores["train"], groups)  # (G, n, k)
    y = np.asarray(sim.data.train.y)
    return float(np.take_along_axis(g, y[None, :, None], axis=2).mean())


def cells(th, k: int, T: float) -> list[tuple[str, object]]:
    """The cells, most informative first: name and experiment settings."""
    paper = {}
    for r in RATIOS:
        for ce in (1.0, 0.0):
            paper[(r, ce)] = replace(
                th,
                kd_loss="paper",
                kd_reading="softening",
                kd_tau=1.0 / T,
                kd_weight=r * k * T,
                kd_ce_weight=ce,
            )
    order = [(0.1, 1.0), (0.1, 0.0), None, (0.05, 1.0), (0.2, 1.0), (0.05, 0.0), (0.2, 0.0)]
    out = [
        ("logits", th) if key is None else (f"paper_r{key[0]:g}_ce{key[1]:g}", paper[key])
        for key in order
    ]
    out.append(("paper_T_log2k", replace(th, kd_loss="paper", kd_weight=1.0, kd_tau=0.0)))
    return out


def recovered(student, teacher, single, rng) -> dict[str, float]:
    """Fraction of the ensemble's single-view gain a student recovers, paired per teacher
    group: mean(student - single) / mean(teacher - single), with a 95% bootstrap interval
    over students, and the paired interval of student - single."""
    s, t, b = (np.asarray(v, dtype=float) for v in (student, teacher, single))
    frac = float(np.mean(s - b) / np.mean(t - b))
    n = s.size
    idx = rng.integers(0, n, size=(BOOTSTRAP, n))
    num, den = (s - b)[idx].mean(axis=1), (t - b)[idx].mean(axis=1)
    boot = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    low, high = np.nanpercentile(boot, [2.5, 97.5]) if n > 1 else (np.nan, np.nan)
    return {
        "recovered_fraction": frac,
        "recovered_low": float(low),
        "recovered_high": float(high),
        "recovered_per_student": ((s - b) / (t - b)).tolist(),
        "student_minus_single": paired_interval(s, b),
    }


def run_cell(name, cfg, th, sim, scores, singles_by_group, rng) -> dict:
    started = time.time()
    res = run_kd(cfg, th, sim, scores, oracle=False)
    wall = time.time() - started
    st, teacher = res["student"], res["teacher"]
    k = cfg.data.k
    row = {
        "cell": name,
        "objective": th.objective(k),
        "kd_tau": th.kd_tau,
        "w_over_kT": th.kd_weight / (k * th.objective_temperature(k))
        if th.objective_temperature(k)
        else None,
        "students": int(st["test_acc_single"].size),
        "student_single": st["test_acc_single"].tolist(),
        "student_multi": st["test_acc_multi"].tolist(),
        "student_train": st["train_acc"].tolist(),
        "student_all_views": st["frac_classes_all_views"].tolist(),
        "student_no_view": st["frac_classes_no_view"].tolist(),
        "teacher_single": teacher["test_acc_single"].tolist(),
        "teacher_multi": teacher["test_acc_multi"].tolist(),
        "single_single_by_group": singles_by_group.tolist(),
        "wall_s": round(wall, 1),
    }
    row.update(recovered(st["test_acc_single"], teacher["test_acc_single"], singles_by_group, rng))
    return row


def table(rows: list[dict]) -> str:
    """The cells as a markdown table (means over students; recovered with its interval)."""
    lines = [
        "| cell | T | w | w/(kT) | CE | student single | multi | train | all views "
        "| recovered [95%] | student - single [95%] | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, d = r["objective"], r["student_minus_single"]
        T = "-" if o["temperature"] is None else f"{o['temperature']:.1f}"
        ratio = "-" if r["w_over_kT"] is None else f"{r['w_over_kT']:.3g}"
        lines.append(
            f"| {r['cell']} | {T} | {o['weight']:.3g} | {ratio} | {o['ce_weight']:g} "
            f"| {np.mean(r['student_single']):.3f} | {np.mean(r['student_multi']):.3f} "
            f"| {np.mean(r['student_train']):.3f} | {np.mean(r['student_all_views']):.3f} "
            f"| {r['recovered_fraction']:.2f} [{r['recovered_low']:.2f}, "
            f"{r['recovered_high']:.2f}] | {d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}] "
            f"| {r['wall_s']:.0f} |"
        )
    return "\n".join(lines)


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=32, help="single models of the sweep")
    p.add_argument("--teacher-size", type=int, default=8, help="members of each teacher")
    p.add_argument("--out", type=Path, default=RESULTS, help="JSON lines, one per cell")
    p.add_argument("--sweep-dir", type=Path, default=None, help="keep the sweep's blocks here")
    p.add_argument("--only", nargs="*", default=None, help="run only these cells")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (a test)")
    p.add_argument("--table", action="store_true", help="print --out as a table, run nothing")
    a = p.parse_args(argv)
    if a.table:
        rows = [json.loads(line) for line in a.out.read_text().splitlines() if line.strip()]
        print(table(rows))
        return rows
    cfg, th = study_config(a.smoke, a.seeds, a.teacher_size)
    started = time.time()
    sim = mv.run_simulation(cfg, out=a.sweep_dir, seed_block=16, resume=a.sweep_dir is not None)
    sweep_wall = time.time() - started
    scores = model_scores(cfg, sim.data, sim.weights)
    groups = group_seeds(cfg.seeds, th.teacher_size, th.kd_students)
    singles_by_group = sim.per_seed["test_acc_single"][groups].mean(axis=1)
    k = cfg.data.k
    F_y = teacher_true_score(cfg, sim, scores, th)
    T = F_y * math.log(k)
    common = {
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "preset": "separated",
        "smoke": a.smoke,
        "seeds": cfg.seeds,
        "teacher_size": th.teacher_size,
        "teacher_F_y": F_y,
        "T_paper_scale": T,
        "log2k": math.log(k) ** 2,
        "sweep_wall_s": round(sweep_wall, 1),
        "single_train": float(np.mean(sim.per_seed["train_acc"])),
        "single_multi": float(np.mean(sim.per_seed["test_acc_multi"])),
        "single_single": float(np.mean(sim.per_seed["test_acc_single"])),
        "single_all_views": float(np.mean(sim.per_seed["frac_classes_all_views"])),
        "config": config_to_dict(cfg),
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for name, cell_th in cells(th, k, T):
        if a.only and name not in a.only:
            continue
        row = {**common, **run_cell(name, cfg, cell_th, sim, scores, singles_by_group, rng)}
        row["settings"] = asdict(cell_th)
        rows.append(row)
        with a.out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(
            f"{name}: student single {np.mean(row['student_single']):.3f} multi "
            f"{np.mean(row['student_multi']):.3f} recovered {row['recovered_fraction']:.2f} "
            f"[{row['recovered_low']:.2f}, {row['recovered_high']:.2f}] ({row['wall_s']} s)",
            flush=True,
        )
    return rows


if __name__ == "__main__":
    main()
