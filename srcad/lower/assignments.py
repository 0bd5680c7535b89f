"""Lowering assignments: names, unpacking, ``y[i] = v``, ``y += v`` and ``np.add.at``.

Assigning binds a name in the lowering's ``env``; a var computed by the statement takes the
name as its hint, so generated code reads like the user's. Arrays are values in the graph:
``y[i] = v`` and ``y += v`` make a new value of ``y`` (refused when another name for the same
array is read later, see ``srcad.lower.aliasing``); Python lists and dicts change in place at
compile time; containers and objects from outside the function are never written.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from srcad.errors import SrcadError, UnsupportedSyntax, raised_as
from srcad.frontend.updates import updated_operand
from srcad.ir import Const, Var
from srcad.ir.builder import Tracer, plain_index
from srcad.ir.index import encode_index
from srcad.ir.indexing import index_add, setitem
from srcad.ir.selection import Selection, mask_of_positions
from srcad.ir.tracer import is_data_mask
from srcad.ir.world import ArgumentRoot, WorldPath
from srcad.lower.aliasing import (
    arrays_in,
    check_write,
    held_arrays,
    same_memory,
    written_argument,
)
from srcad.lower.branches import join_branches
from srcad.lower.callees import array_of
from srcad.lower.containers import is_made
from srcad.lower.dispatch import CALL, evaluate, lowers_expression, lowers_statement
from srcad.lower.expressions import (
    binary,
    contains_tracer,
    index_of,
    lookup,
    mangled,
    run_static,
    subscript_of,
)
from srcad.lower.iteration import static_items
from srcad.lower.objects import class_attribute, write_attribute
from srcad.lower.outside_writes import write_outside, written_outside
from srcad.lower.user_code import has_own_method
from srcad.lower.views import MAX_DEPTH, UNKNOWN, is_view_index
from srcad.lower.world import Outside, outside_call
from srcad.lower.write_calls import as_attribute

if TYPE_CHECKING:
    from srcad.lower.context import Lowering, Node


@lowers_statement(ast.Assign)
def lower_assign(lowering: Lowering, node: ast.Assign, since: int) -> None:
    if updated_operand(node) is not None and written_outside(lowering, node):
        return  # calls = calls + 1 of a global: the generated code updates it on every call
    value = evaluate(lowering, node.value)
    for target in node.targets:
        _refuse_overlapping_view(lowering, target, node.value)
        assign(lowering, target, value, since)


def _refuse_overlapping_view(lowering: Lowering, target: ast.expr, value: ast.expr) -> None:
    """``y[:, -1] = y[1]``: the right side a view of the array the statement writes, over
    elements it writes. NumPy copies a column from a row element by element without a copy
    of the view, so its result depends on the order it goes in; srcad's writes make new
    values. Refused where the two regions overlap (unless they are the same elements in the
    same order) and NumPy does not read them all first (``_read_before_written``)."""
    if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)):
        return
    name = target.value.id
    steps = _view_steps(value, name)
    base = lowering.env.get(name)
    if steps is None or not isinstance(base, (Tracer, np.ndarray)):
        return
    if any(isinstance(n, ast.Call) for s in steps if isinstance(s, ast.AST) for n in ast.walk(s)):
        return  # evaluated again, a call would run again (y[...] = y[rng.permutation(n)])
    read: Any = np.arange(base.size).reshape(base.shape)
    dynamic = False
    for step in steps:
        index = read.T if step == "T" else index_of(lowering, step)  # type: ignore[arg-type]
        if step == "T":
            read = index
        elif not _is_basic(index):
            return  # an advanced index copies: nothing shared
        elif contains_tracer(index):
            dynamic = True  # which elements, only the run knows: assume they overlap
            read = read[_at_zero(index)]
        else:
            read = read[index]
    if np.ndim(read) == 0:
        return  # y[j] = y[j + 1]: a number, not a view
    written_index = index_of(lowering, target.slice)
    positions: Any = np.arange(base.size).reshape(base.shape)
    if dynamic or contains_tracer(written_index):
        written = positions[_at_zero(written_index)]  # its steps, if not its place
        overlaps = True
    else:
        written = positions[written_index]
        same = np.shape(written) == np.shape(read) and np.array_equal(written, read)
        overlaps = not same and np.intersect1d(np.ravel(written), np.ravel(read)).size > 0
    if overlaps and not _read_before_written(written, read):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(target)} = {ast.unparse(value)}' reads, through a view, elements of "
            f"'{name}' that it writes: NumPy's result then depends on the order it copies in; "
            f"write '{ast.unparse(value)}.copy()' on the right",
            target,
        )


def _read_before_written(written: Any, read: Any) -> bool:
    """Whether NumPy's ``y[...] = view`` gives what a copy of the view would (``written``,
    ``read``: the elements' positions in ``y``): into two axes or more it copies an
    overlapping view first, and along one axis too where the two run in opposite
    directions; with one step it copies backwards where that is needed (``y[1:] = y[:-1]``).
    Along one axis with two steps (a column from a row) the order decides."""
    if np.ndim(written) != 1:
        return True
    steps = [int(np.diff(p[:2])[0]) if np.size(p) > 1 else 0 for p in (written, read)]
    return steps[0] * steps[1] <= 0 or steps[0] == steps[1]


def _view_steps(node: ast.expr, name: str) -> list[object] | None:
    """The subscripts (and ``.T``) that make ``node`` a view of the array ``name``
    (``y[1]``, ``y.T[0]``, ``y[1:, ::-1]``), outermost last; None for anything else."""
    steps: list[object] = []
    while True:
        if isinstance(node, ast.Name):
            return steps[::-1] if node.id == name else None
        if isinstance(node, ast.Subscript):
            steps.append(node.slice)
            node = node.value
        elif isinstance(node, ast.Attribute) and node.attr == "T":
            steps.append("T")
            node = node.value
        else:
            return None


def _at_zero(index: object) -> object:
    """``index`` with 0 for each int only the run knows, and a whole axis for each slice
    with such a bound (for the number of axes it selects)."""
    items = index if isinstance(index, tuple) else (index,)
    return tuple(_item_at_zero(item) for item in items)


def _item_at_zero(item: object) -> object:
    if isinstance(item, Tracer):
        return 0
    if isinstance(item, slice) and contains_tracer(item):
        return slice(None)
    return item


def _is_basic(index: object) -> bool:
    """Ints, slices, None and ``...`` (a view); lists and arrays make a copy."""
    items = index if isinstance(index, tuple) else (index,)
    return all(
        item is None
        or item is Ellipsis
        or isinstance(item, (int, slice, np.integer))
        or (isinstance(item, Tracer) and item.ndim == 0)
        for item in items
    )


@lowers_expression(ast.NamedExpr)
def evaluate_assignment_expression(lowering: Lowering, node: ast.NamedExpr) -> object:
    """``(s := np.sum(x**2)) > 1.0``: binds ``s`` where Python evaluates it (the frontend
    refuses ``:=`` where only some parts of an expression run)."""
    since = len(lowering.builder.eqns)
    value = evaluate(lowering, node.value)
    assign(lowering, node.target, value, since)
    return value


@lowers_statement(ast.AnnAssign)
def lower_annotated_assign(lowering: Lowering, node: ast.AnnAssign, since: int) -> None:
    if node.value is not None:
        assign(lowering, node.target, evaluate(lowering, node.value), since)


@lowers_statement(ast.AugAssign)
def lower_augmented_assign(lowering: Lowering, node: ast.AugAssign, since: int) -> None:
    if written_outside(lowering, node):
        return  # self.calls += 1: the generated code adds on every call
    target = node.target
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
        # the index is evaluated once, as Python does (y[y < 0] *= 0.1 selects once)
        index = index_of(lowering, target.slice)
        holder = evaluate(lowering, target.value)
        current = subscript_of(lowering, holder, index, target)
        if isinstance(holder, (list, dict)):  # rows[0] *= 3.0: into the array it holds
            _refuse_in_place_update_of_shared(lowering, holder, index, current, node)
        value = _in_place(lowering, node, current, evaluate(lowering, node.value))
        _assign_subscript(lowering, target, target.value.id, value, index)
        return
    if isinstance(node.target, ast.Attribute):  # o.m += 1.0: into the array o.m holds
        current = evaluate(lowering, node.target)
        owner = (
            None if _calls_anything(node.target.value) else evaluate(lowering, node.target.value)
        )
        if owner is not None and not isinstance(owner, Outside):
            name = mangled(lowering, node.target.attr)  # self.__v in class C: self._C__v
            _refuse_in_place_update_of_shared(lowering, owner, name, current, node)
    elif isinstance(node.target, ast.Subscript):
        current = evaluate(lowering, node.target)
        holder_node = node.target.value  # m.params[0] *= 2.0: into the array the list holds
        if not _calls_anything(holder_node) and not _calls_anything(node.target.slice):
            holder = evaluate(lowering, holder_node)
            if isinstance(holder, (list, dict)):
                index = index_of(lowering, node.target.slice)
                _refuse_in_place_update_of_shared(lowering, holder, index, current, node)
    elif isinstance(node.target, ast.Name):
        current = lookup(lowering, node.target.id, node)
        is_zero_d = _is_zero_d_array(lowering, current)
        if isinstance(current, (Tracer, np.ndarray)) and (current.ndim >= 1 or is_zero_d):
            _refuse_read_only(lowering, current, node)
            followers = check_write(lowering, node.target.id, current, node)  # y += v: into y
            check_not_passed_twice(lowering, node.target.id, current, node)
            value = binary(lowering, node.op, current, evaluate(lowering, node.value), node)
            _refuse_casting_in_place(lowering, current, value, node)
            assign(lowering, node.target, _written_in_place(lowering, current, value, node), since)
            for other in followers:
                lowering.env[other] = lowering.env[node.target.id]
            give_to_viewed(lowering, current, lowering.env[node.target.id], node)
            if is_zero_d:  # still the 0-d array NumPy changed in place
                updated = lowering.env[node.target.id]
                lowering.zero_d_arrays[id(updated)] = updated
            return
        if _may_be_zero_d_argument(lowering, current):  # x += 1.0 of a 0-d array passed in
            check_not_passed_twice(lowering, node.target.id, current, node)
    else:
        raise lowering.located(
            UnsupportedSyntax,
            f"augmented assignment to '{ast.unparse(node.target)}' is not supported",
            node,
        )
    value = _in_place(lowering, node, current, evaluate(lowering, node.value))
    assign(lowering, node.target, value, since)


# Python's containers change in place under these (xs += [v] extends the list every name
# for it sees; d |= extra updates the dict)
IN_PLACE_OPERATORS: dict[type, Callable[[Any, Any], object]] = {
    ast.Add: operator.iadd,
    ast.Mult: operator.imul,
    ast.BitOr: operator.ior,
    ast.BitAnd: operator.iand,
    ast.BitXor: operator.ixor,
    ast.Sub: operator.isub,
}


def _in_place(lowering: Lowering, node: ast.AugAssign, current: object, other: object) -> object:
    """``current op= other`` as Python runs it: a list, dict or set the function made changes
    in place (one from outside is refused: Python would change the caller's); an object of
    the user's class runs its ``__iadd__`` (or ``__add__``); arrays and numbers get a new
    value (the callers check what shares their memory)."""
    operation = IN_PLACE_OPERATORS.get(type(node.op))
    if not isinstance(current, (list, dict, set)) or operation is None:
        return binary(lowering, node.op, current, other, node, in_place=True)
    if lowering.world.is_passed_in(current):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' changes a container from outside the function (an "
            "argument's, a global's, a default value's) in place; srcad reads outside "
            "values but does not change them: build a new one in the function "
            f"({ast.unparse(node.target)} = {ast.unparse(node.target)} "
            f"{_OPERATOR_TEXT.get(type(node.op), '+')} ...)",
            node,
        )
    return run_static(lowering, lambda: operation(current, other), node)


def _is_zero_d_array(lowering: Lowering, value: object, seen: frozenset[int] = frozenset()) -> bool:
    """A 0-d NumPy array (``np.array(0.0)``, ``np.zeros(())``), which ``+=`` changes in
    place, rather than a number (an np.float64, whose ``+=`` makes a new one)."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0
    if lowering.zero_d_arrays.get(id(value)) is value:
        return True
    if isinstance(value, Tracer) and value.ndim == 0 and lowering.views.origin(value):
        return True  # a 0-d view: r = M[0, 1, ...]
    # a value a loop carries: a 0-d array if it started as one (acc = np.array(0.0))
    atom = value.atom if isinstance(value, Tracer) and value.ndim == 0 else value
    if not isinstance(atom, Var) or atom.id in seen:
        return False
    options = lowering.alternatives.get(atom.id, ())
    return any(_is_zero_d_array(lowering, option, seen | {atom.id}) for option in options)


def _may_be_zero_d_argument(lowering: Lowering, value: object) -> bool:
    """A 0-d argument that is not a Python number: a NumPy number, or a 0-d array, which
    ``+=`` changes in place (one compile serves both; the checks that it is not another
    argument or an array from outside find no shared memory for a number)."""
    return (
        isinstance(value, Tracer)
        and value.ndim == 0
        and not value.aval.is_weak
        and isinstance(value.atom, Var)
        and value.atom.id in lowering.world.argument_ids
    )


def _refuse_casting_in_place(
    lowering: Lowering, current: object, value: object, node: ast.AugAssign
) -> None:
    """``a += x`` of an int array ``a`` and floats ``x``: NumPy raises (it will not cast the
    floats back into ``a`` in place); so does srcad, at the line, rather than make ``a`` a
    float array."""
    names = _dtype_of(current), _dtype_of(value)
    if any(name.startswith("str") for name in names):
        return
    before, after = np.dtype(names[0]), np.dtype(names[1])
    if before.kind in "biu" and not np.can_cast(after, before, casting="same_kind"):
        raise lowering.located(
            SrcadError,
            f"'{ast.unparse(node)}' raises numpy's UFuncTypeError (the plain function raises "
            f"here too): the result, {after.name}, cannot be written into the {before.name} "
            f"array '{ast.unparse(node.target)}' in place; make it a float array "
            f"({ast.unparse(node.target)} = {ast.unparse(node.target)}.astype(float)) or write "
            f"{ast.unparse(node.target)} = {ast.unparse(node.target)} "
            f"{_OPERATOR_TEXT.get(type(node.op), '+')} ...",
            node,
        )


def _written_in_place(
    lowering: Lowering, current: object, value: object, node: ast.AugAssign
) -> object:
    """``a += x``'s new value as NumPy writes it into ``a``: in ``a``'s dtype (``y32 += k``
    of an int64 array ``k``: computed in float64, written as float32), and refused where
    it has another shape (NumPy raises: ``y += x`` cannot grow ``y``)."""
    if _shape_of(value) != _shape_of(current):
        raise lowering.located(
            raised_as(ValueError),
            f"'{ast.unparse(node)}' raises ValueError (the plain function raises here too): "
            f"the result has shape {_shape_of(value)}, which cannot be written into "
            f"'{ast.unparse(node.target)}' of shape {_shape_of(current)} in place",
            node,
        )
    before, after = _dtype_of(current), _dtype_of(value)
    if before == after or before.startswith("str") or not isinstance(value, (Tracer, np.ndarray)):
        return value
    return value.astype(np.dtype(before))


def _shape_of(value: object) -> tuple[int, ...]:
    if isinstance(value, (Tracer, np.ndarray)):
        return tuple(value.shape)
    return np.asarray(value).shape  # a number: ()


_OPERATOR_TEXT = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def _dtype_of(value: object) -> str:
    if isinstance(value, Tracer):
        return value.aval.dtype
    return np.asarray(value).dtype.name


def refuse_writing_outside(lowering: Lowering, value: object, node: Node) -> None:
    """A write into (a view of) an array read from outside the function, not passed in (a
    global's, a closure's, an object's attribute): NumPy changes it for the calls that
    follow; srcad's code reads the array on every call (an int array: compares it) and
    writes into its own copy, so the next call would compute with the old values. Refused
    at the line."""
    _refuse_writing_a_default(lowering, value, node)
    for path, array in _outside_arrays(lowering):
        if isinstance(array, Var):
            is_it = isinstance(value, Tracer) and value.atom == array
            is_it = is_it or same_memory(lowering, lowering.builder.tracer(array), value)
        else:  # the constant the guard compares: the very array, or a view of it
            atom = value.atom if isinstance(value, Tracer) else None
            is_it = isinstance(atom, Const) and np.may_share_memory(atom.value, array)
        if is_it:
            written = ast.unparse(lowering.statement or node).splitlines()[0]
            raise lowering.located(
                UnsupportedSyntax,
                f"'{written}' writes into the array {path.text} from outside the function: "
                "NumPy changes it for the calls that follow, and srcad's code, which reads it "
                "on every call and writes into its own copy, would not; compute a new array "
                "and return it (or keep the state in the caller and pass it in)",
                node,
            )


def _refuse_writing_a_default(lowering: Lowering, value: object, node: Node) -> None:
    """``def f(x, acc=np.zeros(3)): acc += x``: NumPy's write changes the default array, which
    the next call starts from; srcad's code would write into its own copy."""
    for name, arrays in lowering.default_arrays.items():
        if any(same_memory(lowering, array, value) for array in arrays):
            raise lowering.located(
                UnsupportedSyntax,
                f"'{ast.unparse(lowering.statement or node).splitlines()[0]}' writes into the "
                f"argument {name}, whose default is an array: NumPy changes that default for "
                "the calls that follow, srcad's code would write into its own copy; copy it "
                f"first ({name} = {name}.copy()) or make the default None and the array in "
                "the function",
                node,
            )


def _outside_arrays(lowering: Lowering) -> Iterator[tuple[WorldPath, Var | np.ndarray]]:
    """The arrays read from outside the function, not passed in: float arrays (inputs of
    the graph) and the constants of the others (compared on every call)."""
    world = lowering.world
    for var, path in world.inputs:
        if not isinstance(path.root, ArgumentRoot) and var.aval.ndim:
            yield path, var
    for read in world.reads.values():
        if isinstance(read.expected, np.ndarray) and not isinstance(read.path.root, ArgumentRoot):
            yield read.path, read.expected


def check_not_passed_twice(lowering: Lowering, name: str, value: object, node: Node) -> None:
    """The checks before a write into (a view of) an array: refused for one from outside
    the function (``refuse_writing_outside``); before the first write into one passed in,
    generated code that raises where that array is also another argument (``f(a, a)``). NumPy's write would
    show through the other; srcad's writes make a new value, as for any array of the
    function's (so the caller's array keeps its values)."""
    refuse_writing_outside(lowering, value, node)  # an array from outside: refused outright
    for held, refusal, _ in lowering.world.kept:  # history.append(x), then x += 1
        if isinstance(held, Tracer) and same_memory(lowering, held, value):
            raise refusal
    written = written_argument(lowering, value)
    if written is None:
        return
    lowering.written_arguments.setdefault(id(written), (written, name, node))
    where = f"{lowering.parsed.file}:{node.lineno}: {lowering.parsed.name}()"
    written_text = ast.unparse(node).splitlines()[0]
    written_text += " = ..." if isinstance(node, ast.Subscript) else ""
    message = (
        f"{where}: '{written_text}' writes into an array that is also "
        "passed in as another argument (one array passed twice); NumPy would change both, "
        f"srcad's code changes its own copy of '{name}'. Pass a copy (f(a, a.copy())), or "
        f"write '{name} = {name}.copy()' first"
    )
    failure = ast.Raise(ast.Call(ast.Name("ValueError", ast.Load()), [ast.Constant(message)], []))
    ast.fix_missing_locations(ast.copy_location(failure, node))
    for other in lowering.passed_arrays:
        if other is not written:
            builder = lowering.builder
            shared = outside_call(
                builder, np.may_share_memory, "np.may_share_memory", [written, other], {}
            )
            # a question, not an effect: it has a value, which an equation made
            assert isinstance(shared, Tracer) and isinstance(shared.atom, Var)
            builder.set_hint(shared.atom, f"{name}_passed_twice")
            join_branches(lowering, node, shared, [[failure], []])


def refuse_arguments_shared_outside(lowering: Lowering) -> None:
    """First in the code of a function that writes into an argument and reads arrays from
    outside (a global, a closure, ``self.W``): a check, for each such pair, that the
    argument is not (a view of) that array (``f(G[:])`` where ``f`` reads ``G``). NumPy's
    write would show through the outside name, also where it is read before the write;
    srcad's code reads outside arrays when the call begins and writes its own copy."""
    builder, world = lowering.builder, lowering.world
    outside: list[tuple[object, WorldPath]] = [
        (builder.tracer(var), path) for var, path in world.inputs if not var.aval.is_weak
    ]
    outside += [  # int and bool arrays: compared by the guard, read where they are here
        (Outside(read.expected, read.path), read.path)
        for read in world.reads.values()
        if isinstance(read.expected, np.ndarray)
    ]
    if not lowering.written_arguments or not outside:
        return
    start = len(builder.eqns)
    for written, name, node in lowering.written_arguments.values():
        name = _argument_spelled(lowering, written, name)
        for other, path in outside:
            shared = outside_call(
                builder, np.may_share_memory, "np.may_share_memory", [written, other], {}
            )
            assert isinstance(shared, Tracer) and isinstance(shared.atom, Var)
            builder.set_hint(shared.atom, f"{name}_shares_{path.name_hint}")
            join_branches(
                lowering, node, shared, [[_shared_outside(lowering, name, path, node)], []]
            )
    builder.eqns[:] = builder.eqns[start:] + builder.eqns[:start]  # before any read of them


def _argument_spelled(lowering: Lowering, written: Tracer, name: str) -> str:
    """``the argument 'x'``, or for a name of a view of it ``'row', a view of the argument
    'M'``."""
    argument = lowering.argument_names.get(id(written), name)
    if argument == name:
        return f"the argument '{name}'"
    return f"'{name}', a view of the argument '{argument}'"


def _shared_outside(lowering: Lowering, name: str, path: WorldPath, node: Node) -> ast.Raise:
    """``raise ValueError(...)`` for an argument ``name`` that is (a view of) the array the
    function reads at ``path``, written at ``node``."""
    where = f"{lowering.parsed.file}:{node.lineno}: {lowering.parsed.name}()"
    written_text = ast.unparse(node).splitlines()[0]
    written_text += " = ..." if isinstance(node, ast.Subscript) else ""
    message = (
        f"{where}: '{written_text}' writes into {name}, which is (a view of) the array the "
        f"function also reads as '{path.text}'; NumPy would change both, srcad's code "
        f"changes its own copy. Pass a copy of '{path.text}'"
    )
    failure = ast.Raise(ast.Call(ast.Name("ValueError", ast.Load()), [ast.Constant(message)], []))
    return ast.fix_missing_locations(ast.copy_location(failure, node))


def assign(lowering: Lowering, target: ast.expr, value: object, since: int) -> None:
    """Bind ``target`` (``since``: where the statement's equations start)."""
    target = as_attribute(lowering, target)  # obj.__dict__["w"] = v is obj.w = v
    if isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
        if write_outside(lowering, target, value, target):
            return  # self.last_loss = loss: the generated code writes it on every call
    if isinstance(target, ast.Name):
        _bind(lowering, target.id, value, since)
    elif isinstance(target, (ast.Tuple, ast.List)) and any(
        isinstance(e, ast.Starred) for e in target.elts
    ):
        _assign_starred(lowering, target, value, since)
    elif isinstance(target, (ast.Tuple, ast.List)):
        items = _unpack(lowering, value, len(target.elts), target)
        _refuse_writes_into_later_items(lowering, target, items)
        for element, item in zip(target.elts, items, strict=True):
            assign(lowering, element, item, since)
    elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
        _assign_subscript(lowering, target, target.value.id, value)
    elif isinstance(target, ast.Attribute):  # self.peak = peak, in __init__
        name = mangled(lowering, target.attr)  # self.__k in class C: self._C__k
        write_attribute(lowering, evaluate(lowering, target.value), name, value, target)
    elif isinstance(target, ast.Subscript) and _set_nested_item(lowering, target, value):
        return  # m[i][j] = v: into the list m[i], a list of the function's
    else:
        raise lowering.located(
            UnsupportedSyntax,
            f"assignment to '{ast.unparse(target)}' is not supported; assign to names "
            "or to subscripts of names (y[i] = ...)",
            target,
        )


def _refuse_writes_into_later_items(
    lowering: Lowering, target: ast.Tuple | ast.List, items: list[object]
) -> None:
    """``A[0], A[1] = A[1], A[0]``: NumPy writes row 1 into row 0 first, and the view
    ``A[0]`` on the right then holds it: both rows end equal. srcad's values would swap
    them, so a write into an array that a later item views is refused."""
    for k, element in enumerate(target.elts):
        if not (isinstance(element, ast.Subscript) and isinstance(element.value, ast.Name)):
            continue
        written = lowering.env.get(element.value.id)
        later = items[k + 1 :]
        if any(  # the array itself too: a[:], b[:] = b, a of views a, b (a sees its write)
            isinstance(item, (Tracer, np.ndarray))
            and (same_memory(lowering, item, written) or lowering.views.related(item, written))
            for item in later
        ):
            name = element.value.id
            raise lowering.located(
                UnsupportedSyntax,
                f"'{ast.unparse(target)} = ...' writes into '{name}' while a later item on the "
                f"right is a view of it, which NumPy's write changes first (a swap of rows "
                f"gives two equal rows); swap with fancy indexing: {name}[[i, j]] = {name}[[j, i]]",
                target,
            )


def _set_nested_item(lowering: Lowering, target: ast.Subscript, value: object) -> bool:
    """``m[i][j] = v`` or ``self.cache[k] = v`` where ``m[i]`` is a list or dict (not one
    from outside the function) and the index is known when compiling: set in place, as
    Python does. False for anything else (an array's ``y[0][1]``: write ``y[0, 1]``)."""
    container = evaluate(lowering, target.value)
    if isinstance(container, (Tracer, np.ndarray)) and isinstance(target.value, ast.Subscript):
        if _write_into_held_array(lowering, target, container, value):
            return True  # xs[t][k] = 1.0, xs a list or dict
        return _write_through_a_view(lowering, target, container, value)
    if isinstance(container, (Tracer, np.ndarray)) and isinstance(target.value, ast.Attribute):
        return _write_into_attribute_array(lowering, target, container, value)
    if not isinstance(container, (list, dict)):
        return False
    _refuse_outside_write(lowering, target, container)
    index = index_of(lowering, target.slice)
    if contains_tracer(index):
        return False
    held: Any = container  # Python's own errors for a bad index
    try:
        held[index] = value
    except (IndexError, KeyError, TypeError) as error:
        raise lowering.located(SrcadError, f"'{ast.unparse(target)}': {error!r}", target) from None
    return True


def _write_into_attribute_array(
    lowering: Lowering, target: ast.Subscript, array: object, value: object
) -> bool:
    """``self.x[:] = x0`` or ``p.v[0] += dv`` into the array an attribute of an object the
    function made holds: the new array into the attribute (a simulation's state). Refused
    where a name, another attribute or the caller holds that array or memory it views."""
    attribute = target.value
    assert isinstance(attribute, ast.Attribute)
    if _calls_anything(attribute.value):
        return False  # (evaluated again here: a call would run twice)
    owner = evaluate(lowering, attribute.value)
    if not is_made(owner, lowering.world.made):
        return False  # an object from outside: refused, as a write into it
    name = mangled(lowering, attribute.attr)
    if _held_elsewhere(lowering, owner, name, array):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(target)} = ...' writes into an array that a name or another "
            "attribute also holds, or a view of one, which NumPy would change too; copy it "
            f"into its place first ({ast.unparse(attribute)} = {ast.unparse(attribute)}.copy())",
            target,
        )
    base = array if isinstance(array, Tracer) else lowering.builder.tracer(Const(array))
    updated = _updated(lowering, base, index_of(lowering, target.slice), value, target)
    write_attribute(lowering, owner, name, updated, target)
    return True


def _write_into_held_array(
    lowering: Lowering, target: ast.Subscript, array: object, value: object
) -> bool:
    """``xs[t][k] = 1.0`` for an array ``xs[t]`` that a list or dict of the function holds
    (min-char-rnn's one-hot inputs): the new array back into that slot. Refused where the
    array is also held by a name or another slot (NumPy would change it there too)."""
    holder_node = target.value
    assert isinstance(holder_node, ast.Subscript)
    holder = evaluate(lowering, holder_node.value)
    key = index_of(lowering, holder_node.slice)
    if not isinstance(holder, (list, dict)) or contains_tracer(key):
        return False
    _refuse_outside_write(lowering, holder_node, holder)
    if _held_elsewhere(lowering, holder, key, array):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(target)} = ...' writes into an array that a name or another item "
            "also holds, or a view of one (a row of a matrix, a piece of np.split), which "
            "NumPy would change too; copy it into its place first "
            f"({ast.unparse(holder_node)} = {ast.unparse(holder_node)}.copy())",
            target,
        )
    base = array if isinstance(array, Tracer) else lowering.builder.tracer(Const(array))
    held: Any = holder
    held[key] = _written(lowering, base, index_of(lowering, target.slice), value)
    return True


def _refuse_in_place_update_of_shared(
    lowering: Lowering, holder: object, key: object, current: object, node: ast.AugAssign
) -> None:
    """``rows[0] *= 3.0`` or ``o.m += 1.0`` where the item is an array: NumPy changes that
    array in place, so every other holder of it (or of memory it views) sees the change;
    srcad gives the item a new array. Refused where another holder exists."""
    is_array = isinstance(current, np.ndarray) or (
        isinstance(current, Tracer) and current.ndim >= 1
    )
    if is_array and _held_elsewhere(lowering, holder, key, current):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node).splitlines()[0]}' changes in place an array that a name or "
            "another item also holds, or a view of one, which NumPy would change too; write "
            f"'{ast.unparse(node.target)} = {ast.unparse(node.target)} ... ' for a new "
            "array, or copy it first",
            node,
        )


def _held_elsewhere(lowering: Lowering, holder: object, key: object, array: object) -> bool:
    """Whether the array in ``holder[key]`` (an attribute's, for an object) shares memory
    with what another slot, a name (``M`` of ``rows = [M[0], M[1]]``, any name bound to it)
    or the caller holds."""
    if isinstance(holder, dict):
        slots: Any = holder.items()
    elif isinstance(holder, (list, tuple)):
        slots = enumerate(holder)
    else:
        slots = vars(holder).items() if hasattr(holder, "__dict__") else []
    others = [item for k, item in slots if k != key]
    if any(bound is array for bound in lowering.env.values()):
        return True
    live = lowering.live.get(id(lowering.statement), frozenset())
    slot = (id(holder), key)  # this slot itself, reached through a name (m.params[0])
    others += [
        held.array
        for name, value in lowering.env.items()
        if name in live
        for held in held_arrays(value)
        if held.slot != slot
    ]
    # the caller's arrays, less this very one where the caller reaches it only through this
    # slot (a method's self.v += ...: the object it holds sees the new array); a caller's
    # name or other slot for it (v = s.v) would not
    others += [held.array for held in lowering.inlining.caller_holds if held.slot != slot]
    return any(same_memory(lowering, a, array) for item in others for a in arrays_in(item))


def _assign_starred(
    lowering: Lowering, target: ast.Tuple | ast.List, value: object, since: int
) -> None:
    """``first, *rest = values``: the starred name gets a list of the middle items."""
    starred = next(e for e in target.elts if isinstance(e, ast.Starred))
    star = target.elts.index(starred)
    after = len(target.elts) - star - 1
    is_iterable = not isinstance(value, Outside) and not (
        isinstance(value, Tracer) and not value.ndim
    )
    items = static_items(lowering, value, target) if is_iterable else None
    if items is None or len(items) < len(target.elts) - 1:
        raise lowering.located(
            SrcadError,
            f"cannot unpack {type(value).__name__} into '{ast.unparse(target)}'",
            target,
        )
    for element, item in zip(target.elts[:star], items[:star], strict=True):
        assign(lowering, element, item, since)
    assign(lowering, starred.value, items[star : len(items) - after], since)
    for element, item in zip(target.elts[star + 1 :], items[len(items) - after :], strict=True):
        assign(lowering, element, item, since)


def _assign_subscript(
    lowering: Lowering, target: ast.Subscript, name: str, value: object, index: object = None
) -> None:
    """``y[i] = v`` (``name`` is ``y``; ``index``: ``i`` when already evaluated): a new value
    of ``y`` for arrays; in place for Python containers."""
    base = lookup(lowering, name, target)
    if index is None:
        index = index_of(lowering, target.slice)
    _refuse_outside_write(lowering, target, base)
    if isinstance(base, (list, dict)) and not contains_tracer(index):
        container: Any = base  # Python's TypeError for an index a list does not take
        container[index] = value
        return
    if is_made(base, lowering.world.made) and has_own_method(base, "__setitem__"):
        method = class_attribute(lowering, base, "__setitem__", target)  # bag[0] = v: inlined
        CALL[0](lowering, method, [index, value], {}, target)
        return
    followers = check_write(lowering, name, base, target)
    check_not_passed_twice(lowering, name, base, target)
    written = base
    if isinstance(base, np.ndarray):
        base = lowering.builder.tracer(Const(base))
    if isinstance(base, Selection):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(target)} = ...' writes into '{name}', the elements a mask picked, "
            "whose number is known only when the code runs; change the whole array with "
            "np.where(mask, new_values, array) and pick the elements after",
            target,
        )
    if not isinstance(base, Tracer):
        raise lowering.located(
            UnsupportedSyntax,
            f"cannot assign into a {type(base).__name__}: srcad writes into arrays, lists, "
            "dicts and objects the function made whose class has its own __setitem__",
            target,
        )
    _refuse_read_only(lowering, base, target)
    if type(value) in (list, tuple) and contains_tracer(value):  # ys[i] = [x[0] * i, x[1]]
        value = CALL[0](lowering, np.asarray, [value], {}, target)  # as NumPy reads it
    updated = _updated(lowering, base, index, value, target)
    if isinstance(updated.atom, Var):  # (a 0-d array written whole with a constant: one)
        lowering.builder.set_hint(updated.atom, name)
    lowering.env[name] = updated
    for other in followers:  # z = y; y[i] = v: z is the same array
        lowering.env[other] = updated
    give_to_viewed(lowering, written, updated, target)


READ_ONLY_VIEWS = ("broadcast_to", "diagonal")  # NumPy's views that take no write


def _refuse_read_only(lowering: Lowering, base: object, node: Node) -> None:
    """NumPy raises for a write into ``np.broadcast_to``'s or ``np.diagonal``'s view."""
    eqn = None
    if isinstance(base, Tracer) and isinstance(base.atom, Var):
        eqn = lowering.builder.producer(base.atom)
    if eqn is not None and eqn.prim in READ_ONLY_VIEWS:
        raise lowering.located(
            SrcadError,
            f"'{ast.unparse(node).splitlines()[0]}' raises ValueError (the plain function "
            f"raises here too): np.{eqn.prim} gives a read-only view; write into a copy "
            "(.copy()) or into the array itself",
            node,
        )


def give_to_viewed(lowering: Lowering, old: object, new: object, node: Node) -> None:
    """A write (at ``node``) made ``new`` the value of the array ``old`` was. Where ``old``
    is a view (``row = M[0]``, ``srcad.lower.views``), the array it views takes the write
    too (``M[0] = new``), and the names that hold that array its new value; and so on
    outwards (a view of a view)."""
    views = lowering.views
    views.replaced(old, new)
    origin = views.origin(old)
    for _ in range(MAX_DEPTH):
        if origin is None:
            return
        base = views.current(origin.base)
        if base is UNKNOWN or origin.index is UNKNOWN:
            raise lowering.located(
                UnsupportedSyntax,
                f"'{ast.unparse(node).splitlines()[0]}' writes into a view of an array that an "
                "'if' on data (or a loop) wrote into on one path and bound to another array "
                "on another, or whose row a loop chose: srcad does not follow which array the "
                "write reaches; write into the array by its name with an index",
                node,
            )
        traced = base if isinstance(base, Tracer) else lowering.builder.tracer(Const(base))
        new_base = _written(lowering, traced, origin.index, new)
        views.note(new, new_base, origin.index)
        views.replaced(base, new_base)
        for name, held in list(lowering.env.items()):
            if held is base:
                lowering.env[name] = new_base
        new, origin = new_base, views.origin(base)


def _updated(
    lowering: Lowering, base: Tracer, index: object, value: object, target: ast.Subscript
) -> Any:
    """The new value of ``base`` after ``base[index] = value`` (a tracer)."""
    positions_mask = mask_of_positions(index)
    if positions_mask is not None:  # y[np.nonzero(mask)] = v: y[mask] = v
        index = positions_mask
    later = _mask_after_full_slices(index, base)
    if isinstance(index, Tracer) and is_data_mask(index, base) and _is_mask_value(value):
        # y[mask] = v, for a mask known at run time: v a scalar or y[mask] computed on
        return _write_through_mask(lowering, base, index, value, target)
    if later is not None and _ndim(value) == 0:  # s[:, ~pad] = -np.inf: a number
        axis, mask = later
        return np.where(_spread(mask, base.ndim, axis), value, base)  # type: ignore[call-overload]
    return _written(lowering, base, index, value)


def _write_through_a_view(
    lowering: Lowering, target: ast.Subscript, view: object, value: object
) -> bool:
    """``M[i][j] = v`` or ``M[:, 1][mask] = 0.0``, where ``M[i]`` is a view of the array a
    name holds: NumPy writes into ``M`` through it. Lowered as ``M[i] = v'``, with ``v'``
    the view after ``[j] = v`` (more subscripts: the same, outwards). Where ``M[i]`` is a
    copy (an index array or a mask), NumPy's write changes only the copy: refused."""
    outer = target.value
    if not isinstance(outer, ast.Subscript) or _calls_anything(outer.value):
        return False  # (evaluated again here: a call would run twice)
    if not isinstance(evaluate(lowering, outer.value), (Tracer, np.ndarray)):
        return False
    index = index_of(lowering, outer.slice)
    if not is_view_index(index, lowering):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(target)} = ...' writes into '{ast.unparse(outer)}', which is a "
            f"copy (an index array or a mask), so NumPy leaves '{ast.unparse(outer.value)}' "
            f"as it is; write into '{ast.unparse(outer.value)}' with one subscript, or copy "
            "the rows into a name first",
            target,
        )
    view_value = view if isinstance(view, Tracer) else lowering.builder.tracer(Const(view))
    updated = _updated(lowering, view_value, index_of(lowering, target.slice), value, target)
    if isinstance(outer.value, ast.Name):
        _assign_subscript(lowering, outer, outer.value.id, updated, index)
    else:  # A[0][1][2] = v: A[0][1] = (A[0][1] after [2] = v), and so on outwards
        assign(lowering, outer, updated, len(lowering.builder.eqns))
    return True


def _calls_anything(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(node))


def _refuse_outside_write(lowering: Lowering, target: ast.Subscript, base: object) -> None:
    """``y[i] = v`` where ``y`` is a container or an object from outside the function (an
    argument's too: Python changes the caller's, srcad's code would not)."""
    if isinstance(base, (list, dict, Outside)) and lowering.world.is_passed_in(base):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(target)} = ...' writes into a container from outside the "
            "function (an argument's, a global's, a default value's); srcad reads outside "
            "values but does not change them: build a new container (d = dict(d)), or "
            "return the value and store it in the caller",
            target,
        )
    if isinstance(base, Outside):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(target)} = ...' writes into an object from outside the "
            "function; return the value and store it in the caller",
            target,
        )


def _bind(lowering: Lowering, name: str, value: object, since: int) -> None:
    if isinstance(value, Selection) and isinstance(value.mask.atom, Var):
        _bind(lowering, f"{name}_mask", value.mask, since)  # positive = x[x > 0]: positive_mask
    if isinstance(value, Tracer) and isinstance(value.atom, Var):
        var = value.atom
        named = lowering.named
        is_unnamed_input = "_" in var.hint and var.id not in named
        if var.id not in named and (lowering.builder.is_fresh(var, since) or is_unnamed_input):
            lowering.builder.set_hint(var, name)
            named.add(var.id)
    lowering.env[name] = value


def _unpack(lowering: Lowering, value: object, count: int, target: ast.expr) -> list[object]:
    """The items ``a, b = value`` binds: of a tuple or list, the rows of an array, the
    items of any other iterable known when compiling (``zip(*pairs)``)."""
    if isinstance(value, (tuple, list)) and len(value) == count:
        return list(value)
    is_rows = isinstance(value, Tracer) and value.ndim >= 1 and value.shape[0] == count
    if is_rows or not isinstance(value, (tuple, list, Tracer, Outside)):
        items = static_items(lowering, value, target)
        if len(items) == count:
            return items
    what = f"a {type(value).__name__}"
    if isinstance(value, (tuple, list)):
        what += f" of length {len(value)}"
    if isinstance(value, Tracer):
        what = f"an array of shape {value.shape}"
    raise lowering.located(
        raised_as(ValueError),  # Python's "too many values to unpack"
        f"cannot unpack {what} into {count} names; unpack tuples or lists of matching length",
        target,
    )


def add_at(lowering: Lowering, call: ast.Call, negated: bool = False) -> None:
    """``np.add.at(y, index, values)`` (as generated code writes it): a new ``y``;
    ``negated``: ``np.subtract.at``, the values taken away."""
    target = call.args[0] if call.args else None
    if not isinstance(target, ast.Name) or len(call.args) != 3 or call.keywords:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(call.func)}' needs a variable, an index and values, written "
            "in that order without names: np.add.at(y, index, values)",
            call,
        )
    base = lookup(lowering, target.id, call)
    _refuse_outside_write(lowering, ast.Subscript(target, call.args[1], ast.Store()), base)
    followers = check_write(lowering, target.id, base, call)  # a view's, an alias's too
    check_not_passed_twice(lowering, target.id, base, call)
    written = base
    if isinstance(base, np.ndarray):
        base = lowering.builder.tracer(Const(base))
    index = index_of(lowering, call.args[1])
    shape = base.aval.shape if isinstance(base, Tracer) else None
    static, arrays = encode_index(plain_index(index, lowering.builder.loc, shape))
    values = evaluate(lowering, call.args[2])
    if negated:
        values = -values if isinstance(values, Tracer) else -np.asarray(values)
    updated = index_add(base, values, *arrays, index=static)
    lowering.env[target.id] = updated
    for other in followers:  # N = M; np.add.at(M, ...): N is the same array
        lowering.env[other] = updated
    give_to_viewed(lowering, written, updated, call)


def _mask_after_full_slices(index: object, base: Tracer) -> tuple[int, Tracer] | None:
    """``(k, mask)`` for an index of ``k`` full slices, then a boolean array computed from
    data over the next axes of ``base``, then full slices (``s[:, mask]``); else None."""
    if not isinstance(index, tuple):
        return None
    items = list(index)
    axis = 0
    while axis < len(items) and _is_full_slice(items[axis]):
        axis += 1
    if axis == 0 or axis == len(items) or not all(map(_is_full_slice, items[axis + 1 :])):
        return None
    mask = items[axis]
    if not isinstance(mask, Tracer) or isinstance(mask.atom, Const) or mask.aval.dtype != "bool":
        return None
    if mask.ndim == 0 or mask.shape != base.shape[axis : axis + mask.ndim]:
        return None
    return axis, mask


def _is_full_slice(item: object) -> bool:
    return isinstance(item, slice) and item == slice(None)


def _is_mask_value(value: object) -> bool:
    """What ``y[mask] = value`` can write: a scalar, or values selected through the mask."""
    return isinstance(value, Selection) or _ndim(value) == 0


def _write_through_mask(
    lowering: Lowering, base: Tracer, mask: Tracer, value: object, target: ast.Subscript
) -> Any:
    """``np.where(mask, value, base)``, the mask spread over ``base``'s trailing axes (NumPy's
    stubs do not know ``__array_function__``, through which tracers give np.where its
    meaning)."""
    if isinstance(value, Selection):
        if value.mask.atom != mask.atom:  # x > 0 written twice is one (the builder's CSE)
            raise lowering.located(
                UnsupportedSyntax,
                f"'{ast.unparse(target)} = ...' writes values selected through another mask; "
                "compute the mask once, into a name, and select and write through it (a "
                "mask written twice the same way, 'x > 0', counts as one)",
                target,
            )
        value = value.values
    return np.where(_spread(mask, base.ndim), value, base)  # type: ignore[call-overload]


def _spread(mask: Tracer, ndim: int, axis: int = 0) -> Any:
    """``mask`` over the axes ``axis`` on of an array of ``ndim`` axes: axes of one around
    it, for ``np.where`` to broadcast."""
    shape = (*(1,) * axis, *mask.shape, *(1,) * (ndim - axis - mask.ndim))
    return np.reshape(mask, shape)  # type: ignore[call-overload]


def _written(lowering: Lowering, base: Tracer, index: object, value: object) -> Tracer:
    """``base`` with ``value`` written at ``index`` (a new value: ``setitem``). A 0-d
    array written whole (``y[()] = v``, ``y[...] = v``) is a copy of ``v`` in its dtype:
    arithmetic on 0-d arrays gives NumPy's scalars, which take no subscript."""
    if base.ndim == 0 and _ndim(value) == 0 and index in ((), Ellipsis, (Ellipsis,)):
        if not isinstance(value, Tracer):
            return lowering.builder.tracer(Const(np.array(value, dtype=base.dtype)))
        return cast(Tracer, array_of(value, base.dtype))
    static, arrays = encode_index(plain_index(index, lowering.builder.loc, base.aval.shape))
    return setitem(base, value, *arrays, index=static)


def _ndim(value: object) -> int:
    """``np.ndim(value)`` of any value (NumPy's stubs accept array-likes only)."""
    ndim = getattr(value, "ndim", None)
    return ndim if isinstance(ndim, int) else np.asarray(value).ndim
