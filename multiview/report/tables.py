"""Markdown and terminal tables of predictions: one row per prediction, grouped by kind
(the paper's claims, controls, diagnostics), each with its 95% interval, n and verdict."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich import box
from rich.markup import escape
from rich.table import Table

__all__ = [
    "KIND_TITLES",
    "INTERVAL_NOTE",
    "md_cell",
    "fmt_number",
    "fmt_measured",
    "fmt_interval",
    "verdict_of",
    "verdict_text",
    "headline_text",
    "predictions_markdown",
    "verdict_table",
]

#: Section titles of the prediction kinds, in report order.
KIND_TITLES = {
    "paper": "The paper's predictions",
    "control": "Controls (no multi-view structure, kernel models)",
    "diagnostic": "Diagnostics (inferred checks, not claims of the paper)",
}

#: How verdicts read their intervals, for table captions.
INTERVAL_NOTE = (
    "measured: the graded quantity (a mean over its n independent units, or a ratio of "
    "means); interval: its 95% interval (Student t over the units, a paired bootstrap for "
    "a ratio, Welch for a difference of two groups). holds: the whole interval meets the "
    "bar; fails: the whole interval misses it; inconclusive: it straddles the bar (or n < 2); "
    "not converged: the models it rests on did not fit their data"
)


def md_cell(text: Any) -> str:
    """Text made safe for a Markdown table cell: ``|`` escaped, newlines as spaces."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def fmt_number(x: Any) -> str:
    """The one number format of the tables: 3 decimals, ``n/a`` for a missing value."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    return f"{x:.3f}"


def fmt_measured(p: dict[str, Any]) -> str:
    return fmt_number(p.get("measured"))


def fmt_interval(p: dict[str, Any]) -> str:
    lo, hi = (p.get("interval") or [None, None])[:2]
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return "none"
    return f"[{lo:.3f}, {hi:.3f}]"


def verdict_of(p: dict[str, Any]) -> str:
    """A prediction's verdict word: its ``verdict`` when it has one, else ``holds`` /
    ``fails`` from ``holds`` (a CIFAR table's records), ``n/a`` when neither is known."""
    if isinstance(p.get("verdict"), str):
        return p["verdict"]
    return {True: "holds", False: "fails"}.get(p.get("holds"), "n/a")


def verdict_text(p: dict[str, Any]) -> str:
    """The verdict in words, naming a distillation objective that is not the paper's."""
    verdict = verdict_of(p).replace("_", " ")
    obj = p.get("objective")
    if obj and not obj.get("paper_objective", True):
        return f"{verdict} ({obj['name']}, not the paper's objective)"
    return verdict


def headline_text(predictions: list[dict[str, Any]]) -> str:
    """``N of M paper predictions hold`` with the other verdicts counted."""
    paper = [verdict_of(p) for p in predictions if p.get("kind", "paper") == "paper"]
    counts = {v: paper.count(v) for v in ("fails", "inconclusive")}
    counts["not converged"] = paper.count("not_converged")
    held = paper.count("holds")
    rest = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return f"{held} of {len(paper)} paper predictions hold" + (f" ({rest})" if rest else "")


def _by_kind(predictions):
    for kind, title in KIND_TITLES.items():
        rows = [p for p in predictions if p.get("kind", "paper") == kind]
        if rows:
            yield title, rows


def predictions_markdown(predictions: list[dict[str, Any]]) -> str:
    """Markdown: the headline, then a table per kind (id, claim, measured, 95% interval, n,
    bar, verdict)."""
    lines = [f"**{headline_text(predictions)}.**\n"]
    for title, rows in _by_kind(predictions):
        lines += [
            f"### {title}\n",
            "| id | claim | measured | 95% interval | n | bar | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in rows:
            verdict = verdict_text(p)
            if verdict_of(p) != "holds":
                verdict = f"**{verdict}**"
            cells = [
                f"`{p.get('id', '')}`",
                p.get("claim", ""),
                fmt_measured(p),
                fmt_interval(p),
                f"{p.get('n', '')} {p.get('unit', '')}".strip(),
                p.get("expected", ""),
                verdict,
            ]
            lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
        lines.append("")
    reasons: dict[str, list[str]] = {}
    for p in predictions:
        if p.get("reason"):
            reasons.setdefault(p["reason"], []).append(f"`{p['id']}`")
    if reasons:
        lines.append("Why a row is not decided:\n")
        lines += [f"- {', '.join(ids)}: {md_cell(r)}" for r, ids in reasons.items()]
        lines.append("")
    lines.append(f"{INTERVAL_NOTE}.")
    return "\n".join(lines) + "\n"


_SHORT = dict(zip(KIND_TITLES.values(), ("paper", "controls", "diagnostics"), strict=True))
_STYLE = {"holds": "green", "fails": "red", "inconclusive": "yellow", "not_converged": "magenta"}


def verdict_table(
    predictions: list[dict[str, Any]], title: str = "Predictions", verbose: bool = False
) -> Table:
    """The terminal's verdict table: a row per prediction (id, measured, 95% interval, n, bar,
    verdict), grouped by kind; ``verbose`` adds the claims. Long cells wrap, never cut."""
    table = Table(
        title=f"{title}: {headline_text(predictions)}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("id", no_wrap=True)
    if verbose:
        table.add_column("claim", ratio=1, min_width=20)
    table.add_column("measured", no_wrap=True, justify="right")
    table.add_column("95% interval", no_wrap=True)
    table.add_column("n", justify="right")
    table.add_column("bar", overflow="fold")
    table.add_column("verdict", overflow="fold")
    for kind_title, rows in _by_kind(predictions):
        table.add_section()
        table.add_row(f"[bold]{_SHORT[kind_title]}[/]", *([""] * (5 + verbose)))
        for p in rows:
            style = _STYLE.get(verdict_of(p), "white")
            claim = [escape(str(p.get("claim", "")))] if verbose else []
            table.add_row(
                escape(str(p.get("id", ""))),
                *claim,
                fmt_measured(p),
                fmt_interval(p),
                str(p.get("n", "")),
                escape(str(p.get("expected", ""))),
                f"[{style}]{escape(verdict_text(p))}[/]",
            )
    return table
