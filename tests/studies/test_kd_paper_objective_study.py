"""experiments/kd_paper_objective/run.py: the paired KD cells on one sweep, at tiny size."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "kd_paper_objective" / "run.py"


@pytest.fixture
def study():
    spec = importlib.util.spec_from_file_location("kd_paper_objective_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cells_set_the_paper_objective_at_the_given_temperature(study):
    _, th = study.study_config(smoke=True, seeds=4)
    k, T = 20, 35.0
    cells = dict(study.cells(th, k, T))
    assert len(cells) == 8 and cells["logits"] == th
    for r in study.RATIOS:
        for ce in (1.0, 0.0):
            c = cells[f"paper_r{r:g}_ce{ce:g}"]
            assert c.kd_loss == "paper" and c.kd_reading == "softening"
            assert c.kd_temperature(k) == pytest.approx(T)
            assert c.kd_weight / (k * c.kd_temperature(k)) == pytest.approx(r)
            assert c.kd_ce_weight == ce
            assert c.objective(k)["paper_objective"] == (ce == 1.0)
    old = cells["paper_T_log2k"]
    assert old.kd_temperature(k) == pytest.approx(math.log(k) ** 2) and old.kd_weight == 1.0


def test_recovered_fraction_is_the_paired_gain_ratio(study):
    rng = np.random.default_rng(0)
    single = np.array([0.5, 0.6, 0.55, 0.5])
    teacher = single + 0.2
    student = single + 0.1  # half of every group's gain
    r = study.recovered(student, teacher, single, rng)
    assert r["recovered_fraction"] == pytest.approx(0.5)
    assert r["recovered_low"] == pytest.approx(0.5) and r["recovered_high"] == pytest.approx(0.5)
    assert r["student_minus_single"]["n"] == 4
    assert r["recovered_per_student"] == pytest.approx([0.5] * 4)


def test_smoke_run_writes_one_line_per_cell_from_one_sweep(study, tmp_path):
    out = tmp_path / "cells.jsonl"
    rows = study.main(["--smoke", "--out", str(out), "--only", "logits", "paper_r0.1_ce0"])
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["cell"] for r in lines] == ["paper_r0.1_ce0", "logits"] == [r["cell"] for r in rows]
    b, a = lines
    assert a["teacher_single"] == b["teacher_single"]  # the same teachers: paired cells
    assert a["T_paper_scale"] == pytest.approx(a["teacher_F_y"] * math.log(4))
    assert b["objective"]["loss"] == "paper" and b["objective"]["ce_weight"] == 0.0
    assert b["w_over_kT"] == pytest.approx(0.1)
    assert len(b["student_single"]) == a["students"] == 2
    assert a["smoke"] and a["date"] and a["commit"]
    assert study.main(["--table", "--out", str(out)]) == lines
    assert "| paper_r0.1_ce0 |" in study.table(lines)
