"""Results directories: config.json, summary.json, per-seed arrays and figures, plus Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from multiview import plots
from multiview.config import SimConfig, config_to_dict
from multiview.io import run_metadata, save_npz, write_json

__all__ = ["write_config", "write_simulation", "predictions_markdown", "fmt_measured"]


def write_config(out: Path, cfg: SimConfig | dict[str, Any], **extra: Any) -> Path:
    """``out/config.json``: the resolved config, versions, backend, devices, git commit."""
    body = config_to_dict(cfg) if isinstance(cfg, SimConfig) else cfg
    return write_json(out / "config.json", {"config": body, **extra, "run": run_metadata()})


def write_simulation(result, out: Path) -> dict[str, Path]:
    """Write a :class:`~multiview.experiments.simulate.SimulationResult` to ``out``."""
    out = Path(out)
    paths = {"config": write_config(out, result.config)}
    paths["summary"] = write_json(out / "summary.json", result.summary)
    hist = result.history
    paths["per_seed"] = save_npz(
        out / "per_seed.npz",
        steps=hist.steps,
        weights=np.asarray(result.weights),
        **{f"history_{k}": v for k, v in hist.records.items()},
        **{k: np.asarray(v) for k, v in result.per_seed.items()},
    )
    paths.update(write_simulation_figures(result, out / "figures"))
    return paths


def write_simulation_figures(result, fig_dir: Path) -> dict[str, Path]:
    lam = result.history.records["lambda"]
    V = result.config.data.views
    return {
        "fig_lambda": plots.save(
            plots.plot_lambda_trajectories(result.history.steps, lam), fig_dir / "lambda.png"
        ),
        "fig_views": plots.save(
            plots.plot_learned_view_map(result.per_seed["learned"]), fig_dir / "learned_views.png"
        ),
        "fig_acc": plots.save(
            plots.plot_accuracy_distributions(result.per_seed, expected_single=1.0 / V),
            fig_dir / "accuracy.png",
        ),
    }


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
    return "\n".join(lines) + "\n"
