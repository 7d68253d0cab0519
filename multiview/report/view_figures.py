"""Figures of what the view verdicts rest on: the Lambda of learned and lost views.

Separate from :mod:`multiview.report.plots` (the trajectories and accuracy figures) because it
reads one thing, the learned-view cut, and shows where every model's views fall around it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_lambda_histograms"]


def plot_lambda_histograms(groups: dict[str, np.ndarray], cut: float, title=None):
    """Histograms of final Lambda, one panel per group of models, learned vs lost views.

    Arguments:
        groups: ``{label: lam (n, k, V)}`` final Lambda of single models, students, ...
        cut: the learned-view cut (a view is learned when its Lambda >= cut); drawn, with
            the x0.5 and x2 cuts of the sensitivity check dotted.

    Every panel shares one log-spaced x axis, so heights compare across groups.
    """
    values = [np.asarray(v, dtype=float).ravel() for v in groups.values()]
    pos = np.concatenate([v[v > 0] for v in values]) if values else np.array([cut])
    lo = max(min(pos.min(initial=cut), cut / 4), 1e-6)
    hi = max(pos.max(initial=cut), cut * 4)
    bins = np.geomspace(lo, hi, 40)
    n = len(groups)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False, sharex=True)
    for ax, (label, lam) in zip(axes[0], groups.items(), strict=True):
        lam = np.clip(np.asarray(lam, dtype=float).ravel(), lo, None)
        learned = lam >= cut
        ax.hist(lam[learned], bins=bins, color="#2ca02c", alpha=0.8, label="learned")
        ax.hist(lam[~learned], bins=bins, color="#7f7f7f", alpha=0.8, label="lost")
        for factor, style in ((1.0, "-"), (0.5, ":"), (2.0, ":")):
            ax.axvline(cut * factor, color="black", linestyle=style, linewidth=1)
        ax.set_xscale("log")
        share = learned.mean() if lam.size else float("nan")
        ax.set_title(f"{label}: {share:.0%} of views learned", fontsize=10)
        ax.set_xlabel("final Lambda (log)")
    axes[0][0].set_ylabel("(model, class, view) count")
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.suptitle(title or f"Learned-view cut Lambda >= {cut:.3g} (dotted: x0.5, x2)", fontsize=11)
    fig.tight_layout()
    return fig
