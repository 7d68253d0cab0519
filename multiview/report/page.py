"""Self-contained HTML pages of run folders: ``report.html`` and a side-by-side comparison.

The pages are built from the files of a run folder only (``summary.json``, ``config.json``,
``report.md``, ``figures/*.png``, top-level ``*.png``, ``sweep.json``), never from the package's
internals, so any earlier run can be (re)rendered. A page needs nothing but itself: CSS is
inline, figures are PNG data URIs, there is no JavaScript, and a Content-Security-Policy forbids
any network request. Every string read from the files is HTML-escaped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from multiview.io import atomic_write_text
from multiview.report.compare import build_comparison
from multiview.report.page_parts import (
    SKIP_SECTIONS,
    esc,
    figure_html,
    html_table,
    kv_table,
    methods_table,
    metric_rows,
    page,
    sweep_section,
    td_num,
    verdict_badge,
)
from multiview.report.run_folder import ReportError, flatten, load_run
from multiview.report.tables import fmt_interval, fmt_measured, headline_text, verdict_text

__all__ = [
    "ReportError",
    "build_comparison",
    "build_report",
    "flatten",
    "load_run",
    "render_report",
]


def render_report(run: dict[str, Any]) -> str:
    """The HTML text of one run's report (see :func:`build_report`)."""
    s, preds = run["summary"], run["summary"].get("predictions", [])
    prov, body = run["provenance"], []
    sub = [f"{esc(run['kind'])} run", f"folder <code>{esc(run['dir'].resolve().name)}</code>"] + (
        [f"created {esc(prov['created'])}"] if prov.get("created") else []
    )
    if preds:  # the verdict table: one row per prediction, classed by its verdict
        rows = [
            [
                f"<code>{esc(p.get('id', ''))}</code>",
                esc(p.get("kind", "")),
                esc(p.get("claim", "")),
                td_num(fmt_measured(p)),
                td_num(fmt_interval(p)),
                td_num(str(p.get("n", ""))),
                esc(p.get("expected", "")),
                f'<span class="badge">{esc(verdict_text(p))}</span>',
            ]
            for p in preds
        ]
        paper = [p for p in preds if p.get("kind", "paper") == "paper"]
        fails = any(verdict_badge(p)[0] != "holds" for p in paper)
        body.append(
            f'<h2>Predictions <span class="badge {"fails" if fails else "holds"}">'
            f"{esc(headline_text(preds))}</span></h2>"
            + html_table(
                ["id", "kind", "claim", "measured", "95% interval", "n", "bar", "verdict"],
                rows,
                "verdicts",
                [verdict_badge(p)[0] for p in preds],
            )
        )
    if run["sweep"] is not None:
        body.append("<h2>Sweep</h2>" + sweep_section(run["sweep"]))
    if rows := metric_rows(s.get("metrics")):
        body.append("<h2>Metrics</h2>" + html_table(["metric", "value"], rows, "kv metrics"))
    if isinstance(s.get("methods"), dict) and s["methods"]:
        body.append("<h2>Methods</h2>" + methods_table(s["methods"]))
    for key, val in s.items():  # other scalar sections (CIFAR gains, stage seconds ...)
        if (
            key not in SKIP_SECTIONS
            and isinstance(val, dict)
            and val
            and all(not isinstance(v, (dict, list)) for v in val.values())
        ):
            body.append(f"<h2>{esc(key.replace('_', ' '))}</h2>" + kv_table(val, "extra"))
    if run["figures"]:
        body.append(
            '<h2>Figures</h2><div class="figs">'
            + "".join(figure_html(n, d) for n, d in run["figures"])
            + "</div>"
        )
    cfg = run["config"]
    if cfg or prov:
        body.append(
            '<h2>Configuration and provenance</h2><div class="cols">'
            + "".join(
                f"<div><h3>{title}</h3>{kv_table(flatten(d), title.lower())}</div>"
                for title, d in (("Config", cfg), ("Provenance", prov))
                if d
            )
            + "</div>"
        )
    for name, text in run["markdown"].items():
        body.append(
            f"<details><summary>{esc(name)} (source)</summary><pre>{esc(text)}</pre></details>"
        )
    return page(f"multiview report: {run['dir'].resolve().name}", " · ".join(sub), "".join(body))


def build_report(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write ``run_dir/report.html`` (or ``out``) from the run folder's files; its path. Raises
    :class:`ReportError` (a ``ValueError``) naming the file when ``summary.json`` is missing or
    corrupt; other missing files are simply left out of the page."""
    run = load_run(run_dir)
    return atomic_write_text(Path(out) if out else run["dir"] / "report.html", render_report(run))
