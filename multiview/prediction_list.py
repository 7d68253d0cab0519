"""The predictions of a result: a tuple of :class:`~multiview.sim.predictions.Prediction`
that prints as the verdict table (``print(r.predictions)``: one row per prediction, long
cells wrapped in their column) and shows as an HTML table in a notebook.

It compares equal to the plain tuple of the same records, so code that builds or compares
tuples keeps working.
"""

from __future__ import annotations

import io
import math
import shutil
from typing import Any

from rich.console import Console

from multiview.report.page_parts import esc, verdict_badge
from multiview.report.tables import (
    fmt_interval,
    fmt_measured,
    verdict_of,
    verdict_table,
    verdict_text,
)
from multiview.sim.predictions import Prediction

__all__ = ["Predictions", "predictions_from"]

_HTML_STYLE = {
    "holds": "color:#1a7f37;font-weight:600",
    "fails": "color:#cf222e;font-weight:600",
    "inconclusive": "color:#9a6700;font-weight:600",
    "not_converged": "color:#8250df;font-weight:600",
    "unknown": "color:#57606a",
}


def _as_dict(p: Any) -> dict[str, Any]:
    return p.to_dict() if hasattr(p, "to_dict") else dict(p)


class Predictions(tuple):
    """A run's predictions, in order; prints as a table."""

    __slots__ = ()

    def held(self) -> int:
        """How many of the paper's predictions hold (controls and diagnostics aside)."""
        return sum(
            verdict_of(d) == "holds"
            for d in map(_as_dict, self)
            if d.get("kind", "paper") == "paper"
        )

    def table(self, width: int | None = None, verbose: bool = False) -> str:
        """The verdict table as plain text, ``width`` columns wide (default: the terminal's,
        at least 80); ``verbose`` adds each claim."""
        width = width or max(80, shutil.get_terminal_size((100, 24)).columns)
        buf = io.StringIO()
        console = Console(file=buf, width=width, color_system=None, force_terminal=False)
        console.print(verdict_table([_as_dict(p) for p in self], verbose=verbose))
        return buf.getvalue().rstrip("\n")

    def __repr__(self) -> str:
        return self.table() if self else "Predictions(none)"

    __str__ = __repr__

    def _repr_html_(self) -> str:
        rows = []
        for p in map(_as_dict, self):
            cls, _ = verdict_badge(p)
            rows.append(
                f"<tr><td><code>{esc(p.get('id', ''))}</code></td><td>{esc(p.get('kind', ''))}"
                f"</td><td style='text-align:left'>{esc(p.get('claim', ''))}</td>"
                f"<td>{fmt_measured(p)}</td><td>{fmt_interval(p)}</td><td>{p.get('n', '')}</td>"
                f"<td>{esc(p.get('expected', ''))}</td>"
                f"<td style='{_HTML_STYLE.get(cls, _HTML_STYLE['unknown'])}'>"
                f"{esc(verdict_text(p))}</td></tr>"
            )
        heads = ("id", "kind", "claim", "measured", "95% interval", "n", "bar", "verdict")
        cols = "".join(f"<th>{c}</th>" for c in heads)
        return (
            f"<table class='multiview-verdicts'><thead><tr>{cols}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )


def _float(v: Any) -> float:
    return math.nan if v is None else float(v)


def predictions_from(items: list[dict[str, Any]]) -> tuple[Prediction, ...]:
    """:class:`Prediction` records from ``summary.json``'s ``predictions`` (missing or null
    numbers become NaN)."""
    out = []
    for p in items:
        interval = p.get("interval") or [None, None]
        verdict = p.get("verdict") or ("holds" if p.get("holds") else "fails")
        out.append(
            Prediction(
                id=str(p.get("id", "")),
                claim=str(p.get("claim", "")),
                kind=str(p.get("kind", "paper")),
                measured=_float(p.get("measured")),
                interval=(_float(interval[0]), _float(interval[1])),
                n=int(p.get("n") or 0),
                unit=str(p.get("unit", "")),
                expected=str(p.get("expected", "")),
                verdict=verdict,
                measured_std=_float(p.get("measured_std")),
                reason=str(p.get("reason", "")),
                objective=p.get("objective"),
                details=dict(p.get("details") or {}),
            )
        )
    return Predictions(out)
