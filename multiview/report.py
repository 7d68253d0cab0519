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


def _counts(per_seed: dict[str, np.ndarray]) -> dict[str, float]:
    return {
        "one": float(np.mean(per_seed["frac_classes_one_view"])),
        "all": float(np.mean(per_seed["frac_classes_all_views"])),
        "none": float(np.mean(per_seed["frac_classes_no_view"])),
    }


def _ms(values) -> dict[str, float]:
    from multiview.metrics import mean_std_dict

    return mean_std_dict(values)


def theorems_summary(res: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready summary of :func:`multiview.experiments.theorems.run_theorems` results."""
    sim, ens = res["sim"], res["ensemble"]
    methods = {
        "single": {
            "single_view": _ms(sim.per_seed["test_acc_single"]),
            "multi_view": _ms(sim.per_seed["test_acc_multi"]),
        }
    }
    for K, a_s, a_m, cov in zip(ens["K"], ens["acc_single"], ens["acc_multi"],
                                ens["view_coverage"], strict=True):
        methods[f"ensemble_{K}"] = {"single_view": _ms(a_s), "multi_view": _ms(a_m),
                                    "view_coverage": _ms(cov)}
    for name, key in (("kd_student", "kd"), ("self_distill", "sd")):
        if res.get(key):
            st = res[key]["student"]
            methods[name] = {"single_view": _ms(st["test_acc_single"]),
                             "multi_view": _ms(st["test_acc_multi"]), "views": _counts(st)}
    if res.get("kd"):
        methods["kd_teacher"] = {"single_view": _ms(res["kd"]["teacher"]["test_acc_single"]),
                                 "multi_view": _ms(res["kd"]["teacher"]["test_acc_multi"])}
        methods["kd_student_ensemble"] = {
            "single_view": _ms(res["kd"]["student_ensemble"]["test_acc_single"])}
    if res.get("average"):
        for name in ("average", "wide"):
            st = res["average"][name]
            methods[f"train_{name}"] = {"single_view": _ms(st["test_acc_single"]),
                                        "multi_view": _ms(st["test_acc_multi"]),
                                        "views": _counts(st)}
    for extra in ("rf", "gaussian", "ablation"):
        if res.get(extra):
            methods.update(res[extra].get("methods", {}))
    return {"metrics": res["metrics"], "methods": methods, "predictions": res["predictions"],
            "ensemble_curve": {"K": ens["K"], "theory_single": ens["theory_single"],
                               "single_view": [_ms(a) for a in ens["acc_single"]]}}


def write_theorems(res: dict[str, Any], out: Path, th_config: dict[str, Any]) -> dict[str, Any]:
    """``out/summary.json``, ``out/report.md``, ``out/config.json`` and ``out/figures/``."""
    out = Path(out)
    sim = res["sim"]
    summary = theorems_summary(res)
    write_config(out, sim.config, theorems=th_config)
    write_json(out / "summary.json", summary)
    figs = write_theorem_figures(res, out / "figures")
    lines = [
        "# multiview theorems report\n",
        f"Preset values: k = {sim.config.data.k}, V = {sim.config.data.views}, "
        f"seeds = {sim.config.seeds}, steps = {sim.config.train.steps}. "
        "Every verdict below is computed from the runs of this invocation.\n",
        "## Predictions\n",
        predictions_markdown(summary["predictions"]),
        "## Accuracy by method (test accuracy, mean ± std)\n",
        "Overall = the mixture (1 - mu) multi-view + mu single-view; the Gaussian-like control "
        "has only its own test set (overall).\n",
        "| method | single-view | multi-view | overall |",
        "|---|---|---|---|",
    ]
    for name, m in summary["methods"].items():
        cells = [m.get(key) for key in ("single_view", "multi_view", "overall")]
        fmt = lambda d: f"{d['mean']:.3f} ± {d['std']:.3f}" if d else "–"  # noqa: E731
        lines.append(f"| {name} | " + " | ".join(fmt(c) for c in cells) + " |")
    lines.append("\n## Figures\n")
    lines += [f"![{p.stem}](figures/{p.name})" for p in figs.values()]
    from multiview.io import atomic_write_text

    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
    return summary


def write_theorem_figures(res: dict[str, Any], fig_dir: Path) -> dict[str, Path]:
    sim, ens = res["sim"], res["ensemble"]
    V = sim.config.data.views
    paths = write_simulation_figures(sim, fig_dir)
    paths["ensemble_curve"] = plots.save(
        plots.plot_ensemble_curve(ens["K"], ens["acc_single"], ens["acc_multi"],
                                  ens["theory_single"]),
        fig_dir / "ensemble_curve.png",
    )
    counts = {"single": _counts(sim.per_seed)}
    K8 = 8 if 8 in ens["K"] else ens["K"][-1]
    cov = ens["view_coverage"][ens["K"].index(K8)]
    counts[f"ensemble {K8}"] = {"all": float(np.mean(cov)), "one": 1 - float(np.mean(cov)),
                                "none": 0.0}
    acc = {"single": (float(np.mean(sim.per_seed["test_acc_single"])),
                      float(np.std(sim.per_seed["test_acc_single"])))}
    a8 = ens["acc_single"][ens["K"].index(K8)]
    acc[f"ensemble {K8}"] = (float(np.mean(a8)), float(np.std(a8)))
    for label, key in (("KD", "kd"), ("SD", "sd")):
        if res.get(key):
            st = res[key]["student"]
            counts[label] = _counts(st)
            acc[label] = (float(np.mean(st["test_acc_single"])),
                          float(np.std(st["test_acc_single"])))
    if res.get("average"):
        counts["train avg"] = _counts(res["average"]["average"])
        a = res["average"]["average"]["test_acc_single"]
        acc["train avg"] = (float(np.mean(a)), float(np.std(a)))
    for extra in ("rf",):
        if res.get(extra):
            acc.update(res[extra].get("bar", {}))
    paths["views_per_method"] = plots.save(plots.plot_views_per_method(counts, V),
                                           fig_dir / "views_per_method.png")
    paths["method_accuracy"] = plots.save(plots.plot_method_accuracy(acc),
                                          fig_dir / "method_accuracy.png")
    if res.get("kd"):
        paths["kd_lambda"] = plots.save(
            plots.plot_student_vs_plain(sim.history.steps, sim.history.records["lambda"],
                                        res["kd"]["history"].records["lambda"]),
            fig_dir / "kd_vs_single_lambda.png",
        )
    return paths
