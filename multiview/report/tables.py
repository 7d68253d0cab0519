"""Markdown and text tables of predictions (one row per prediction, with its verdict)."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich import box
from rich.table import Table

from multiview.stats import STD_CONVENTION

__all__ = ["fmt_measured", "predictions_markdown", "verdict_table"]


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


def verdict_table(
    predictions: list[dict[str, Any]], title: str = "Predictions", verbose: bool = False
) -> Table:
    """The terminal's verdict table: one line per prediction (id, measured, expected, verdict)
    that fits an 80-column terminal; ``verbose`` adds the claims (wrapped), which the report
    always shows. A long expectation is cut with an ellipsis rather than wrapped."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("id", no_wrap=True)
    if verbose:
        table.add_column("claim", ratio=1, min_width=20)
    table.add_column("measured", no_wrap=True, justify="right")
    table.add_column("expected", no_wrap=True, overflow="ellipsis", max_width=26)
    table.add_column("verdict", no_wrap=True)
    for p in predictions:
        verdict = "[green]holds[/]" if p["holds"] else "[red]fails[/]"
        claim = [p["claim"]] if verbose else []
        table.add_row(p["id"], *claim, fmt_measured(p), p["expected"], verdict)
    return table
