"""Lowering blocks and branches: statement lists, ``if``, conditional expressions, ``return``.

A condition known at compile time (an int, a shape) selects its branch right away. A
condition computed from data becomes a ``cond`` equation: each branch is a sub-graph whose
outputs are the variables the branches assign. Sub-graphs may use any value defined before
them (lexical scope, as in Python).

Early ``return`` inside an ``if`` is rewritten by moving the statements after the ``if``
into the branch that does not return; a loop that returns is rewritten first (see
``srcad.lower.jumps``). ``ReturnReached`` carries the returned value out of the blocks.

``raise`` ends its block (``RaiseReached``, after the equation that raises). A branch that
raises never reaches the join: it gives the other branch's values (zeros where that branch
computed them, never read), so the ``cond`` keeps its outputs and the generated branch ends
with the ``raise``. A ``with`` block is a branch that is always entered (``join_branches``
with ``is_entered``): its other branch is never lowered and never reached. A ``raise`` that
every path reaches raises at the top of the function: the generated code raises there.

Branches that give a Python list or dict different items (``if i != 1: items.append(w)``)
cannot be joined: the condition must be known when compiling. A loop around them unrolls
(``StaticValueNeeded``), which makes a counter's test known; on data, it is refused.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.frontend.try_returns import RETURN_VALUE
from srcad.ir import AVal, Const, Eqn, Graph, Var
from srcad.ir.builder import StaticValueNeeded, TraceError, Tracer
from srcad.ir.prims import COMPARISON, ELEMENTWISE, PRIMS
from srcad.ir.walk import defined_vars
from srcad.lower.aliasing import join_alternatives, rewritten
from srcad.lower.containers import (
    Container,
    Snapshot,
    container_labels,
    differs,
    generator_states,
    restore_containers,
    restore_generators,
    snapshot_containers,
)
from srcad.lower.dispatch import (
    evaluate,
    evaluate_at,
    lower_statement,
    lowers_expression,
    lowers_statement,
)
from srcad.lower.expressions import logical
from srcad.lower.fixed_floats import fixed_when_needed
from srcad.lower.jumps import (
    STOPPED_AT,
    has_jumps,
    rewrite_jumps,
    rewrite_returns,
    target_read_after,
)
from srcad.lower.operator_methods import truth_of
from srcad.lower.returns import always_returns, block_returns, body_returns, contains_return
from srcad.lower.views import UNKNOWN, same_index
from srcad.pytree import flatten, unflatten

NUMBERS = (bool, int, float, np.ndarray, np.generic)
# What a function that always raises returns to its caller (the generated code raises
# before it returns anything): a float, so that every transformation compiles it.
ALWAYS_RAISES = 0.0
# The value of a branch that raises, or is never entered, before it is given the other's.
_NEVER = object()

if TYPE_CHECKING:
    from srcad.lower.context import Lowering, Node


class ReturnReached(Exception):
    """A ``return`` statement lowered: carries the returned value out of the blocks."""

    def __init__(self, value: object):
        self.value = value


class RaiseReached(Exception):
    """A ``raise`` lowered (its equation recorded): nothing after it in its block runs."""


def lower_body(lowering: Lowering) -> object:
    """Lower the body of the function; the value it returns. A helper that always raises
    raises in its caller; the function being differentiated returns ``ALWAYS_RAISES``."""
    try:
        lower_block(lowering, lowering.parsed.node.body)
    except ReturnReached as done:
        return done.value
    except RaiseReached:
        if lowering.inlining.depth > 0:
            raise
        return ALWAYS_RAISES
    return None


def lower_block(lowering: Lowering, statements: list[ast.stmt]) -> None:
    """Lower a statement list; an ``if`` that returns takes the rest of the list along."""
    for position, statement in enumerate(statements):
        rewrite = _loop_rewrite(statement)
        if rewrite is not None:  # the statements after the loop go along too
            lowering.loop_depth += 1
            if rewrite is rewrite_jumps and isinstance(statement, (ast.For, ast.While)):
                loop, kept = jumps_as_flags(lowering, statement)
            else:
                loop, kept = rewrite(statement, lowering.loop_depth, lowering.visible_names), None
            with rewritten(lowering, statement, loop, kept or frozenset()):
                lower_block(lowering, loop + statements[position + 1 :])
            lowering.loop_depth -= 1
            return
        if isinstance(statement, ast.If) and contains_return(statement):
            _lower_returning_if(lowering, statement, statements[position + 1 :])
            return
        lower_statement(lowering, statement)


def jumps_as_flags(
    lowering: Lowering, loop: ast.For | ast.While
) -> tuple[list[ast.stmt], frozenset[str]]:
    """``rewrite_jumps`` of ``loop`` at the current depth, keeping its target as of the
    iteration it breaks at where the code after it reads it; with the name that keeps it
    (read after the loop: ``srcad.lower.loops`` gives it to the target)."""
    keeps = target_read_after(loop, lowering.parsed.node)
    statements = rewrite_jumps(loop, lowering.loop_depth, lowering.visible_names, keeps)
    kept = frozenset(n for s in statements if (n := getattr(s, STOPPED_AT, None)) is not None)
    for name in kept:  # an earlier loop's: bound again only if this one runs
        lowering.env.pop(name, None)
    return statements, kept


def _loop_rewrite(statement: ast.stmt) -> Callable[..., list[ast.stmt]] | None:
    """How a loop that returns is rewritten before it is lowered: a body that returns
    breaks instead (``rewrite_returns``); the ``else`` of a loop that breaks, when it
    returns, becomes an ``if not _broke:`` after the loop (``rewrite_jumps``)."""
    if not isinstance(statement, (ast.For, ast.While)):
        return None
    if body_returns(statement):
        return rewrite_returns
    if has_jumps(statement.body) and block_returns(statement.orelse):
        return rewrite_jumps
    return None


# --- an if that returns -------------------------------------------------------------------
def _lower_returning_if(lowering: Lowering, node: ast.If, rest: list[ast.stmt]) -> None:
    loc = lowering.location(node)  # also in this frame for srcad.runtime.errors to find
    with lowering.builder.at(loc, "primal"):
        _lower_returning_if_at(lowering, node, rest)


def _lower_returning_if_at(lowering: Lowering, node: ast.If, rest: list[ast.stmt]) -> None:
    test = truth_of(lowering, evaluate_at(lowering, node, node.test), node.test)
    if not isinstance(test, Tracer):
        try:
            taken = bool(test)  # an outside object's truth may be refused (world.Outside)
        except TraceError as error:
            raise lowering.trace_error(error, node) from None
        lower_block(lowering, (node.body if taken else node.orelse) + rest)
        return
    bodies = [body if always_returns(body) else body + rest for body in (node.body, node.orelse)]
    join_returns(lowering, node, test, bodies)


def join_returns(
    lowering: Lowering,
    node: Node,
    test: Tracer,
    bodies: list[list[ast.stmt]],
    is_entered: bool = False,
) -> None:
    """Branches on ``test`` that each end with a ``return`` (or a ``raise``): raises
    ``ReturnReached`` with the joined value. ``is_entered``: only the first branch runs."""
    values = []
    blocks = []
    for k, statements in enumerate(bodies):
        with lowering.builder.block() as eqns:
            is_reached = k == 0 or not is_entered
            value = _lower_returning_branch(lowering, statements, node) if is_reached else _NEVER
        values.append(value)
        blocks.append(eqns)
    raise ReturnReached(_join_returns(lowering, node, test, values, blocks))


def _lower_returning_branch(lowering: Lowering, statements: list[ast.stmt], node: Node) -> object:
    saved = dict(lowering.env)
    try:
        lower_block(lowering, statements)
    except ReturnReached as done:
        return done.value
    except RaiseReached:
        return _NEVER
    finally:
        lowering.env = saved
    raise lowering.located(
        UnsupportedSyntax,
        "one branch of this 'if' returns and the other does not reach a return; "
        "return from both, or assign the result and return once at the end",
        node,
    )


def _join_returns(
    lowering: Lowering,
    node: Node,
    test: Tracer,
    values: list[object],
    blocks: list[list[Eqn]],
) -> object:
    if all(value is _NEVER for value in values):
        emit_cond(lowering, node, test, [], [[], []], blocks)
        raise RaiseReached
    for k, value in enumerate(values):
        if value is _NEVER:
            leaves, tree = flatten(values[1 - k])
            inside = _defined_ids(blocks[1 - k])
            values[k] = unflatten(tree, [_unreached(leaf, inside) for leaf in leaves])
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
    test = truth_of(lowering, evaluate(lowering, node.test), node.test)
    if not isinstance(test, Tracer):
        lower_block(lowering, node.body if test else node.orelse)
        return
    join_branches(lowering, node, test, [node.body, node.orelse])


def join_branches(
    lowering: Lowering,
    node: Node,
    test: Tracer,
    bodies: list[list[ast.stmt]],
    is_entered: bool = False,
) -> None:
    """Lower ``bodies`` as the two branches of a ``cond`` on ``test`` and bind the names
    they change to the joined values. ``is_entered``: only the first branch runs (a
    ``with`` block). Raises ``RaiseReached`` when no branch reaches the join."""
    before = dict(lowering.env)
    snapshot = snapshot_containers(before, lowering.world.made)
    generators = generator_states(before)
    later = dict(lowering.views.later)
    laters: list[dict] = []
    envs, blocks, contents, reached = _lower_branches(
        lowering, bodies, before, snapshot, is_entered, laters
    )
    lowering.views.later = later
    if restore_generators(before, generators):
        raise lowering.located(
            UnsupportedSyntax,
            "a random draw from a generator the function made, or next() of an iterator it "
            "made, inside an 'if' on data (or a loop whose end the data decide): which draws "
            "or items come after it would depend on the branch; draw (or take the items) "
            "before the 'if' and choose with np.where(cond, a, b)",
            node,
        )
    if not any(reached):
        emit_cond(lowering, node, test, [], [[], []], blocks)
        raise RaiseReached
    fixed: dict[str, object] = {}
    made: dict[str, Any] = {}
    if not all(reached):
        fixed = _give_unreached(before, envs, blocks, contents, reached)
        made = _lists_made_in_one_branch(envs, blocks, reached, fixed)
    names = [n for n in _changed_names(before, envs) if n not in fixed]
    values = [[e.get(n) for n in names] for e in envs]
    slots = _container_slots(lowering, node, before, snapshot, contents, names, values)
    joined = emit_cond(lowering, node, test, names, values, blocks)
    lowering.env.update(fixed)
    for name, value in zip(names, joined, strict=False):
        lowering.env[name] = value
    _join_views(lowering, laters, envs, blocks, reached)
    for name, treedef in made.items():  # the list again, of the joined items
        items = [lowering.env.pop(f"{name}[{k}]") for k in range(treedef.n_leaves)]
        lowering.env[name] = unflatten(treedef, items)
    for (container, key), value in zip(slots, joined[len(joined) - len(slots) :], strict=True):
        _set_item(container, key, value)


def _lower_branches(
    lowering: Lowering,
    bodies: list[list[ast.stmt]],
    before: dict[str, object],
    snapshot: Snapshot,
    is_entered: bool,
    laters: list[dict],
) -> tuple[list[dict[str, object]], list[list[Eqn]], list[list[Container]], list[bool]]:
    """Each branch lowered from the names as they are ``before`` the ``if``: the names it
    ends with, its equations, what the containers hold at its end (then put back) and
    whether it reaches its end (it does not when it raises, or is never entered); into
    ``laters``, the values arrays took in each (``srcad.lower.views``)."""
    envs, blocks, contents, reached = [], [], [], []
    later = lowering.views.later
    for k, body in enumerate(bodies):
        lowering.env = dict(before)
        lowering.views.later = dict(later)
        is_reached = k == 0 or not is_entered
        with lowering.builder.block() as eqns:
            try:
                if is_reached:
                    lower_block(lowering, body)
            except RaiseReached:
                is_reached = False
        envs.append(lowering.env)
        laters.append(lowering.views.later)
        blocks.append(eqns)
        contents.append([container.copy() for container, _ in snapshot])
        reached.append(is_reached)
        restore_containers(snapshot)
    lowering.env = before
    return envs, blocks, contents, reached


def _join_views(
    lowering: Lowering,
    laters: list[dict],
    envs: list[dict[str, object]],
    blocks: list[list[Eqn]],
    reached: list[bool],
) -> None:
    """After the join: an array from before the ``if`` that a branch wrote into through a
    view (``row *= 2`` of ``row = M[0]``) takes the joined value of the name that holds its
    new value in every branch (``srcad.lower.views``); where none does (written in one
    branch, bound to another array in the other), its value is ``UNKNOWN``, and a later
    write through one of its views is refused."""
    views = lowering.views
    before = views.later
    inside = set().union(*map(_defined_ids, blocks))
    written = {
        key: old
        for later in laters
        for key, (old, _) in later.items()
        if key not in before and not _is_inside(old, inside)
    }
    for key, old in written.items():
        ends = []
        for later, env, is_reached in zip(laters, envs, reached, strict=True):
            if is_reached:
                views.later = later
                end = views.current(old)
                ends.append([n for n, value in env.items() if value is end])
        views.later = before
        holders = set.intersection(*map(set, ends)) if ends else set()
        joined = lowering.env.get(min(holders)) if holders else UNKNOWN
        for name in holders:  # N = M before the 'if': one array after it too
            lowering.env[name] = joined
        if joined is not old:
            views.later[key] = (old, joined)
    branches = [(env, later) for env, later, r in zip(envs, laters, reached, strict=True) if r]
    for name, value in lowering.env.items():
        if any(env.get(name) is not value for env, _ in branches):  # joined here
            _join_view(lowering, name, value, branches)


def _join_view(
    lowering: Lowering, name: str, joined: object, branches: list[tuple[dict, dict]]
) -> None:
    """Note ``joined``, the value of ``name`` after the ``if``, as a view where the name
    held one at the end of every branch, of the array one name holds in every branch, at
    one index; as a view of ``UNKNOWN`` where it held a view in some branch only, or of
    other arrays or at other places (a write into it is then refused)."""
    views = lowering.views
    origins, holders = [], []
    for env, later in branches:
        origin = views.origin(env.get(name))
        origins.append(origin)
        if origin is not None:
            saved, views.later = views.later, later
            base = views.current(origin.base)
            views.later = saved
            holders.append({n for n, value in env.items() if value is base})
    if all(origin is None for origin in origins):
        return
    first = origins[0]
    agree = first is not None and all(
        o is not None and same_index(o.index, first.index) for o in origins
    )
    common = set.intersection(*holders) if agree and holders else set()
    if first is not None and common:
        views.note(joined, lowering.env[min(common)], first.index)
    else:
        views.note_unfollowed(joined, UNKNOWN)


def _give_unreached(
    before: dict[str, object],
    envs: list[dict[str, object]],
    blocks: list[list[Eqn]],
    contents: list[list[Container]],
    reached: list[bool],
) -> dict[str, object]:
    """The branch that is not reached ends with the other's names and container items
    (``_unreached``). Returns the names that both then hold alike and that need no join:
    values that are not computed from data (an int, a list made before the ``if``)."""
    live = reached.index(True)
    inside = _defined_ids(blocks[live])
    never = 1 - live
    envs[never] = {name: _unreached(value, inside) for name, value in envs[live].items()}
    contents[never] = [_unreached_items(container, inside) for container in contents[live]]
    return {
        name: value
        for name, value in envs[live].items()
        if not isinstance(value, Tracer)
        and (name not in before or value is not before[name])
        and not any(_is_inside(leaf, inside) for leaf in flatten(value)[0])
    }


def _lists_made_in_one_branch(
    envs: list[dict[str, object]],
    blocks: list[list[Eqn]],
    reached: list[bool],
    fixed: dict[str, object],
) -> dict[str, Any]:
    """Lists and tuples of computed values that the only branch reached made (a loop's
    tape in a ``with`` block of generated code): each item joined as a name of its own
    (``tape[0]``, ...; the other branch gives zeros). Returns each list's structure."""
    live, never = reached.index(True), reached.index(False)
    inside = _defined_ids(blocks[live])
    made: dict[str, Any] = {}
    for name, value in list(envs[live].items()):
        if name in fixed or type(value) not in (list, tuple) or name not in envs[never]:
            continue
        leaves, treedef = flatten(value)
        if not leaves or not all(isinstance(leaf, (Tracer, float, int)) for leaf in leaves):
            continue
        for k, leaf in enumerate(leaves):
            envs[live][f"{name}[{k}]"] = leaf
            envs[never][f"{name}[{k}]"] = _unreached(leaf, inside)
        del envs[live][name], envs[never][name]
        made[name] = treedef
    return made


def _unreached(value: object, inside: set[int]) -> object:
    """What a branch that never reaches the join gives for ``value`` of the other branch:
    the value itself, or zeros of its type where the other branch computed it."""
    if not isinstance(value, Tracer) or not _is_inside(value, inside):
        return value
    aval = value.aval
    return np.zeros(aval.shape, aval.dtype) if aval.shape else np.zeros((), aval.dtype)[()]


def _unreached_items(container: Container, inside: set[int]) -> Container:
    if isinstance(container, dict):
        return {key: _unreached(value, inside) for key, value in container.items()}
    return [_unreached(value, inside) for value in container]


def _is_inside(value: object, inside: set[int]) -> bool:
    """Whether ``value`` is a traced value computed inside a branch (``inside``: ids)."""
    return isinstance(value, Tracer) and isinstance(value.atom, Var) and value.atom.id in inside


def _defined_ids(eqns: list[Eqn]) -> set[int]:
    return {var.id for var in defined_vars(eqns)}


def _slot_name(label: str, key: object) -> str:
    """A name for an item a branch sets: ``accs_0``, ``st_h``, ``d_items_1``."""
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in f"{label}_{key}")
    return "_".join(part for part in text.split("_") if part) or "item"


def _container_slots(
    lowering: Lowering,
    node: Node,
    before: dict[str, object],
    snapshot: Snapshot,
    contents: list[list[Container]],
    names: list[str],
    values: list[list[object]],
) -> list[tuple[Container, object]]:
    """Items of Python lists/dicts that the branches set differently: they become
    outputs of the ``cond`` too (appended to ``names`` and ``values``)."""
    slots: list[tuple[Container, object]] = []
    labels = container_labels(before, lowering.world.made)
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
                names.append(_slot_name(labels.get(id(container), "item"), key))
                for branch, version_items in zip(values, items, strict=True):
                    branch.append(version_items[key])
        if isinstance(container, list):
            container[:] = versions[0]
        else:
            container.update(items[0])
    return slots


def _different_items(lowering: Lowering, node: Node, label: str) -> StaticValueNeeded:
    """The condition must be known when compiling: a loop's counter in it unrolls the loop
    (the test is then an int's); where it stays data, the message reaches the user."""
    return StaticValueNeeded(
        f"'{label}' gets different items in the two branches of a condition computed from "
        "data; give it the same items in both (assign into it, or append in both branches)",
        lowering.location(node),
    )


def _items(container: Container) -> dict[object, object]:
    """The items of a dict, or of a list by index."""
    return container if isinstance(container, dict) else dict(enumerate(container))


def _set_item(container: Container, key: object, value: object) -> None:
    if isinstance(container, dict):
        container[key] = value
    elif isinstance(key, int):  # a list's keys are its indices
        container[key] = value


@lowers_expression(ast.BoolOp)
def evaluate_boolean(lowering: Lowering, node: ast.BoolOp) -> object:
    """``and`` / ``or`` as Python: the operand that decides is the value, and the operands
    after it are not evaluated (``opt is not None and opt.scale > 0``)."""
    return _decided(lowering, node, node.values, isinstance(node.op, ast.And))


def _decided(
    lowering: Lowering, node: ast.BoolOp, operands: list[ast.expr], is_and: bool
) -> object:
    """The value of ``operands[0] and operands[1] and ...`` (``or`` where not ``is_and``).

    A traced operand's truth is known when the code runs: between truth values that are
    cheap to compute (comparisons) it is ``np.logical_and``; otherwise the choice Python
    makes, ``rest if first else first`` (``first if first else rest`` for ``or``), so that
    ``i < n and x[i] > 0`` never indexes past the end and ``lam and total`` is ``total``."""
    first = evaluate(lowering, operands[0])
    if len(operands) == 1:
        return first
    if not isinstance(first, Tracer):
        if (
            bool(truth_of(lowering, first, operands[0])) != is_and
        ):  # a falsy operand ends 'and', a truthy one 'or'
            return first
        return _decided(lowering, node, operands[1:], is_and)
    before = dict(lowering.env)
    contents = snapshot_containers(before, lowering.world.made)
    with lowering.builder.block() as eqns:
        rest = _decided(lowering, node, operands[1:], is_and)
    refuse_effects_on_one_path(lowering, before, node, "'and'/'or'", contents)
    if _is_truth(first) and _is_truth(rest) and all(map(_is_cheap_truth, eqns)):
        for eqn in eqns:
            lowering.builder.emit(eqn)
        return logical(lowering, "logical_and" if is_and else "logical_or", [first, rest], node)
    truth = first if first.dtype == np.bool_ else first != 0  # NaN is true, as in Python
    if is_and:
        return emit_cond(lowering, node, truth, ["t"], [[rest], [first]], [eqns, []])[0]
    return emit_cond(lowering, node, truth, ["t"], [[first], [rest]], [[], eqns])[0]


def refuse_effects_on_one_path(
    lowering: Lowering, before: dict[str, object], node: Node, what: str, contents: Snapshot
) -> None:
    """Refuse an expression that ran, on a path the data decide, a call that gave a name a
    new value (a helper writing into an array its caller passed: ``c and h(d, v)``) or
    changed a list or dict (``c and xs.append(v)``, ``contents``: as they were before):
    the expression's value is joined, the call's effect would not be."""
    changed = lowering.rebound_since(before)
    if restore_containers(contents):
        changed.append("a list or dict")
    if changed:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node).splitlines()[0]}' runs a call that changes "
            f"{_quoted(changed[0])} (a helper writing into an array you pass it, a list's "
            f"append) on one path of an {what} that the data decide; srcad follows such "
            "changes in 'if' statements: write 'if cond: h(...)' instead",
            node,
        )


def _quoted(name: str) -> str:
    return name if name == "a list or dict" else f"'{name}'"


def _is_truth(value: object) -> bool:
    return isinstance(value, bool) or (isinstance(value, Tracer) and value.dtype == np.bool_)


def _is_cheap_truth(eqn: Eqn) -> bool:
    """An equation that may run although Python would not have evaluated it: one that
    cannot raise (a comparison, a logical or elementwise operation of values at hand)."""
    return PRIMS[eqn.prim].kind in (COMPARISON, ELEMENTWISE)


@lowers_expression(ast.IfExp)
def evaluate_if_expression(lowering: Lowering, node: ast.IfExp) -> object:
    test = truth_of(lowering, evaluate(lowering, node.test), node.test)
    if not isinstance(test, Tracer):
        return evaluate(lowering, node.body if test else node.orelse)
    values: list[list[object]] = []
    blocks = []
    before = dict(lowering.env)
    contents = snapshot_containers(before, lowering.world.made)
    for branch in (node.body, node.orelse):
        with lowering.builder.block() as eqns:
            try:
                values.append([evaluate(lowering, branch)])
            except RaiseReached:  # a helper that raises
                values.append([_NEVER])
        refuse_effects_on_one_path(lowering, before, node, "'... if ... else ...'", contents)
        blocks.append(eqns)
    if all(value[0] is _NEVER for value in values):
        emit_cond(lowering, node, test, [], [[], []], blocks)
        raise RaiseReached
    for k, value in enumerate(values):
        if value[0] is _NEVER:
            values[k] = [_unreached(values[1 - k][0], _defined_ids(blocks[1 - k]))]
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
    if test.shape != () and lowering.inlining.elementwise:  # np.vectorize's function
        return _chosen_elementwise(lowering, node, test, values, blocks)
    if test.shape != ():
        raise lowering.located(
            SrcadError,
            f"the condition has shape {test.shape}; an 'if' needs a single truth value "
            "(use np.where for elementwise choices, or np.all / np.any)",
            node,
        )
    unset = [[_is_none(lowering, v) for v in branch] for branch in values]
    values = _fill_unset(values)
    atoms = [
        [_branch_atom(lowering, v, name, node) for v, name in zip(vs, names, strict=True)]
        for vs in values
    ]
    _fix_a_test_that_shapes(lowering, node, test, names, atoms)
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
    _note_maybe_none(lowering, _truth_of(test, names, outputs), outputs, unset)
    return _noted_int_or_float(lowering, values, [lowering.builder.tracer(v) for v in outputs])


def _fix_a_test_that_shapes(
    lowering: Lowering, node: Node, test: Tracer, names: list[str], atoms: list[list[Var | Const]]
) -> None:
    """A value of another shape in each branch of a test on floats read from outside only
    (``y = x if T > 1.0 else x[:3]`` of a global ``T``): the test must be known when
    compiling, so those floats are fixed (the guard compares them on every call), as for
    a count computed from them."""
    for k, name in enumerate(names):
        shapes = {branch[k].aval.shape for branch in atoms if not branch[k].aval.is_weak}
        if len(shapes) > 1 and fixed_when_needed(lowering, (test,)):
            raise StaticValueNeeded(
                f"'{name}' has another shape in each branch of a condition",
                lowering.builder.loc,
                (test,),
            )


def _truth_of(test: Tracer, names: list[str], outputs: list[Var]) -> Tracer | None:
    """Whether the first branch ran, as a truth value of the call: the ``if``'s test, or a
    ``try``'s flag (True where its block ran to its end); None where there is neither."""
    if test.aval.dtype == "bool":
        return test
    catching = test.atom.value if isinstance(test.atom, Const) else None
    flag = getattr(catching, "flag", None)
    if flag in names:
        return test.builder.tracer(outputs[names.index(flag)])
    return None


def _is_none(lowering: Lowering, value: object) -> object:
    """Whether a branch's value is None: True, False, or the truth value of the call for a
    value that may be None itself (``Lowering.maybe_none``)."""
    if value is None:
        return True
    if isinstance(value, Tracer) and isinstance(value.atom, Var):
        return lowering.maybe_none.get(value.atom.id, False)
    return False


def _note_maybe_none(
    lowering: Lowering, test: Tracer | None, outputs: list[Var], unset: list[list[object]]
) -> None:
    """Each result None in one branch (given zeros there, ``_fill_unset``) and computed in
    the other: whether it is None, for ``ret is None`` to answer as Python does (srcad took
    the zeros for a value, and ``ret is not None`` for always true)."""
    if test is None:
        return
    builder = lowering.builder
    for k, var in enumerate(outputs):
        when_true, when_false = unset[0][k], unset[1][k]
        if when_true is False and when_false is False:
            continue
        if when_true is True and when_false is True:
            continue  # None in both: not a result of the cond
        lowering.maybe_none[var.id] = builder.apply("where", (test, when_true, when_false))


def _chosen_elementwise(
    lowering: Lowering,
    node: Node,
    test: Tracer,
    values: list[list[object]],
    blocks: list[list[Eqn]],
) -> list[Tracer]:
    """Both branches computed, then each value chosen element by element (``np.where``):
    what the branches of an ``if`` on one element give for every element."""
    if any(value is _NEVER for branch in values for value in branch):
        raise lowering.located(
            SrcadError, "a branch that raises, in a function given to np.vectorize", node
        )
    for eqns in blocks:
        for eqn in eqns:
            lowering.builder.emit(eqn)
    builder = lowering.builder
    chosen = [
        builder.tracer(builder.apply_atom("where", (test, when_true, when_false)))
        for when_true, when_false in zip(*_fill_unset(values), strict=True)
    ]
    return _noted_int_or_float(lowering, values, chosen)


def _noted_int_or_float(
    lowering: Lowering, values: list[list[object]], joined: list[Tracer]
) -> list[Tracer]:
    """``joined``, each noted where one branch gave an int (or a bool) and another a float:
    which one the value is depends on the data (``srcad.lower.vectorized`` refuses it)."""
    for k, value in enumerate(joined):
        lowering.world.note_int_or_float([b[k] for b in values if k < len(b)], value)
    return joined


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
    moved_return = name.startswith(RETURN_VALUE)  # a return ending a try block's branch
    what = "the value returned" if moved_return else f"'{name}'"
    if isinstance(node, (ast.IfExp, ast.BoolOp)):  # its own value, not a name's
        what = f"the value of '{ast.unparse(node)}'"
    if hasattr(value, "__dict__") and not isinstance(value, type):  # one object or another
        raise lowering.located(
            UnsupportedSyntax,
            f"{what} is one {type(value).__name__} object or another, chosen by a condition "
            "computed from data; srcad chooses between arrays and numbers, not objects: "
            "choose their values instead (best_v = a.v if a.v > b.v else b.v, or np.where)",
            node,
        )
    raise lowering.located(
        SrcadError,
        f"{what} is a {type(value).__name__} that differs between the branches of a "
        "condition computed from data; only arrays and numbers can differ: give it the same "
        "structure in every branch (the same strings, None and lengths)",
        node,
    )


# --- helpers ------------------------------------------------------------------------------
def _fill_unset(values: list[list[object]]) -> list[list[object]]:
    """A value that is None in one branch (a placeholder, as generated code writes before
    an ``if``) and computed in the other becomes zeros in the first."""
    filled = [list(branch) for branch in values]
    for k in range(len(values[0])):
        computed = [v for v in (branch[k] for branch in values) if isinstance(v, Tracer)]
        numbers = [v for v in (branch[k] for branch in values) if isinstance(v, NUMBERS)]
        for branch in filled:
            if branch[k] is None and computed:
                aval = computed[0].aval
                zero = 0.0 if aval.shape == () else np.zeros(aval.shape, aval.dtype)
                branch[k] = zero
            elif branch[k] is None and numbers:
                branch[k] = np.zeros_like(numbers[0])[()]
    return filled


def _changed_names(before: dict[str, object], envs: list[dict[str, object]]) -> list[str]:
    """Names whose value some branch changed: bound in every branch, or bound to a value or
    a number in one (then the other branch gives zeros, as for a value only that branch's
    code reads: ``else: found = 0.0`` of a loop that breaks)."""
    names = set().union(*envs)
    changed = []
    for name in sorted(names):
        values = [env.get(name) for env in envs]
        if all(name in env for env in envs):
            if any(name not in before or env[name] is not before[name] for env in envs):
                changed.append(name)
        elif name not in before and any(isinstance(v, (Tracer, *NUMBERS)) for v in values):
            changed.append(name)
    return changed


def _joined_aval(lowering: Lowering, avals: list[AVal], name: str, node: Node) -> AVal:
    shapes = {a.shape for a in avals if not (a.is_weak and a.shape == ())}
    if len(shapes) > 1:
        what = f"'{name}'"
        if isinstance(node, ast.IfExp):  # y = x if c else x[:3]: its own value, not a name's
            what = f"the value of '{ast.unparse(node)}'"
        raise lowering.located(
            SrcadError,
            f"{what} has shape {avals[0].shape} in one branch and {avals[1].shape} in the "
            "other; give it the same shape in both",
            node,
        )
    shape = shapes.pop() if shapes else ()
    dtype = np.result_type(*[np.dtype(a.dtype) for a in avals]).name
    return AVal(shape, dtype, all(a.is_weak for a in avals))
