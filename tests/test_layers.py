"""The package's layers, checked from its imports (every import, also those inside functions).

A module may import the foundations and the layers listed before its own, never one after it
(type-only imports included); nothing in the package imports the tests; no import cycles between
modules, type-only imports (``if TYPE_CHECKING:``) included: two modules that need each other's types
share a third that holds them.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "critpt_harness"

# In order: each layer may import itself and those above it in this list.
LAYERS: Tuple[Tuple[str, ...], ...] = (
    # foundations: shared by all, importing nothing above them
    ("critpt_harness", "errors", "secrets", "failures", "retry", "http", "netio", "runs", "runfiles", "contracts", "provenance", "fidelity", "providers"),
    ("config",),  # the schemas of every group
    ("data",),  # problems, the public id set, the official prompt files
    ("catalogs",),  # the public model catalogs (prices are read by the budget)
    ("tools",),  # the python/bash tools and the sandbox backends
    ("checks",),  # answer extraction and the checks (generation records the static ones)
    ("generation",),  # prompts, the run loop, the budget, the model clients
    ("batches",),
    ("submission",),
    ("grading",),
    ("report",),
    ("analysis",),  # run folders as rows and DataFrames, `table`, `compare`
    ("tracking",),  # experiment tracking at stage ends (reads runs as analysis does)
    ("view",),  # the run viewer (pages over analysis' rows)
    ("commands",),
    ("cli", "hydra_app", "__main__"),
)


def _layer_of(module: str) -> int:
    parts = module.split(".")[1:] or ["critpt_harness"]
    for depth in (2, 1):  # the longest listed prefix wins
        key = ".".join(parts[:depth])
        for i, names in enumerate(LAYERS):
            if key in names:
                return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {Path(__file__).name}")


def _modules() -> Dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path, known: Set[str]) -> List[Tuple[str, int]]:
    """(imported module of this package, line) for every import in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            hits = [n for n in names if n in known] or ([target] if target in known else [])
            out += [(h, node.lineno) for h in hits]
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] in ("critpt_harness", "tests")]
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "tests":
            out.append((node.module or "tests", node.lineno))
    return out


MODULES = _modules()
GRAPH = {m: _imports(m, p, set(MODULES)) for m, p in MODULES.items()}


def test_every_module_sits_in_a_layer():
    for module in MODULES:
        _layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_its_layer_and_those_before(module):
    here = _layer_of(module)
    upward = [f"{target} (line {line})" for target, line in GRAPH[module]
              if target.split(".")[0] == "tests" or _layer_of(target) > here]
    assert not upward, f"{module} ({'/'.join(LAYERS[here])}) imports a later layer or the tests: {upward}"


def find_cycle(graph: Dict[str, List[Tuple[str, int]]]) -> List[str]:
    """The first import cycle between the package's modules (type-only imports count), or []."""
    edges = {m: {t for t, _ in targets if t in graph and t != m} for m, targets in graph.items()}
    # a package's __init__ that re-exports its own modules is not a cycle with them
    for m in list(edges):
        edges[m] = {t for t in edges[m] if not (m.startswith(t + ".") and t in MODULES
                                                 and MODULES[t].name == "__init__.py")}
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(m: str) -> List[str]:
        state[m] = 1
        stack.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if not state.get(t):
                found = visit(t)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return []

    for m in sorted(edges):
        if not state.get(m):
            found = visit(m)
            if found:
                return found
    return []


def test_no_import_cycles():
    cycle = find_cycle(GRAPH)
    assert not cycle, "import cycle (type-only imports count): " + " -> ".join(cycle)


def test_the_checker_sees_a_cycle_through_a_type_only_import(tmp_path):
    # as catalogs/base.py and catalogs/endpoints.py once were: one imports the other at run time,
    # the other imports it back under TYPE_CHECKING
    folder = tmp_path / "critpt_harness" / "catalogs"
    folder.mkdir(parents=True)
    (folder / "base.py").write_text("from .endpoints import Endpoint\n")
    (folder / "endpoints.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                         "    from .base import CatalogClient\n")
    names = {"critpt_harness.catalogs.base", "critpt_harness.catalogs.endpoints"}
    graph = {m: _imports(m, folder / f"{m.rsplit('.', 1)[1]}.py", names) for m in names}
    assert find_cycle(graph) == ["critpt_harness.catalogs.base", "critpt_harness.catalogs.endpoints",
                                 "critpt_harness.catalogs.base"]


def test_the_checker_sees_an_upward_import(tmp_path):
    # the rule above must be able to fail: a foundation importing a stage is caught
    fake = tmp_path / "critpt_harness" / "runs.py"
    fake.parent.mkdir()
    fake.write_text("from .report.command import cmd_report\n")
    found = _imports("critpt_harness.runs", fake, {"critpt_harness.report.command"})
    assert found == [("critpt_harness.report.command", 1)]
    assert _layer_of("critpt_harness.report.command") > _layer_of("critpt_harness.runs")
