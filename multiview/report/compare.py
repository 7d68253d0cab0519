"""Any number of run folders side by side (``multiview report A B C ...``): which seeds they
share, config differences, every metric with its interval and n, each run's difference to
the first (A) with its 95% interval, coloured only when the interval excludes 0, a figure of
the metrics, the predictions, and the runs' figures in rows."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from multiview.io import atomic_write_text
from multiview.report.compare_stats import (
    comparison_figure,
    metric_delta,
    metric_names,
    metric_stats,
    seed_sharing,
)
from multiview.report.page_parts import (
    esc,
    figure_html,
    fmt_mean_std,
    fmt_num,
    html_table,
    page,
    td_num,
    verdict_badge,
)
from multiview.report.run_folder import ReportError, flatten, load_run
from multiview.report.run_tables import read_per_seed
from multiview.report.tables import fmt_interval, fmt_measured
from multiview.stats import INTERVAL_CONVENTION

__all__ = ["build_comparison", "default_comparison_path"]

ABSENT = '<span class="na">(absent)</span>'
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _letter(i: int) -> str:
    return _LETTERS[i] if i < len(_LETTERS) else f"R{i + 1}"


def default_comparison_path(runs: list[str | os.PathLike]) -> Path:
    """Beside the runs, never inside one: ``<parent of A>/compare-A-B-C.html`` (folder
    names, shortened past five runs)."""
    names = [Path(r).resolve().name or "run" for r in runs]
    label = "-".join(names[:5]) + (f"-and-{len(names) - 5}-more" if len(names) > 5 else "")
    return Path(runs[0]).resolve().parent / f"compare-{label}.html"


def _delta_cell(d: dict[str, Any]) -> str:
    """``+0.012 [−0.003, +0.027] (paired, n 8)``, coloured only when the interval excludes 0."""
    mean, lo, hi = d["mean"], d["low"], d["high"]
    if not isinstance(mean, float) or mean != mean:
        return td_num(fmt_num(None))
    how = f"{'paired' if d['paired'] else 'Welch'}, n {d['n']}"
    if lo == lo and hi == hi:  # a finite interval
        cls = "pos" if lo > 0 else "neg" if hi < 0 else ""
        text = f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]"
    else:
        cls, text = "", f"{mean:+.3f} [no interval]"
    return f'<td class="num {cls}">{esc(text)} <span class="na">({esc(how)})</span></td>'


def _seed_notes(runs: list[dict[str, Any]], letters: list[str]) -> str:
    notes = []
    for i in range(1, len(runs)):
        for j in range(i):
            shared = seed_sharing(runs[j], runs[i])
            if shared is None:
                continue
            same = (
                "; their configs differ in the number of seeds only, so these seeds are the "
                "same models"
                if shared["same_models"]
                else ""
            )
            notes.append(
                f"<li>{letters[j]} and {letters[i]} share seeds 0–{shared['n'] - 1} (same data "
                f"set and initialisations{same}): their differences are paired by seed.</li>"
            )
    if not notes:
        return "<p>No two runs share seeds: differences use Welch's unpaired interval.</p>"
    return f"<ul>{''.join(notes)}</ul>"


def _config_rows(runs: list[dict[str, Any]]) -> list[list[str]]:
    flats = [flatten(r["config"]) for r in runs]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    return [
        [f"<code>{esc(k)}</code>"] + [fmt_num(f[k], True) if k in f else ABSENT for f in flats]
        for k in keys
        if len({repr(f.get(k, ABSENT)) for f in flats}) > 1
    ]


def _metrics_section(runs: list[dict[str, Any]], letters: list[str]) -> list[str]:
    names = metric_names(runs)
    if not names:
        return []
    rows = []
    for name in names:
        cells = [f"<code>{esc(name)}</code>"]
        for run in runs:
            st = metric_stats(run, name)
            cells.append(td_num(fmt_mean_std(st["mean"], st["std"]) + f" (n {st['n']})"))
        cells += [_delta_cell(metric_delta(runs[0], run, name)) for run in runs[1:]]
        rows.append(cells)
    head = ["metric"] + [f"{x} (mean ± std, n)" for x in letters]
    head += [f"{x} − A [95% interval]" for x in letters[1:]]
    uri = base64.b64encode(comparison_figure(runs, names, letters)).decode("ascii")
    return [
        "<h2>Metrics</h2>",
        f"<p>A difference is coloured only when its 95% interval excludes 0. Paired: "
        f"{esc(INTERVAL_CONVENTION)}, over the seeds two runs share; otherwise Welch's "
        "interval from each run's mean, std and n.</p>",
        '<div class="tw">' + html_table(head, rows, "metrics-diff") + "</div>",
        f'<figure class="wide"><img src="data:image/png;base64,{uri}" alt="metrics">'
        "<figcaption>Each run's mean and the 95% interval of its mean, per metric"
        "</figcaption></figure>",
    ]


def _predictions_section(runs: list[dict[str, Any]], letters: list[str]) -> list[str]:
    by_run = [{p.get("id"): p for p in r["summary"].get("predictions", [])} for r in runs]
    ids = list(dict.fromkeys(pid for preds in by_run for pid in preds))
    if not ids:
        return []
    rows, classes = [], []
    for pid in ids:
        ps = [preds.get(pid, {}) for preds in by_run]
        badges = [verdict_badge(p) for p in ps]
        classes.append("changed" if len(set(badges)) > 1 else badges[0][0])
        rows.append(
            [f"<code>{esc(pid)}</code>"]
            + [
                td_num(f"{fmt_measured(p)} {fmt_interval(p)} n = {p.get('n', '?')}")
                + f' <span class="badge {b[0]}">{b[1]}</span>'
                for p, b in zip(ps, badges, strict=True)
            ]
        )
    table = html_table(
        ["id"] + [f"{x}: measured, 95% interval, n, verdict" for x in letters],
        rows,
        "prediction-diff",
        classes,
    )
    return ["<h2>Predictions</h2>", '<div class="tw">' + table + "</div>"]


def build_comparison(
    runs: list[str | os.PathLike] | str | os.PathLike,
    out_or_run_b: Any = None,
    out: str | os.PathLike | None = None,
) -> Path:
    """Write a page comparing the run folders ``runs`` (two or more; the first, A, is the
    reference of every difference) to ``out`` (default :func:`default_comparison_path`,
    beside the runs); returns its path. ``build_comparison(run_a, run_b, out)`` (two runs)
    is accepted too."""
    if isinstance(runs, (str, os.PathLike)):
        runs = [runs, out_or_run_b]
    elif out is None:
        out = out_or_run_b
    if len(runs) < 2:
        raise ReportError(f"a comparison needs two run folders or more, not {len(runs)}")
    loaded = [load_run(r) for r in runs]
    for run in loaded:
        run["per_seed"] = read_per_seed(run["dir"])
    letters = [_letter(i) for i in range(len(loaded))]
    names = [r["dir"].resolve().name or "run" for r in loaded]
    body = [
        "<h2>Runs</h2><ul>"
        + "".join(
            f"<li>{x} = <code>{esc(n)}</code> ({esc(r['kind'])}, {r['config'].get('seeds', '?')}"
            " seeds)</li>"
            for x, n, r in zip(letters, names, loaded, strict=True)
        )
        + "</ul><h2>Seeds</h2>"
        + _seed_notes(loaded, letters)
    ]
    rows = _config_rows(loaded)
    body.append(
        "<h2>Config differences</h2>"
        + (
            '<div class="tw">' + html_table(["field", *letters], rows, "config-diff") + "</div>"
            if rows
            else "<p>The configs are identical.</p>"
        )
    )
    body += _metrics_section(loaded, letters)
    body += _predictions_section(loaded, letters)
    figs = [dict(r["figures"]) for r in loaded]
    names_fig = list(dict.fromkeys(n for f in figs for n in f))
    if names_fig:
        body.append(f"<h2>Figures ({', '.join(letters)}, left to right)</h2>")
        for name in names_fig:
            body.append(
                '<div class="figs side">'
                + "".join(
                    figure_html(f"{x}: {name}", f.get(name))
                    if name in f
                    else f"<figure><figcaption>{x}: {ABSENT}</figcaption></figure>"
                    for x, f in zip(letters, figs, strict=True)
                )
                + "</div>"
            )
    target = Path(out) if out is not None else default_comparison_path(runs)
    title = "multiview comparison: " + " vs ".join(names)
    return atomic_write_text(target, page(title, f"{len(loaded)} runs side by side", "".join(body)))
