"""Markdown and text tables of predictions (one row per prediction, with its verdict)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from multiview.stats import STD_CONVENTION, format_mean_std

__all__ = ["fmt_measured", "md_cell", "predictions_markdown", "verdict_of", "verdict_table"]


def fmt_measured(p: dict[str, Any]) -> str:
    """A prediction's measured mean ± std in the one number format (``n/a`` if missing)."""
    m = p.get("measured")
    return format_mean_std(m if isinstance(m, (int, float)) else None, p.get("measured_std"))


def md_cell(value: Any) -> str:
    """Text made safe for one GitHub-flavoured Markdown table cell: ``|`` escaped (a bare
    one splits the cell and GitHub drops the extra cells) and line breaks joined."""
    return " ".join(str(value).split("\n")).replace("|", "\\|")


def predictions_markdown(predictions: list[dict[str, Any]]) -> str:
    """A Markdown table: id, claim, measured mean ± std, expectation, verdict."""
    lines = [
        "| id | claim | measured (mean ± std over seeds) | expected | verdict |",
        "|---|---|---|---|---|",
    ]
    for p in predictions:
        word = verdict_of(p)
        verdict = word if word == "holds" else f"**{md_cell(word)}**"
        lines.append(
            f"| `{md_cell(p['id'])}` | {md_cell(p['claim'])} | {fmt_measured(p)} "
            f"| {md_cell(p['expected'])} | {verdict} |"
        )
    lines.append(f"\n{STD_CONVENTION}.")
    return "\n".join(lines) + "\n"


def verdict_of(p: dict[str, Any]) -> str:
    """A prediction's verdict word: its ``verdict`` when it has one, else ``holds`` /
    ``fails`` from ``holds`` (``n/a`` when neither is known)."""
    if isinstance(p.get("verdict"), str):
        return p["verdict"]
    return {True: "holds", False: "fails"}.get(p.get("holds"), "n/a")


def verdict_table(
    predictions: list[dict[str, Any]], title: str = "Predictions", verbose: bool = False
) -> Table:
    """The terminal's verdict table: one row per prediction (id, measured, expected, verdict);
    ``verbose`` adds the claims, which the report always shows. A long cell wraps inside its
    column, never cut, so a narrow terminal loses no text."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("id", overflow="fold")
    if verbose:
        table.add_column("claim", ratio=2, min_width=20)
    table.add_column("measured", no_wrap=True, justify="right")
    table.add_column("expected", ratio=1, min_width=12, overflow="fold")
    table.add_column("verdict", no_wrap=True)
    for p in predictions:
        word = verdict_of(p)
        colour = {"holds": "green", "fails": "red"}.get(word, "yellow")
        claim = [escape(str(p.get("claim", "")))] if verbose else []
        table.add_row(
            escape(str(p.get("id", ""))),
            *claim,
            fmt_measured(p),
            escape(str(p.get("expected", ""))),
            f"[{colour}]{escape(word)}[/]",
        )
    return table
