"""The branches of ``np.where``: adjoints kept at zero where a branch is not taken.

    y = np.where(x > 0, np.sqrt(x), 0.0)

The backward sweep gives the branch ``np.sqrt(x)`` the cotangent ``np.where(x > 0, g, 0)``,
and sqrt's rule multiplies it by ``0.5 / sqrt(x)``: ``0 * inf`` at ``x == 0`` and ``0 * nan``
where ``x < 0``, so ``dx`` is NaN where the derivative is 0 (forward mode picks the tangent
of the branch taken and gets it right). The same holds for ``np.sin(x) / x`` beside
``x == 0``, ``np.log`` of a value the other branch guards, and so on.

This module finds, before the backward sweep, the elementwise equations that compute only
one branch of a ``where`` (``masked_branches``): every use of their result lies inside that
branch, with the branch's shape. The sweep then puts the branch's mask on what such an
equation contributes to a value from outside the branch (the boundary), as the user would
with a second ``where``::

    dx = dx + np.where(x > 0, dt1 * 0.5 / t1, 0.0)   # t1 = np.sqrt(x), masked

Inside the branch, NaNs may appear where it is not taken; the mask at the boundary drops
them. The same holds for the NaNs that ``np.nansum``, ``np.nanmean``, ``np.nanmax``,
``np.nanmin`` and ``np.nan_to_num`` skip (``SKIPPING``: a likelihood with missing data,
``np.nansum((y - mu) ** 2)``, whose slope ``2 (y - mu)`` is NaN there): their input's
elements are masked by ``np.isnan`` of it, which ``np.where(np.isnan(r), 0.0, r)`` and
``r[~np.isnan(r)]`` also test (one mask). Uses that pass no cotangent back (``r > 0``,
``np.isnan(r)``) do not count.

A contribution needs no mask where the equation is linear in that input with a constant
slope (``a + b``, ``0.01 * x``) and its own cotangent is exactly zero outside the branch
("clean"): leaky ReLU's ``np.where(x > 0, x, 0.01 * x)`` costs nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from srcad.ir import Atom, Const, Eqn, Graph, Var
from srcad.ir.primitive import ELEMENTWISE, PARAMETRIC
from srcad.ir.prims import PRIMS
from srcad.ir.walk import sub_graphs, walk_eqns

LINEAR = {"add", "subtract", "negative", "positive"}  # slope 1 or -1 in every input
SCALED = {"multiply": (0, 1), "divide": (0,)}  # the inputs whose slope is the other input
# Functions that pass no cotangent to their input's NaNs (np.nansum(r), a likelihood with
# missing data): the test that finds the elements, and whether those are the ones kept
SKIPPING = {
    "nansum": ("isnan", False),
    "nanmean": ("isnan", False),
    "nanmax": ("isnan", False),
    "nanmin": ("isnan", False),
    "nan_to_num": ("isfinite", True),
}


@dataclass(frozen=True)
class Mask:
    """Where a branch is taken: ``condition`` holds (``taken``) or does not; with a
    ``test`` (``isnan``), where that test of ``condition`` holds or does not."""

    condition: Atom
    taken: bool
    test: str = ""

    def key(self) -> tuple[object, bool, str]:
        atom = self.condition
        return (atom.id if isinstance(atom, Var) else id(atom), self.taken, self.test)


@dataclass(frozen=True)
class Branch:
    """An equation computing only one branch of a ``where``: its ``mask``, and whether the
    cotangent of its result is exactly zero outside the branch (``is_clean``)."""

    mask: Mask
    is_clean: bool


@dataclass
class MaskedBranches:
    """The branch equations of a graph, by the id of their result, and the vars whose every
    use lies inside a branch (by id: the key of that branch's mask)."""

    producer: Callable[[Var], Eqn | None]  # the equation that computes a var
    branches: dict[int, Branch] = field(default_factory=dict)
    inside: dict[int, tuple[object, bool, str]] = field(default_factory=dict)

    def branch_of(self, eqn: Eqn) -> Branch | None:
        return self.branches.get(eqn.outputs[0].id) if len(eqn.outputs) == 1 else None

    def masked_inputs(self, eqn: Eqn, branch: Branch) -> set[int]:
        """The positions of ``eqn``'s inputs whose contributions get the branch's mask:
        values from outside the branch, unless the slope is a constant and the cotangent
        clean."""
        positions = set()
        for k, atom in enumerate(eqn.inputs):
            if not isinstance(atom, Var) or self.inside.get(atom.id) == branch.mask.key():
                continue
            if not (branch.is_clean and _has_constant_slope(eqn, k)):
                positions.add(k)
        return positions


def masked_branches(graph: Graph, producer: Callable[[Var], Eqn | None]) -> MaskedBranches:
    """The branch equations of every block of ``graph`` (see the module docstring);
    ``producer``: the equation of each of its vars (the reverse sweep's builder knows)."""
    found = MaskedBranches(producer)
    users = _users(graph)
    blocks = [graph.eqns] + [g.eqns for eqn in walk_eqns(graph.eqns) for g in sub_graphs(eqn)]
    for eqns in blocks:
        _mark_block(eqns, users, found)
    return found


def _users(graph: Graph) -> dict[int, list[tuple[Eqn | None, int]]]:
    """Each var's uses: (equation, input position), or (None, -1) where it leaves a block
    (a graph's output) or enters a structured equation (a loop, a branch)."""
    users: dict[int, list[tuple[Eqn | None, int]]] = {}
    for var in _vars(graph.outputs):
        users.setdefault(var.id, []).append((None, -1))
    for eqn in walk_eqns(graph.eqns):
        structured = bool(sub_graphs(eqn))
        for k, atom in enumerate(eqn.inputs):
            if isinstance(atom, Var):
                users.setdefault(atom.id, []).append((None, -1) if structured else (eqn, k))
        for sub in sub_graphs(eqn):
            for var in _vars(sub.outputs):
                users.setdefault(var.id, []).append((None, -1))
    return users


def _vars(atoms: tuple[Atom, ...]) -> list[Var]:
    return [a for a in atoms if isinstance(a, Var)]


def _mark_block(
    eqns: tuple[Eqn, ...], users: dict[int, list[tuple[Eqn | None, int]]], found: MaskedBranches
) -> None:
    """Walk ``eqns`` from the last: when an equation is reached, every use of its result has
    been seen, so whether the result lies inside a branch is known."""
    in_block = {id(eqn) for eqn in eqns}
    for eqn in reversed(eqns):
        if len(eqn.outputs) != 1 or not _is_elementwise(eqn):
            continue
        out = eqn.outputs[0]
        placed = _branch_of_uses(out, users.get(out.id, []), in_block, found)
        if placed is None:
            continue
        mask, is_clean = placed
        found.inside[out.id] = mask.key()
        found.branches[out.id] = Branch(mask, is_clean)


def _branch_of_uses(
    var: Var,
    uses: list[tuple[Eqn | None, int]],
    in_block: set[int],
    found: MaskedBranches,
) -> tuple[Mask, bool] | None:
    """The mask common to every use of ``var`` and whether its cotangent is clean, or None
    where some use lies outside one branch of one ``where``."""
    masks: dict[tuple[object, bool, str], Mask] = {}
    is_clean = True
    for user, position in uses:
        if user is None or id(user) not in in_block:
            return None
        if not PRIMS[user.prim].is_differentiable:
            continue  # x > 0, np.isnan(x): no cotangent comes back
        if user.prim in SKIPPING and position == 0:  # np.nansum(r): none for r's NaNs
            test, kept = SKIPPING[user.prim]
            mask = Mask(var, kept, test)
            masks[mask.key()] = mask
            continue
        if user.outputs[0].aval.shape != var.aval.shape:
            return None  # broadcast into a larger value: summed before any mask
        if user.prim == "where" and position in (1, 2):
            mask = _where_mask(user.inputs[0], position == 1, found.producer)
        else:
            branch = found.branch_of(user)
            if branch is None:
                return None
            mask = branch.mask
            is_clean = is_clean and branch.is_clean and _has_constant_slope(user, position)
        masks[mask.key()] = mask
    if len(masks) != 1:
        return None
    return next(iter(masks.values())), is_clean


def _where_mask(condition: Atom, taken: bool, producer: Callable[[Var], Eqn | None]) -> Mask:
    """The mask of a ``where``'s branch; ``np.where(np.isnan(r), 0.0, r)`` as the test of
    ``r``, the same mask as ``np.nansum(r)``'s."""
    made = producer(condition) if isinstance(condition, Var) else None
    while made is not None and made.prim == "logical_not":  # ~np.isnan(r): the other side
        condition, taken = made.inputs[0], not taken
        made = producer(condition) if isinstance(condition, Var) else None
    if made is not None and made.prim in ("isnan", "isfinite"):
        return Mask(made.inputs[0], taken, made.prim)
    return Mask(condition, taken)


def _is_elementwise(eqn: Eqn) -> bool:
    prim = PRIMS.get(eqn.prim)
    return prim is not None and prim.kind in (ELEMENTWISE, PARAMETRIC) and eqn.prim != "where"


def _has_constant_slope(eqn: Eqn, position: int) -> bool:
    """Whether ``eqn`` is linear in its input ``position`` with a constant slope."""
    if eqn.prim in LINEAR:
        return True
    if position not in SCALED.get(eqn.prim, ()):
        return False
    others = [a for k, a in enumerate(eqn.inputs) if k != position]
    return all(isinstance(a, Const) for a in others)
