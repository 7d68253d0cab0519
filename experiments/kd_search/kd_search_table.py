"""One line per kd_search cell: the key numbers of the regime search (markdown table)."""

import json
import sys
from pathlib import Path

path = (
    sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results" / "runs.jsonl"
)
cols = [
    "name",
    "one",
    "single",
    "ens8",
    "kd_rec",
    "kd_all",
    "kd_all(L>=rho)",
    "kd_ens+",
    "sd_gain/half2",
    "sd_union",
    "failing",
]
print("| " + " | ".join(cols) + " |")
print("|" + "---|" * len(cols))
for line in open(path):
    r = json.loads(line)
    if "error" in r:
        print(f"| {r['name']} | error: {r['error'][:60]} |")
        continue
    p, m = r["predictions"], r["metrics"]
    g = lambda k, f="measured", p=p: p[k][f] if k in p else float("nan")  # noqa: E731
    rec = p.get("kd_transfer", {}).get("details", {}).get("recovered_fraction", float("nan"))
    sd = p.get("self_distill_gain", {}).get("details", {})
    sdtxt = (
        f"{sd.get('gain', float('nan')):.3f}/{0.5 * sd.get('ensemble2_gain', float('nan')):.3f}"
        if sd
        else "-"
    )
    kl = r.get("kd_student_lambda", {}).get("frac_all_views_lambda_ge_varrho", float("nan"))
    row = [
        r["name"],
        f"{m['frac_classes_one_view']:.3f}",
        f"{m['test_acc_single']:.3f}",
        f"{r.get('ensemble_single', {}).get('8', float('nan')):.3f}",
        f"{rec:.3f}",
        f"{g('kd_all_views'):.3f}",
        f"{kl:.3f}",
        f"{p.get('kd_ensemble_no_gain', {}).get('details', {}).get('gain', float('nan')):.3f}",
        sdtxt,
        f"{g('self_distill_union'):.3f}",
        ",".join(r["failing"]),
    ]
    print("| " + " | ".join(row) + " |")
