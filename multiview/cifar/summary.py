"""How a CIFAR run's per-run accuracies become its summary: the methods, how each is paired
with its baseline, the paired differences (points, 95% t-intervals), the contrasts between
teacher modes and against the as-long control, and each student's recovered share of the
ensemble's gain (a ratio with its Fieller interval).

``runs`` maps a method to its per-run test accuracies (fractions); ``groups`` are the disjoint
groups of K single models the ensembles (and the trained averages) are built from
(:func:`multiview.stats.group_seeds`).
"""

from __future__ import annotations

import numpy as np

from multiview.stats import mean_std_dict, paired_interval, ratio_interval

__all__ = [
    "METHODS",
    "PAIRING",
    "CONTRASTS",
    "STUDENTS",
    "paired_differences",
    "contrasts",
    "recovered_shares",
    "versus_ensemble",
    "runs_summary",
]

METHODS = (
    "single",
    "ensemble",
    "kd",
    "kd_precomputed",
    "self_distill",
    "self_distill_precomputed",
    "single_long",
    "train_average",
    "rf_single",
    "rf_ensemble",
    "rf_kd",
    "rf_train_average",
    "rf_concat_head",
    "rf_fresh_single",
)

_SEED = "(same initialization, data order and augmentation); n = S"

#: How each method is paired with its baseline for the paired difference (``differences``).
PAIRING = {
    "ensemble": "ensemble of group g vs the mean accuracy of its K members; n = S // K groups",
    "kd": f"student i vs single model i {_SEED}",
    "kd_precomputed": f"student i taught by precomputed logits vs single model i {_SEED}",
    "self_distill": f"student i, taught by single model i - 1, vs single model i {_SEED}",
    "self_distill_precomputed": "student i, taught by single model i - 1's precomputed logits, "
    f"vs single model i {_SEED}",
    "single_long": f"single model i trained as long as the students vs single model i {_SEED}",
    "train_average": "run j vs the mean accuracy of single group j; n = min(R, S // K)",
    "rf_ensemble": "RF ensemble of group g vs the mean of its K RF members; n = S // K",
    "rf_kd": "RF student i (fresh features) vs a cross-entropy RF model on the same fresh "
    "features (rf_fresh_single i), same data order; n = S",
    "rf_train_average": "run j vs the mean of RF single group j; n = min(R, S // K)",
    "rf_concat_head": "one head on run j's K concatenated feature sets, trained like an RF "
    "single (its data order) vs the mean of RF single group j; n = min(R, S // K)",
}

#: Methods paired with the single model of the same index (the rest: with groups of K).
_BY_SEED = ("kd", "kd_precomputed", "self_distill", "self_distill_precomputed", "single_long")

#: The distilled students (CNN), whose gains are read as shares of the ensemble's.
STUDENTS = ("kd", "kd_precomputed", "self_distill", "self_distill_precomputed")

#: Seed-paired contrasts between two methods trained from the same initialization and data
#: order: the teacher mode (consistent - precomputed) and distilled - as long without a
#: teacher (the patient student's control).
CONTRASTS = (
    ("kd", "kd_precomputed"),
    ("self_distill", "self_distill_precomputed"),
    ("kd", "single_long"),
    ("kd_precomputed", "single_long"),
    ("self_distill", "single_long"),
    ("self_distill_precomputed", "single_long"),
)


def _points(runs: dict, name: str) -> np.ndarray:
    return 100 * np.asarray(runs[name], dtype=float)


def paired_differences(runs: dict[str, list[float]], groups: list[list[int]]) -> dict:
    """Paired differences in percentage points (:func:`paired_interval`) of every method to
    its single model, paired as :data:`PAIRING` says (``rf_kd`` against ``rf_fresh_single``,
    cross-entropy heads on the students' own features, when the runs have it)."""
    out = {}
    for name, pairing in PAIRING.items():
        prefix = "rf_" if name.startswith("rf_") else ""
        if name not in runs:
            continue
        single = np.asarray(runs[prefix + "single"], dtype=float)
        vals = _points(runs, name)
        if name == "rf_kd" and "rf_fresh_single" in runs:
            base = _points(runs, "rf_fresh_single")
        elif name in (*_BY_SEED, "rf_kd"):
            base = 100 * single[: len(vals)]
            if name == "rf_kd":
                pairing = "RF student i (fresh features) vs RF single i (other features); n = S"
        else:
            group_means = np.array([single[g].mean() for g in groups])
            vals = vals[: len(group_means)]
            base = 100 * group_means[: len(vals)]
        out[name] = {**paired_interval(vals, base), "pairing": pairing}
    return out


def contrasts(runs: dict[str, list[float]]) -> dict:
    """The :data:`CONTRASTS` the runs hold, ``"a - b"`` -> paired difference in points (run i
    of ``a`` vs run i of ``b``: same initialization and data order, another teacher)."""
    return {
        f"{a} - {b}": paired_interval(_points(runs, a), _points(runs, b))
        for a, b in CONTRASTS
        if a in runs and b in runs
    }


def recovered_shares(runs: dict[str, list[float]], groups: list[list[int]]) -> dict:
    """Each student's share (%) of the ensemble's gain: the mean of its per-seed differences to
    single model i over the mean of the per-group ensemble differences, with the 95% Fieller
    interval of that ratio (:func:`ratio_interval`). With ``single_long`` in the runs, also
    ``"<student> over single_long"``: the gain over the as-long control, the part that
    distillation and not the longer training brought."""
    if "ensemble" not in runs or "single" not in runs:
        return {}
    single = _points(runs, "single")
    ens = _points(runs, "ensemble")
    ens_gain = ens - np.array([single[g].mean() for g in groups])[: len(ens)]
    out = {}
    for m in (*STUDENTS, "single_long"):
        if m not in runs:
            continue
        vals = _points(runs, m)
        bases = [("", single[: len(vals)])]
        if "single_long" in runs and m != "single_long":
            bases.append((" over single_long", _points(runs, "single_long")))
        for suffix, base in bases:
            r = ratio_interval(vals - base, ens_gain)
            out[m + suffix] = {
                k: (100 * v if k in ("mean", "low", "high") else v) for k, v in r.items()
            }
    return out


#: Trained averages and the ensembles they are compared with (the paper's contrast: for deep
#: nets training the average falls short of the ensemble, for random features it beats it).
AVERAGE_VS_ENSEMBLE = {
    "train_average": "ensemble",
    "rf_train_average": "rf_ensemble",
    "rf_concat_head": "rf_ensemble",
}


def versus_ensemble(runs: dict[str, list[float]]) -> dict:
    """Each trained average's paired difference (points) to the ensemble: run j vs ensemble j,
    n = the smaller count. They share no model, so the pairing removes no variance: the
    interval is that of two independent samples of equal size."""
    out = {}
    for avg, ens in AVERAGE_VS_ENSEMBLE.items():
        if runs.get(avg) and runs.get(ens):
            n = min(len(runs[avg]), len(runs[ens]))
            a, e = (100 * np.asarray(runs[m][:n], dtype=float) for m in (avg, ens))
            out[avg] = {**paired_interval(a, e), "pairing": f"run j vs {ens} j; n = {n}"}
    return out


def runs_summary(runs: dict[str, list[float]], groups: list[list[int]]) -> dict:
    """``methods`` (mean, std), ``runs``, paired ``differences``, ``contrasts``,
    ``recovered_share`` and ``versus_ensemble`` of the methods ``runs`` holds, a finished
    run's or a cut one's (``OUT/checkpoints/runs.json``): what
    :func:`multiview.report.cifar.format_table` reads."""
    return {
        "methods": {m: mean_std_dict(runs[m]) for m in METHODS if m in runs},
        "runs": runs,
        "differences": paired_differences(runs, groups),
        "contrasts": contrasts(runs),
        "recovered_share": recovered_shares(runs, groups),
        "versus_ensemble": versus_ensemble(runs),
    }
