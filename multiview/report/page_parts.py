"""Pieces of the HTML pages: the style sheet, figure captions, escaping, number formats,
tables and the page frame. Every string that comes from a run's files goes through
:func:`esc`.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from multiview.stats import format_mean_std

__all__ = [
    "CAPTIONS",
    "CSS",
    "SKIP_SECTIONS",
    "WIDE_PX",
    "esc",
    "figure_html",
    "png_size",
    "fmt_mean_std",
    "fmt_num",
    "fmt_stat",
    "html_table",
    "is_finite",
    "kv_table",
    "methods_table",
    "metric_rows",
    "page",
    "sweep_section",
    "td_num",
    "verdict_badge",
]


CAPTIONS = {  # by file stem; any other figure is captioned with its name
    "lambda": "Lambda trajectories: largest correlation per (class, view) over training",
    "lottery": "Lottery: the initial Lambda gap against the view that won",
    "memorization": "Memorization: flip rates under fresh noise, learned vs unlearned views",
    "training_curves": "Training loss and accuracy over the steps",
    "learned_views": "Views each seed learned, per class",
    "figure1": "Accuracy by method",
    "accuracy": "Test accuracy over seeds",
    "method_accuracy": "Single-view accuracy by method",
    "ensemble_curve": "Single-view accuracy of ensembles against their size K",
    "views_per_method": "Views learned per class, by method",
    "kd_vs_single_lambda": "Lambda trajectories: distilled student against a single model",
    "phase_diagram": "Phase diagram: where the multi-view theory holds at finite size",
    "heatmap_single_view": "Sweep: single-view accuracy of one model",
    "heatmap_one_view": "Sweep: classes with one view learned",
    "heatmap_ensemble_gain": "Sweep: ensemble gain in single-view accuracy",
}
SKIP_SECTIONS = {"predictions", "metrics", "methods", "config", "metadata", "run", "runs"}

CSS = """
:root{--ok:#1a7f37;--okbg:#dafbe1;--bad:#cf222e;--badbg:#ffebe9;--mut:#57606a;--line:#d0d7de}
*{box-sizing:border-box}body{margin:0;background:#f6f8fa;color:#1f2328;
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}main{max-width:1200px;
margin:0 auto;background:#fff;padding:24px 28px 48px;min-height:100vh}h1{font-size:1.6em;
margin:.2em 0 .1em}h3{font-size:1.05em}h2{font-size:1.25em;margin:1.8em 0 .5em;
border-bottom:1px solid var(--line);padding-bottom:.25em}.sub{color:var(--mut);margin:0 0 1em}
.tw{overflow-x:auto}.na{color:var(--mut)}table{width:100%;border-collapse:collapse;
margin:.4em 0 1em;font-size:.93em}table.kv{width:auto;min-width:55%}.cols table.kv{width:100%}
th{background:#f0f3f6;font-weight:600}th,td{border:1px solid var(--line);padding:6px 10px;
text-align:left;vertical-align:top}tbody tr:nth-child(even){background:#fafbfc}
.pos{color:var(--ok)}.neg{color:var(--bad)}td.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}.badge{display:inline-block;padding:1px 10px;
border-radius:12px;font-weight:600;font-size:.9em}.holds .badge,.badge.holds{color:var(--ok);
background:var(--okbg)}.fails .badge,.badge.fails{color:var(--bad);background:var(--badbg)}
.unknown .badge,.badge.unknown{color:var(--mut);background:#eaeef2}
tr.holds td:first-child{border-left:4px solid var(--ok)}
tr.fails td:first-child{border-left:4px solid var(--bad)}
.inconclusive .badge{color:#9a6700;background:#fff8c5}.not_converged .badge{color:#8250df;
background:#fbefff}tr.inconclusive td:first-child{border-left:4px solid #bf8700}
tr.not_converged td:first-child{border-left:4px solid #8250df}
tr.changed td:first-child{border-left:4px solid #bf8700}.cols{display:grid;
grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:0 24px}.figs{display:grid;gap:18px;
margin-bottom:18px;grid-template-columns:repeat(auto-fill,minmax(460px,1fr))}figure{margin:0;
padding:10px;border:1px solid var(--line);border-radius:6px}figure.wide{grid-column:1/-1}.side{grid-template-columns:repeat(auto-fit,minmax(300px,1fr))}
.side figure.wide{grid-column:auto}figure img{display:block;
max-width:100%;height:auto;margin:0 auto}figcaption{color:var(--mut);font-size:.88em;
margin-top:6px}details{margin:1em 0}summary{cursor:pointer;color:var(--mut)}pre{background:#f6f8fa;
border:1px solid var(--line);padding:10px;overflow:auto;font-size:.85em}"""


def esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def is_finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def fmt_num(v: Any, exact: bool = False) -> str:
    """A value as escaped HTML text (floats rounded unless ``exact``); None / NaN / inf become
    a muted ``n/a``."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return '<span class="na">n/a</span>'
    if isinstance(v, int):  # bools too: true / false
        return str(v).lower()
    if isinstance(v, float):
        return repr(v) if exact else f"{v:.3f}" if v == 0 or 1e-3 <= abs(v) < 1e4 else f"{v:.3g}"
    if isinstance(v, (list, tuple)):
        return esc(json.dumps(v))
    return esc(v)


def fmt_mean_std(m: Any, s: Any) -> str:
    """Mean ± std in the one number format (:func:`multiview.stats.format_mean_std`)."""
    if not is_finite(m):
        return fmt_num(m)
    return esc(format_mean_std(m, s if is_finite(s) else None))


def fmt_stat(v: Any) -> str:
    """``{"mean", "std"}``, ``[mean, std]``, a nested dict or a scalar, as escaped HTML."""
    if isinstance(v, dict) and "mean" in v:
        return fmt_mean_std(v.get("mean"), v.get("std"))
    if isinstance(v, list) and len(v) == 2 and all(x is None or is_finite(x) for x in v):
        return fmt_mean_std(v[0], v[1])
    if isinstance(v, dict):
        return ", ".join(f"{esc(k)}: {fmt_stat(x)}" for k, x in v.items())
    return fmt_num(v)


def verdict_badge(p: dict[str, Any]) -> tuple[str, str]:
    """(row class, text) of a prediction: its ``verdict`` (holds, fails, inconclusive, not
    converged), or, for a record with only ``holds``, true / false / missing."""
    verdict = p.get("verdict")
    if verdict in ("holds", "fails", "inconclusive", "not_converged"):
        return verdict, verdict.replace("_", " ")
    return {True: ("holds", "holds"), False: ("fails", "fails")}.get(
        p.get("holds"), ("unknown", "n/a")
    )


def html_table(
    head: list[str], rows: list[list[str]], cls: str = "", row_cls: list[str] | None = None
) -> str:
    """A table; ``head`` is plain text (escaped here), ``rows`` are HTML cells already."""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join(
        (f'<tr class="{row_cls[i]}">' if row_cls else "<tr>")
        + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in r)
        + "</tr>"
        for i, r in enumerate(rows)
    )
    return (
        f'<div class="tw"><table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}'
        "</tbody></table></div>"
    )


def td_num(v: str) -> str:
    return f'<td class="num">{v}</td>'


def metric_rows(metrics: Any) -> list[list[str]]:
    if not isinstance(metrics, dict):
        return []
    return [
        [
            f"<code>{esc(k)}</code>",
            td_num(
                fmt_mean_std(v, metrics.get(k + "_std"))
                if not isinstance(v, (dict, list))
                else fmt_stat(v)
            ),
        ]
        for k, v in metrics.items()
        if not (k.endswith("_std") and k[:-4] in metrics)
    ]


def page(title: str, subtitle: str, body: str) -> str:
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{esc(title)}</title><style>{CSS}</style>'
        f'</head><body><main><h1>{esc(title)}</h1><p class="sub">{subtitle}</p>{body}'
        "</main></body></html>\n"
    )


#: Figures wider than this (pixels) take a whole row of the page's grid (a column is about
#: 560 px wide; the page 1144 px).
WIDE_PX = 800


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) in pixels from a PNG's header (its IHDR chunk), None if not a PNG."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def figure_html(name: str, data: bytes | None) -> str:
    """A figure with its caption; a wide one (over :data:`WIDE_PX` pixels: a grid of panels)
    spans the whole row, so its text shows near its own size, not squeezed into a column."""
    stem = Path(name).stem
    cap = f"{esc(CAPTIONS.get(stem, stem.replace('_', ' ')))} <code>{esc(name)}</code>"
    if data is None:
        return (
            f'<figure><figcaption>{cap}: <span class="na">unreadable</span></figcaption></figure>'
        )
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    size = png_size(data)
    wide = ' class="wide"' if size and size[0] > WIDE_PX else ""
    return (
        f'<figure{wide}><img src="{uri}" alt="{esc(stem)}"><figcaption>{cap}</figcaption></figure>'
    )


def methods_table(methods: dict[str, Any]) -> str:
    """Accuracy by method: the common columns, then every other statistic in one cell."""
    main = [
        c
        for c in ("single_view", "multi_view", "overall")
        if any(isinstance(m, dict) and c in m for m in methods.values())
    ]
    rows = []
    for name, m in methods.items():
        if not isinstance(m, dict) or "mean" in m:  # a bare {mean, std}: CIFAR's test accuracy
            m = {"test accuracy": m}
        other = "<br>".join(f"{esc(k)}: {fmt_stat(v)}" for k, v in m.items() if k not in main)
        rows.append(
            [f"<code>{esc(name)}</code>"]
            + [td_num(fmt_stat(m[c]) if c in m else '<span class="na">–</span>') for c in main]
            + [other]
        )
    return html_table(["method"] + main + ["other"], rows, "methods")


def sweep_section(sweep: dict[str, Any]) -> str:
    xf, yf = sweep.get("x", {}).get("field", "x"), sweep.get("y", {}).get("field", "y")
    cells = sweep["cells"]
    by_xy = {
        (str(c.get("x", [None, None])[1]), str(c.get("y", [None, None])[1])): c
        for c in cells.values()
        if isinstance(c, dict)
    }
    xs = [str(v) for v in sweep.get("x", {}).get("values", [])]
    ys = [str(v) for v in sweep.get("y", {}).get("values", [])]
    names = dict.fromkeys(k for c in by_xy.values() for k in (c.get("metrics") or {}))
    out = [
        f"<p>{len(cells)} cells: <code>{esc(xf)}</code> (columns) × "
        f'<code>{esc(yf)}</code> (rows), mean ± std over seeds.</p><div class="cols">'
    ]
    for metric in names:
        rows = [
            [f"<code>{esc(yv)}</code>"]
            + [
                td_num(fmt_stat((by_xy.get((xv, yv)) or {}).get("metrics", {}).get(metric)))
                for xv in xs
            ]
            for yv in ys
        ]
        out.append(
            f"<div><h3>{esc(metric)}</h3>"
            + html_table([f"{yf} \\ {xf}"] + xs, rows, "sweep")
            + "</div>"
        )
    return "".join(out) + "</div>"


def kv_table(items: dict[str, Any], cls: str) -> str:
    return html_table(
        ["key", "value"],
        [[f"<code>{esc(k)}</code>", fmt_num(v, exact=True)] for k, v in items.items()],
        f"kv {cls}",
    )
