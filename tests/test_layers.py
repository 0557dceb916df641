"""The layers of ``fabric`` import one way, and no module takes part in an import cycle.

Layer numbers follow the package docstrings (and docs/architecture.md): a module may import its
own package and any package of a lower layer, never a higher one. Imports inside functions count
too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "simulator": 0,
    "fabric.model": 1,
    "fabric.catalogue": 2,
    "fabric.control": 3,
    "fabric.checks": 4,
    "fabric.watcher": 4,
    "fabric.sim": 4,
    "fabric.io": 4,
    "fabric.study": 5,
    "fabric.cli": 6,
    "fabric": -1,  # the root __init__: version, and the public API resolved lazily by name
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> str | None:
    best = None
    for layer in LAYERS:
        if (module == layer or module.startswith(layer + ".")) and (
            best is None or len(layer) > len(best)
        ):
            best = layer
    return best


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):  # imports for annotations only are not dependencies
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("fabric", "simulator")}


def _graph() -> dict[str, set[str]]:
    modules = {}
    for package in ("fabric", "simulator"):
        for path in (ROOT / package).rglob("*.py"):
            modules[_module_name(path)] = path
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            # `from fabric.control import routing` names a module; `from x import Name` does not.
            while imported not in modules and "." in imported:
                imported = imported.rsplit(".", 1)[0]
            if imported in modules and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


GRAPH = _graph()


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_upward_import(module):
    here = _layer(module)
    upward = sorted(
        target
        for target in GRAPH[module]
        if _layer(target) != here and LAYERS[_layer(target)] >= LAYERS[here]
    )
    assert not upward, f"{module} (layer {here}) imports upward: {upward}"


def test_no_import_cycle():
    # Package __init__ modules re-export their own submodules: that edge is not a cycle.
    graph = {
        name: {t for t in targets if not t.startswith(name + ".")}
        for name, targets in GRAPH.items()
    }
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as cycle:
        pytest.fail(f"import cycle: {' -> '.join(cycle.args[1])}")
