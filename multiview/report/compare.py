"""Two run folders side by side: config differences, prediction and metric deltas, figures in
pairs (``multiview report RUN_A RUN_B``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from multiview.report.html_parts import (
    esc,
    figure_html,
    fmt_mean_std,
    fmt_num,
    html_table,
    is_finite,
    page,
    td_num,
    verdict_badge,
    write_page,
)
from multiview.report.run_folder import flatten, load_run

__all__ = ["build_comparison"]


def _delta(a: Any, b: Any) -> str:
    if not (is_finite(a) and is_finite(b)):
        return td_num(fmt_num(None))
    return f'<td class="num {"pos" if b > a else "neg" if b < a else ""}">{b - a:+.3f}</td>'


ABSENT = '<span class="na">(absent)</span>'


def _diff_rows(fa: dict[str, Any], fb: dict[str, Any]) -> list[list[str]]:
    keys = list(fa) + [k for k in fb if k not in fa]
    return [
        [
            f"<code>{esc(k)}</code>",
            fmt_num(fa[k], True) if k in fa else ABSENT,
            fmt_num(fb[k], True) if k in fb else ABSENT,
        ]
        for k in keys
        if k not in fa or k not in fb or fa[k] != fb[k]
    ]


def _numbers(s: dict[str, Any]) -> dict[str, Any]:
    """The metrics (no ``*_std``), then the mean of each method's statistics (dotted)."""
    out = {k: v for k, v in (s.get("metrics") or {}).items() if not str(k).endswith("_std")}
    out.update(
        {
            f"methods.{k[:-5]}": v
            for k, v in flatten(s.get("methods") or {}).items()
            if k.endswith(".mean")
        }
    )
    return out


def build_comparison(
    run_a: str | os.PathLike, run_b: str | os.PathLike, out: str | os.PathLike
) -> Path:
    """Write a side-by-side page of two runs to ``out``: config differences (dotted keys),
    prediction deltas, metrics deltas, provenance differences and the figures in pairs."""
    a, b = load_run(run_a), load_run(run_b)
    na, nb = a["dir"].resolve().name, b["dir"].resolve().name
    if na == nb:
        na, nb = str(a["dir"].resolve()), str(b["dir"].resolve())
    body = [
        f"<p>A = <code>{esc(na)}</code> ({esc(a['kind'])}), B = <code>{esc(nb)}</code> "
        f"({esc(b['kind'])}). Differences are B − A.</p>"
    ]
    rows = _diff_rows(flatten(a["config"]), flatten(b["config"]))
    body.append(
        "<h2>Config differences</h2>"
        + (
            html_table(["field", "A", "B"], rows, "config-diff")
            if rows
            else "<p>The two configs are identical.</p>"
        )
    )
    pa = {p.get("id"): p for p in a["summary"].get("predictions", [])}
    pb = {p.get("id"): p for p in b["summary"].get("predictions", [])}
    rows, classes = [], []
    for pid in list(pa) + [k for k in pb if k not in pa]:
        x, y = pa.get(pid, {}), pb.get(pid, {})
        va, vb = verdict_badge(x), verdict_badge(y)
        classes.append("changed" if va != vb else va[0])
        rows.append(
            [
                f"<code>{esc(pid)}</code>",
                esc(x.get("claim") or y.get("claim") or ""),
                td_num(fmt_mean_std(x.get("measured"), x.get("measured_std"))),
                td_num(fmt_mean_std(y.get("measured"), y.get("measured_std"))),
                _delta(x.get("measured"), y.get("measured")),
                f'<span class="badge {va[0]}">{va[1]}</span>',
                f'<span class="badge {vb[0]}">{vb[1]}</span>',
            ]
        )
    if rows:
        body.append(
            "<h2>Predictions</h2>"
            + html_table(
                ["id", "claim", "measured A", "measured B", "B − A", "verdict A", "verdict B"],
                rows,
                "prediction-diff",
                classes,
            )
        )
    ma, mb = _numbers(a["summary"]), _numbers(b["summary"])
    if names := list(ma) + [k for k in mb if k not in ma]:
        body.append(
            "<h2>Metrics</h2>"
            + html_table(
                ["metric", "A", "B", "B − A"],
                [
                    [
                        f"<code>{esc(k)}</code>",
                        td_num(fmt_num(ma.get(k))),
                        td_num(fmt_num(mb.get(k))),
                        _delta(ma.get(k), mb.get(k)),
                    ]
                    for k in names
                ],
                "metrics-diff",
            )
        )
    prov = [flatten({k: v for k, v in r["provenance"].items() if k != "created"}) for r in (a, b)]
    if rows := _diff_rows(*prov):
        body.append(
            "<h2>Provenance differences</h2>" + html_table(["field", "A", "B"], rows, "prov")
        )
    fa, fb = dict(a["figures"]), dict(b["figures"])
    if fa or fb:
        body.append("<h2>Figures (A left, B right)</h2>")
        for name in list(fa) + [n for n in fb if n not in fa]:
            body.append(
                '<div class="figs">'
                + "".join(
                    figure_html(f"{side}: {name}", figs.get(name))
                    if name in figs
                    else f"<figure><figcaption>{side}: {ABSENT}</figcaption></figure>"
                    for side, figs in (("A", fa), ("B", fb))
                )
                + "</div>"
            )
    return write_page(
        Path(out),
        page(f"multiview comparison: {na} vs {nb}", "two runs side by side", "".join(body)),
    )
