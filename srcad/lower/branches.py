"""Lowering blocks and branches: statement lists, ``if``, conditional expressions, ``return``.

A condition known at compile time (an int, a shape) selects its branch right away. A
condition computed from data becomes a ``cond`` equation: each branch is a sub-graph whose
outputs are the variables the branches assign. Sub-graphs may use any value defined before
them (lexical scope, as in Python).

Early ``return`` inside an ``if`` is rewritten by moving the statements after the ``if``
into the branch that does not return; a loop that returns is rewritten first (see
``srcad.lower.jumps``). ``ReturnReached`` carries the returned value out of the blocks.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

import numpy as np

from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.ir import AVal, Const, Eqn, Graph, Var
from srcad.ir.builder import Tracer
from srcad.lower.aliasing import join_alternatives, rewritten
from srcad.lower.containers import (
    Container,
    Snapshot,
    differs,
    restore_containers,
    snapshot_containers,
)
from srcad.lower.dispatch import (
    evaluate,
    evaluate_at,
    lower_statement,
    lowers_expression,
    lowers_statement,
)
from srcad.lower.jumps import rewrite_returns
from srcad.pytree import flatten, unflatten

if TYPE_CHECKING:
    from srcad.lower.context import Lowering, Node


class ReturnReached(Exception):
    """A ``return`` statement lowered: carries the returned value out of the blocks."""

    def __init__(self, value: object):
        self.value = value


def lower_body(lowering: Lowering) -> object:
    """Lower the body of the function; the value it returns."""
    try:
        lower_block(lowering, lowering.parsed.node.body)
    except ReturnReached as done:
        return done.value
    return None


def lower_block(lowering: Lowering, statements: list[ast.stmt]) -> None:
    """Lower a statement list; an ``if`` that returns takes the rest of the list along."""
    for position, statement in enumerate(statements):
        if isinstance(statement, (ast.For, ast.While)) and contains_return(statement):
            lowering.loop_depth += 1
            loop = rewrite_returns(statement, lowering.loop_depth, lowering.visible_names)
            with rewritten(lowering, statement, loop):
                lower_block(lowering, loop + statements[position + 1 :])
            lowering.loop_depth -= 1
            return
        if isinstance(statement, ast.If) and contains_return(statement):
            _lower_returning_if(lowering, statement, statements[position + 1 :])
            return
        lower_statement(lowering, statement)


# --- an if that returns -------------------------------------------------------------------
def _lower_returning_if(lowering: Lowering, node: ast.If, rest: list[ast.stmt]) -> None:
    loc = lowering.location(node)  # also in this frame for srcad.runtime.errors to find
    with lowering.builder.at(loc, "primal"):
        _lower_returning_if_at(lowering, node, rest)


def _lower_returning_if_at(lowering: Lowering, node: ast.If, rest: list[ast.stmt]) -> None:
    test = evaluate_at(lowering, node, node.test)
    if not isinstance(test, Tracer):
        lower_block(lowering, (node.body if test else node.orelse) + rest)
        return
    values = []
    blocks = []
    for body in (node.body, node.orelse):
        statements = body if _always_returns(body) else body + rest
        with lowering.builder.block() as eqns:
            value = _lower_returning_branch(lowering, statements, node)
        values.append(value)
        blocks.append(eqns)
    raise ReturnReached(_join_returns(lowering, node, test, values, blocks))


def _lower_returning_branch(lowering: Lowering, statements: list[ast.stmt], node: ast.If) -> object:
    saved = dict(lowering.env)
    try:
        lower_block(lowering, statements)
    except ReturnReached as done:
        return done.value
    finally:
        lowering.env = saved
    raise lowering.located(
        UnsupportedSyntax,
        "one branch of this 'if' returns and the other does not reach a return; "
        "return from both, or assign the result and return once at the end",
        node,
    )


def _join_returns(
    lowering: Lowering, node: ast.If, test: Tracer, values: list[object], blocks: list[list[Eqn]]
) -> object:
    leaves_true, tree_true = flatten(values[0])
    leaves_false, tree_false = flatten(values[1])
    if tree_true != tree_false:
        raise lowering.located(
            SrcadError,
            "the branches of this 'if' return values of different structure",
            node,
        )
    names = [f"out{k}" if len(leaves_true) > 1 else "out" for k in range(len(leaves_true))]
    joined = emit_cond(lowering, node, test, names, [leaves_true, leaves_false], blocks)
    return unflatten(tree_true, joined)


# --- if -----------------------------------------------------------------------------------
@lowers_statement(ast.If)
def lower_if(lowering: Lowering, node: ast.If, since: int) -> None:
    test = evaluate(lowering, node.test)
    if not isinstance(test, Tracer):
        lower_block(lowering, node.body if test else node.orelse)
        return
    before = dict(lowering.env)
    snapshot = snapshot_containers(before)
    envs, blocks, contents = _lower_branches(lowering, node, before, snapshot)
    names = _changed_names(before, envs)
    values = [[e.get(n) for n in names] for e in envs]
    slots = _container_slots(lowering, node, before, snapshot, contents, names, values)
    joined = emit_cond(lowering, node, test, names, values, blocks)
    for name, value in zip(names, joined, strict=False):
        lowering.env[name] = value
    for (container, key), value in zip(slots, joined[len(joined) - len(slots) :], strict=True):
        _set_item(container, key, value)


def _lower_branches(
    lowering: Lowering, node: ast.If, before: dict[str, object], snapshot: Snapshot
) -> tuple[list[dict[str, object]], list[list[Eqn]], list[list[Container]]]:
    """Each branch lowered from the names as they are ``before`` the ``if``: the names it
    ends with, its equations and what the containers hold at its end (then put back)."""
    envs, blocks, contents = [], [], []
    for body in (node.body, node.orelse):
        lowering.env = dict(before)
        with lowering.builder.block() as eqns:
            lower_block(lowering, body)
        envs.append(lowering.env)
        blocks.append(eqns)
        contents.append([container.copy() for container, _ in snapshot])
        restore_containers(snapshot)
    lowering.env = before
    return envs, blocks, contents


def _container_slots(
    lowering: Lowering,
    node: ast.If,
    before: dict[str, object],
    snapshot: Snapshot,
    contents: list[list[Container]],
    names: list[str],
    values: list[list[object]],
) -> list[tuple[Container, object]]:
    """Items of Python lists/dicts that the branches set differently: they become
    outputs of the ``cond`` too (appended to ``names`` and ``values``)."""
    slots: list[tuple[Container, object]] = []
    labels = {id(v): n for n, v in before.items()}
    for index, (container, saved) in enumerate(snapshot):
        versions = [branch[index] for branch in contents]
        if not any(differs(v, saved) for v in versions):
            continue
        items = [_items(version) for version in versions]
        keys = [list(version_items) for version_items in items]
        if keys[0] != keys[1]:
            raise _different_items(lowering, node, labels.get(id(container), "a list"))
        for key in keys[0]:
            if items[0][key] is not items[1][key]:
                slots.append((container, key))
                names.append(f"{labels.get(id(container), 'item')}_{key}")
                for branch, version_items in zip(values, items, strict=True):
                    branch.append(version_items[key])
        if isinstance(container, list):
            container[:] = versions[0]
        else:
            container.update(items[0])
    return slots


def _different_items(lowering: Lowering, node: ast.If, label: str) -> UnsupportedSyntax:
    return lowering.located(
        UnsupportedSyntax,
        f"'{label}' gets different items in the two branches of a condition computed from "
        "data; give it the same items in both (assign into it, or append in both branches)",
        node,
    )


def _items(container: Container) -> dict[object, object]:
    """The items of a dict, or of a list by index."""
    return container if isinstance(container, dict) else dict(enumerate(container))


def _set_item(container: Container, key: object, value: object) -> None:
    if isinstance(container, dict):
        container[key] = value
    elif isinstance(key, int):  # a list's keys are its indices
        container[key] = value


@lowers_expression(ast.IfExp)
def evaluate_if_expression(lowering: Lowering, node: ast.IfExp) -> object:
    test = evaluate(lowering, node.test)
    if not isinstance(test, Tracer):
        return evaluate(lowering, node.body if test else node.orelse)
    values, blocks = [], []
    for branch in (node.body, node.orelse):
        with lowering.builder.block() as eqns:
            values.append([evaluate(lowering, branch)])
        blocks.append(eqns)
    return emit_cond(lowering, node, test, ["t"], values, blocks)[0]


def emit_cond(
    lowering: Lowering,
    node: Node,
    test: Tracer,
    names: list[str],
    values: list[list[object]],
    blocks: list[list[Eqn]],
) -> list[Tracer]:
    """A ``cond`` equation choosing between the branch values; returns the joined values."""
    if test.shape != ():
        raise lowering.located(
            SrcadError,
            f"the condition has shape {test.shape}; an 'if' needs a single truth value "
            "(use np.where for elementwise choices, or np.all / np.any)",
            node,
        )
    values = _fill_unset(values)
    atoms = [
        [_branch_atom(lowering, v, name, node) for v, name in zip(vs, names, strict=True)]
        for vs in values
    ]
    outputs = _joined_outputs(lowering, node, names, atoms)
    branches = tuple(
        Graph(f"{lowering.parsed.name}_branch", (), tuple(eqns), tuple(branch_atoms))
        for eqns, branch_atoms in zip(blocks, atoms, strict=True)
    )
    eqn = Eqn(
        "cond",
        (test.atom,),
        tuple(outputs),
        (("branches", branches),),
        lowering.builder.loc,
        "primal",
    )
    lowering.builder.emit(eqn)
    join_alternatives(lowering, outputs, values)
    return [lowering.builder.tracer(v) for v in outputs]


def _joined_outputs(
    lowering: Lowering, node: Node, names: list[str], atoms: list[list[Var | Const]]
) -> list[Var]:
    """The vars of the ``cond``'s results: each of a type both branches' values fit."""
    outputs = []
    for k, name in enumerate(names):
        aval = _joined_aval(lowering, [branch[k].aval for branch in atoms], name, node)
        outputs.append(lowering.builder.new_var(name, aval))
    return outputs


def _branch_atom(lowering: Lowering, value: object, name: str, node: Node) -> Var | Const:
    if isinstance(value, Tracer):
        return value.atom
    if isinstance(value, (bool, int, float, np.ndarray, np.generic)):
        return Const(value)
    raise lowering.located(
        SrcadError,
        f"'{name}' is a {type(value).__name__} that differs between the branches of a "
        "condition computed from data; only arrays and numbers can",
        node,
    )


# --- helpers ------------------------------------------------------------------------------
def contains_return(node: ast.AST) -> bool:
    """Whether ``node`` returns from the function being lowered (a ``return`` inside a nested
    ``def`` returns from that one)."""
    if isinstance(node, ast.Return):
        return True
    return any(
        contains_return(child)
        for child in ast.iter_child_nodes(node)
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
    )


def _always_returns(statements: list[ast.stmt]) -> bool:
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, ast.Return):
        return True
    if isinstance(last, ast.If):
        return _always_returns(last.body) and _always_returns(last.orelse)
    return False


def _fill_unset(values: list[list[object]]) -> list[list[object]]:
    """A value that is None in one branch (a placeholder, as generated code writes before
    an ``if``) and computed in the other becomes zeros in the first."""
    filled = [list(branch) for branch in values]
    for k in range(len(values[0])):
        computed = [v for v in (branch[k] for branch in values) if isinstance(v, Tracer)]
        for branch in filled:
            if branch[k] is None and computed:
                aval = computed[0].aval
                zero = 0.0 if aval.shape == () else np.zeros(aval.shape, aval.dtype)
                branch[k] = zero
    return filled


def _changed_names(before: dict[str, object], envs: list[dict[str, object]]) -> list[str]:
    """Names whose value some branch changed: bound in every branch, or computed in one
    (then the other branch gives zeros, as for a value only that branch's code reads)."""
    names = set().union(*envs)
    changed = []
    for name in sorted(names):
        values = [env.get(name) for env in envs]
        if all(name in env for env in envs):
            if any(name not in before or env[name] is not before[name] for env in envs):
                changed.append(name)
        elif name not in before and any(isinstance(v, Tracer) for v in values):
            changed.append(name)
    return changed


def _joined_aval(lowering: Lowering, avals: list[AVal], name: str, node: Node) -> AVal:
    shapes = {a.shape for a in avals if not (a.is_weak and a.shape == ())}
    if len(shapes) > 1:
        raise lowering.located(
            SrcadError,
            f"'{name}' has shape {avals[0].shape} in one branch and {avals[1].shape} in the "
            "other; give it the same shape in both",
            node,
        )
    shape = shapes.pop() if shapes else ()
    dtype = np.result_type(*[np.dtype(a.dtype) for a in avals]).name
    return AVal(shape, dtype, all(a.is_weak for a in avals))
