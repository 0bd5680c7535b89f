"""Per-primitive facts about an equation, read from its row in the table (see ``Prim``).

Passes and the code generator ask these instead of comparing ``eqn.prim`` with names:
``is_loop(eqn)`` rather than a test of the name against ``for`` and ``while``. An equation whose primitive is
not in the table (a broken graph that ``verify`` reports) has none of the facts.
"""

from __future__ import annotations

from srcad.ir.graph import Eqn
from srcad.ir.prims import PRIMS, Prim


def _unknown(*args, **params):
    raise RuntimeError("a primitive that is not in the table")


_UNKNOWN = Prim("unknown", _unknown, "unknown", 0)


def primitive_of(eqn: Eqn) -> Prim:
    """The table row of ``eqn``'s primitive (a row without facts where it has none). The
    facts below look it up themselves: a compile asks them of every equation, many times."""
    return PRIMS.get(eqn.prim, _UNKNOWN)


def is_statement(eqn: Eqn) -> bool:
    """Whether ``eqn`` fills an array in place (``setitem``, ``add_at``, ``index_add``)."""
    return PRIMS.get(eqn.prim, _UNKNOWN).is_statement


def updates_first_input(eqn: Eqn) -> bool:
    """Whether ``eqn`` writes into the array that is its first input (``setitem``,
    ``index_add``)."""
    return PRIMS.get(eqn.prim, _UNKNOWN).updates_first_input


def is_structured(eqn: Eqn) -> bool:
    """Whether ``eqn`` is structured control flow, with sub-graphs (``cond``, ``for``,
    ``while``)."""
    return PRIMS.get(eqn.prim, _UNKNOWN).is_structured


def is_loop(eqn: Eqn) -> bool:
    """Whether ``eqn`` is a loop (``for``, ``while``)."""
    return PRIMS.get(eqn.prim, _UNKNOWN).is_loop


def has_counter(eqn: Eqn) -> bool:
    """Whether ``eqn`` is a loop whose body's first input is its counter (``for``)."""
    return PRIMS.get(eqn.prim, _UNKNOWN).has_counter


def is_tape(eqn: Eqn) -> bool:
    """Whether ``eqn`` operates on a loop's tape (``tape_new``, ``tape_push``, ...)."""
    return PRIMS.get(eqn.prim, _UNKNOWN).is_tape


def has_effect(eqn: Eqn) -> bool:
    """Whether ``eqn``'s effect matters even when its result is unused (``outside_call``)."""
    return PRIMS.get(eqn.prim, _UNKNOWN).has_effect


def packs_results(eqn: Eqn) -> bool:
    """Whether ``eqn``'s call returns its results packed in a list or a named tuple, even a
    single one (``np.split(x, 1)`` is a list of one array): code unpacks them. A function
    with named results that gives one returns it bare (``np.linalg.svd(x,
    compute_uv=False)``)."""
    prim = primitive_of(eqn)
    return prim.returns_list or (bool(prim.result_fields) and len(eqn.outputs) > 1)
