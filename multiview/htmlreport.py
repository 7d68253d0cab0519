"""Self-contained HTML pages of run folders: ``report.html`` and a side-by-side comparison.

The pages are built from the files of a run folder only (``summary.json``, ``config.json``,
``report.md``, ``figures/*.png``, top-level ``*.png``, ``sweep.json``), never from the package's
internals, so any earlier run can be (re)rendered. A page needs nothing but itself: CSS is
inline, figures are PNG data URIs, there is no JavaScript, and a Content-Security-Policy forbids
any network request. Every string read from the files is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["ReportError", "load_run", "build_report", "build_comparison", "flatten"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CAPTIONS = {  # by file stem; any other figure is captioned with its name
    "lambda": "Lambda trajectories: largest correlation per (class, view) over training",
    "learned_views": "Views each seed learned, per class", "figure1": "Accuracy by method",
    "accuracy": "Test accuracy over seeds", "method_accuracy": "Single-view accuracy by method",
    "ensemble_curve": "Single-view accuracy of ensembles against their size K",
    "views_per_method": "Views learned per class, by method",
    "kd_vs_single_lambda": "Lambda trajectories: distilled student against a single model",
    "phase_diagram": "Phase diagram: where the multi-view theory holds at finite size",
    "heatmap_single_view": "Sweep: single-view accuracy of one model",
    "heatmap_one_view": "Sweep: classes with one view learned",
    "heatmap_ensemble_gain": "Sweep: ensemble gain in single-view accuracy",
}
_SKIP_SECTIONS = {"predictions", "metrics", "methods", "config", "metadata", "run", "runs"}

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
tr.changed td:first-child{border-left:4px solid #bf8700}.cols{display:grid;
grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:0 24px}.figs{display:grid;gap:18px;
margin-bottom:18px;grid-template-columns:repeat(auto-fill,minmax(460px,1fr))}figure{margin:0;
padding:10px;border:1px solid var(--line);border-radius:6px}figure img{display:block;
max-width:100%;height:auto;margin:0 auto}figcaption{color:var(--mut);font-size:.88em;
margin-top:6px}details{margin:1em 0}summary{cursor:pointer;color:var(--mut)}pre{background:#f6f8fa;
border:1px solid var(--line);padding:10px;overflow:auto;font-size:.85em}"""


class ReportError(ValueError):
    """A run folder that cannot be rendered (missing or corrupt ``summary.json`` ...); the
    message names the offending file. The CLI prints it on one line and exits 2."""

    exit_code = 2


def _read(path: Path, binary: bool = False) -> Any:
    try:
        return path.read_bytes() if binary else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _read_json(path: Path, required: bool) -> Any:
    if required and not path.is_file():
        raise ReportError(f"{path}: no such file (is this a multiview run folder?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        if required:
            raise ReportError(f"{path}: cannot read it as JSON ({err})") from None


def load_run(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Everything a page shows of one run folder: ``{"dir", "kind", "summary", "config",
    "provenance", "markdown", "figures", "sweep"}``. ``config`` holds the resolved config and
    the other sections of ``config.json`` (e.g. ``theorems``); ``figures`` lists ``(name, PNG
    bytes or None if unreadable)``. Raises :class:`ReportError` when the folder has neither a
    readable ``summary.json`` nor a ``sweep.json``."""
    run = Path(run_dir)
    if not run.is_dir():
        raise ReportError(f"{run}: no such run folder")
    sweep, summary = None, {"predictions": []}
    if not (run / "summary.json").exists() and (run / "sweep.json").exists():
        sweep = _read_json(run / "sweep.json", required=True)
        if not isinstance(sweep, dict) or not isinstance(sweep.get("cells"), dict):
            raise ReportError(f"{run / 'sweep.json'}: not a multiview sweep (no 'cells')")
    else:
        summary = _read_json(run / "summary.json", required=True)
    if not isinstance(summary, dict):
        raise ReportError(f"{run / 'summary.json'}: expected a JSON object")
    preds = summary.setdefault("predictions", [])
    if not isinstance(preds, list) or not all(isinstance(p, dict) for p in preds):
        raise ReportError(f"{run / 'summary.json'}: 'predictions' is not a list of objects")
    cfg_file = _read_json(run / "config.json", required=False)
    cfg_file = cfg_file if isinstance(cfg_file, dict) else {}
    s_cfg = summary.get("config") if isinstance(summary.get("config"), dict) else None
    config = cfg_file.get("config") or s_cfg or (sweep or {}).get("base_config") or {}
    provenance = dict(cfg_file.get("run") or summary.get("metadata") or {})
    walls = [src[k] for src in (summary, cfg_file, provenance)
             for k in ("wall_seconds", "wall_time_s", "wall_s", "elapsed_s") if k in src]
    if walls:
        provenance["wall time (s)"] = round(walls[0], 2) if _finite(walls[0]) else walls[0]
    kind = ("sweep" if sweep is not None else "theorems" if "theorems" in cfg_file
            else "cifar" if "runs" in summary and "methods" in summary else "simulate")
    figures = [(p.relative_to(run).as_posix(), _read(p, binary=True))
               for p in sorted(run.glob("*.png")) + sorted(run.glob("figures/*.png"))]
    config = {**config, **{k: v for k, v in cfg_file.items() if k not in ("config", "run")}}
    return {"dir": run, "kind": kind, "summary": summary, "config": config,
            "provenance": provenance, "sweep": sweep,
            "markdown": {n: t for n in ("report.md", "table.md") if (t := _read(run / n))},
            "figures": [(n, d if d and d.startswith(PNG_MAGIC) else None) for n, d in figures]}


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level of dotted keys: ``{"data": {"k": 10}} -> {"data.k": 10}``."""
    if not (isinstance(obj, dict) and obj):
        return {prefix: obj}
    return {key: val for k, v in obj.items()
            for key, val in flatten(v, f"{prefix}.{k}" if prefix else str(k)).items()}


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _num(v: Any, exact: bool = False) -> str:
    """A value as escaped HTML text (floats rounded unless ``exact``); None / NaN / inf become
    a muted ``n/a``."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return '<span class="na">n/a</span>'
    if isinstance(v, int):  # bools too: true / false
        return str(v).lower()
    if isinstance(v, float):
        return repr(v) if exact else f"{v:.3f}" if v == 0 or 1e-3 <= abs(v) < 1e4 else f"{v:.3g}"
    if isinstance(v, (list, tuple)):
        return _e(json.dumps(v))
    return _e(v)


def _mean_std(m: Any, s: Any) -> str:
    return _num(m) + (f" ± {_num(s)}" if _finite(s) and _finite(m) else "")


def _stat(v: Any) -> str:
    """``{"mean", "std"}``, ``[mean, std]``, a nested dict or a scalar, as escaped HTML."""
    if isinstance(v, dict) and "mean" in v:
        return _mean_std(v.get("mean"), v.get("std"))
    if isinstance(v, list) and len(v) == 2 and all(x is None or _finite(x) for x in v):
        return _mean_std(v[0], v[1])
    if isinstance(v, dict):
        return ", ".join(f"{_e(k)}: {_stat(x)}" for k, x in v.items())
    return _num(v)


def _verdict(holds: Any) -> tuple[str, str]:
    """(row class, text) of a prediction's ``holds``: true, false, or missing / null."""
    return {True: ("holds", "holds"), False: ("fails", "fails")}.get(holds, ("unknown", "n/a"))


def _table(head: list[str], rows: list[list[str]], cls: str = "",
           row_cls: list[str] | None = None) -> str:
    """A table; ``head`` is plain text (escaped here), ``rows`` are HTML cells already."""
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(
        (f'<tr class="{row_cls[i]}">' if row_cls else "<tr>")
        + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in r) + "</tr>"
        for i, r in enumerate(rows))
    return (f'<div class="tw"><table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}'
            "</tbody></table></div>")


def _td_num(v: str) -> str:
    return f'<td class="num">{v}</td>'


def _metric_rows(metrics: Any) -> list[list[str]]:
    if not isinstance(metrics, dict):
        return []
    return [[f"<code>{_e(k)}</code>", _td_num(_mean_std(v, metrics.get(k + "_std"))
                                             if not isinstance(v, (dict, list)) else _stat(v))]
            for k, v in metrics.items() if not (k.endswith("_std") and k[:-4] in metrics)]


def _page(title: str, subtitle: str, body: str) -> str:
    csp = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
           "base-uri 'none'; form-action 'none'")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{_e(title)}</title><style>{CSS}</style>'
            f'</head><body><main><h1>{_e(title)}</h1><p class="sub">{subtitle}</p>{body}'
            "</main></body></html>\n")


def _figure(name: str, data: bytes | None) -> str:
    stem = Path(name).stem
    cap = f"{_e(CAPTIONS.get(stem, stem.replace('_', ' ')))} <code>{_e(name)}</code>"
    if data is None:
        return f'<figure><figcaption>{cap}: <span class="na">unreadable</span></figcaption>' \
               "</figure>"
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return f'<figure><img src="{uri}" alt="{_e(stem)}"><figcaption>{cap}</figcaption></figure>'


def _write(path: Path, text: str) -> Path:
    """Write atomically (a temporary sibling renamed into place), mode 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):  # only when something failed
            os.unlink(tmp)
    return path


def _methods_table(methods: dict[str, Any]) -> str:
    """Accuracy by method: the common columns, then every other statistic in one cell."""
    main = [c for c in ("single_view", "multi_view", "overall")
            if any(isinstance(m, dict) and c in m for m in methods.values())]
    rows = []
    for name, m in methods.items():
        if not isinstance(m, dict) or "mean" in m:  # a bare {mean, std}: CIFAR's test accuracy
            m = {"test accuracy": m}
        other = "<br>".join(f"{_e(k)}: {_stat(v)}" for k, v in m.items() if k not in main)
        rows.append([f"<code>{_e(name)}</code>"] + [
            _td_num(_stat(m[c]) if c in m else '<span class="na">–</span>') for c in main]
            + [other])
    return _table(["method"] + main + ["other"], rows, "methods")


def _sweep_section(sweep: dict[str, Any]) -> str:
    xf, yf = sweep.get("x", {}).get("field", "x"), sweep.get("y", {}).get("field", "y")
    cells = sweep["cells"]
    by_xy = {(str(c.get("x", [None, None])[1]), str(c.get("y", [None, None])[1])): c
             for c in cells.values() if isinstance(c, dict)}
    xs = [str(v) for v in sweep.get("x", {}).get("values", [])]
    ys = [str(v) for v in sweep.get("y", {}).get("values", [])]
    names = dict.fromkeys(k for c in by_xy.values() for k in (c.get("metrics") or {}))
    out = [f"<p>{len(cells)} cells: <code>{_e(xf)}</code> (columns) × "
           f"<code>{_e(yf)}</code> (rows), mean ± std over seeds.</p><div class=\"cols\">"]
    for metric in names:
        rows = [[f"<code>{_e(yv)}</code>"] + [_td_num(_stat(
            (by_xy.get((xv, yv)) or {}).get("metrics", {}).get(metric))) for xv in xs]
            for yv in ys]
        out.append(f"<div><h3>{_e(metric)}</h3>"
                   + _table([f"{yf} \\ {xf}"] + xs, rows, "sweep") + "</div>")
    return "".join(out) + "</div>"


def _kv_table(items: dict[str, Any], cls: str) -> str:
    return _table(["key", "value"], [[f"<code>{_e(k)}</code>", _num(v, exact=True)]
                                     for k, v in items.items()], f"kv {cls}")


def render_report(run: dict[str, Any]) -> str:
    """The HTML text of one run's report (see :func:`build_report`)."""
    s, preds = run["summary"], run["summary"].get("predictions", [])
    fails, prov, body = sum(p.get("holds") is False for p in preds), run["provenance"], []
    sub = [f"{_e(run['kind'])} run", f"folder <code>{_e(run['dir'].resolve())}</code>"] + (
        [f"created {_e(prov['created'])}"] if prov.get("created") else [])
    if preds:  # the verdict table: one row per prediction, classed holds / fails / unknown
        rows = [[f"<code>{_e(p.get('id', ''))}</code>", _e(p.get("claim", "")),
                 _td_num(_mean_std(p.get("measured"), p.get("measured_std"))),
                 _e(p.get("expected", "")), f'<span class="badge">{_verdict(p.get("holds"))[1]}'
                 "</span>"] for p in preds]
        body.append(f'<h2>Predictions <span class="badge {"fails" if fails else "holds"}">'
                    f"{len(preds) - fails} of {len(preds)} hold</span></h2>" + _table(
                        ["id", "claim", "measured (mean ± std)", "expected", "verdict"], rows,
                        "verdicts", [_verdict(p.get("holds"))[0] for p in preds]))
    if run["sweep"] is not None:
        body.append("<h2>Sweep</h2>" + _sweep_section(run["sweep"]))
    if metric_rows := _metric_rows(s.get("metrics")):
        body.append("<h2>Metrics</h2>" + _table(["metric", "value"], metric_rows, "kv metrics"))
    if isinstance(s.get("methods"), dict) and s["methods"]:
        body.append("<h2>Methods</h2>" + _methods_table(s["methods"]))
    for key, val in s.items():  # other scalar sections (CIFAR gains, stage seconds ...)
        if key not in _SKIP_SECTIONS and isinstance(val, dict) and val and all(
                not isinstance(v, (dict, list)) for v in val.values()):
            body.append(f"<h2>{_e(key.replace('_', ' '))}</h2>" + _kv_table(val, "extra"))
    if run["figures"]:
        body.append("<h2>Figures</h2><div class=\"figs\">"
                    + "".join(_figure(n, d) for n, d in run["figures"]) + "</div>")
    cfg = run["config"]
    if cfg or prov:
        body.append('<h2>Configuration and provenance</h2><div class="cols">' + "".join(
            f"<div><h3>{title}</h3>{_kv_table(flatten(d), title.lower())}</div>"
            for title, d in (("Config", cfg), ("Provenance", prov)) if d) + "</div>")
    for name, text in run["markdown"].items():
        body.append(f"<details><summary>{_e(name)} (source)</summary><pre>{_e(text)}</pre>"
                    "</details>")
    return _page(f"multiview report: {run['dir'].resolve().name}", " · ".join(sub),
                 "".join(body))


def build_report(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write ``run_dir/report.html`` (or ``out``) from the run folder's files; its path. Raises
    :class:`ReportError` (a ``ValueError``) naming the file when ``summary.json`` is missing or
    corrupt; other missing files are simply left out of the page."""
    run = load_run(run_dir)
    return _write(Path(out) if out else run["dir"] / "report.html", render_report(run))


def _delta(a: Any, b: Any) -> str:
    if not (_finite(a) and _finite(b)):
        return _td_num(_num(None))
    return f'<td class="num {"pos" if b > a else "neg" if b < a else ""}">{b - a:+.3f}</td>'


ABSENT = '<span class="na">(absent)</span>'


def _diff_rows(fa: dict[str, Any], fb: dict[str, Any]) -> list[list[str]]:
    keys = list(fa) + [k for k in fb if k not in fa]
    return [[f"<code>{_e(k)}</code>", _num(fa[k], True) if k in fa else ABSENT,
             _num(fb[k], True) if k in fb else ABSENT]
            for k in keys if k not in fa or k not in fb or fa[k] != fb[k]]


def _numbers(s: dict[str, Any]) -> dict[str, Any]:
    """The metrics (no ``*_std``), then the mean of each method's statistics (dotted)."""
    out = {k: v for k, v in (s.get("metrics") or {}).items() if not str(k).endswith("_std")}
    out.update({f"methods.{k[:-5]}": v for k, v in flatten(s.get("methods") or {}).items()
                if k.endswith(".mean")})
    return out


def build_comparison(run_a: str | os.PathLike, run_b: str | os.PathLike,
                     out: str | os.PathLike) -> Path:
    """Write a side-by-side page of two runs to ``out``: config differences (dotted keys),
    prediction deltas, metrics deltas, provenance differences and the figures in pairs."""
    a, b = load_run(run_a), load_run(run_b)
    na, nb = a["dir"].resolve().name, b["dir"].resolve().name
    if na == nb:
        na, nb = str(a["dir"].resolve()), str(b["dir"].resolve())
    body = [f"<p>A = <code>{_e(na)}</code> ({_e(a['kind'])}), B = <code>{_e(nb)}</code> "
            f"({_e(b['kind'])}). Differences are B − A.</p>"]
    rows = _diff_rows(flatten(a["config"]), flatten(b["config"]))
    body.append("<h2>Config differences</h2>" + (
        _table(["field", "A", "B"], rows, "config-diff") if rows
        else "<p>The two configs are identical.</p>"))
    pa = {p.get("id"): p for p in a["summary"].get("predictions", [])}
    pb = {p.get("id"): p for p in b["summary"].get("predictions", [])}
    rows, classes = [], []
    for pid in list(pa) + [k for k in pb if k not in pa]:
        x, y = pa.get(pid, {}), pb.get(pid, {})
        va, vb = _verdict(x.get("holds")), _verdict(y.get("holds"))
        classes.append("changed" if va != vb else va[0])
        rows.append([f"<code>{_e(pid)}</code>", _e(x.get("claim") or y.get("claim") or ""),
                     _td_num(_mean_std(x.get("measured"), x.get("measured_std"))),
                     _td_num(_mean_std(y.get("measured"), y.get("measured_std"))),
                     _delta(x.get("measured"), y.get("measured")),
                     f'<span class="badge {va[0]}">{va[1]}</span>',
                     f'<span class="badge {vb[0]}">{vb[1]}</span>'])
    if rows:
        body.append("<h2>Predictions</h2>" + _table(
            ["id", "claim", "measured A", "measured B", "B − A", "verdict A", "verdict B"],
            rows, "prediction-diff", classes))
    ma, mb = _numbers(a["summary"]), _numbers(b["summary"])
    if names := list(ma) + [k for k in mb if k not in ma]:
        body.append("<h2>Metrics</h2>" + _table(["metric", "A", "B", "B − A"], [
            [f"<code>{_e(k)}</code>", _td_num(_num(ma.get(k))), _td_num(_num(mb.get(k))),
             _delta(ma.get(k), mb.get(k))] for k in names], "metrics-diff"))
    prov = [flatten({k: v for k, v in r["provenance"].items() if k != "created"}) for r in (a, b)]
    if rows := _diff_rows(*prov):
        body.append("<h2>Provenance differences</h2>" + _table(["field", "A", "B"], rows, "prov"))
    fa, fb = dict(a["figures"]), dict(b["figures"])
    if fa or fb:
        body.append("<h2>Figures (A left, B right)</h2>")
        for name in list(fa) + [n for n in fb if n not in fa]:
            body.append('<div class="figs">' + "".join(
                _figure(f"{side}: {name}", figs.get(name)) if name in figs
                else f'<figure><figcaption>{side}: {ABSENT}</figcaption></figure>'
                for side, figs in (("A", fa), ("B", fb))) + "</div>")
    return _write(Path(out), _page(f"multiview comparison: {na} vs {nb}",
                                   "two runs side by side", "".join(body)))
