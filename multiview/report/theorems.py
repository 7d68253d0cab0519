"""The report of ``multiview theorems``: summary.json, report.md and its figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from multiview.io import atomic_write_text, write_json
from multiview.report import plots
from multiview.report.page import build_report
from multiview.report.run_tables import write_run_tables
from multiview.report.simulation import write_config, write_simulation_figures
from multiview.report.tables import predictions_markdown
from multiview.report.view_figures import plot_lambda_histograms
from multiview.sim.predictions import headline
from multiview.stats import STD_CONVENTION, mean_std, mean_std_dict

__all__ = [
    "theorems_summary",
    "objective_text",
    "run_conditions_markdown",
    "diagnostics_markdown",
    "write_theorems",
    "write_theorem_figures",
]


def _counts(per_seed: dict[str, np.ndarray]) -> dict[str, float]:
    return {
        "one": float(np.mean(per_seed["frac_classes_one_view"])),
        "all": float(np.mean(per_seed["frac_classes_all_views"])),
        "none": float(np.mean(per_seed["frac_classes_no_view"])),
    }


def theorems_summary(res: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready summary of :func:`multiview.experiments.theorems.run_theorems` results."""
    sim, ens = res["sim"], res["ensemble"]
    methods = {
        "single": {
            "single_view": mean_std_dict(sim.per_seed["test_acc_single"]),
            "multi_view": mean_std_dict(sim.per_seed["test_acc_multi"]),
        }
    }
    for K, a_s, a_m, cov in zip(
        ens["K"], ens["acc_single"], ens["acc_multi"], ens["view_coverage"], strict=True
    ):
        methods[f"ensemble_{K}"] = {
            "single_view": mean_std_dict(a_s),
            "multi_view": mean_std_dict(a_m),
            "view_coverage": mean_std_dict(cov),
        }
    for name, key in (("kd_student", "kd"), ("self_distill", "sd")):
        if res.get(key):
            st = res[key]["student"]
            methods[name] = {
                "single_view": mean_std_dict(st["test_acc_single"]),
                "multi_view": mean_std_dict(st["test_acc_multi"]),
                "views": _counts(st),
            }
    if res.get("kd"):
        methods["kd_teacher"] = {
            "single_view": mean_std_dict(res["kd"]["teacher"]["test_acc_single"]),
            "multi_view": mean_std_dict(res["kd"]["teacher"]["test_acc_multi"]),
        }
    if res.get("average"):
        avg = res["average"]
        names = {
            "average": f"train_average (lr x {avg['lr_scale']:g})",
            "wide": "train_wide",
            "scaled_single": f"single at varrho/{avg['K']}, init/{avg['K']} (control)",
        }
        if "extra" in avg:
            names["extra"] = f"train_average (lr x {avg['extra']['lr_scale']:g}, extra row)"
        for name, label in names.items():
            st = avg[name]
            methods[label] = {
                "single_view": mean_std_dict(st["test_acc_single"]),
                "multi_view": mean_std_dict(st["test_acc_multi"]),
                "views": _counts(st),
            }
    for extra in ("rf", "gaussian", "ablation"):
        if res.get(extra):
            methods.update(res[extra].get("methods", {}))
    diagnostics = {key: res[key]["diagnostics"] for key in ("kd", "sd") if res.get(key)}
    return {
        "format_version": 2,
        "headline": headline(res["predictions"]),
        "convergence": res["convergence"],
        "learned_cut": res["learned_cut"],
        "objective": res["objective"],
        "metrics": res["metrics"],
        "methods": methods,
        "diagnostics": diagnostics,
        "predictions": res["predictions"],
        "ensemble_curve": {
            "K": ens["K"],
            "theory_single": ens["theory_single"],
            "single_view": [mean_std_dict(a) for a in ens["acc_single"]],
        },
    }


def _f(value: Any) -> str:
    return "–" if value is None or value != value else f"{value:.3g}"


def diagnostics_markdown(diagnostics: dict[str, Any]) -> list[str]:
    """The distillation diagnostics of a summary as markdown lines (empty without KD / SD)."""
    if not diagnostics:
        return []
    lines = [
        "## Distillation diagnostics\n",
        "Teacher contrast: on the training data, the teacher's mean score and tempered "
        "probability (its KD temperature T) of the off-target classes whose feature is present "
        "against those whose feature is absent; 'student knows / not' splits the present ones "
        "by whether the student learned that view. Off-target score: the models' mean score "
        "on present off-target classes of training samples, with their own noise and with "
        "fresh noise (the part that goes is memorized noise). Lambda: mean final Lambda of "
        "learned / not learned views.\n",
        "| | " + " | ".join(diagnostics) + " |",
        "|---|" + "---|" * len(diagnostics),
    ]
    rows = [
        ("temperature T the objective uses", "teacher_contrast", "temperature"),
        ("teacher score, true class", "teacher_contrast", "score_true"),
        ("teacher score, off-target present", "teacher_contrast", "score_present"),
        ("teacher score, off-target absent", "teacher_contrast", "score_absent"),
        ("teacher prob, off-target present", "teacher_contrast", "prob_present"),
        ("teacher prob, off-target absent", "teacher_contrast", "prob_absent"),
        (
            "teacher score, present, student knows",
            "teacher_contrast",
            "score_present_student_known",
        ),
        (
            "teacher score, present, student not",
            "teacher_contrast",
            "score_present_student_unknown",
        ),
        (
            "student off-target score, training noise",
            "student_noise",
            "offtarget_score_train_noise",
        ),
        ("student off-target score, fresh noise", "student_noise", "offtarget_score_fresh_noise"),
        ("single off-target score, training noise", "single_noise", "offtarget_score_train_noise"),
        ("single off-target score, fresh noise", "single_noise", "offtarget_score_fresh_noise"),
        ("student Lambda, learned views", "student_lambda", "lambda_learned"),
        ("student Lambda, not learned views", "student_lambda", "lambda_unlearned"),
        ("single Lambda, learned views", "single_lambda", "lambda_learned"),
        ("single Lambda, not learned views", "single_lambda", "lambda_unlearned"),
    ]
    for label, group, key in rows:
        values = [d.get(group, {}).get(key) for d in diagnostics.values()]
        if all(v is None for v in values):
            continue  # a row the objective does not use (no temperature: no probabilities)
        lines.append(f"| {label} | " + " | ".join(_f(v) for v in values) + " |")
    kd = diagnostics.get("kd", {})
    if "oracle" in kd:
        real, oracle = kd["real_teacher"], kd["oracle"]
        lines += [
            "\nOracle-teacher control: the same KD students distilled from ideal teachers "
            "built from the true feature coefficients: every view at a multiple of the single "
            f"models' Lambda ({oracle['lambda']:.3g}), scaled by a share (1/2 mimics an "
            "ensemble whose members each know one view of two). It shows what this ideal "
            "teacher transfers at this scale, not an upper bound: a real ensemble's scores "
            "also carry memorized noise and unequal views.\n",
            "| teacher | share | Lambda x | student single-view | recovered gain | all views |",
            "|---|---|---|---|---|---|",
        ]
        cells = [real["single_view"], real["recovered_fraction"], real["frac_classes_all_views"]]
        lines.append("| ensemble (real) | – | – | " + " | ".join(_f(c) for c in cells) + " |")
        for v in oracle["variants"]:
            cells = [v["single_view"], v["recovered_fraction"], v["frac_classes_all_views"]]
            lines.append(
                f"| oracle | {v['share']:g} | {v['lambda_scale']:g} | "
                + " | ".join(_f(c) for c in cells)
                + " |"
            )
    return lines


def objective_text(obj: dict[str, Any]) -> str:
    """The distillation objective in one sentence (loss, weight, temperature and reading, CE
    weight, student steps, whether it is the paper's)."""
    parts = [f"{obj['name']} (`{obj['loss']}`)", f"weight {obj['weight']:g}"]
    if obj.get("temperature") is not None:
        reading = f", {obj['reading']} reading" if obj.get("reading") else ""
        parts.append(f"temperature T = {obj['temperature']:.3g}{reading}")
    parts.append(f"cross-entropy weight {obj['ce_weight']:g}")
    steps = obj.get("student_steps") or 0
    parts.append(f"student steps {steps}" if steps else "students train as long as singles")
    tail = "the paper's objective" if obj["paper_objective"] else "not the paper's objective"
    return ", ".join(parts) + f": {tail}"


def run_conditions_markdown(summary: dict[str, Any]) -> list[str]:
    """What every verdict rests on: convergence, the learned-view cut, the KD objective."""
    conv = summary["convergence"]
    state = "converged" if conv["converged"] else "**did not converge**"
    lines = [
        f"- Single models {state}: training accuracy {conv['train_acc']:.3f} (gate >= "
        f"{conv['train_bar']:g}), multi-view test accuracy {conv['test_acc_multi']:.3f} "
        f"(gate >= {conv['multi_view_bar']:g})."
        + (
            f" Every dependent verdict reads `not_converged`: {conv['hint']}."
            if conv["hint"]
            else ""
        ),
        f"- A view counts as learned when its Lambda >= {summary['learned_cut']:.3g}: "
        "max(varrho / 2, half the single models' median learned Lambda); view-count "
        "verdicts are repeated at x0.5 and x2 this cut in `summary.json` (sensitivity).",
    ]
    if summary["diagnostics"]:
        lines.append(f"- Distillation objective: {objective_text(summary['objective'])}.")
    return lines + [""]


def write_theorems(
    res: dict[str, Any],
    out: Path,
    th_config: dict[str, Any],
    kernels: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``out/summary.json``, ``out/report.md``, ``out/config.json``, ``out/figures/`` and
    ``out/report.html``; ``kernels``: the kernel baselines' settings, recorded in
    ``config.json`` when given (None: the defaults, not written)."""
    out = Path(out)
    sim = res["sim"]
    summary = theorems_summary(res)
    write_config(out, sim.config, theorems=th_config, **({"kernels": kernels} if kernels else {}))
    write_run_tables(out, sim.per_seed, sim.history.steps, sim.history.records)  # the singles
    write_json(out / "summary.json", summary)
    figs = write_theorem_figures(res, out / "figures")
    lines = [
        "# multiview theorems report\n",
        f"Run: k = {sim.config.data.k}, V = {sim.config.data.views}, "
        f"seeds = {sim.config.seeds}, steps = {sim.config.train.steps}, "
        f"lr = {sim.config.train.lr:g}. Every verdict below is computed from the runs of "
        "this invocation.\n",
        *run_conditions_markdown(summary),
        "## Predictions\n",
        predictions_markdown(summary["predictions"]),
        "## Accuracy by method (test accuracy, mean ± std)\n",
        "Overall = the mixture (1 - mu) multi-view + mu single-view; the Gaussian-like control "
        f"has only its own test set (overall). {STD_CONVENTION}.\n",
        "| method | single-view | multi-view | overall |",
        "|---|---|---|---|",
    ]
    for name, m in summary["methods"].items():
        cells = [m.get(key) for key in ("single_view", "multi_view", "overall")]
        fmt = lambda d: f"{d['mean']:.3f} ± {d['std']:.3f}" if d else "–"  # noqa: E731
        lines.append(f"| {name} | " + " | ".join(fmt(c) for c in cells) + " |")
    lines.append("")
    lines += diagnostics_markdown(summary["diagnostics"])
    lines.append("\n## Figures\n")
    lines += [f"![{p.stem}](figures/{p.name})" for p in figs.values()]
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
    build_report(out)
    return summary


def write_theorem_figures(res: dict[str, Any], fig_dir: Path) -> dict[str, Path]:
    sim, ens = res["sim"], res["ensemble"]
    V = sim.config.data.views
    paths = write_simulation_figures(sim, fig_dir)
    paths["ensemble_curve"] = plots.save(
        plots.plot_ensemble_curve(
            ens["K"], ens["acc_single"], ens["acc_multi"], ens["theory_single"]
        ),
        fig_dir / "ensemble_curve.png",
    )
    counts = {"single": _counts(sim.per_seed)}
    K8 = 8 if 8 in ens["K"] else ens["K"][-1]
    cov = ens["view_coverage"][ens["K"].index(K8)]
    counts[f"ensemble {K8}"] = {
        "all": float(np.mean(cov)),
        "one": 1 - float(np.mean(cov)),
        "none": 0.0,
    }
    acc = {"single": mean_std(sim.per_seed["test_acc_single"])}
    a8 = ens["acc_single"][ens["K"].index(K8)]
    acc[f"ensemble {K8}"] = mean_std(a8)
    for label, key in (("KD", "kd"), ("SD", "sd")):
        if res.get(key):
            st = res[key]["student"]
            counts[label] = _counts(st)
            acc[label] = mean_std(st["test_acc_single"])
    if res.get("average"):
        counts["train avg"] = _counts(res["average"]["average"])
        a = res["average"]["average"]["test_acc_single"]
        acc["train avg"] = mean_std(a)
    for extra in ("rf",):
        if res.get(extra):
            acc.update(res[extra].get("bar", {}))
    paths["views_per_method"] = plots.save(
        plots.plot_views_per_method(counts, V), fig_dir / "views_per_method.png"
    )
    paths["method_accuracy"] = plots.save(
        plots.plot_method_accuracy(acc), fig_dir / "method_accuracy.png"
    )
    lam_groups = {"single models": sim.per_seed["lambda_final"]}
    for label, key in (("KD students", "kd"), ("SD students", "sd")):
        if res.get(key):
            lam_groups[label] = res[key]["student"]["lambda_final"]
    paths["lambda_histograms"] = plots.save(
        plot_lambda_histograms(lam_groups, res["learned_cut"]), fig_dir / "lambda_histograms.png"
    )
    if res.get("kd"):
        paths["kd_lambda"] = plots.save(
            plots.plot_student_vs_plain(
                sim.history.steps,
                sim.history.records["lambda"],
                res["kd"]["history"].records["lambda"],
                student_steps=res["kd"]["history"].steps,
            ),
            fig_dir / "kd_vs_single_lambda.png",
        )
    return paths
