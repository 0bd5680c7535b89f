"""Recognising a loss that splits over chunks of rows: a sum or mean of a row-wise computation.

Part of ``srcad.distributed``. In: the user's function, the call's arguments, which of them
are the (chunked) data and the numbers of rows of the chunks. Out: ``"sum"`` or ``"mean"``, the
reduction that turns per-row values into the loss, or a ``ChunkedLossError`` at the user's line.

The function is lowered (``srcad.make_graph``, exactly as ``grad`` lowers it) with stand-ins for
the data arguments that have a *probe* number of rows and cost no memory. Its graph must
compute values row by row from the data (``srcad.distributed.rows``) and end in ``np.sum`` or
``np.mean`` over all of them:

    %3(z):f64[P] = matmul %1(X) %0(w)           row-wise
    %4:f64[P] = logaddexp 0.0 %3                row-wise
    %5(out):f64[] = mean %4                     the one reduction over rows: "mean"

Then the total is the sum of the chunks' values (``"sum"``) or their mean weighted by rows
(``"mean"``), and so is its gradient. The graph lowered for a second probe and for each chunk
size must be the same computation with only the number of rows changed: a constant that
depends on it (``len(X)``) or a structure that does (a loop over rows) is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from srcad.api.inspect import GraphView, make_graph, walk_eqns
from srcad.distributed.errors import SUPPORTED_FORM, ChunkedLossError
from srcad.distributed.rows import FINAL_REDUCTIONS, keeps_rows_apart, row_axes
from srcad.ir import AVal, Const, Eqn, Graph, Var
from srcad.ir.graph import source_position
from srcad.ir.world import is_random_draw
from srcad.pytree import flatten

PROBE_ROWS = (7919, 7927, 7933, 7937, 7949, 7951, 7963, 7993)  # primes: unlike any layer width


def row_reduction(
    fun: Callable,
    argnums: tuple[int, ...],
    arguments: dict[str, object],
    data_names: tuple[str, ...],
    chunk_rows: Iterable[int],
) -> str:
    """``"sum"`` or ``"mean"``: how ``fun``'s value over all rows follows from its values over
    chunks of rows of the arguments ``data_names``; a ``ChunkedLossError`` otherwise."""
    probe, second = _probes(arguments, data_names)
    view, stand_ins = _lowered(fun, argnums, arguments, data_names, probe)
    kind = _check_form(view, probe, stand_ins)
    for rows in (second, *sorted(set(chunk_rows))):
        other = _lowered(fun, argnums, arguments, data_names, rows)[0].graph
        if not _same(view.graph, other, probe, rows):
            raise _refusal(
                view.graph.eqns[-1] if view.graph.eqns else None,
                "the computation depends on the number of rows (a constant such as len(X), "
                "or a loop or branch on it), so a chunk would compute something else",
                "divide by the number of rows with np.mean instead of len(X)",
            )
    return kind


def _probes(arguments: dict[str, object], data_names: tuple[str, ...]) -> tuple[int, int]:
    """Two row counts that no dimension of the arguments has."""
    taken: set[int] = set()
    for name, value in arguments.items():
        for leaf in flatten(value)[0]:
            shape = tuple(leaf.shape) if _is_array_like(leaf) else ()
            taken |= set(shape[1:] if name in data_names else shape)
    free = [n for n in PROBE_ROWS if n not in taken]
    return free[0], free[1]


def _is_array_like(value: object) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _lowered(fun, argnums, arguments, data_names, rows: int) -> tuple[GraphView, list]:
    """``fun``'s graph with the data arguments given ``rows`` rows (views of one zero), and
    those stand-ins."""
    values = [
        _stand_in(value, rows) if name in data_names else value for name, value in arguments.items()
    ]
    stand_ins = [v for name, v in zip(arguments, values, strict=True) if name in data_names]
    return make_graph(fun, argnums)(*values), stand_ins


def _stand_in(data: object, rows: int) -> np.ndarray:
    shape, dtype = tuple(data.shape), np.dtype(data.dtype)  # type: ignore[attr-defined]
    return np.broadcast_to(np.zeros((), dtype), (rows, *shape[1:]))


def _check_form(view: GraphView, rows: int, stand_ins: list) -> str:
    """The final reduction of a row-wise graph, or a refusal naming the first line that is
    not row-wise."""
    graph = view.graph
    if len(graph.inputs) > len(view.argument_values):
        outside = graph.inputs[len(view.argument_values)]
        raise ChunkedLossError(
            f"{view.function} reads '{outside.hint or 'a value'}' from outside its arguments; "
            "the chunks run on other machines, where it would be a stale copy: pass it as an "
            "argument"
        )
    _refuse_effects(graph)
    data = {
        var
        for var, value in zip(graph.inputs, view.argument_values, strict=False)
        if any(value is stand_in for stand_in in stand_ins)
    }
    output = graph.outputs[0] if len(graph.outputs) == 1 else None
    last = next((e for e in graph.eqns if output in e.outputs), None)
    ends, adds_terms = _linear_tail(graph, output)
    final: Eqn | None = None
    for eqn in graph.eqns:
        is_data = tuple(isinstance(atom, Var) and atom in data for atom in eqn.inputs)
        if not any(is_data):
            continue
        if final is None and eqn.outputs[0] in ends and _is_final_reduction(eqn, rows):
            final = eqn
            continue
        _check_rowwise(eqn, is_data, rows)
        data.update(eqn.outputs)
    if final is None or output in data:
        raise _final_refusal(graph, output, data)
    if adds_terms and final.prim != "mean":
        raise _refusal(
            last,
            "a term added to np.sum over the rows would be added once per chunk",
            "use np.mean over the rows (a term of the parameters alone may be added to it)",
        )
    return final.prim


# the operations after the final reduction that scale it (the total of the chunks scales
# alike), and those that add a term of the parameters alone to it
SCALING = ("negative", "multiply", "divide")
ADDING = ("add", "subtract")


def _linear_tail(graph: Graph, output: object) -> tuple[set, bool]:
    """The values the returned one is an affine function of, through its last operations
    (``-np.mean(...)``, ``0.5 * np.sum(...)``, ``np.mean(...) + lam * np.sum(w ** 2)``),
    and whether a term is added on the way. The total's derivative follows the chunks' only
    where each operation scales by a value that is not computed from the rows, or adds one:
    what the caller checks, as the other operand holds no data."""
    producer = {var: eqn for eqn in graph.eqns for var in eqn.outputs}
    tail, adds, frontier = {output}, False, [output]
    while frontier:
        eqn = producer.get(frontier.pop())
        if eqn is None or eqn.prim not in (*SCALING, *ADDING):
            continue
        operands = list(eqn.inputs) if eqn.prim != "divide" else [eqn.inputs[0]]
        adds = adds or eqn.prim in ADDING
        for atom in operands:
            if isinstance(atom, Var) and atom not in tail:
                tail.add(atom)
                frontier.append(atom)
    return tail, adds


def _refuse_effects(graph: Graph) -> None:
    for eqn in walk_eqns(graph.eqns):
        if eqn.prim == "outside_call":
            what = "draws random numbers" if is_random_draw(eqn) else "calls outside code"
            raise _refusal(
                eqn,
                f"the loss {what}, which each chunk would do again",
                "draw or call outside the loss and pass the results as arguments",
            )


def _check_rowwise(eqn: Eqn, is_data: tuple[bool, ...], rows: int) -> None:
    inputs = [atom for atom, flag in zip(eqn.inputs, is_data, strict=True) if flag]
    if any(len(row_axes(atom.aval, rows)) != 1 for atom in inputs):
        raise _refusal(
            eqn,
            "a value computed from all the rows together is used again",
            "reduce over the rows only once, in the return statement",
        )
    if any(len(row_axes(var.aval, rows)) != 1 for var in eqn.outputs):
        raise _refusal(
            eqn,
            "this combines values of different rows, and the loss goes on computing with "
            "the result",
            "keep one row of the result per row of the data until the final np.sum/np.mean, "
            "which must be the returned value (or have a term of the parameters alone added "
            "to an np.mean)",
        )
    if not keeps_rows_apart(eqn, is_data, rows):
        raise _refusal(
            eqn,
            f"'{eqn.prim}' is not known to keep rows apart here (each row of its result must "
            "come from the same row of the data)",
            "compute per row (e.g. X @ w, reductions over axis=1) and reduce over rows last",
        )


def _is_final_reduction(eqn: Eqn, rows: int) -> bool:
    """``np.sum``/``np.mean`` of all the elements of a value with one row axis."""
    if eqn.prim not in FINAL_REDUCTIONS or eqn.outputs[0].aval.shape != ():
        return False
    return len(row_axes(eqn.inputs[0].aval, rows)) == 1


def _final_refusal(graph: Graph, output: object, data: set) -> ChunkedLossError:
    last = next((e for e in graph.eqns if output in e.outputs), None)
    if output not in data and last is not None and not any(v in data for v in last.inputs):
        return _refusal(last, "the loss does not end in a sum or mean over the data's rows", "")
    return _refusal(
        last,
        "the loss does not end in a reduction over the rows (np.sum or np.mean of all of "
        "them) that gives the returned value itself",
        "return np.mean(per_row) (or np.sum) and add nothing after it",
    )


def _refusal(eqn: Eqn | None, what: str, advice: str) -> ChunkedLossError:
    loc = eqn.loc if eqn is not None else None
    file, line = source_position(loc)
    quoted = f"'{loc.text.strip()}': " if loc is not None else ""
    message = f"{quoted}{what}. {SUPPORTED_FORM}"
    return ChunkedLossError(message + (f"; {advice}" if advice else ""), file, line)


def _same(a: object, b: object, rows_a: int, rows_b: int) -> bool:
    """Whether two lowerings are the same computation, ``rows_a`` rows becoming ``rows_b``."""
    if isinstance(a, Graph) and isinstance(b, Graph):
        parts = ("inputs", "eqns", "outputs")
        return all(_same(getattr(a, p), getattr(b, p), rows_a, rows_b) for p in parts)
    if isinstance(a, Eqn) and isinstance(b, Eqn):
        return a.prim == b.prim and all(
            _same(getattr(a, p), getattr(b, p), rows_a, rows_b)
            for p in ("params", "inputs", "outputs")
        )
    if isinstance(a, Var) and isinstance(b, Var):
        return a.id == b.id and _renamed_rows(a.aval, rows_a, rows_b) == b.aval
    if isinstance(a, Const) and isinstance(b, Const):
        return _same_value(a.value, b.value)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(
            _same(x, y, rows_a, rows_b) for x, y in zip(a, b, strict=True)
        )
    return _same_value(a, b)


def _renamed_rows(aval: AVal, rows_a: int, rows_b: int) -> AVal:
    shape = tuple(rows_b if n == rows_a else n for n in aval.shape)
    return aval._replace(shape=shape)


def _same_value(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b)
        )
    try:
        return bool(type(a) is type(b) and a == b)
    except (TypeError, ValueError):
        return a is b
