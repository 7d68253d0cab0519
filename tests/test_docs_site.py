"""The documentation site (mkdocs.yml) covers the public API and every page of docs/.

The fast checks read the files only; `mkdocs build --strict` (.ci/run, and the slow test
here) renders the site and fails on a broken link, a page left out of the nav, or an API
entry that names no object.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import multiview

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API_PAGES = sorted((DOCS / "api").glob("*.md"))


def _nav_files() -> list[str]:
    """The .md files mkdocs.yml's nav names, relative to docs/."""
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def walk(node) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [f for item in node for f in walk(item)]
        if isinstance(node, dict):
            return [f for value in node.values() for f in walk(value)]
        return []

    return walk(config["nav"])


def _api_entries() -> set[str]:
    """The identifiers of the ``::: identifier`` entries of the API reference pages."""
    found = set()
    for page in API_PAGES:
        found |= set(re.findall(r"^::: ([\w.]+)\s*$", page.read_text(), flags=re.M))
    return found


def test_every_public_name_has_an_entry_in_the_api_reference():
    entries = _api_entries()
    text = "\n".join(page.read_text() for page in API_PAGES)
    missing = []
    for name in multiview.__all__:
        if name == "__version__":
            if "multiview.__version__" not in text:
                missing.append(name)
        elif not any(e.startswith("multiview.") and e.endswith(f".{name}") for e in entries):
            missing.append(name)
    assert not missing, (
        f"public names of multiview without a `::: module.NAME` entry in docs/api/: {missing}"
    )


def test_api_entries_name_modules_of_the_package():
    for entry in _api_entries():
        parts = entry.split(".")
        assert parts[0] == "multiview", entry
        # the longest prefix that is a module or package of the source tree
        for cut in range(len(parts), 0, -1):
            base = ROOT.joinpath(*parts[:cut])
            if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
                break
        else:
            raise AssertionError(f"{entry}: no such module under multiview/")


def test_nav_files_exist_and_every_page_is_in_the_nav():
    nav = _nav_files()
    assert "index.md" in nav
    missing = [f for f in nav if not (DOCS / f).is_file()]
    assert not missing, f"mkdocs.yml's nav names files that docs/ lacks: {missing}"
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    left_out = sorted(pages - set(nav))
    assert not left_out, f"pages of docs/ missing from mkdocs.yml's nav: {left_out}"


def test_figures_the_pages_show_exist():
    """A page shows a figure of the top-level figures/ as ``../figures/NAME.png``, or a study's
    as ``../experiments/<study>/results/NAME.png`` (the site serves both folders:
    docs/hooks/figures.py)."""
    for page in DOCS.rglob("*.md"):
        pattern = r"\]\((\.\./(?:figures|experiments)/[^)\s]+)\)"
        for target in re.findall(pattern, page.read_text()):
            assert (page.parent / target).resolve().is_file(), f"{page.name}: {target}"


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "api" / "index.html").is_file()
    assert (tmp_path / "figures" / "lambda.png").is_file()
    assert (tmp_path / "experiments" / "phase_diagram" / "results" / "phase_diagram.png").is_file()
