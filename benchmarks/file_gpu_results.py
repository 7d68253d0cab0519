"""File what a GPU run brought back, and read it against the GPU targets.

    python -m benchmarks.file_gpu_results FILES_AT [--results benchmarks/results] [--run N]

``FILES_AT`` is the folder copied back from ``benchmarks/gpu_run.sh``'s ``$OUT``:
``gpu.json``, ``gpu.md``, ``gpu_log.txt``, the CIFAR table's ``table.md``, ``summary.json``,
``figure1.png`` and ``report.html`` (absent if the table was cut), and ``extra.tar.gz`` (the
compiled programs, the table's log and per-run accuracies, the distillation cells).

Everything goes to a new folder ``RESULTS/gpu_run<N>/`` (``N``: one past the runs filed so
far; runs 1 and 2 predate this script and stay where they are: ``gpu_run1.*``, ``gpu.*``).
The folder must not exist yet, so nothing earlier is moved or overwritten. The archive is
unpacked with the standard library's ``data`` filter (no links out of the folder, no device
files). Then each bar is printed with the number that decides it, and written to
``verdicts.md`` in the folder. Every verdict is computed from the files; a cut table gets its
paired intervals from ``runs.json`` (``multiview.cifar.experiments.runs_summary``).
Bad input (no such folder, no ``gpu.json``, a corrupt file, an existing run folder) stops
with one line and exit code 2 before anything is written.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from multiview.cifar.experiments import runs_summary
from multiview.report.cifar import format_table

ROOT = Path(__file__).resolve().parent.parent
TABLE_FILES = ("table.md", "summary.json", "figure1.png", "report.html")
STEP_BAR = 0.5  # the step at 1,024 seeds: this fraction of the matmul peak timed beside it
SIMULATE_BAR_S = 60.0  # `multiview simulate --seeds 1024`, compile included
# Per model: within 0.3 points of airbench94's own code on this JPEG data (its two runs
# average 90.83%, docs/cifar.md), at <= 2 s per model on an H100. Lossless CIFAR-10's 93.5%
# is a note, not a bar: this data is about 3 points under it for every airbench.
CIFAR_BAR = 0.9083 - 0.003
CIFAR_BAR_S = 2.0
BAR_TEXT = "per model >= 90.53% (airbench94's own code on this data, 90.83%, - 0.3)"
SCRIPT_BAR_S = 480.0  # the GPU script, all stages


class FilingError(Exception):
    """Bad input: reported in one line, exit code 2."""


def next_run(results: Path) -> int:
    """One past the highest run filed in ``results`` (run 2 is ``gpu.json``, run 1
    ``gpu_run1.*``, later ones ``gpu_run<N>/``)."""
    found = [int(m.group(1)) for p in results.iterdir() if (m := re.match(r"gpu_run(\d+)", p.name))]
    return max([*found, 2 if (results / "gpu.json").exists() else 0]) + 1


def _step_rows(stages: dict) -> list[dict]:
    """Every timed step at 1,024 seeds as ``{name, strict, lenient, agrees}``: ``strict`` its
    FLOP/s over its GEMM operands' peak (bf16 for the bf16 operands; fp32 for the ``mixed``
    variants' fp32 operands with a bf16 store), ``lenient`` over the fp32
    (TF32 on a GPU) peak, ``agrees`` the on-card check (None: not checked)."""
    peak = stages.get("peak", {})
    fp32, bf16 = peak.get("fp32_default_flops"), peak.get("bf16_flops")
    if not fp32 or not bf16:
        return []
    rows = []
    for r in stages.get("sim_step", {}).get("rows", []):
        if r["seeds"] == 1024:
            low = r["dtype"] != "float32"
            rows.append((f"trainer {r['dtype']}", r["model_flops"], low, None))
    for r in stages.get("step_variants", {}).get("rows", []):
        if r["seeds"] == 1024:
            name = r["variant"] + (" (child process)" if r.get("process") == "child" else "")
            rows.append((name, r["model_flops"], r["variant"].startswith("bf16"), r.get("agrees")))
    return [
        {"name": n, "strict": f / (bf16 if low else fp32), "lenient": f / fp32, "agrees": a}
        for n, f, low, a in rows
    ]


def step_verdict(stages: dict) -> list[str]:
    timed = _step_rows(stages)
    rows = [r for r in timed if r["agrees"] is not False]
    wrong = [r["name"] for r in timed if r["agrees"] is False]
    if not rows:
        return ["- step at 1,024 seeds >= 50% of the peak: not measured"]
    best = max(rows, key=lambda r: r["strict"])
    loose = max(rows, key=lambda r: r["lenient"])
    # fp32 operands, so the TF32 peak is theirs, but the tensor is stored in bf16: say so
    mixed = " (TF32 GEMMs, bf16 store)" if best["name"].startswith("mixed") else ""
    lines = [
        f"- step at 1,024 seeds >= 50% of its dtype's peak (strict): "
        f"{'met' if best['strict'] >= STEP_BAR else 'missed'}, best {best['name']}{mixed} at "
        f"{100 * best['strict']:.0f}%",
        f"- the same against the fp32 (TF32) peak (lenient): "
        f"{'met' if loose['lenient'] >= STEP_BAR else 'missed'}, best {loose['name']} at "
        f"{100 * loose['lenient']:.0f}%",
    ]
    if wrong:
        lines.append(
            f"- left out, the on-card check says they train other models: {', '.join(wrong)}"
        )
    return lines


def table_verdict(files: Path, runs_file: Path | None) -> tuple[list[str], str | None]:
    """The CIFAR table's lines, and its Markdown when only ``runs.json`` came back."""
    summary = files / "summary.json"
    if summary.exists():
        s = json.loads(summary.read_text())
        single = s["methods"]["single"]
        d = s.get("differences", {})
        diffs = ", ".join(
            f"{m} {v['mean']:+.2f}"
            + ("" if v.get("low") is None else f" [{v['low']:+.2f}, {v['high']:+.2f}]")
            + f" (n={v['n']})"  # one pair has no interval
            for m, v in d.items()
        )
        return [
            f"- 10-seed Figure-1 table: complete, {len(s['runs']['single'])} single models",
            f"- {BAR_TEXT} (`{s.get('preset', '?')}` preset, the table's single models): "
            f"{'met' if single['mean'] >= CIFAR_BAR else 'missed'}, "
            f"{100 * single['mean']:.2f}% +- {100 * single['std']:.2f}",
            f"- paired differences to the single model, points: {diffs}",
        ], None
    if runs_file is None:
        return ["- 10-seed Figure-1 table: nothing came back"], None
    progress = json.loads(runs_file.read_text())
    runs = progress["runs"]
    summary = runs_summary(runs, progress["groups"])
    table = format_table(summary)
    single = runs.get("single", [])
    mean = summary["methods"].get("single", {}).get("mean", float("nan"))
    return [
        f"- 10-seed Figure-1 table: cut; finished {', '.join(runs)} (runs.json)",
        f"- {BAR_TEXT} (the cut table's single models): "
        f"{'met' if mean >= CIFAR_BAR else 'missed'}, {100 * mean:.2f}% "
        f"(n={len(single)})",
    ], table


def verdicts(results: dict, files: Path, runs_file: Path | None) -> tuple[str, str | None]:
    """``verdicts.md``'s text and the partial table (or None)."""
    st = results["stages"]
    dev = st.get("device", {})
    lines = [
        f"# Against the GPU targets ({', '.join(dev.get('devices', ['?']))}, jax {dev.get('jax', '?')})",
        "",
        f"- GPU script within 8 minutes: its stages took {results.get('elapsed_s', 0):.0f} s "
        f"of a {results.get('budget_s', 0):.0f} s budget "
        f"({'met' if results.get('elapsed_s', 1e9) <= SCRIPT_BAR_S else 'missed'})",
        *step_verdict(st),
    ]
    sim = st.get("simulate", {})
    if sim.get("status") == "ok":
        holds = all(p["holds"] for p in sim["predictions"].values())
        lines.append(
            f"- `multiview simulate --seeds {sim['seeds']}` under 60 s: "
            f"{'met' if sim['wall_s'] < SIMULATE_BAR_S else 'missed'}, {sim['wall_s']:.1f} s, "
            f"Theorem 1 {'holds' if holds else 'FAILS'}"
        )
    table_lines, partial = table_verdict(files, runs_file)
    lines += table_lines
    cf = st.get("cifar", {})
    if cf.get("status") == "ok":
        lines.append(
            f"- {BAR_TEXT}, <= {CIFAR_BAR_S:.0f} s per model (`{cf['preset']}` preset with "
            f"airbench94's recipe, `cifar` stage, {len(cf['models'])} models one after another): "
            f"{'met' if cf['mean_accuracy'] >= CIFAR_BAR and cf['seconds_per_model'] <= CIFAR_BAR_S else 'missed'}, "
            f"{100 * cf['mean_accuracy']:.2f}%, {cf['seconds_per_model']:.1f} s per model"
        )
    ce = st.get("cifar_epochs", {})
    for m in ce.get("models", []) if ce.get("status") == "ok" else []:
        lines.append(f"- one `gpu` model at {m['epochs']} epochs: {100 * m['test_accuracy']:.2f}%")
    not_run = [f"{k} ({v['status']})" for k, v in st.items() if v.get("status") != "ok"]
    if not_run:
        lines.append(f"- stages not measured: {', '.join(not_run)}")
    return "\n".join(lines) + "\n", partial


def file_gpu_results(files: Path, results: Path, run: int | None = None) -> Path:
    """Copy and unpack ``files`` into ``results/gpu_run<run>/``; return that folder."""
    if not files.is_dir():
        raise FilingError(f"{files} is not a folder")
    try:
        gpu = json.loads((files / "gpu.json").read_text())
        gpu["stages"]  # noqa: B018  (a gpu.json without stages is not one)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise FilingError(
            f"{files / 'gpu.json'}: not a GPU script result ({type(e).__name__})"
        ) from None
    results.mkdir(parents=True, exist_ok=True)
    dest = results / f"gpu_run{run or next_run(results)}"
    if dest.exists():
        raise FilingError(f"{dest} exists already: nothing filed (never overwrite a run)")
    with tempfile.TemporaryDirectory(dir=results) as tmp:
        stage = Path(tmp) / "run"
        stage.mkdir()
        for name in ("gpu.json", "gpu.md", "gpu_log.txt", *TABLE_FILES):
            if (files / name).exists():
                shutil.copy2(files / name, stage / name)
        extra = files / "extra.tar.gz"
        if extra.exists():
            try:
                with tarfile.open(extra) as tar:
                    tar.extractall(stage / "extra", filter="data")
            except (tarfile.TarError, OSError, EOFError) as e:
                raise FilingError(
                    f"{extra}: not a readable archive ({type(e).__name__}: {e})"
                ) from None
        runs_file = stage / "extra" / "cifar" / "checkpoints" / "runs.json"
        try:
            text, partial = verdicts(gpu, stage, runs_file if runs_file.exists() else None)
        except (ValueError, KeyError, TypeError) as e:
            raise FilingError(
                f"{files}: a result file is damaged ({type(e).__name__}: {e})"
            ) from None
        if partial:
            (stage / "table_partial.md").write_text(partial)
        (stage / "verdicts.md").write_text(text)
        stage.rename(dest)  # the folder appears whole or not at all
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", type=Path, help="what the GPU run brought back ($OUT's copy)")
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--run", type=int, default=None, help="run number (default: the next)")
    a = ap.parse_args(argv)
    try:
        dest = file_gpu_results(a.files, a.results, a.run)
    except FilingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"filed in {dest}\n")
    print((dest / "verdicts.md").read_text())
    if (dest / "table_partial.md").exists():
        print((dest / "table_partial.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
