"""Summary statistics over seeds (or runs): the one mean ± std of the project.

Convention, used by every table and summary (simulator and CIFAR alike): the mean and the
*population* standard deviation (``ddof = 0``) of the finite values; NaN marks a seed where
a metric is undefined and is left out. With one value the std is 0.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "STD_CONVENTION",
    "INTERVAL_CONVENTION",
    "mean_std",
    "mean_std_dict",
    "t_quantile_975",
    "paired_interval",
    "ratio_interval",
]

#: How "± std" is computed, for table captions.
STD_CONVENTION = "mean ± population std (ddof 0) over seeds, NaN excluded"

#: How a paired difference's interval is computed, for table captions.
INTERVAL_CONVENTION = (
    "paired difference: mean of the per-pair differences and its 95% Student-t interval "
    "(mean ± t_0.975,n-1 · sample std / sqrt(n)), n = number of pairs"
)

# Two-sided 95% Student-t quantiles t_{0.975, df} for df = 1..30 (standard tables).
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip
_Z975 = 1.959963984540054


def mean_std(values) -> tuple[float, float]:
    """Mean and population standard deviation (ddof 0) of the finite values.

    Returns ``(nan, nan)`` when no value is finite.
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std())


def mean_std_dict(values) -> dict[str, float]:
    """``{"mean", "std"}`` of :func:`mean_std`, the shape used in summaries."""
    mean, std = mean_std(values)
    return {"mean": mean, "std": std}


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df >= 1`` degrees of freedom.

    A table for ``df <= 30``; above, the Cornish-Fisher expansion around the normal quantile
    (error < 1e-4 there), tending to 1.95996 as ``df`` grows.
    """
    if df < 1:
        raise ValueError(f"df must be >= 1; got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return float(z + g1 / df + g2 / df**2 + g3 / df**3)


def paired_interval(values, baseline) -> dict[str, float]:
    """The paired difference ``values - baseline``: mean, 95% t-interval, n.

    ``values[i]`` and ``baseline[i]`` are one pair (same seed, same data order); pairs with a
    non-finite member are left out. Returns ``{"mean", "low", "high", "half_width", "n"}``;
    with one pair the interval is undefined (``low``/``high``/``half_width`` NaN), with none
    everything is NaN and ``n`` is 0.
    """
    a = np.asarray(values, dtype=float).ravel()
    b = np.asarray(baseline, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths; got {a.size} and {b.size}")
    d = a - b
    d = d[np.isfinite(d)]
    n = int(d.size)
    nan = float("nan")
    if n == 0:
        return {"mean": nan, "low": nan, "high": nan, "half_width": nan, "n": 0}
    mean = float(d.mean())
    half = nan if n < 2 else float(t_quantile_975(n - 1) * d.std(ddof=1) / np.sqrt(n))
    return {"mean": mean, "low": mean - half, "high": mean + half, "half_width": half, "n": n}


def ratio_interval(numerator, denominator) -> dict[str, float]:
    """The ratio of two means, ``mean(numerator) / mean(denominator)``, with its 95% Fieller
    interval, the two samples taken as independent.

    Used for a share of a gain (e.g. the part of the ensemble's gain a distilled student
    recovers: per-seed differences over per-group differences). A ratio's interval is not
    symmetric, and when the denominator's own interval reaches 0 it is unbounded: then
    ``low``/``high`` are ``-inf``/``inf``. The t-quantile takes ``min(n) - 1`` degrees of
    freedom (conservative). Returns ``{"mean", "low", "high", "n_numerator",
    "n_denominator"}``; NaN where either sample has fewer than 2 finite values.
    """
    a = np.asarray(numerator, dtype=float).ravel()
    b = np.asarray(denominator, dtype=float).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    out = {"n_numerator": int(a.size), "n_denominator": int(b.size)}
    nan = float("nan")
    if a.size < 2 or b.size < 2 or b.mean() == 0:
        ratio = nan if a.size == 0 or b.size == 0 or b.mean() == 0 else a.mean() / b.mean()
        return {"mean": float(ratio), "low": nan, "high": nan, **out}
    ma, mb = float(a.mean()), float(b.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size  # squared standard errors
    t2 = t_quantile_975(min(a.size, b.size) - 1) ** 2
    # (ma - r mb)^2 <= t^2 (va + r^2 vb): a quadratic in r, bounded iff mb^2 > t^2 vb.
    qa, qb, qc = mb * mb - t2 * vb, -2 * ma * mb, ma * ma - t2 * va
    disc = qb * qb - 4 * qa * qc
    if qa <= 0 or disc < 0:
        return {"mean": ma / mb, "low": -float("inf"), "high": float("inf"), **out}
    root = float(np.sqrt(disc))
    lo, hi = (-qb - root) / (2 * qa), (-qb + root) / (2 * qa)
    return {"mean": ma / mb, "low": float(lo), "high": float(hi), **out}
