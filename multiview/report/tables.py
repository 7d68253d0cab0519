"""Markdown and text tables of predictions (one row per prediction, with its verdict)."""

from __future__ import annotations

from typing import Any

import numpy as np

from multiview.stats import STD_CONVENTION

__all__ = ["fmt_measured", "predictions_markdown"]


def fmt_measured(p: dict[str, Any]) -> str:
    m, s = p["measured"], p.get("measured_std")
    if m is None or (isinstance(m, float) and not np.isfinite(m)):
        return "n/a"
    return f"{m:.3f} ± {s:.3f}" if s is not None and np.isfinite(s) else f"{m:.3f}"


def predictions_markdown(predictions: list[dict[str, Any]]) -> str:
    """A Markdown table: id, claim, measured mean ± std, expectation, verdict."""
    lines = [
        "| id | claim | measured (mean ± std over seeds) | expected | verdict |",
        "|---|---|---|---|---|",
    ]
    for p in predictions:
        verdict = "holds" if p["holds"] else "**fails**"
        lines.append(
            f"| `{p['id']}` | {p['claim']} | {fmt_measured(p)} | {p['expected']} | {verdict} |"
        )
    lines.append(f"\n{STD_CONVENTION}.")
    return "\n".join(lines) + "\n"
