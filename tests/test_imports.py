"""The package's import graph follows the pipeline: no cycles, no arrow against the stages.

Every ``import`` of a srcad module counts, at the top of a file or inside a function (a
deferred import is still a dependency), except those under ``if TYPE_CHECKING:``, which
exist only for annotations. ``lint-imports`` (import-linter, configured in pyproject.toml)
checks the same contracts independently.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "srcad"

# The stages in pipeline order: a module may import its own stage and the stages before it.
# ``srcad`` is the package itself (``srcad/__init__.py``, the public API), which exports the
# tools; ``train``, ``testing`` and ``cli`` use it.
STAGES = (
    ("srcad.frontend",),
    ("srcad.lower",),
    ("srcad.rules",),
    ("srcad.reverse", "srcad.forward"),
    ("srcad.passes",),
    ("srcad.codegen",),
    ("srcad.runtime",),
    # compiled variants of generated code (numba); array-API variants (CuPy, array-API
    # arrays); both use runtime's loader
    ("srcad.backends", "srcad.arrayapi"),
    ("srcad.pipeline",),
    ("srcad.api", "srcad.distributed"),  # grad hands calls with Dask arrays to distributed
    ("srcad", "srcad.tools"),
    ("srcad.train", "srcad.testing"),
    ("srcad.cli", "srcad.__main__"),
)
# Data every stage may import: the IR, the errors, pytrees, the layout of a call's arguments.
EVERYWHERE = ("srcad.ir", "srcad.errors", "srcad.pytree", "srcad.arguments")
# Imports against the stage order that are known; each says why. Remove one when it is gone.
KNOWN_BACK_ARROWS: set[tuple[str, str]] = set()

# What the public API is made of: the package, the inspection API and the data types it is
# made of (``srcad.ir``'s package names, not its modules), the errors, pytrees.
PUBLIC = {"srcad", "srcad.api.inspect", "srcad.errors", "srcad.ir", "srcad.pytree"}
PUBLIC_ONLY = ("srcad.tools", "srcad.train")
# stage -> what it may import besides itself: "x" is the module x alone, "x.*" is x and every
# module inside it.
ALLOWED = {
    "srcad.ir": set(),
    "srcad.rules": {"srcad.ir.*"},
    "srcad.tools": PUBLIC,
    "srcad.train": PUBLIC,
    "srcad.cli": {
        "srcad",
        "srcad.tools.*",
        "srcad.train.*",
        "srcad.errors",
        "srcad.api.*",
        "srcad.runtime.store",  # `srcad cache` manages the disk cache, which has no public API
    },
}
FORBIDDEN = {
    "srcad.codegen": {
        "srcad.rules",
        "srcad.lower",
        "srcad.reverse",
        "srcad.passes",
        "srcad.forward",
    },
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(test)


def _absolute(node: ast.ImportFrom, module: str) -> str:
    """The module a ``from ... import`` statement of ``module`` imports from."""
    base = node.module or ""
    if not node.level:
        return base
    package = module.split(".")
    is_package = MODULES[module].name == "__init__.py"
    keep = len(package) - node.level + (1 if is_package else 0)
    return ".".join(package[:keep] + ([base] if base else []))


# Only statements hold imports: the walk leaves expressions alone (the whole package's
# syntax trees, walked node by node, took 2.8 s of every test run's collection).
HOLDS_STATEMENTS = (ast.stmt, ast.excepthandler, ast.match_case)


def _imported(tree: ast.AST, module: str) -> set[str]:
    """srcad modules imported by the statements of ``tree``, at any depth."""
    found: set[str] = set()
    pending = [tree]
    while pending:
        node = pending.pop()
        if _is_type_checking(node):
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
        pending += [
            child for child in ast.iter_child_nodes(node) if isinstance(child, HOLDS_STATEMENTS)
        ]
    return {_known(name) for name in found if name.split(".")[0] == "srcad"} - {module}


def _known(name: str) -> str:
    while name not in MODULES:
        name = name.rsplit(".", 1)[0]
    return name


@functools.cache
def graph() -> dict[str, set[str]]:
    """Module -> the srcad modules it imports; made when a test first asks (parsing the
    package takes a second or two, which collecting the tests would pay on every worker)."""
    return {m: _imported(ast.parse(path.read_text()), m) for m, path in MODULES.items()}


def _names_from(tree: ast.AST, module: str) -> dict[str, set[str]]:
    """The names ``module`` takes from each module with ``from ... import`` (not under
    ``TYPE_CHECKING``)."""
    names: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if _is_type_checking(node):
            continue
        if isinstance(node, ast.ImportFrom):
            base = _absolute(node, module)
            names.setdefault(base, set()).update(alias.name for alias in node.names)
    return names


# The public names ``srcad`` exports, by the module that defines them (``srcad.api.grad``:
# ``grad``, ``source``, ``value_and_grad``): a tool that the package exports cannot import
# the package without a cycle, so it imports those names from where they are defined.
@functools.cache
def public_names() -> dict[str, set[str]]:
    return _names_from(ast.parse(MODULES["srcad"].read_text()), "srcad")


def _cycles() -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph()[module]:
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

    for module in graph():
        if module not in index:
            visit(module)
    return components


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _may_import(module: str, allowed: set[str]) -> bool:
    """Whether ``allowed`` ("x": x alone, "x.*": x and everything inside it) has ``module``."""
    return any(
        module == name or name.endswith(".*") and _within(module, name[:-2]) for name in allowed
    )


def _public_names_only(importer: str, module: str) -> bool:
    """Whether ``importer`` takes from ``module`` only names that ``srcad`` exports from it."""
    taken = _names_from(ast.parse(MODULES[importer].read_text()), importer).get(module)
    return bool(taken) and taken <= public_names().get(module, set())


def _rank(module: str) -> int | None:
    """The position of ``module``'s stage in ``STAGES`` (None for data that every stage may
    import); ``srcad`` itself is the package's ``__init__`` only."""
    if any(_within(module, name) for name in EVERYWHERE):
        return None
    for rank, stage in enumerate(STAGES):
        if any(module == name or name != "srcad" and _within(module, name) for name in stage):
            return rank
    raise AssertionError(f"{module} is in no stage: add its package to STAGES or EVERYWHERE")


@pytest.mark.slow
def test_the_import_graph_has_no_cycle():
    assert _cycles() == []


def test_every_import_points_forward_along_the_stages():
    wrong = []
    for module, imports in sorted(graph().items()):
        rank = _rank(module)
        for other in sorted(imports):
            other_rank = _rank(other)
            is_backward = other_rank is not None and (rank is None or other_rank > rank)
            if is_backward and (module, other) not in KNOWN_BACK_ARROWS:
                wrong.append(f"{module} imports {other}")
    assert wrong == []


@pytest.mark.parametrize("stage", sorted(ALLOWED))
def test_a_stage_imports_only_what_comes_before_it(stage):
    wrong = [
        f"{module} imports {other}"
        for module, imports in graph().items()
        if _within(module, stage)
        for other in imports
        if not _within(other, stage)
        and not _may_import(other, ALLOWED[stage])
        and not (stage in PUBLIC_ONLY and _public_names_only(module, other))
    ]
    assert wrong == []


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_a_stage_does_not_import_the_stages_after_it(stage):
    wrong = [
        f"{module} imports {other}"
        for module, imports in graph().items()
        if _within(module, stage)
        for other in imports
        if any(_within(other, forbidden) for forbidden in FORBIDDEN[stage])
    ]
    assert wrong == []


def test_the_tools_take_only_public_names_from_the_api():
    assert public_names()["srcad.api.grad"] >= {"grad", "source"}
    assert _public_names_only("srcad.tools.compare", "srcad.api.grad")
    assert not _public_names_only("srcad.api.grad", "srcad.api.signature")


def test_the_check_sees_a_cycle_and_a_wrong_arrow(monkeypatch):
    monkeypatch.setitem(graph(), "srcad.ir.walk", graph()["srcad.ir.walk"] | {"srcad.api.grad"})
    monkeypatch.setitem(graph(), "srcad.api.grad", graph()["srcad.api.grad"] | {"srcad.ir.walk"})
    assert any({"srcad.api.grad", "srcad.ir.walk"} <= set(cycle) for cycle in _cycles())
    with pytest.raises(AssertionError):
        test_a_stage_imports_only_what_comes_before_it("srcad.ir")


def test_the_check_sees_an_arrow_against_the_stages(monkeypatch):
    monkeypatch.setitem(graph(), "srcad.lower", graph()["srcad.lower"] | {"srcad.codegen"})
    with pytest.raises(AssertionError, match="srcad.lower imports srcad.codegen"):
        test_every_import_points_forward_along_the_stages()


def test_the_check_sees_a_tool_reaching_into_the_pipeline(monkeypatch):
    monkeypatch.setitem(graph(), "srcad.tools.dot", graph()["srcad.tools.dot"] | {"srcad.ir.walk"})
    with pytest.raises(AssertionError, match="srcad.tools.dot imports srcad.ir.walk"):
        test_a_stage_imports_only_what_comes_before_it("srcad.tools")
