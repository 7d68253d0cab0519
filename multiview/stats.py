"""Summary statistics over seeds (or runs): the one mean ± std of the project.

Convention, used by every table and summary (simulator and CIFAR alike): the mean and the
*population* standard deviation (``ddof = 0``) of the finite values; NaN marks a seed where
a metric is undefined and is left out. With one value the std is 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STD_CONVENTION", "mean_std", "mean_std_dict"]

#: How "± std" is computed, for table captions.
STD_CONVENTION = "mean ± population std (ddof 0) over seeds, NaN excluded"


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
