"""The branches of ``np.where`` and other masks: adjoints kept at zero where a value is not
used.

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
``np.nanmin``, ``np.nanmedian``, ``np.nanquantile``, ``np.nanpercentile`` and
``np.nan_to_num`` skip (``SKIPPING``: a likelihood with missing data,
``np.nansum((y - mu) ** 2)``, whose slope ``2 (y - mu)`` is NaN there): their input's
elements are masked by ``np.isnan`` of it, which ``np.where(np.isnan(r), 0.0, r)`` and
``r[~np.isnan(r)]`` also test (one mask). A gather through constant index arrays (which a
constant boolean mask becomes: ``(X * w)[valid]``) reads only some elements: the others are
masked by a constant, where the elementwise steps or the product computing the gathered
value read data that may not be finite (``X``; a softmax picked by label,
``p[np.arange(n), labels]``, reads none and keeps its plain gradient). Uses that pass no
cotangent back (``r > 0``, ``np.isnan(r)``, the
gradient-stopped stand-in of a selection) do not count. A value used inside several masks
(``np.nansum(r) + np.sum(np.where(np.isfinite(r), r, 0.0))``) is used where any of them
holds: its masks are a union, and what one use contributes takes that use's own mask. A
``where`` nested in another's branch (``np.where(x > 0, np.where(x < 2, np.sqrt(x), 2 * x),
0.0)``) reads its branches only where both conditions hold: its mask lies ``within`` the
masks of its own result (``np.logical_and(t2, t1)``), which ``sqrt(-1)`` needs. A value
computed before a loop or an ``if`` and read under a mask inside it (``root = np.sqrt(x)``
then ``np.where(x > 0, root, 0.0)`` in each step, or a loop-invariant branch hoisted) lies
inside that mask when the block outside computes the condition too; when a step computes it
(``x > t``), its contributions are kept where its cotangent is not zero, as for a value read
in part. A branch broadcast into the ``where``'s shape (``np.sqrt(np.mean(x))``) takes the
masks that do not vary along the axes it is broadcast over. Where no mask can be named but
every use may pass back exact zeros (``np.select``'s pieces, a value both masked and read at
an index, ``np.sum(np.log(X), axis=1)`` under a row mask, a mask computed in each step), the
contributions are kept where the cotangent is not zero (``_may_get_zeros``).

A contribution needs no mask where the equation is linear in that input with a constant,
finite slope (``a + b``, ``0.01 * x``; not ``x * dat`` with a NaN in the constant ``dat``)
and its own cotangent is exactly zero outside the branch ("clean"): leaky ReLU's
``np.where(x > 0, x, 0.01 * x)`` costs nothing more.

A product (``X @ w``, ``np.einsum``) whose result lies inside masks that only data decides
(a test of constants and inputs not differentiated, or a NaN test) is recorded too
(``Product``): its operands (data, or differentiated values: padded attention scores) may
hold NaNs in rows that only masked-out results read
(``np.sum(np.where(valid, X @ w, 0.0) ** 2)`` with a NaN row of ``X``), and ``0 * nan`` in
``dw = dXw @ X`` would spread them over the whole gradient. The sweep zeroes those rows of
the operand first. Masks that the differentiated values decide (ReLU's ``z > 0``) mask no
product operand: NaN data under them keeps the plain product's cost and gives NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from srcad.ir import Atom, Const, Eqn, Graph, Var
from srcad.ir.control import body_of, branches_of, known_steps
from srcad.ir.index import decode_index, has_arrays
from srcad.ir.primitive import ELEMENTWISE, PARAMETRIC
from srcad.ir.prims import PRIMS
from srcad.ir.products import Terms, product_terms
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
    "nanmedian": ("isnan", False),
    "nanquantile": ("isnan", False),
    "nanpercentile": ("isnan", False),
    "nan_to_num": ("isfinite", True),
}
PRODUCTS = {"matmul", "dot", "inner", "outer", "tensordot", "einsum"}
# Equations that read only part of their first input (or, setitem, keep only part of it):
# the cotangent they send back is exactly zero at the elements left out
PART_READS = {
    "getitem", "take", "take_along_axis", "diagonal", "diag", "tril", "triu", "setitem",
    "split", "array_split", "hsplit", "vsplit", "dsplit", "trace",
}  # fmt: skip
# Equations that move the elements of their inputs into their result, each once (a copy, a
# reshape, a transpose, a join): an element is read where its place in the result is
MOVES = {
    "copy", "reshape", "ravel", "transpose", "matrix_transpose", "squeeze", "expand_dims",
    "swapaxes", "moveaxis", "asarray", "astype", "flip", "fliplr", "flipud", "rot90",
    "atleast_1d", "atleast_2d", "atleast_3d", "roll", "positive", "concatenate", "stack",
    "hstack", "vstack", "column_stack", "dstack",
}  # fmt: skip
NAN_TESTS = {"isnan", "isfinite"}
SUMS = {"sum", "mean", "nansum", "nanmean"}  # the cotangent of a slice's total: spread over it
# Reductions along axes whose slice's elements all get a part of the slice's cotangent (0
# where it is 0) through a slope that may not be finite there (a row's std of 0, log(0)'s
# -inf in a product): kept where that cotangent is not zero, as elementwise steps are
ALONG = {"std", "var", "prod", "norm"}
# The inputs whose cotangent is exactly zero where the equation does not choose or read them
MASKING_USES = {
    "where": (1, 2),
    "select": (1, 2),
    "clip": (0,),  # np.clip(np.log(p), -10.0, 10.0): 0 where it clips
    "maximum": (0, 1),  # np.maximum(np.sqrt(x), 1e-3): 0 where the other is taken
    "minimum": (0, 1),
    "fmax": (0, 1),
    "fmin": (0, 1),
    "max": (0,),  # np.max(x, axis=1): 0 but at each slice's maximum
    "min": (0,),
    **{prim: (0,) for prim in PART_READS},
    **{prim: (0,) for prim in SKIPPING},
}
# Elementwise functions whose slope is finite wherever their inputs are (np.exp is not: it
# overflows; np.sqrt is not at 0): read in part, they need no mask unless they read data
FINITE_SLOPES = {
    "add", "subtract", "negative", "positive", "multiply", "square", "tanh", "sin", "cos",
    "arctan", "arcsinh", "absolute", "sign", "maximum", "minimum", "fmax", "fmin", "clip",
    "logaddexp", "logaddexp2", "real", "conjugate", "floor", "ceil",
    "rint", "round", "trunc", "heaviside",
}  # fmt: skip

Uses = dict[int, list[tuple[Eqn | None, int]]]


@dataclass(frozen=True)
class Mask:
    """Where a branch is taken: ``condition`` holds (``taken``) or does not; with a
    ``test`` (``isnan``), where that test of ``condition`` holds or does not; and, for the
    branch of a ``where`` nested in another's, where the outer mask holds too (``within``)."""

    condition: Atom
    taken: bool
    test: str = ""
    within: Mask | None = None

    def key(self) -> tuple:
        atom = self.condition
        outer = self.within.key() if self.within is not None else None
        return (atom.id if isinstance(atom, Var) else id(atom), self.taken, self.test, outer)

    def inside(self, outer: Mask) -> Mask:
        """This mask where ``outer`` holds too."""
        within = outer if self.within is None else self.within.inside(outer)
        return Mask(self.condition, self.taken, self.test, within)

    def chain(self) -> list[Mask]:
        """This mask and those it lies within, each alone."""
        alone = Mask(self.condition, self.taken, self.test)
        return [alone] + (self.within.chain() if self.within is not None else [])


@dataclass(frozen=True)
class Branch:
    """An equation computing only inside ``masks`` (where any of them holds), and whether
    the cotangent of its result is exactly zero outside them (``is_clean``)."""

    masks: tuple[Mask, ...]
    is_clean: bool

    def key(self) -> frozenset:
        return _key(self.masks)


def _key(masks: tuple[Mask, ...]) -> frozenset:
    """The same for the same masks in any order: a union's."""
    return frozenset(mask.key() for mask in masks)


@dataclass(frozen=True)
class Product:
    """A product whose result lies inside ``masks`` that data decides: its einsum ``terms``
    and the positions of the data operands to zero where only masked-out results read
    them."""

    masks: tuple[Mask, ...]
    terms: Terms
    operands: tuple[int, ...]


@dataclass
class MaskedBranches:
    """The branch equations and masked products of a graph, by the id of their result; the
    vars whose every use lies inside masks (by id: the key of their branch); the vars no
    cotangent reaches (``inert``)."""

    producer: Callable[[Var], Eqn | None]  # the equation that computes a var
    decided_by_data: set[int]  # the vars that data alone decides (see _decided_by_data)
    reading_data: set[int]  # the vars whose elementwise steps read data (_reading_data)
    branches: dict[int, Branch] = field(default_factory=dict)
    inside: dict[int, frozenset] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    inert: set[int] = field(default_factory=set)
    entering: set[int] = field(default_factory=set)  # vars read by a loop or a branch
    # the elementwise equations (and ``ALONG`` reductions) whose contributions are kept
    # where their cotangent is not zero: every use may pass zeros back (_may_get_zeros)
    read_in_part: set[int] = field(default_factory=set)
    # the vars some of whose elements may get an exactly zero cotangent (``_may_get_zeros``)
    may_get_zeros: set[int] = field(default_factory=set)
    # the masks the result of a ``where`` lies inside (a where nested in another's branch)
    outer_masks: dict[int, Branch] = field(default_factory=dict)

    def branch_of(self, eqn: Eqn) -> Branch | None:
        return self.branches.get(eqn.outputs[0].id) if len(eqn.outputs) == 1 else None

    def product_of(self, eqn: Eqn) -> Product | None:
        return self.products.get(eqn.outputs[0].id) if len(eqn.outputs) == 1 else None

    def masked_inputs(self, eqn: Eqn, branch: Branch) -> set[int]:
        """The positions of ``eqn``'s inputs whose contributions get the branch's mask:
        values from outside the branch, unless the slope is a constant and the cotangent
        clean."""
        positions = set()
        for k, atom in enumerate(eqn.inputs):
            if not isinstance(atom, Var) or self.inside.get(atom.id) == branch.key():
                continue
            if not (branch.is_clean and _has_constant_slope(eqn, k)):
                positions.add(k)
        return positions

    def computes_dropped_values(self, eqn: Eqn, backward: bool = True) -> bool:
        """Whether the derivative lines of ``eqn`` compute, where a mask drops them, values
        that may not be finite (``Eqn.quiet``): those of a branch equation, unless its slopes
        are constants (and, ``backward``, its cotangent clean), and of one read in part
        (``zero_kept_inputs``)."""
        if self.zero_kept_inputs(eqn):
            return True
        branch = self.branch_of(eqn)
        if branch is None:
            return False
        constant_slopes = all(
            _has_constant_slope(eqn, k) for k, a in enumerate(eqn.inputs) if isinstance(a, Var)
        )
        return not (constant_slopes and (branch.is_clean or not backward))

    def zero_kept_inputs(self, eqn: Eqn) -> set[int]:
        """The positions of the inputs of an elementwise ``eqn`` read in part whose
        contributions are kept at zero where its cotangent is zero: those whose slope is not a
        finite constant (``0.5 / np.sqrt(x)`` is NaN or inf where ``sqrt(x)`` is not read),
        unless it is finite wherever the inputs are and they read no data (``np.tanh``)."""
        if len(eqn.outputs) != 1 or eqn.outputs[0].id not in self.read_in_part:
            return set()
        if eqn.prim in ALONG:
            return {0} if isinstance(eqn.inputs[0], Var) else set()
        if not _is_elementwise(eqn):
            return set()  # a move (a reshape, a join): its slope is a constant 1
        if self.branch_of(eqn) is not None:
            return set()  # the branch's masks already keep its contributions
        if eqn.prim in FINITE_SLOPES and eqn.outputs[0].id not in self.reading_data:
            return set()
        return {
            k
            for k, atom in enumerate(eqn.inputs)
            if isinstance(atom, Var) and not _has_constant_slope(eqn, k)
        }


def masked_branches(
    graph: Graph, producer: Callable[[Var], Eqn | None], active: set[Var]
) -> MaskedBranches:
    """The branch equations of every block of ``graph`` (see the module docstring);
    ``producer``: the equation of each of its vars (the reverse sweep's builder knows);
    ``active``: the vars that depend on the differentiated inputs."""
    users = _users(graph)
    found = MaskedBranches(
        producer, _decided_by_data(graph, active), _reading_data(graph, active, users)
    )
    found.entering = {
        atom.id
        for eqn in walk_eqns(graph.eqns)
        if sub_graphs(eqn)
        for atom in eqn.inputs
        if isinstance(atom, Var)
    }
    for block in _blocks_inner_first(graph.eqns):
        _mark_block(block, users, found, active)
    return found


@dataclass(frozen=True)
class Block:
    """The equations of one block, the ids of those and of the equations of the blocks
    inside it (``nested``), and the ids of the vars those inner blocks define (``below``)."""

    eqns: tuple[Eqn, ...]
    nested: frozenset[int]
    below: frozenset[int]
    # the equations in a branch or a loop that may run no step -> that ``if`` or loop
    may_not_run: dict[int, Eqn] = field(default_factory=dict)


def _blocks_inner_first(eqns: tuple[Eqn, ...], found: list[Block] | None = None) -> list[Block]:
    """The blocks of ``eqns``, each after the blocks inside it: a value computed before a
    loop and read inside it under a mask (a hoisted ``np.sqrt(x)``) lies inside that mask."""
    found = [] if found is None else found
    nested = {id(eqn) for eqn in eqns}
    below: set[int] = set()
    may_not_run: dict[int, Eqn] = {}
    for eqn in eqns:
        skipped = {id(g) for g in _blocks_that_may_not_run(eqn)}
        for sub in sub_graphs(eqn):
            inner = _blocks_inner_first(sub.eqns, found)[-1]
            nested |= inner.nested
            below |= inner.below | {v.id for v in sub.inputs}
            below |= {v.id for e in sub.eqns for v in e.outputs}
            if id(sub) in skipped:
                may_not_run.update(dict.fromkeys(inner.nested, eqn))
    found.append(Block(eqns, frozenset(nested), frozenset(below), may_not_run))
    return found


def _blocks_that_may_not_run(eqn: Eqn) -> tuple[Graph, ...]:
    """The branches of an ``if``, the body of a loop that may run no step."""
    if eqn.prim == "cond":
        return branches_of(eqn)
    if eqn.prim == "while" or eqn.prim == "for" and not known_steps(eqn):
        return (body_of(eqn),)
    return ()


def _users(graph: Graph) -> Uses:
    """Each var's uses: (equation, input position), or (None, -1) where it leaves a block
    (a graph's output) or enters a structured equation (a loop, a branch)."""
    users: Uses = {}
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


def _decided_by_data(graph: Graph, active: set[Var]) -> set[int]:
    """The vars computed from constants and inputs not differentiated alone (a mask of the
    data: ``~np.isnan(X).any(axis=1)``, not ``z > 0`` of an active ``z``); the results of
    loops and branches are not counted."""
    found = {var.id for var in graph.inputs if var not in active}
    for eqn in walk_eqns(graph.eqns):
        inputs_known = all(not isinstance(a, Var) or a.id in found for a in eqn.inputs)
        if inputs_known and not sub_graphs(eqn):
            found.update(var.id for var in eqn.outputs)
    return found


def _reading_data(graph: Graph, active: set[Var], users: Uses) -> set[int]:
    """The active vars whose elementwise equations or product read data that may not be
    finite (a value not differentiated, as a global read on every call, or a constant with
    a NaN, an inf or, divided by, a zero), themselves or through values used nowhere else.
    ``(X * w)[rows]`` reads the data ``X``; the softmax ``p`` of
    ``np.log(p[np.arange(n), labels])`` reads none (its ``exp(z)`` is summed too)."""
    found: set[int] = set()

    def reads(atom: Atom) -> bool:
        if isinstance(atom, Var) and atom in active:
            return atom.id in found and len(users.get(atom.id, [])) == 1
        return _is_data(atom)

    for eqn in walk_eqns(graph.eqns):
        if (_is_elementwise(eqn) or eqn.prim in PRODUCTS) and any(map(reads, eqn.inputs)):
            found.update(var.id for var in eqn.outputs)
    return found


def _is_data(atom: Atom) -> bool:
    """A value not differentiated that may not be finite."""
    return isinstance(atom, Var) or not _is_finite_constant(atom, nonzero=True)


def _mark_block(block: Block, users: Uses, found: MaskedBranches, active: set) -> None:
    """Walk a block from its last equation: when an equation is reached, every use of its
    result has been seen, so whether the result lies inside masks is known."""
    in_block = {id(eqn) for eqn in block.eqns}
    for eqn in reversed(block.eqns):
        if all(_is_inert(v, users, in_block, found) for v in eqn.outputs):
            found.inert.update(v.id for v in eqn.outputs)
            continue
        if len(eqn.outputs) != 1:
            continue
        out = eqn.outputs[0]
        if _is_elementwise(eqn):
            branch = _branch_of_uses(out, users.get(out.id, []), block, found)
            if branch is not None and _is_below(branch, block):
                branch = None  # its masks differ per step: kept where its cotangent is not 0
            if branch is not None:
                found.inside[out.id] = branch.key()
                found.branches[out.id] = branch
        elif eqn.prim == "where":
            branch = _branch_of_uses(out, users.get(out.id, []), block, found)
            if branch is not None and not _is_below(branch, block):
                found.outer_masks[out.id] = branch

        elif eqn.prim in PRODUCTS:
            product = _masked_product(eqn, users, block, found, active)
            if product is not None:
                found.products[out.id] = product
        if out in active and _may_get_zeros(out, users.get(out.id, []), found, block):
            found.may_get_zeros.add(out.id)
            if (_is_elementwise(eqn) or eqn.prim in ALONG) and out.id not in found.branches:
                found.read_in_part.add(out.id)  # masks srcad cannot name: kept where not 0


def _may_get_zeros(
    var: Var, uses: list[tuple[Eqn | None, int]], found: MaskedBranches, block: Block
) -> bool:
    """Whether every use of ``var`` may send back a cotangent exactly zero at some elements:
    a ``where`` or ``np.select`` choice, a read of part of it, a NaN skipped, a use in a
    loop that may run no step or in an ``if`` one of whose branches reads it so or not at
    all (``r = np.sqrt(x)`` before an ``if`` that reads it in one branch: the other gives
    ``dr`` zeros), or an elementwise step or a move (a copy, a reshape, a join) whose
    result may get such zeros, where they stay where they were (``np.stack([r, 2 * r])``
    chosen by a mask); for its only use, a sum too (``np.sum(np.log(X), axis=1)`` under a
    row mask). A sum beside other uses (a softmax's ``exp(z)``, divided and summed)
    spreads its cotangent over the zeros of the others; a product, a softmax or a sort
    mixes the elements."""
    used = [(user, k) for user, k in uses if user is None or not _passes_nothing(user, found)]
    in_branches: dict[int, list[Eqn]] = {}  # an if -> the uses in its branches
    for user, position in used:
        if user is None:
            if var.id not in found.entering:
                return False  # a result: its cotangent comes from outside
            continue
        around = block.may_not_run.get(id(user))
        if around is not None and around.prim == "cond":
            in_branches.setdefault(id(around), []).append(user)
        elif around is None and not _passes_zeros(user, position, found, _sums_pass(used)):
            return False
    for uses_in_branches in in_branches.values():
        around = block.may_not_run[id(uses_in_branches[0])]
        if not any(
            _passes_zeros_in(branch, var, uses_in_branches, found, _sums_pass(used))
            for branch in branches_of(around)
        ):
            return False
    return bool(used)


def _passes_zeros(user: Eqn, position: int, found: MaskedBranches, sums_pass: bool) -> bool:
    """Whether the use of a value at ``position`` of ``user`` may send back zeros (see
    ``_may_get_zeros``; ``sums_pass``: whether a reduction's may, no elementwise step or
    move reading the value beside it)."""
    if position in MASKING_USES.get(user.prim, ()):
        return True
    if not all(out.id in found.may_get_zeros for out in user.outputs):
        return False
    return _is_elementwise(user) or user.prim in MOVES or sums_pass and user.prim in SUMS | ALONG


def _sums_pass(used: list[tuple[Eqn | None, int]]) -> bool:
    """Whether no use beside a reduction is an elementwise step or a move (a softmax's
    ``exp(z)``, divided and summed: the sum's cotangent spreads over the division's zeros)."""
    return len(used) == 1 or not any(
        user is not None
        and position not in MASKING_USES.get(user.prim, ())
        and (_is_elementwise(user) or user.prim in MOVES)
        for user, position in used
    )


def _passes_zeros_in(
    branch: Graph, var: Var, users: list[Eqn], found: MaskedBranches, sums_pass: bool
) -> bool:
    """Whether, when ``branch`` runs, each of its uses of ``var`` may send back zeros (none
    at all does)."""
    if any(isinstance(a, Var) and a.id == var.id for a in branch.outputs):
        return False  # the branch's result: its cotangent comes from after the if
    inside = {id(eqn) for eqn in walk_eqns(branch.eqns)}
    return all(
        _passes_zeros(user, position, found, sums_pass)
        for user in users
        if id(user) in inside
        for position, atom in enumerate(user.inputs)
        if isinstance(atom, Var) and atom.id == var.id
    )


def _is_inert(var: Var, users: Uses, in_block: set[int], found: MaskedBranches) -> bool:
    """Whether no cotangent reaches ``var``: every use of it passes none back."""
    for user, _ in users.get(var.id, []):
        if user is None or id(user) not in in_block or not _passes_nothing(user, found):
            return False
    return True


def _passes_nothing(user: Eqn, found: MaskedBranches) -> bool:
    """``x > 0``, ``np.isnan(x)``, ``srcad.stop_gradient(x[k])``: no cotangent comes back."""
    if not PRIMS[user.prim].is_differentiable:
        return True
    return all(var.id in found.inert for var in user.outputs)


def _branch_of_uses(
    var: Var, uses: list[tuple[Eqn | None, int]], block: Block, found: MaskedBranches
) -> Branch | None:
    """The masks of ``var``'s uses (it is used where any of them holds) and whether its
    cotangent is clean, or None where some use lies outside every mask."""
    placed = []
    for user, position in uses:
        if user is None or id(user) not in block.nested:
            return None
        if _passes_nothing(user, found):
            continue
        use = _masks_of_use(var, user, position, found)
        if use is None:
            return None
        placed.append(use)
    masks = {mask.key(): mask for use_masks, _ in placed for mask in use_masks}
    if not masks:
        return None
    union = _key(tuple(masks.values()))
    # a use inside other masks than the union gets its own mask on what it contributes
    is_clean = all(is_clean or _key(use_masks) != union for use_masks, is_clean in placed)
    return Branch(tuple(masks.values()), is_clean)


def _is_below(branch: Branch, block: Block) -> bool:
    """Whether a condition of ``branch``'s masks is computed inside a loop or branch of
    ``block`` (a test of the loop's counter): not known where the block's backward lines
    run."""
    return any(
        isinstance(m.condition, Var) and m.condition.id in block.below
        for mask in branch.masks
        for m in mask.chain()
    )


def _masks_of_use(
    var: Var, user: Eqn, position: int, found: MaskedBranches
) -> tuple[tuple[Mask, ...], bool] | None:
    """The masks one use of ``var`` lies inside and whether the cotangent it sends back is
    exactly zero outside them, or None for a use outside any mask."""
    if user.prim in SKIPPING and position == 0:  # np.nansum(r): none for r's NaNs
        test, kept = SKIPPING[user.prim]
        return (Mask(var, kept, test),), True
    read = _read_mask(var, user, position) if var.id in found.reading_data else None
    if read is not None:  # the gradient of a gather scatters into zeros: clean
        return (read,), True
    placed = _masks_of_same_shape_use(var, user, position, found)
    shape, out_shape = var.aval.shape, user.outputs[0].aval.shape
    if placed is None or shape == out_shape:
        return placed
    # broadcast into a larger value: a mask that does not vary along the axes it is
    # broadcast over (np.where(np.mean(x) > 0, np.sqrt(np.mean(x)), X)) holds for it as well
    broadcast = _broadcast_axes(shape, out_shape)
    for mask in placed[0]:
        if not all(_is_constant_along(m.condition, broadcast, out_shape) for m in mask.chain()):
            return None  # read where any of them holds: summed before any mask
    return placed


def _masks_of_same_shape_use(
    var: Var, user: Eqn, position: int, found: MaskedBranches
) -> tuple[tuple[Mask, ...], bool] | None:
    """``_masks_of_use`` of a ``where``'s branch or a branch equation's input, with the masks
    of ``user``'s result."""
    if user.prim == "where" and position in (1, 2):
        mask = _where_mask(user.inputs[0], position == 1, found.producer)
        outer = found.outer_masks.get(user.outputs[0].id)
        if outer is None:
            return (mask,), True
        return tuple(mask.inside(m) for m in outer.masks), outer.is_clean
    branch = found.branch_of(user)
    if branch is None:
        return None
    return branch.masks, branch.is_clean and _has_constant_slope(user, position)


def _broadcast_axes(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> set[int]:
    """The axes of ``out_shape`` along which a value of ``shape`` is broadcast."""
    lead = len(out_shape) - len(shape)
    return {
        axis
        for axis, size in enumerate(out_shape)
        if axis < lead or (shape[axis - lead] == 1 and size != 1)
    }


def _is_constant_along(condition: Atom, axes: set[int], out_shape: tuple[int, ...]) -> bool:
    """Whether ``condition``, broadcast to ``out_shape``, has length one along ``axes``."""
    shape = condition.aval.shape
    lead = len(out_shape) - len(shape)
    return all(axis < lead or shape[axis - lead] == 1 for axis in axes)


def _read_mask(var: Var, user: Eqn, position: int) -> Mask | None:
    """The elements that ``var[index]`` reads, for constant index arrays that leave some
    unread, as a constant mask (``(X * w)[valid]`` with a global ``valid``: its rows), with
    length one along the axes where it does not change."""
    index = user.param_dict.get("index")
    arrays = [a.value for a in user.inputs[1:] if isinstance(a, Const)]
    if user.prim != "getitem" or position != 0 or not isinstance(index, tuple):
        return None
    if not has_arrays(index) or len(arrays) != len(user.inputs) - 1:
        return None
    read = np.zeros(var.aval.shape, dtype=bool)
    read[decode_index(index, tuple(arrays))] = True
    if read.all():
        return None
    for axis in range(read.ndim):
        first = np.take(read, [0], axis=axis)
        if (read == first).all():
            read = first
    return Mask(Const(read), True)


def _masked_product(
    eqn: Eqn, users: Uses, block: Block, found: MaskedBranches, active: set
) -> Product | None:
    """A product whose result lies inside masks data decides, with the operands that data
    may fill with NaNs (not differentiated, not a finite constant), or None."""
    out = eqn.outputs[0]
    branch = _branch_of_uses(out, users.get(out.id, []), block, found)
    if (
        branch is None
        or _is_below(branch, block)
        or not all(
            m.test in NAN_TESTS or _is_decided_by_data(m.condition, found)
            for mask in branch.masks
            for m in mask.chain()
        )
    ):
        return None
    terms = product_terms(eqn.prim, [a.aval.ndim for a in eqn.inputs], eqn.param_dict)
    operands = tuple(k for k, atom in enumerate(eqn.inputs) if not _is_finite_constant(atom))
    if terms is None or not operands:
        return None
    return Product(branch.masks, terms, operands)


def _is_decided_by_data(atom: Atom, found: MaskedBranches) -> bool:
    return not isinstance(atom, Var) or atom.id in found.decided_by_data


def _where_mask(condition: Atom, taken: bool, producer: Callable[[Var], Eqn | None]) -> Mask:
    """The mask of a ``where``'s branch; ``np.where(np.isnan(r), 0.0, r)`` as the test of
    ``r``, the same mask as ``np.nansum(r)``'s."""
    made = producer(condition) if isinstance(condition, Var) else None
    while made is not None and made.prim == "logical_not":  # ~np.isnan(r): the other side
        condition, taken = made.inputs[0], not taken
        made = producer(condition) if isinstance(condition, Var) else None
    if made is not None and made.prim in NAN_TESTS:
        return Mask(made.inputs[0], taken, made.prim)
    return Mask(condition, taken)


def _is_elementwise(eqn: Eqn) -> bool:
    prim = PRIMS.get(eqn.prim)
    return prim is not None and prim.kind in (ELEMENTWISE, PARAMETRIC) and eqn.prim != "where"


def _has_constant_slope(eqn: Eqn, position: int) -> bool:
    """Whether ``eqn`` is linear in its input ``position`` with a constant, finite slope
    (``x / n`` with a zero in the constant ``n`` has an infinite one)."""
    if eqn.prim in LINEAR:
        return True
    if position not in SCALED.get(eqn.prim, ()):
        return False
    others = [a for k, a in enumerate(eqn.inputs) if k != position]
    nonzero = eqn.prim == "divide"
    return all(_is_finite_constant(a, nonzero) for a in others)


def _is_finite_constant(atom: Atom, nonzero: bool = False) -> bool:
    if not isinstance(atom, Const):
        return False
    value = np.asarray(atom.value)
    if value.dtype.kind not in "biuf":
        return False
    return bool(np.isfinite(value).all() and (not nonzero or (value != 0).all()))
