"""Markdown that renders on GitHub: every table row of a report has the header's cell count,
read by a GitHub-flavoured parser (markdown-it-py, CommonMark with its table extension)."""

import re

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from tiny_args import tiny_args
from typer.testing import CliRunner

from multiview.cli import app
from multiview.report.tables import predictions_markdown

runner = CliRunner()
GFM = MarkdownIt("commonmark").enable("table")


def table_rows(text: str) -> list[list[list[str]]]:
    """Each table of ``text`` as its rows, each row the text of its cells (header first)."""
    tables, row, cells, inline_of = [], None, None, None
    for tok in GFM.parse(text):
        if tok.type == "table_open":
            tables.append([])
        elif tok.type == "tr_open":
            row = []
        elif tok.type in ("th_open", "td_open"):
            cells, inline_of = row, True
        elif tok.type == "inline" and inline_of:
            cells.append(tok.content)
            inline_of = False
        elif tok.type in ("th_close", "td_close") and inline_of:  # an empty cell
            cells.append("")
            inline_of = False
        elif tok.type == "tr_close":
            tables[-1].append(row)
    return tables


def raw_cell_counts(text: str) -> list[tuple[int, int]]:
    """(header cells, this row's cells) as GitHub's table extension splits the source lines:
    on every ``|`` not right after a backslash, so a row with more cells than its header
    shows cells GitHub drops."""
    out, header = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            header = None
            continue
        n = len(re.split(r"(?<!\\)\|", line.removeprefix("|").removesuffix("|")))
        header = n if header is None else header
        out.append((header, n))
    return out


@given(
    expected=st.text(st.sampled_from("ab |<>`\\*-=0.5"), max_size=30),
    claim=st.text(st.sampled_from("xy |`\\"), max_size=20),
)
def test_pipes_and_backslashes_in_cells_keep_every_row_at_seven_cells(expected, claim):
    p = {"id": "some_id", "claim": claim, "measured": 0.5, "expected": expected, "holds": False}
    text = predictions_markdown([p, {**p, "holds": True, "measured": None}])
    (table,) = table_rows(text)
    assert [len(r) for r in table] == [7, 7, 7]
    assert all(a == b for a, b in raw_cell_counts(text))
    assert table[1][6] == "**fails**" and table[2][6] == "holds"


def test_a_bar_in_the_expectation_stays_in_its_cell():
    p = {"id": "x", "claim": "c", "measured": 0.5, "expected": "|avg - single| <= 0.05"}
    (table,) = table_rows(predictions_markdown([{**p, "holds": True}]))
    assert table[1][5] == "|avg - single| <= 0.05" and table[1][6] == "holds"


def test_report_md_of_a_run_parses_with_the_headers_cell_count(tmp_path):
    # train-average: its expectation, |avg - single| <= ..., has the bars that broke tables
    out = tmp_path / "avg"
    args = ["train-average", *tiny_args(), "--average-size", "2", "--average-groups", "1"]
    result = runner.invoke(app, [*args, "--ensemble-sizes", "1,2", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "report.md").read_text()
    tables = table_rows(text)
    assert tables and any("train_average_no_gain" in c for t in tables for r in t for c in r)
    for table in tables:
        assert all(len(row) == len(table[0]) for row in table), table
    assert all(a == b for a, b in raw_cell_counts(text)), raw_cell_counts(text)
