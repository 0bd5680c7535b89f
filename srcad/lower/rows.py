"""``for e in x:`` while the body writes into ``x`` in place: each row read when it is used.

NumPy's iterator sees writes into the array it iterates over (``x[0] += v``, ``x += v``),
so a later row is the row as written. srcad lowers those writes to a new value of ``x``;
to keep NumPy's meaning the loop is rewritten to read each row when its iteration starts:

    for e in x:            →    for _row3_4 in range(len(x)):
        x[0] += e                   e = x[_row3_4]
                                    x[0] += e

(also for ``enumerate`` and ``zip``, whose other arguments are evaluated once, before the
loop).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, TypeGuard, TypeVar

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.ir.builder import Tracer
from srcad.lower.aliasing import same_memory
from srcad.lower.dispatch import evaluate

if TYPE_CHECKING:
    from srcad.lower.context import Lowering

A = TypeVar("A", bound=ast.AST)


def rows_read_when_used(lowering: Lowering, node: ast.For) -> ast.For:
    """``node``, rewritten to read each row when its iteration starts if the body writes
    into an array the loop iterates over."""
    iterated = _iterated_names(node.iter)  # none for range(...): no walk over the body
    written = (
        {_written_in_place(s) for s in ast.walk(ast.Module(node.body, []))} if iterated else set()
    )
    changed = [
        name
        for name in iterated
        if name in written and isinstance(lowering.env.get(name), (Tracer, np.ndarray))
    ]
    if not changed:
        return node
    rebound = [name for name in changed if name in _rebound_names(node.body)]
    if rebound:  # the rows would be read from the new array; NumPy's iterator keeps the old
        raise lowering.located(
            UnsupportedSyntax,
            f"the loop iterates over '{rebound[0]}', writes into it and binds the name to "
            f"another array; NumPy's iterator goes on over the array it started with (the "
            "writes made into it so far included). Write into a copy with a name of its "
            f"own, or loop over range(len({rebound[0]})) and index the array you mean",
            node,
        )
    rows = _row_reads(node, f"_row{node.lineno}_{node.col_offset}")
    if rows is None:
        raise lowering.located(
            UnsupportedSyntax,
            f"the loop iterates over '{changed[0]}' and writes into it, so later rows "
            f"would see the writes; loop over range(len({changed[0]})) and read "
            f"{changed[0]}[i] in the body",
            node,
        )
    index, sources, target = rows
    names = [_source_name(lowering, node, k, source, changed) for k, source in enumerate(sources)]
    reads = _expression_at(", ".join(f"{n}[{index.id}]" for n in names), node)
    read = ast.copy_location(ast.Assign(targets=[target], value=reads), node)
    lengths = ", ".join(f"len({n})" for n in names)
    bound = f"min({lengths})" if len(names) > 1 else lengths
    body: list[ast.stmt] = [read, *node.body]
    loop = ast.For(index, _expression_at(f"range({bound})", node), body, node.orelse)
    return ast.fix_missing_locations(_located_like(loop, node))


def _source_name(
    lowering: Lowering, node: ast.For, k: int, source: ast.expr, changed: list[str]
) -> str:
    """The name the rows of the ``k``-th sequence are read from: ``zip(x, x + y)`` computes
    ``x + y`` once, before the loop, into a name of its own."""
    if isinstance(source, ast.Name):
        return source.id
    name = f"_zipped{node.lineno}_{node.col_offset}_{k}"
    lowering.env[name] = evaluate(lowering, source)
    if any(same_memory(lowering, lowering.env[name], lowering.env[c]) for c in changed):
        raise lowering.located(  # zip(x, x.T.T): a view sees the writes too
            UnsupportedSyntax,
            f"'{ast.unparse(source)}' shares memory with '{changed[0]}', which "
            f"the loop writes into; loop over range(len({changed[0]})) and "
            "index both in the body",
            node,
        )
    return name


def _expression_at(text: str, node: ast.AST) -> ast.expr:
    """The expression ``text``, every node of it at ``node``'s place in the user's source."""
    expression = ast.parse(text, mode="eval").body
    for child in ast.walk(expression):
        if "lineno" in child._attributes:
            ast.copy_location(child, node)
    return expression


def _located_like(tree: A, node: ast.AST) -> A:
    """``tree`` with every new node at ``node``'s line."""
    for child in ast.walk(tree):
        if "lineno" in child._attributes and not hasattr(child, "lineno"):
            ast.copy_location(child, node)
    return tree


def _row_reads(node: ast.For, row: str) -> tuple[ast.Name, list[ast.expr], ast.expr] | None:
    """For ``for T in ITER``: the index name, the sequences read by index and the target
    assigned from them; None for iterables this rewrite does not cover."""
    iterable, target = node.iter, node.target
    if _is_named_call(iterable, "enumerate") and len(iterable.args) == 1 and not iterable.keywords:
        if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
            return None
        counter, sequence = target.elts[0], iterable.args[0]
        if not isinstance(counter, ast.Name) or not isinstance(sequence, ast.Name):
            return None
        return counter, [sequence], target.elts[1]
    index = ast.Name(row, ast.Store())
    if isinstance(iterable, ast.Name):
        return index, [iterable], target
    if _is_named_call(iterable, "zip") and not iterable.keywords and iterable.args:
        if not isinstance(iterable.args[0], ast.Name):  # the first names the rows' count
            return None
        return index, list(iterable.args), target
    return None


def _is_named_call(node: ast.expr, name: str) -> TypeGuard[ast.Call]:
    """Whether ``node`` calls the name ``name``: ``zip(...)``, ``enumerate(...)``."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _iterated_names(iterable: ast.expr) -> set[str]:
    """The arrays a ``for`` reads rows of: ``x`` in ``x``, ``enumerate(x)``, ``zip(x, y)``."""
    if isinstance(iterable, ast.Name):
        return {iterable.id}
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name):
        if iterable.func.id in ("enumerate", "zip", "reversed"):
            return set().union(*(_iterated_names(arg) for arg in iterable.args))
    return set()


def _rebound_names(body: list[ast.stmt]) -> set[str]:
    """The names ``body`` binds to a new value (``y = y * 2``, a loop's target, ``:=``),
    not those it writes into (``y[0] = v``; ``y += v`` writes into an array)."""
    names: set[str] = set()
    for node in ast.walk(ast.Module(body, [])):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.For, ast.NamedExpr)):
            targets = [node.target]
        for target in targets:  # y[0] = v reads y (a Load): only names stored count
            names |= {
                n.id
                for n in ast.walk(target)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
    return names


def _written_in_place(statement: ast.AST) -> str | None:
    """The name a statement writes into in place: ``x[i] = v``, ``x[i] += v``, ``x += v``."""
    targets: list[ast.expr] = []
    if isinstance(statement, ast.AugAssign):
        targets = [statement.target]
    elif isinstance(statement, ast.Assign):
        targets = [t for t in statement.targets if isinstance(t, ast.Subscript)]
    for target in targets:
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            return target.value.id
        if isinstance(target, ast.Name):
            return target.id
    return None
