"""One empty list per loop tape in the numba variant: a ``tape_1 = []`` made again while the
list made before it is still empty and untouched is dropped.

Comes in: the NumPy source of a generated module and its body's name. Goes out: the same
source, line for line, in which each such repeated ``name = []`` reads
``pass  # name: still the empty list made above``.

Why: generated code gives a loop's tape an empty list on every path, so that a branch that
skips the loop still stores one on the outer tape. numba types each ``name = []`` on its own,
and cannot merge a list nothing appends to with the one the loop fills ("Cannot infer the
type of variable 'tape_1', have imprecise type: list(undefined)"). A list made once, on all
paths, takes its type from the appends. The list dropped was empty and nothing had read it,
so the code computes the same::

    tape_1 = []                              tape_1 = []
    if t1:                                   if t1:
        tape_1 = []                 ->           pass  # tape_1: still the empty list made above
        for i0 in range(2):                      for i0 in range(2):
            tape_1.append(t4)                        tape_1.append(t4)

A name stays "still empty" until a statement mentions it in any way (an append, a read, a
store into a tuple); a loop that mentions it anywhere starts its body without it, since its
second trip must make a new list.
"""

from __future__ import annotations

import ast


def one_list_per_tape(source: str, body_name: str) -> str:
    """``source`` with the repeated empty lists of the body dropped (see the module
    docstring)."""
    tree = ast.parse(source)
    body = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == body_name)
    dropped: list[ast.Assign] = []
    _still_empty_after(body.body, set(), dropped)
    if not dropped:
        return source
    lines = source.splitlines()
    for statement in dropped:
        name = _empty_list_target(statement)
        line = lines[statement.lineno - 1]
        indent = line[: statement.col_offset]
        lines[statement.lineno - 1] = f"{indent}pass  # {name}: still the empty list made above"
    return "\n".join(lines) + "\n"


def _still_empty_after(statements: list[ast.stmt], empty: set[str], dropped: list) -> set[str]:
    """The names that hold an untouched empty list after ``statements``, given ``empty``
    before them; each ``name = []`` of a name already empty goes to ``dropped``."""
    empty = set(empty)
    for statement in statements:
        name = _empty_list_target(statement)
        if name is not None:
            if name in empty:
                dropped.append(statement)
            empty.add(name)
            continue
        if isinstance(statement, ast.If):
            before = empty - _mentioned(statement.test)
            _still_empty_after(statement.body, before, dropped)
            _still_empty_after(statement.orelse, before, dropped)
        elif isinstance(statement, (ast.For, ast.While)):
            first_trip = empty - _mentioned(statement)
            _still_empty_after(statement.body, first_trip, dropped)
            _still_empty_after(statement.orelse, first_trip, dropped)
        empty -= _mentioned(statement)
    return empty


def _empty_list_target(statement: ast.stmt) -> str | None:
    """``name`` of ``name = []``."""
    if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
        return None
    target, value = statement.targets[0], statement.value
    if isinstance(target, ast.Name) and isinstance(value, ast.List) and not value.elts:
        return target.id
    return None


def _mentioned(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
