"""The layout keeps its promises (docs/architecture.md): layers import downward only, no
module is over 400 lines, no private name crosses a module boundary, and imports sit at the
top of modules (except the optional PyTorch)."""

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "multiview"
MODULES = sorted(PKG.rglob("*.py"))
#: The base floor: any module may import these, and they import only each other.
BASE = {
    "multiview",
    "multiview.errors",
    "multiview.io",
    "multiview.stats",
    "multiview.memory",
    "multiview.run_lock",
    "multiview.outdir",
    "multiview.progress",
    "multiview.signals",
}

#: Every other package and root module of multiview is a layer: what it may import (besides
#: itself and the base). Lowest first; the console script is the top floor.
ALLOWED = {
    "sim": set(),
    "cifar": set(),
    "experiments": {"sim"},
    "bench": {"sim"},
    "report": {"sim", "experiments"},
    "prediction_list": {"sim", "report"},
    "results": {"sim", "experiments", "report", "prediction_list"},
    "plotting": {"sim", "report", "results"},
    "api": {"sim", "cifar", "experiments", "report", "results"},
    "cli": {"sim", "experiments", "report", "bench", "cifar", "api"},
    "console": {"cli"},
    "__main__": {"console"},
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
    for base in sorted(BASE - {"multiview"}):
        path = PKG / f"{base.split('.')[1]}.py"
        for _, module, _ in _imports(ast.parse(path.read_text())):
            if module.startswith("multiview"):
                assert module in BASE, f"{base} imports {module}"


def test_every_root_module_and_package_has_a_floor():
    roots = {p.stem for p in PKG.glob("*.py") if p.stem != "__init__"}
    roots |= {p.parent.name for p in PKG.glob("*/__init__.py")}
    missing = sorted(r for r in roots if f"multiview.{r}" not in BASE and r not in ALLOWED)
    assert not missing, f"give these a place in BASE or ALLOWED: {missing}"


# --- experiments/ and benchmarks/: studies and speed work use the package as a user would ---

#: Study drivers and benchmarks (top-level ``experiments/`` and ``benchmarks/`` packages).
OUTSIDE = sorted(
    p for d in ("experiments", "benchmarks") for p in (ROOT / d).rglob("*.py") if p.is_file()
)


def _outside_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def outside_problems(me: str, source: str) -> list[str]:
    """Why ``source`` (the module ``me`` under experiments/ or benchmarks/) is not a plain
    user of the package: a ``sys.path`` edit, a private name or module of multiview, the
    CLI's internals, or another study's modules. Empty when it is."""
    tree = ast.parse(source)
    problems = []
    study = me.split(".")[:2]
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "path"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            problems.append(f"{me}:{line} touches sys.path")
        if isinstance(node, ast.Attribute) and node.attr == "addsitedir":
            problems.append(f"{me}:{line} adds a site directory")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "multiview.cli" in node.value:
                problems.append(f"{me}:{line} runs the CLI's module (use `python -m multiview`)")
    for node, module, name in _imports(tree):
        where = f"{me}:{node.lineno}"
        parts = module.split(".")
        if parts[0] not in ("multiview", "experiments", "benchmarks"):
            continue
        if any(p.startswith("_") and not p.startswith("__") for p in parts):
            problems.append(f"{where} imports the private module {module}")
        if name is not None and name.startswith("_") and not name.startswith("__"):
            problems.append(f"{where} imports the private name {module}.{name}")
        if parts[:2] == ["multiview", "cli"]:
            problems.append(f"{where} imports the command line ({module})")
        if parts[0] == "experiments" and me.startswith("experiments.") and parts[:2] != study:
            problems.append(f"{where} imports another study ({module})")
        if parts[0] == "experiments" and me.startswith("benchmarks."):
            problems.append(f"{where} (a benchmark) imports a study ({module})")
    return problems


@pytest.mark.parametrize("path", OUTSIDE, ids=_outside_name)
def test_studies_and_benchmarks_use_the_public_api(path):
    problems = outside_problems(_outside_name(path), path.read_text())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        "import sys\nsys.path.insert(0, 'x')\n",
        "from multiview.stats import _t_quantile\n",
        "from multiview.cli import app\n",
        "import multiview.cli.simulate\n",
        "CLI = ['python', '-c', 'from multiview.cli import main; main()']\n",
        "from experiments.rf_contrast.rf_full_data import SETTINGS\n",
    ],
)
def test_the_outside_rule_catches_each_kind_of_problem(source):
    assert outside_problems("experiments.calibration.calibrate", source)


def test_a_study_may_import_its_own_modules_and_public_names():
    source = (
        "from experiments.calibration.calibrate import run\n"
        "from multiview.stats import paired_interval\nimport multiview as mv\n"
    )
    assert outside_problems("experiments.calibration.table", source) == []


#: What the top level of the repository holds: the package, its studies, tests, figures,
#: docs, benchmarks, examples and the usual project files. Nothing else.
TOP_LEVEL = {
    "pyproject.toml",
    "README.md",
    "multiview",
    "experiments",
    "tests",
    "figures",
    "docs",
    "benchmarks",
    "examples",
    "CHANGELOG.md",
    "LICENSE",
    "CITATION.cff",
    "mkdocs.yml",
    ".ci",
    ".gitignore",
}


def test_the_top_level_holds_only_the_project():
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    top = {p.split("/")[0] for p in out.decode().split("\0") if p}
    assert top <= TOP_LEVEL, sorted(top - TOP_LEVEL)
