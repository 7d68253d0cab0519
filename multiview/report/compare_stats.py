"""The numbers of a comparison of runs: which seeds two runs share, each metric's mean with
its interval and n, each difference to the reference run with its 95% interval, and the
comparison figure. Read from the run folders' files only (see :mod:`.run_folder`).

Two runs *share seeds* when they draw the same data set (equal ``data_seed`` and data
fields) and the same network from the same initialisation stream (equal model fields and
``init_seed``): seed ``s`` of one and seed ``s`` of the other then start from the same
weights on the same data (training may differ: steps, learning rate), so their
differences are paired (and when the configs differ in ``seeds`` only, the common seeds
are the same models, bit for bit).
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from multiview.report.run_folder import flatten
from multiview.stats import mean_std, paired_interval, t_quantile_975, welch_interval

__all__ = ["metric_names", "metric_stats", "metric_delta", "seed_sharing", "comparison_figure"]


def _seeds(run: dict[str, Any]) -> int:
    s = run["config"].get("seeds")
    return int(s) if isinstance(s, int) else 0


def seed_sharing(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """How runs ``a`` and ``b`` (:func:`~.run_folder.load_run` dicts) share seeds:
    ``{"n": seeds 0..n-1 in common, "same_models": configs equal but for seeds}``, or None
    when they do not share seeds (another data set, network or initialisation stream)."""
    ca, cb = a["config"], b["config"]
    keys = ("data_seed", "init_seed", "data", "model")
    if not all(k in ca and k in cb for k in keys) or any(ca[k] != cb[k] for k in keys):
        return None
    n = min(_seeds(a), _seeds(b))
    if n == 0:
        return None
    fa, fb = flatten(ca), flatten(cb)
    same = {k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k)} <= {"seeds"}
    return {"n": n, "same_models": same}


def metric_names(runs: list[dict[str, Any]]) -> list[str]:
    """Every scalar metric of any run (no ``*_std``), then each method's mean, dotted."""
    names: dict[str, None] = {}
    for run in runs:
        for k in run["summary"].get("metrics") or {}:
            if not str(k).endswith("_std"):
                names[k] = None
        for k in flatten(run["summary"].get("methods") or {}):
            if k.endswith(".mean"):
                names[f"methods.{k[:-5]}"] = None
    return list(names)


def metric_stats(run: dict[str, Any], name: str) -> dict[str, Any]:
    """``{"mean", "std", "n", "values"}`` of one metric of one run: from the per-seed values
    when the folder has them (``values``, ``(S,)``), else from the summary's mean ± std with
    n the run's seeds (``values`` None)."""
    values = run.get("per_seed", {}).get(name)
    if values is not None:
        finite = np.asarray(values, float)
        mean, std = mean_std(finite)
        return {"mean": mean, "std": std, "n": int(np.isfinite(finite).sum()), "values": finite}
    s = run["summary"]
    if name.startswith("methods."):
        stat = flatten(s.get("methods") or {})
        mean, std = stat.get(name[8:] + ".mean"), stat.get(name[8:] + ".std")
    else:
        mean, std = (s.get("metrics") or {}).get(name), (s.get("metrics") or {}).get(name + "_std")
    ok = isinstance(mean, (int, float)) and not isinstance(mean, bool)
    return {
        "mean": float(mean) if ok else float("nan"),
        "std": float(std) if isinstance(std, (int, float)) else float("nan"),
        "n": _seeds(run) if ok else 0,
        "values": None,
    }


def metric_delta(a: dict[str, Any], b: dict[str, Any], name: str) -> dict[str, Any]:
    """``b - a`` of one metric: ``{"mean", "low", "high", "n", "paired"}``. Paired over the
    seeds the runs share when both have per-seed values (:func:`seed_sharing`), else
    Welch's interval from each run's mean, std and n."""
    sa, sb = metric_stats(a, name), metric_stats(b, name)
    shared = seed_sharing(a, b)
    if shared and sa["values"] is not None and sb["values"] is not None:
        n = shared["n"]
        return {**paired_interval(sb["values"][:n], sa["values"][:n]), "paired": True}
    out = welch_interval(sa["mean"], sa["std"], sa["n"], sb["mean"], sb["std"], sb["n"])
    return {**out, "paired": False}


def comparison_figure(runs: list[dict[str, Any]], names: list[str], letters: list[str]) -> bytes:
    """PNG bytes: one panel per metric, each run's mean with its 95% interval of the mean
    (Student t over its seeds; the std alone when n < 2)."""
    names = [n for n in names if any(np.isfinite(metric_stats(r, n)["mean"]) for r in runs)][:9]
    if not names:
        names = ["(no metric)"]
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        for i, run in enumerate(runs):
            st = metric_stats(run, name)
            half = np.nan_to_num(_mean_interval(st["std"], st["n"]))
            ax.errorbar([i], [st["mean"]], yerr=[[half], [half]], fmt="o", capsize=4)
        ax.set_xticks(range(len(runs)), letters)
        ax.set_xlim(-0.6, len(runs) - 0.4)
        ax.set_title(name, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    fig.suptitle("Each run's mean and 95% interval of the mean", fontsize=11)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _mean_interval(std: float, n: int) -> float:
    """Half width of the 95% t-interval of a mean, from a population std over ``n`` values
    (the std itself when ``n < 2``, NaN if it is not finite)."""
    if n < 2 or not np.isfinite(std):
        return float(std)
    return float(t_quantile_975(n - 1) * std * np.sqrt(n / (n - 1)) / np.sqrt(n))
