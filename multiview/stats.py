"""Summary statistics over seeds (or runs): the one mean ± std of the project, the one
accuracy and the one grouping of seeds into ensembles.

Convention, used by every table and summary (simulator and CIFAR alike): the mean and the
*population* standard deviation (``ddof = 0``) of the finite values; NaN marks a seed where
a metric is undefined and is left out. With one value the std is 0.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "accuracy",
    "group_seeds",
    "STD_CONVENTION",
    "INTERVAL_CONVENTION",
    "mean_std",
    "mean_std_dict",
    "format_mean_std",
    "t_quantile_975",
    "paired_interval",
    "mean_interval",
    "difference_interval",
    "bootstrap_interval",
    "welch_interval",
    "ratio_interval",
    "rounded_interval",
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


def accuracy(scores, labels, xp=np):
    """The fraction of rows of ``scores`` ``(..., n, k)`` whose argmax is the label
    (``labels`` ``(n,)``): shape ``(...)``, e.g. ``(S,)`` per seed from ``(S, n, k)``.

    ``xp`` is the array module: NumPy (a float64 result) or ``jax.numpy`` (float32, and it
    works on traced arrays inside ``jax.jit``).
    """
    pred = xp.argmax(scores, axis=-1)
    labels = xp.asarray(labels)  # broadcast by hand: JAX may be set to refuse rank promotion
    return xp.mean(pred == labels.reshape((1,) * (pred.ndim - 1) + labels.shape), axis=-1)


def group_seeds(n_seeds: int, K: int, max_groups: int | None = None) -> np.ndarray:
    """``(G, K)`` disjoint seed (or model) indices for ensembles of ``K``: group g holds
    seeds ``gK .. gK + K - 1``; ``G = n_seeds // K``, at most ``max_groups``."""
    G = n_seeds // K
    if max_groups is not None:
        G = min(G, max_groups)
    return np.arange(G * K).reshape(G, K)


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


def format_mean_std(mean, std=None, digits: int = 3) -> str:
    """The one text format of a measurement: ``"0.857 ± 0.000"``, both numbers with
    ``digits`` decimals (a std under the last digit reads 0.000, never switches notation);
    the mean alone when the std is missing or not finite; ``"n/a"`` for a missing mean."""
    if mean is None or not np.isfinite(float(mean)):
        return "n/a"
    text = f"{float(mean):.{digits}f}"
    if std is not None and np.isfinite(float(std)):
        text += f" ± {float(std):.{digits}f}"
    return text


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


def mean_interval(values) -> dict[str, float]:
    """The mean of independent units and its 95% Student-t interval.

    ``values`` are one number per independent unit (seed, disjoint ensemble, student, pair);
    non-finite values are left out. Returns ``{"mean", "low", "high", "half_width", "n"}``;
    with fewer than two units the interval is undefined (NaN), never a zero width.
    """
    v = np.asarray(values, dtype=float).ravel()
    return paired_interval(v, np.zeros_like(v))


def bootstrap_interval(statistic, *units, n_boot: int = 2000, seed: int = 0) -> dict[str, float]:
    """A percentile bootstrap 95% interval of ``statistic(*units)`` over independent units.

    Arguments:
        statistic: a function of arrays ``(n, ...)`` (one row per unit) returning a float,
            e.g. a ratio of means.
        units: arrays with the same first axis ``n``; a resample draws rows of all of them
            together, so paired measurements stay paired.
        n_boot: resamples; seed: the resampling seed (fixed, so reports are reproducible).

    Returns:
        ``{"mean": statistic of the data, "low", "high", "n"}``; with fewer than two units the
        interval is NaN. Resamples whose statistic is not finite (e.g. a zero denominator) are
        left out.
    """
    arrays = [np.asarray(u, dtype=float) for u in units]
    n = int(arrays[0].shape[0])
    point = float(statistic(*arrays)) if n else float("nan")
    nan = float("nan")
    if n < 2:
        return {"mean": point, "low": nan, "high": nan, "n": n}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = np.array([statistic(*(a[i] for a in arrays)) for i in idx], dtype=float)
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return {"mean": point, "low": nan, "high": nan, "n": n}
    low, high = np.percentile(stats, [2.5, 97.5])
    return {"mean": point, "low": float(low), "high": float(high), "n": n}


def difference_interval(values, baseline) -> dict[str, float]:
    """``mean(values) - mean(baseline)`` of two independent samples and its 95% Welch
    interval (unequal variances, Welch-Satterthwaite degrees of freedom).

    ``n`` is the smaller sample's size (the units that limit the interval). With fewer than
    two finite values on either side the interval is NaN.
    """
    a = np.asarray(values, dtype=float).ravel()
    b = np.asarray(baseline, dtype=float).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    (ma, sa), (mb, sb) = mean_std(a), mean_std(b)
    est = welch_interval(mb, sb, b.size, ma, sa, a.size)
    return {**est, "n": int(min(a.size, b.size))}


def welch_interval(mean_a, std_a, n_a, mean_b, std_b, n_b) -> dict[str, float]:
    """The unpaired difference ``b - a`` of two summaries: mean, 95% Welch t-interval, n.

    ``std_a`` / ``std_b`` are population stds (ddof 0, :func:`mean_std`'s), turned into
    sample stds here; the degrees of freedom are Welch-Satterthwaite's, rounded down. Returns
    ``{"mean", "low", "high", "half_width", "n"}`` with ``n = n_a + n_b``; the interval is
    NaN when either side has fewer than two values or a value is not finite.
    """
    nan = float("nan")
    vals = [float(v) if v is not None else nan for v in (mean_a, std_a, mean_b, std_b)]
    ma, sa, mb, sb = vals
    n_a, n_b = int(n_a or 0), int(n_b or 0)
    mean = mb - ma
    out = {"mean": mean, "low": nan, "high": nan, "half_width": nan, "n": n_a + n_b}
    if n_a < 2 or n_b < 2 or not np.all(np.isfinite(vals)):
        return out
    va = sa**2 * n_a / (n_a - 1) / n_a  # sample variance / n
    vb = sb**2 * n_b / (n_b - 1) / n_b
    se = float(np.sqrt(va + vb))
    if se == 0:
        return {**out, "low": mean, "high": mean, "half_width": 0.0}
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    half = t_quantile_975(max(1, int(df))) * se
    return {**out, "low": mean - half, "high": mean + half, "half_width": half}


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


def rounded_interval(interval: dict, digits: int = 4) -> dict:
    """An interval of this module (``paired_interval``, ``mean_interval``, ...) with its
    floats rounded to ``digits`` and an undefined bound (NaN, or the infinite bound of
    ``ratio_interval``) as ``None``, so a results file of them is strict JSON; counts
    (``n``) are kept as they are."""
    return {
        k: (round(v, digits) if np.isfinite(v) else None) if isinstance(v, float) else v
        for k, v in interval.items()
    }
