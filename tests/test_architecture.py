"""The layout keeps its promises (docs/architecture.md): layers import downward only, no
module is over 400 lines, no private name crosses a module boundary, and imports sit at the
top of modules (except the optional PyTorch)."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "multiview"
MODULES = sorted(PKG.rglob("*.py"))
BASE = {"multiview", "multiview.errors", "multiview.io", "multiview.stats"}

#: Which packages of multiview each layer may import (besides itself and the base modules).
ALLOWED = {
    "sim": set(),
    "cifar": set(),
    "experiments": {"sim"},
    "bench": {"sim"},
    "report": {"sim", "experiments"},
    "cli": {"sim", "experiments", "report", "bench", "cifar"},
}
#: Experiments that compose others (the only ones that may import a sibling experiment).
COMPOSITES = {"multiview.experiments.theorems", "multiview.experiments.sweep"}
OPTIONAL = {"torch"}


def _name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node, a.name, None
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                yield node, node.module, a.name


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_is_at_most_400_lines(path):
    assert len(path.read_text().splitlines()) <= 400


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_imports_go_down_the_layers_and_stay_public(path):
    me = _name(path)
    layer = _layer(me)
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    # a module-level ``try: import x / except ImportError`` (an optional backend) is top level
    top |= {id(n) for t in tree.body if isinstance(t, ast.Try) for n in t.body}
    problems = []
    for node, module, name in _imports(tree):
        root = module.split(".")[0]
        where = f"{me}:{node.lineno}"
        if id(node) not in top and root not in OPTIONAL:
            problems.append(f"{where} imports {module} inside a function")
        if root != "multiview":
            continue
        if module == "multiview" and name and (PKG / name).exists():
            module, name = f"multiview.{name}", None  # from multiview import <subpackage>
        if name is not None and name.startswith("_") and not name.startswith("__"):
            problems.append(f"{where} imports the private name {module}.{name}")
        other = _layer(module)
        if layer == "experiments" and other == "experiments":
            if me not in COMPOSITES and module.count(".") >= 2:
                problems.append(f"{where} imports the sibling experiment {module}")
        elif layer is not None and other is not None and other != layer:
            if other not in ALLOWED[layer]:
                problems.append(f"{where} ({layer}) imports {module} ({other})")
        elif layer is not None and module == "multiview":
            problems.append(f"{where} imports {name} from the package root")
    assert not problems, "\n".join(problems)


def test_base_modules_import_nothing_above_them():
    for base in ("errors", "io", "stats"):
        tree = ast.parse((PKG / f"{base}.py").read_text())
        for _, module, _ in _imports(tree):
            if module.startswith("multiview"):
                assert module in BASE, f"multiview.{base} imports {module}"
