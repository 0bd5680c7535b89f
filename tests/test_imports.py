"""The package's import graph follows the pipeline: no cycles, no arrow against the stages.

Every ``import`` of a srcad module counts, at the top of a file or inside a function (a
deferred import is still a dependency), except those under ``if TYPE_CHECKING:``, which
exist only for annotations.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "srcad"

# stage -> the srcad packages and modules it may import besides itself
ALLOWED = {
    "srcad.ir": set(),
    "srcad.rules": {"srcad.ir"},
    "srcad.train": {"srcad"},  # the public API only
}
FORBIDDEN = {
    "srcad.codegen": {"srcad.rules", "srcad.lower", "srcad.reverse", "srcad.passes"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(test)


def _imported(node: ast.AST, module: str) -> set[str]:
    """srcad modules imported by ``node`` and everything inside it."""
    found: set[str] = set()
    if _is_type_checking(node):
        return found
    if isinstance(node, ast.Import):
        found |= {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".")
            is_package = MODULES[module].name == "__init__.py"
            keep = len(package) - node.level + (1 if is_package else 0)
            base = ".".join(package[:keep] + ([base] if base else []))
        for alias in node.names:
            full = f"{base}.{alias.name}"
            found.add(full if full in MODULES else base)
    for child in ast.iter_child_nodes(node):
        found |= _imported(child, module)
    return {_known(name) for name in found if name.split(".")[0] == "srcad"} - {module}


def _known(name: str) -> str:
    while name not in MODULES:
        name = name.rsplit(".", 1)[0]
    return name


GRAPH = {m: _imported(ast.parse(path.read_text()), m) for m, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in GRAPH[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    return components


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _may_import(module: str, allowed: set[str]) -> bool:
    """``srcad`` allows the package itself (the public API), not everything in it."""
    return any(module == name or name != "srcad" and _within(module, name) for name in allowed)


def test_the_import_graph_has_no_cycle():
    assert _cycles() == []


@pytest.mark.parametrize("stage", sorted(ALLOWED))
def test_a_stage_imports_only_what_comes_before_it(stage):
    wrong = [
        f"{module} imports {other}"
        for module, imports in GRAPH.items()
        if _within(module, stage)
        for other in imports
        if not _within(other, stage) and not _may_import(other, ALLOWED[stage])
    ]
    assert wrong == []


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_a_stage_does_not_import_the_stages_after_it(stage):
    wrong = [
        f"{module} imports {other}"
        for module, imports in GRAPH.items()
        if _within(module, stage)
        for other in imports
        if any(_within(other, forbidden) for forbidden in FORBIDDEN[stage])
    ]
    assert wrong == []


def test_the_check_sees_a_cycle_and_a_wrong_arrow(monkeypatch):
    monkeypatch.setitem(GRAPH, "srcad.ir.walk", GRAPH["srcad.ir.walk"] | {"srcad.api.grad"})
    monkeypatch.setitem(GRAPH, "srcad.api.grad", GRAPH["srcad.api.grad"] | {"srcad.ir.walk"})
    assert any({"srcad.api.grad", "srcad.ir.walk"} <= set(cycle) for cycle in _cycles())
    with pytest.raises(AssertionError):
        test_a_stage_imports_only_what_comes_before_it("srcad.ir")
