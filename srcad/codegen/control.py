"""Emitting control flow: the statements of ``if`` / ``else``, ``for``, ``while``, the tape,
``with`` and ``raise``.

The values of a loop or an ``if`` that share one Python variable are grouped before naming
(``grouping``); where a group could not absorb a value, an explicit assignment is written
here: before the loop, at the end of the body, or at the end of a branch. A ``cond`` on a
``Context`` is a ``with`` block (its other branch is never taken), one on a ``Catching`` a
``try`` / ``except`` (the backward code tests the flag the branches set); a branch ends at
its ``raise``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Sequence, Set
from typing import TYPE_CHECKING

from srcad.codegen.expressions import literal
from srcad.codegen.function import parameter_names
from srcad.codegen.unparse import unparse
from srcad.ir import Atom, Const, Eqn, Graph, Var
from srcad.ir.control import body_of, branches_of, condition_of
from srcad.ir.facts import is_loop, updates_first_input
from srcad.ir.walk import defined_vars, walk_eqns
from srcad.ir.world import Context, catching_of

if TYPE_CHECKING:
    from srcad.codegen.emit import Emitter


def control_statement(emitter: Emitter, eqn: Eqn) -> str:
    """The statement of a structured equation or a tape operation."""
    if eqn.prim == "cond":
        return _cond_statement(emitter, eqn)
    if eqn.prim == "for":
        return _for_statement(emitter, eqn)
    if eqn.prim == "while":
        return _while_statement(emitter, eqn)
    if eqn.prim == "raise":
        return _raise_statement(emitter, eqn)
    return _tape_statement(emitter, eqn)


def _cond_statement(emitter: Emitter, eqn: Eqn) -> str:
    true_branch, false_branch = branches_of(eqn)
    context = _context_of(eqn)
    if context is not None:  # a with block: always entered, so nothing starts as a zero
        lines = [f"with {_context_call(emitter, context)}:"]
        return "\n".join(lines + _indent(_nested_block(emitter, eqn, true_branch)))
    lines = [
        f"{emitter.names.name(var)} = {_placeholder(var)}"
        for var in _recorded_from_branches(emitter, eqn)
    ]
    reached = _reached_branch(emitter, eqn)
    if reached is not None:  # the other branch raised in the forward code
        return "\n".join(lines + _nested_block(emitter, eqn, reached))
    catching = catching_of(eqn)
    if catching is not None:  # try: the first branch; except ...: the second
        caught = ", ".join(catching.exceptions)
        caught = caught if len(catching.exceptions) == 1 else f"({caught})"
        lines += ["try:", *_indent(_nested_block(emitter, eqn, true_branch))]
        handler = _nested_block(emitter, eqn, false_branch)
        return "\n".join(lines + [f"except {caught}:", *_indent(handler)])
    test = unparse(emitter.operand(eqn.inputs[0]))
    lines += [f"if {test}:", *_indent(_nested_block(emitter, eqn, true_branch))]
    else_lines = _nested_block(emitter, eqn, false_branch)
    if _does_something(else_lines):
        lines += ["else:", *_indent(else_lines)]
    return "\n".join(lines)


def _does_something(lines: list[str]) -> bool:
    """Whether ``lines`` (each one or more lines of code) hold a statement other than
    ``pass`` (an ``else`` of nothing but ``pass`` is left out)."""
    pieces = [piece.strip() for line in lines for piece in line.split("\n")]
    return any(not piece.startswith("#") and piece != "pass" for piece in pieces)


def _recorded_from_branches(emitter: Emitter, eqn: Eqn) -> list[Var]:
    """Values computed in a branch that the tape records whichever branch ran: they
    start as a zero of their type so that the recording never reads an unset name."""
    inside: set[int] = set()
    for branch in branches_of(eqn):
        inside |= {v.id for v in defined_vars(branch.eqns)}
    recorded = {emitter.names.name(a): a for a in emitter.taped if a.id in inside}
    return [recorded[name] for name in sorted(recorded)]


def _nested_block(emitter: Emitter, eqn: Eqn, block: Graph) -> list[str]:
    """The statements of a branch or a loop body, then the assignments of its results (a
    branch that raises ends at its ``raise``)."""
    raises = [k for k, inner in enumerate(block.eqns) if inner.prim == "raise"]
    if raises:
        return emitter.block_lines(block.eqns[: raises[0] + 1], parent=eqn)
    lines = emitter.block_lines(block.eqns, parent=eqn)
    lines += _assignments(emitter, eqn.outputs, block.outputs, _shared_and_filled(emitter, eqn))
    return lines if _does_something(lines) else lines + ["pass"]


def _shared_and_filled(emitter: Emitter, eqn: Eqn) -> set[str]:
    """The carried names of a loop that the next iteration writes into in place and whose
    next value is also another carried value's (``dx, dF = dx, dx`` of ``x = x + F``) or an
    array from before the loop (``v1_dot = x_dot``, the tangent of ``v1 = x.copy()``): each
    gets its own array, or ``dx[j] += g`` would change ``dF`` too, and ``v1_dot[k] = t``
    the caller's tangent."""
    if not is_loop(eqn):
        return set()
    outputs = body_of(eqn).outputs
    position = emitter.program.pos(eqn)
    shared = {
        emitter.names.name(target)
        for target, value in zip(eqn.outputs, outputs, strict=True)
        if isinstance(value, Var)
        and (
            sum(v == value for v in outputs) > 1
            or emitter.program.defined_at.get(value.id, -1) < position
        )
    }
    return shared & _filled_in_place(emitter, eqn)


def _reached_branch(emitter: Emitter, eqn: Eqn) -> Graph | None:
    """The branch of a backward ``cond`` that the backward code can reach, when its forward
    ``cond`` raises in the other (then the backward code never runs after that one)."""
    if eqn.role != "adjoint" or eqn.origin is None:
        return None
    forward = emitter.defining.get(eqn.origin)
    if forward is None or forward.prim != "cond":
        return None
    raises = [any(inner.prim == "raise" for inner in b.eqns) for b in branches_of(forward)]
    if raises.count(False) != 1:
        return None
    return branches_of(eqn)[raises.index(False)]


def _context_of(eqn: Eqn) -> Context | None:
    """The context manager of a ``cond`` that is a ``with`` block, or None."""
    test = eqn.inputs[0]
    return test.value if isinstance(test, Const) and isinstance(test.value, Context) else None


def _context_call(emitter: Emitter, context: Context) -> str:
    """``np.errstate(divide="ignore")``; a module other than NumPy is given to the module."""
    if context.module != "numpy":
        emitter.constants[context.module] = sys.modules[context.module]
    function = ast.parse(context.callee, mode="eval").body
    keywords = [ast.keyword(name, literal(value)) for name, value in context.keywords]
    return unparse(ast.Call(function, [literal(v) for v in context.arguments], keywords))


def _raise_statement(emitter: Emitter, eqn: Eqn) -> str:
    """``raise ValueError(f"{s} < 0")``: the class by its builtin name, or as given to the
    module; the arguments as ``outside_call`` records them."""
    params = eqn.param_dict
    exception: ast.expr
    if isinstance(params["exception"], str):
        exception = ast.Name(params["exception"], ast.Load())
    else:
        exception = emitter.operand(eqn.inputs[0])
    if "arguments" in params:
        arguments, keywords = params["arguments"], params["keywords"]
        if not isinstance(arguments, tuple) or not isinstance(keywords, tuple):
            raise TypeError("a raise without its arguments")
        positional = [emitter.call_argument(eqn, spec) for spec in arguments]
        named = [ast.keyword(name, emitter.call_argument(eqn, spec)) for name, spec in keywords]
        exception = ast.Call(exception, positional, named)
    cause = ast.Constant(None) if params.get("is_from_none") else None
    return unparse(ast.Raise(exception, cause))


def _filled_in_place(emitter: Emitter, eqn: Eqn) -> set[str]:
    """Names of carried arrays that the loop body writes into in place, and of those whose
    array a later step writes into under another name (``dx, dy = dy, dx``)."""
    names = set()
    for inner in walk_eqns(body_of(eqn).eqns):
        if updates_first_input(inner) and isinstance(inner.inputs[0], Var):
            target = emitter.names.names.get(inner.outputs[0].id)
            if target is not None and target == emitter.names.names.get(inner.inputs[0].id):
                names.add(target)
    passed = _passed_between_names(emitter, eqn)
    while grown := {giver for taker, giver in passed if taker in names} - names:
        names |= grown
    return names


def _passed_between_names(emitter: Emitter, eqn: Eqn) -> list[tuple[str, str]]:
    """(taker, giver): the next step's ``taker`` holds the array (or a view of it) that the
    step ends with under the carried name ``giver`` (a swap of buffers)."""
    carried = {emitter.names.name(var) for var in eqn.outputs}
    pairs = []
    for target, value in zip(eqn.outputs, body_of(eqn).outputs, strict=True):
        taker = emitter.names.name(target)
        giver = (
            emitter.names.names.get(emitter.names.viewed(value).id)
            if isinstance(value, Var)
            else None
        )
        if giver in carried and giver != taker:
            pairs.append((taker, giver))
    return pairs


def _assignments(
    emitter: Emitter,
    targets: Sequence[Var],
    values: Sequence[Atom],
    copied: Set[str] = frozenset(),
    position: int = -1,
) -> list[str]:
    """``a, b = x, y`` for the targets whose value is not already under their name;
    ``x.copy()`` for arrays in ``copied`` (the loop writes into them)."""
    pairs = []
    for target, value in zip(targets, values, strict=True):
        name = emitter.names.name(target)
        expression = unparse(emitter.operand(value))
        is_fresh = (
            isinstance(value, Var) and value.id in emitter.inlined and emitter.is_owned(value)
        )
        # one array entering as two carried values (buf0 = x2 * 1.0 simplified to x2):
        # writing into it under one name would change the other
        is_shared = isinstance(value, Var) and sum(v == value for v in values) > 1
        if name in copied and target.aval.shape != () and not is_fresh:
            # another array, or this name's own array when it is not the function's to
            # write into (a read-only broadcast, an argument)
            if expression != name or is_shared or not _is_writable(emitter, value, position):
                expression = f"{expression}.copy()"
        if expression != name:
            pairs.append((name, expression))
    if not pairs:
        return []
    left = ", ".join(name for name, _ in pairs)
    right = ", ".join(expression for _, expression in pairs)
    return [f"{left} = {right}"]


def _is_writable(emitter: Emitter, value: Atom, position: int) -> bool:
    """Whether the generated function owns ``value``'s array (may write into it) and no
    view of it is read after ``position``."""
    return (
        isinstance(value, Var)
        and value not in emitter.graph.inputs
        and emitter.is_owned(value)
        and not emitter.names.views_alive(value, position)
    )


def _for_statement(emitter: Emitter, eqn: Eqn) -> str:
    params = eqn.param_dict
    body = body_of(eqn)
    counter = emitter.names.name(body.inputs[0])
    bounds = _range_arguments(params["start"], _stop(emitter, eqn), params["step"])
    iterator = f"range({bounds})"
    if params.get("is_reversed"):
        iterator = f"reversed({iterator})"
    lines = _entry_assignments(emitter, eqn)
    lines.append(f"for {counter} in {iterator}:")
    lines += _indent(_nested_block(emitter, eqn, body))
    return "\n".join(lines)


def _entry_assignments(emitter: Emitter, eqn: Eqn) -> list[str]:
    """The carried values that enter a loop under another name than the loop's variable."""
    copied = _filled_in_place(emitter, eqn)
    return _assignments(emitter, eqn.outputs, eqn.inputs, copied, emitter.program.pos(eqn))


def _stop(emitter: Emitter, eqn: Eqn) -> object:
    """``xs.shape[0]`` where the source wrote the bound so and ``xs`` is a parameter of
    the generated function (the layout check makes the two equal), else the number."""
    params = eqn.param_dict
    stop_dim = params.get("stop_dim")
    if isinstance(stop_dim, tuple):
        var_id, axis = stop_dim
        name = parameter_names(emitter).get(var_id)
        if name is not None:
            return f"{name}.shape[{axis}]"
    return params["stop"]


def _while_statement(emitter: Emitter, eqn: Eqn) -> str:
    condition, body = condition_of(eqn), body_of(eqn)
    lines = _entry_assignments(emitter, eqn)
    test_lines = emitter.block_lines(condition.eqns, parent=eqn)
    test = emitter.operand(condition.outputs[0])
    if all(line.startswith("#") for line in test_lines):
        lines.append(f"while {unparse(test)}:")
        lines += _indent(_nested_block(emitter, eqn, body))
    else:
        lines.append("while True:")
        stop = unparse(ast.UnaryOp(ast.Not(), test))  # "not (a and k)", not "not a and k"
        lines += _indent([*test_lines, f"if {stop}:", "    break"])
        lines += _indent(_nested_block(emitter, eqn, body))
    return "\n".join(lines)


def _tape_statement(emitter: Emitter, eqn: Eqn) -> str:
    names = emitter.names
    if eqn.prim == "tape_new":
        return f"{names.name(eqn.outputs[0])} = []"
    tape = unparse(emitter.operand(eqn.inputs[0]))
    if eqn.prim == "tape_push":
        values = [unparse(emitter.operand(a)) for a in eqn.inputs[1:]]
        record = values[0] if len(values) == 1 else f"({', '.join(values)})"
        return f"{tape}.append({record})"
    if eqn.prim == "tape_stack":
        return f"{names.name(eqn.outputs[0])} = np.array({tape})"
    if eqn.prim == "tape_pop":
        popped = [names.name(v) for v in eqn.outputs[1:]]
        if not popped:
            return f"{tape}.pop()"
        return f"{', '.join(popped)} = {tape}.pop()"
    return f"{names.name(eqn.outputs[0])} = len({tape}) > 0"


def _indent(lines: list[str]) -> list[str]:
    return ["    " + piece for line in lines for piece in line.split("\n")]


def _range_arguments(start: object, stop: object, step: object) -> str:
    """``range``'s arguments as the source would write them (the bounds are numbers, the
    stop may be spelled ``xs.shape[0]``)."""
    if step != 1:
        return f"{start}, {stop}, {step}"
    return f"{stop}" if start == 0 else f"{start}, {stop}"


def _placeholder(var: Var) -> str:
    """A zero of ``var``'s type and shape (not None: code that srcad reads back, for second
    derivatives, must give a value the same type in both branches)."""
    shape, dtype = var.aval.shape, var.aval.dtype
    if shape == ():
        if dtype == "object":
            return "[]"  # a tape that the branch did not fill
        if dtype == "bool":
            return "False"
        if dtype.startswith(("int", "uint")):
            return "0"
        return "0.0" if dtype == "float64" else f"np.{dtype}(0)"
    suffix = "" if dtype == "float64" else f", dtype=np.{dtype}"
    return f"np.zeros({shape!r}{suffix})"
