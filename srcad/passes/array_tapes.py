"""The tapes of ``for`` loops as arrays, in the code that a further derivative reads.

The reverse sweep's tape is a Python list (``srcad.reverse.control``): the forward loop
appends what the backward loop pops. That is fast to run, but lowering can only unroll a
loop that grows a list: differentiating the code again (``hessian``, ``grad(grad(f))``)
would unroll both loops, every step of them. A ``for`` loop's steps are counted when
compiling, so its tape can be one array per saved value, written and read at the step's
position, and both loops stay loops when the code is differentiated again. Only that code
is rewritten (``Compiled.body``); the code that runs keeps its lists (an append keeps a
reference where writing a slot copies).

    before                                      after
    %t:object = tape_new                        %a:f64[n,3] = zeros shape=(n, 3)
    ... = for ... %t                            ... = for ... %a
      body(%i, ..., %t1):                         body(%i, ..., %a1):
        %t2 = tape_push %t1 %h                      %a2 = setitem %a1 %h %i
    ... = for %t3 ... is_reversed=True          ... = for ... is_reversed=True
      body(%i, %t4, ...):                         body(%i, ...):
        %t5, %h = tape_pop %t4                      %h = getitem %a %i

A value saved as a Python number is read back as one (``float(tape[i])``), so that the code
promotes as before. A tape saved by an outer loop's step (a nested loop's) becomes arrays
one dimension longer; ``tape_stack`` of a tape (``np.array(tape)``) is its array. A graph
with a tape used in any other way (a ``while`` loop's, whose length is known only when it
runs) is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TypeGuard, Union

import numpy as np

from srcad.ir import Atom, AVal, Const, Eqn, Graph, Var
from srcad.ir.control import body_of, branches_of, known_steps
from srcad.ir.facts import is_tape
from srcad.ir.shapes import infer_avals
from srcad.ir.walk import defined_vars, max_var_id, walk_eqns
from srcad.passes.dce import eliminate_dead_code

# The arrays a tape became, one per saved value in the order pushed; a saved tape (a
# nested loop's) is the arrays it became, each with the steps of this one in front.
Layout = tuple[Union[Var, "Layout"], ...]
# Python numbers read back from an array as Python numbers (weak in NumPy's promotion)
_AS_NUMBER = {"float64": "python_float", "int64": "python_int"}


class _Kept(Exception):
    """A tape used in a way this pass does not rewrite: the graph stays as it is."""


@dataclass
class _Steps:
    """What a loop's tapes are indexed with: the step's position, and its equations."""

    position: Atom
    eqns: list[Eqn]


@dataclass
class _Pushed:
    """A tape that a loop's body pushes to: the arrays it carries instead, in and out."""

    steps: int
    position: Atom
    carried_in: list[Var] = field(default_factory=list)
    carried_out: list[Var] = field(default_factory=list)
    layout: Layout = ()
    tape_out: int | None = None  # the id of the tape the push made
    values: list[Var] = field(default_factory=list)  # the values written


@dataclass
class _Popped:
    """A tape that a loop's body pops from: its arrays, read at the step's position."""

    layout: Layout
    position: Atom
    tape_out: int | None = None  # the id of the tape the pop left


@dataclass
class _Rewriting:
    next_id: int
    layouts: dict[int, Layout] = field(default_factory=dict)  # tape var id -> its arrays
    made: dict[int, Eqn] = field(default_factory=dict)  # tape var id -> its tape_new
    pushed: dict[int, _Pushed] = field(default_factory=dict)  # body input id -> its arrays
    popped: dict[int, _Popped] = field(default_factory=dict)  # body input id -> its arrays
    mapping: dict[int, Atom] = field(default_factory=dict)  # var id -> what replaces it

    def new_var(self, hint: str, aval: AVal) -> Var:
        self.next_id += 1
        return Var(self.next_id, hint, aval)

    def substitute(self, atoms: tuple[Atom, ...]) -> tuple[Atom, ...]:
        return tuple(self.mapping.get(a.id, a) if isinstance(a, Var) else a for a in atoms)


def tapes_as_arrays(graph: Graph) -> Graph:
    """``graph`` with the tapes of its ``for`` loops made arrays, or ``graph`` itself when
    it has no tape or one this pass leaves alone."""
    if not any(is_tape(eqn) for eqn in walk_eqns(graph.eqns)):
        return graph
    rewriting = _Rewriting(max_var_id(graph))
    try:
        eqns = _block(rewriting, graph.eqns)
        outputs = rewriting.substitute(graph.outputs)
        if any(_is_tape_var(atom) for atom in outputs):
            raise _Kept
    except _Kept:
        return graph
    return eliminate_dead_code(replace(graph, eqns=eqns, outputs=outputs))


def _block(rewriting: _Rewriting, eqns: tuple[Eqn, ...]) -> tuple[Eqn, ...]:
    result: list[Eqn] = []
    for eqn in eqns:
        eqn = replace(eqn, inputs=rewriting.substitute(eqn.inputs))
        if is_tape(eqn):
            result += _tape_operation(rewriting, eqn)
        elif eqn.prim == "for" and any(_is_tape_var(atom) for atom in eqn.inputs):
            result += _loop(rewriting, eqn)
        elif any(_is_tape_var(atom) for atom in eqn.inputs):
            raise _Kept  # a while loop's tape
        else:
            result.append(_inside(rewriting, eqn))
    return tuple(result)


def _tape_operation(rewriting: _Rewriting, eqn: Eqn) -> list[Eqn]:
    """What replaces an operation on a tape that becomes arrays."""
    tape = eqn.outputs[0] if eqn.prim == "tape_new" else eqn.inputs[0]
    if not isinstance(tape, Var):
        raise _Kept
    if eqn.prim == "tape_new":
        rewriting.made[tape.id] = eqn  # its arrays are made before the loop that fills it
        return []
    if eqn.prim == "tape_push" and tape.id in rewriting.pushed:
        return _push(rewriting, eqn, rewriting.pushed[tape.id])
    if eqn.prim == "tape_pop" and tape.id in rewriting.popped:
        return _pop(rewriting, eqn, rewriting.popped[tape.id])
    if eqn.prim == "tape_stack":
        _stack(rewriting, eqn, tape)
        return []
    raise _Kept  # a while loop's tape (tape_nonempty)


def _inside(rewriting: _Rewriting, eqn: Eqn) -> Eqn:
    """``eqn`` with its sub-graphs rewritten."""
    if not eqn.graphs:
        return eqn
    params = []
    for key, value in eqn.params:
        if isinstance(value, Graph):
            value = _graph(rewriting, value)
        elif isinstance(value, tuple) and value and all(isinstance(v, Graph) for v in value):
            value = tuple(_graph(rewriting, g) for g in value)
        params.append((key, value))
    return replace(eqn, params=tuple(params))


def _graph(rewriting: _Rewriting, graph: Graph) -> Graph:
    eqns = _block(rewriting, graph.eqns)
    outputs = rewriting.substitute(graph.outputs)
    if any(_is_tape_var(atom) for atom in outputs):
        raise _Kept  # a branch handing a tape on
    return replace(graph, eqns=eqns, outputs=outputs)


# --- loops ------------------------------------------------------------------------------------
# what a loop carries, one value: its start, the loop's result, the body's input and output
Carried = tuple[Atom, Var, Var, Atom]


def _loop(rewriting: _Rewriting, loop: Eqn) -> list[Eqn]:
    """A ``for`` loop that pushes to or pops from tapes, carrying arrays instead."""
    steps = known_steps(loop)
    if steps == 0:
        raise _Kept
    body = body_of(loop)
    position = _position(rewriting, loop, body.inputs[0])
    tapes = _take_tapes(rewriting, loop, steps, position.position)
    eqns = _block(rewriting, body.eqns)
    written = [value for pushed in tapes if pushed is not None for value in pushed.values]
    eqns = _results_of_branches(rewriting, eqns, written)
    starts, carried = _carried(rewriting, loop, tapes)
    inits, outputs, inputs, results = zip(*carried, strict=True) if carried else ((),) * 4
    new_body = replace(
        body,
        inputs=(body.inputs[0], *inputs),
        eqns=(*position.eqns, *eqns),
        outputs=tuple(results),
    )
    params = tuple((key, new_body if key == "body" else value) for key, value in loop.params)
    return [*starts, replace(loop, inputs=tuple(inits), outputs=tuple(outputs), params=params)]


def _take_tapes(
    rewriting: _Rewriting, loop: Eqn, steps: int, position: Atom
) -> list[_Pushed | None]:
    """Per value the loop carries, the tape its body pushes to (one made just before it),
    None for any other; a tape the body pops from is recorded as such."""
    tapes: list[_Pushed | None] = []
    for init, carried in zip(loop.inputs, body_of(loop).inputs[1:], strict=True):
        pushed = None
        if not _is_tape_var(init):
            pass
        elif init.id in rewriting.made:
            pushed = rewriting.pushed[carried.id] = _Pushed(steps, position)
        elif init.id in rewriting.layouts:
            rewriting.popped[carried.id] = _Popped(rewriting.layouts[init.id], position)
        else:
            raise _Kept
        tapes.append(pushed)
    return tapes


def _carried(
    rewriting: _Rewriting, loop: Eqn, tapes: list[_Pushed | None]
) -> tuple[list[Eqn], list[Carried]]:
    """What the loop carries, a tape pushed to as its arrays (and the zeros they start as
    before the loop); a tape popped from is not carried (the body reads its arrays)."""
    body = body_of(loop)
    starts: list[Eqn] = []
    carried: list[Carried] = []
    for k, pushed in enumerate(tapes):
        init, out, carried_in, result = (
            loop.inputs[k],
            loop.outputs[k],
            body.inputs[k + 1],
            rewriting.substitute((body.outputs[k],))[0],
        )
        if not _is_tape_var(init):
            carried.append((init, out, carried_in, result))
            continue
        if pushed is None:
            if rewriting.popped[carried_in.id].tape_out != _id(result):
                raise _Kept  # not popped from in every step
            continue
        if pushed.tape_out != _id(result):
            raise _Kept  # not pushed to in every step
        made = rewriting.made[init.id]
        first = [_start(rewriting, array, made) for array in pushed.carried_in]
        ends = [rewriting.new_var(array.hint, array.aval) for array in pushed.carried_in]
        ends_by_id = {a.id: end for a, end in zip(pushed.carried_in, ends, strict=True)}
        rewriting.layouts[out.id] = _replace_leaves(pushed.layout, ends_by_id)
        starts += first
        carried += zip(
            (e.outputs[0] for e in first), ends, pushed.carried_in, pushed.carried_out, strict=True
        )
    return starts, carried


def _position(rewriting: _Rewriting, loop: Eqn, counter: Var) -> _Steps:
    """The position of the step a loop's counter is at: ``(i - start) // step``, or the
    counter itself when it counts from 0 by 1 (a backward loop counts the same values)."""
    params = loop.param_dict
    start, step = params["start"], params.get("step", 1)
    if start == 0 and step == 1:
        return _Steps(counter, [])
    eqns: list[Eqn] = []
    offset = _apply(rewriting, eqns, "subtract", (counter, Const(start)), loop)
    position = _apply(rewriting, eqns, "floor_divide", (offset, Const(step)), loop)
    return _Steps(position, eqns)


def _start(rewriting: _Rewriting, var: Var, made: Eqn) -> Eqn:
    """The array a tape's saved value starts as, zeros: ``np.zeros((steps, *shape))``."""
    params = (("shape", var.aval.shape), ("dtype", var.aval.dtype))
    start = rewriting.new_var(var.hint, var.aval)
    return Eqn("zeros", (), (start,), params, made.loc, made.role)


def _results_of_branches(
    rewriting: _Rewriting, eqns: tuple[Eqn, ...], written: list[Var]
) -> tuple[Eqn, ...]:
    """A loop body whose values ``written`` to a tape at its end that a branch computes are
    results of their ``cond`` (zeros where the other branch ran), read as those."""
    result, lifted = _lift(rewriting, eqns, written)
    if not lifted:
        return eqns
    return tuple(
        replace(e, inputs=tuple(lifted.get(a.id, a) if isinstance(a, Var) else a for a in e.inputs))
        for e in result
    )


def _lift(
    rewriting: _Rewriting, eqns: tuple[Eqn, ...], wanted: list[Var]
) -> tuple[list[Eqn], dict[int, Var]]:
    """``eqns`` with each of ``wanted`` that one of their branches computes made a result of
    that ``cond``; the results by the id of the value."""
    result, lifted = [], {}
    for eqn in eqns:
        inner = defined_vars((eqn,)) - set(eqn.outputs) if eqn.graphs else set()
        inside = [w for w in wanted if w.id not in lifted and w in inner]
        if inside:
            if eqn.prim != "cond":
                raise _Kept  # a value of a loop's step, saved after the loop
            eqn, found = _with_results(rewriting, eqn, inside)
            lifted.update(found)
        result.append(eqn)
    return result, lifted


def _with_results(rewriting: _Rewriting, cond: Eqn, values: list[Var]) -> tuple[Eqn, dict]:
    branches = []
    for branch in branches_of(cond):
        defined = defined_vars(branch.eqns)
        eqns, found = _lift(rewriting, branch.eqns, [v for v in values if v in defined])
        outputs = [
            found.get(v.id, v) if v in defined else _zero(rewriting, eqns, v, cond) for v in values
        ]
        branches.append(replace(branch, eqns=tuple(eqns), outputs=(*branch.outputs, *outputs)))
    results = [rewriting.new_var(v.hint, v.aval) for v in values]
    params = tuple(
        (key, tuple(branches) if key == "branches" else value) for key, value in cond.params
    )
    joined = replace(cond, outputs=(*cond.outputs, *results), params=params)
    return joined, {v.id: r for v, r in zip(values, results, strict=True)}


def _zero(rewriting: _Rewriting, eqns: list[Eqn], like: Var, cond: Eqn) -> Atom:
    """A zero of ``like``'s type, where a branch that did not compute ``like`` ends."""
    if like.aval.shape == ():  # 0.0, or a NumPy scalar (np.float32(0.0))
        scalar = np.zeros((), like.aval.dtype)
        return Const(scalar.item() if like.aval.is_weak else scalar[()])
    zeros = rewriting.new_var("", like.aval)
    params = (("shape", like.aval.shape), ("dtype", like.aval.dtype))
    eqns.append(Eqn("zeros", (), (zeros,), params, cond.loc, cond.role))
    return zeros


# --- pushing and popping ----------------------------------------------------------------------
def _push(rewriting: _Rewriting, push: Eqn, pushed: _Pushed) -> list[Eqn]:
    """``tape.append((a, b))``: ``tape_a[i] = a; tape_b[i] = b``."""
    if pushed.tape_out is not None:
        raise _Kept
    pushed.tape_out = push.outputs[0].id
    saved = tuple(_saved(rewriting, atom) for atom in push.inputs[1:])
    values = list(_leaves(saved))
    pushed.values = values
    pushed.carried_in = [
        rewriting.new_var("tape", AVal((pushed.steps, *v.aval.shape), _strong(v.aval).dtype))
        for v in values
    ]
    pushed.layout = _replace_leaves(
        saved, {v.id: array for v, array in zip(values, pushed.carried_in, strict=True)}
    )
    eqns: list[Eqn] = []
    for value, array in zip(values, pushed.carried_in, strict=True):
        written = _apply(rewriting, eqns, "setitem", (array, value, pushed.position), push)
        pushed.carried_out.append(written)
    return eqns


def _saved(rewriting: _Rewriting, atom: Atom) -> Var | Layout:
    """A value pushed: itself, or for a tape, the arrays it became."""
    if not isinstance(atom, Var):
        raise _Kept  # a constant saved: srcad pushes values it computed
    if _is_tape_var(atom):
        if atom.id not in rewriting.layouts:
            raise _Kept
        return rewriting.layouts[atom.id]
    return atom


def _pop(rewriting: _Rewriting, pop: Eqn, popped: _Popped) -> list[Eqn]:
    """``a, b = tape.pop()``: ``a = tape_a[i]; b = tape_b[i]``."""
    if popped.tape_out is not None:
        raise _Kept
    popped.tape_out = pop.outputs[0].id
    layout, position = popped.layout, popped.position
    restored = pop.outputs[1:]
    if len(restored) != len(layout):
        raise _Kept
    eqns: list[Eqn] = []
    for var, saved in zip(restored, layout, strict=True):
        if isinstance(saved, Var):
            _read(rewriting, eqns, saved, position, var, pop)
        else:  # a nested loop's tape: its arrays at this step
            read = {
                leaf.id: _apply(rewriting, eqns, "getitem", (leaf, position), pop)
                for leaf in _leaves(saved)
            }
            rewriting.layouts[var.id] = _replace_leaves(saved, read)
    return eqns


def _read(
    rewriting: _Rewriting, eqns: list[Eqn], array: Var, position: Atom, var: Var, pop: Eqn
) -> None:
    """``var = array[position]``, a Python number again where ``var`` was one."""
    value = _apply(rewriting, eqns, "getitem", (array, position), pop)
    if var.aval.is_weak and var.aval.dtype in _AS_NUMBER:
        value = _apply(rewriting, eqns, _AS_NUMBER[var.aval.dtype], (value,), pop)
    if value.aval != var.aval:
        rewriting.mapping[var.id] = value  # np.bool_ where a bool was: read as it is
        return
    last = eqns.pop()  # the value keeps the restored var's name and role
    eqns.append(replace(last, outputs=(var,)))


def _stack(rewriting: _Rewriting, stack: Eqn, tape: Var) -> None:
    """``np.array(tape)`` of a tape of one saved value: that value's array."""
    layout = rewriting.layouts.get(tape.id)
    if layout is None or len(layout) != 1 or not isinstance(layout[0], Var):
        raise _Kept
    if layout[0].aval != stack.outputs[0].aval:
        raise _Kept
    rewriting.mapping[stack.outputs[0].id] = layout[0]


# --- helpers ------------------------------------------------------------------------------------
def _apply(
    rewriting: _Rewriting, eqns: list[Eqn], prim: str, inputs: tuple[Atom, ...], like: Eqn
) -> Var:
    """Append ``prim(*inputs)`` to ``eqns``, located as ``like``; returns its output."""
    params: tuple[tuple[str, object], ...] = ()
    if prim in ("getitem", "setitem"):
        params = (("index", (("array", 0),)),)
    (aval,) = infer_avals(prim, [a.aval for a in inputs], dict(params))
    hint = inputs[0].hint if prim == "setitem" and isinstance(inputs[0], Var) else ""
    out = rewriting.new_var(hint, aval)
    eqns.append(Eqn(prim, inputs, (out,), params, like.loc, like.role, like.origin))
    return out


def _is_tape_var(atom: Atom) -> TypeGuard[Var]:
    return isinstance(atom, Var) and atom.aval.dtype == "object"


def _id(atom: Atom) -> int | None:
    return atom.id if isinstance(atom, Var) else None


def _strong(aval: AVal) -> AVal:
    return aval._replace(is_weak=False)


def _leaves(layout: Layout) -> list[Var]:
    leaves: list[Var] = []
    for entry in layout:
        leaves += [entry] if isinstance(entry, Var) else _leaves(entry)
    return leaves


def _replace_leaves(layout: Layout, new: dict[int, Var]) -> Layout:
    return tuple(
        new[entry.id] if isinstance(entry, Var) else _replace_leaves(entry, new) for entry in layout
    )
