"""Locality: a reduction of a large array runs next to the sweep's next pass over that array.

A loss's L2 penalty reads each weight matrix for ``np.vdot(W1, W1)`` in the forward sweep,
and the backward sweep reads it again for the penalty's gradient. Every other array of the
network passes through the cache in between, so both reads come from memory. Computed just
before the second read, the reduction leaves the weights in cache for it; what uses the
reduction's value follows later::

    before                                        after
    out = data_loss + lam * np.vdot(W1, W1)       ...
    ...                                           W1_vdot = np.vdot(W1, W1)
    dW1 = reused.array("dW1", ...)                dW1 = reused.array("dW1", ...)
    np.multiply(2.0 * dt8, W1, out=dW1)           np.multiply(2.0 * dt8, W1, out=dW1)
    add_outer(dW1, x, dt1)                        add_outer(dW1, x, dt1)
    return out, ...                               out = data_loss + lam * W1_vdot
                                                  return out, ...

(784-256-256-10 MLP, one core, the same inputs: batch 1 float32 174 µs a call before, 161
after; batch 32 609 and 560; batch 128 and 1024 unchanged.)

What moves: a top-level equation that reads an array of 256 KB or more and makes a value a
sixteenth of its size or less, or a chain of equations that does (``np.sum(W1 ** 2)``: the
square, then its sum), ending in a reduction. It moves to just before the next top-level
equation that reads the array; the equations in between that use its value, directly or
not, move to just before the first equation after that one that reads what they make (the
end of the function where none does). Large terms of the backward sweep first move to the
sum they are added to, where code generation writes them, so that "next reader" is where
the array is read. Only where every moved equation computes from its inputs alone (no
effect, draw, block or write: ``hoist.may_move``), the later reader does not use the moved
value, nothing the moved equations read is written in place, and no array other than the
function's inputs is kept alive for longer. The value is named after its array
(``W1_vdot``), so that it is computed where it now stands instead of inside its user: an
array without a name of its own (a temporary) keeps its reduction where it is, unless the
user named the reduction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from srcad.ir import AVal, Eqn, Graph, Var
from srcad.ir.builder import rename_vars
from srcad.ir.primitive import REDUCTION
from srcad.ir.prims import PRIMS
from srcad.ir.walk import used_atoms
from srcad.passes.hoist import may_move
from srcad.passes.rewrite import written_vars

MIN_BYTES = 256 * 1024  # smaller arrays stay in a core's cache between the two reads anyway
SHRINK = 16  # a reduction makes at most this fraction of its array's bytes
VECTOR_PRODUCTS = frozenset({"matmul", "dot", "inner"})  # a reduction where they give a number


@dataclass(frozen=True)
class Placement:
    """The reduction ``chain`` (equations ``chain_at``, in order) of ``array`` moves to just
    before the equation at ``reader_at``; ``followers`` (equations between them that use its
    value) move to just before ``followers_at``, the first equation after the reader that
    reads what they make (the end of the block where none does)."""

    array: Var
    chain_at: tuple[int, ...]
    reader_at: int
    followers: tuple[int, ...]
    followers_at: int


def place_reductions_near_reads(graph: Graph) -> Graph:
    """``graph`` with each reduction of a large array next to the array's next reader."""
    written = written_vars(graph)
    eqns = _terms_at_their_sums(graph, written)
    hints: dict[int, str] = {}
    position, placed = 0, False
    while position < len(eqns):
        placement = _placement(Block(eqns, graph, written), position)
        if placement is not None:
            placed = True
            reduction = eqns[placement.chain_at[-1]]
            if not reduction.outputs[0].is_named:
                hints[reduction.outputs[0].id] = f"{placement.array.hint}_{reduction.prim}"
            eqns = _reordered(eqns, placement)
            continue  # an equation that stayed now stands at ``position``
        position += 1
    if not placed:  # the terms moved only to place reductions after them
        return graph
    return rename_vars(replace(graph, eqns=tuple(eqns)), hints)


@dataclass
class Block:
    """The top-level equations in their current order, the graph they belong to, and the
    ids of the values written in place; where each value is read, worked out when asked."""

    eqns: list[Eqn]
    graph: Graph
    written: set[int]
    _readers: dict[int, list[int]] | None = None

    @property
    def readers(self) -> dict[int, list[int]]:
        """Var id -> positions of the equations that read it (inside their blocks too), the
        graph's outputs read after the last equation."""
        if self._readers is None:
            self._readers = _readers(self.eqns, self.graph.outputs)
        return self._readers

    def movable(self, eqn: Eqn) -> bool:
        """Whether ``eqn`` computes from its inputs alone (no block, effect or write), none
        of them written in place."""
        written = self.written
        return may_move(eqn) and not any(isinstance(a, Var) and a.id in written for a in eqn.inputs)

    def is_alive_at(self, atom: object, at: int) -> bool:
        """Whether reading ``atom`` at ``at`` keeps no array alive for longer."""
        if not isinstance(atom, Var) or atom.aval.ndim == 0 or atom in self.graph.inputs:
            return True
        return max(self.readers.get(atom.id, [-1])) >= at


def _terms_at_their_sums(graph: Graph, written: set[int]) -> list[Eqn]:
    """The top-level equations, each large term of the backward sweep (``2.0 * dt * W1``,
    made where the sweep meets the penalty) moved to just before the one equation that reads
    it, where code generation writes it (into the sum: ``srcad.codegen.inlining``). Only
    where that keeps no other array alive for longer."""
    block = Block(list(graph.eqns), graph, written)
    sinks = {}  # position of a term -> position of its reader
    for at, eqn in enumerate(block.eqns):
        if eqn.role != "adjoint" or len(eqn.outputs) != 1 or not _is_large(eqn.outputs[0]):
            continue
        reader_at = block.readers.get(eqn.outputs[0].id, [])
        if len(reader_at) != 1 or reader_at[0] <= at + 1 or not block.movable(eqn):
            continue
        if all(block.is_alive_at(atom, reader_at[0]) for atom in eqn.inputs):
            sinks[at] = reader_at[0]
    sinks = {at: reader for at, reader in sinks.items() if reader not in sinks}
    before: dict[int, list[Eqn]] = {}
    for at, reader in sinks.items():
        before.setdefault(reader, []).append(block.eqns[at])
    return [
        moved_or_kept
        for at, eqn in enumerate(block.eqns)
        if at not in sinks
        for moved_or_kept in (*before.get(at, ()), eqn)
    ]


def _placement(block: Block, start: int) -> Placement | None:
    """Where the reduction that starts at ``block.eqns[start]`` moves, or None where it
    stays."""
    eqns = block.eqns
    array = next((a for a in eqns[start].inputs if isinstance(a, Var) and _is_large(a)), None)
    if array is None or not block.movable(eqns[start]):
        return None
    chain = _reduction_chain(block, start, array)
    if chain is None or not (array.hint or eqns[chain[-1]].outputs[0].is_named):
        return None  # the value is named after its array: ``W1_vdot``
    reader_at = next(
        (k for k in range(chain[-1] + 1, len(eqns)) if _reads(eqns[k], {array.id})), None
    )
    if reader_at is None or not _keeps_lifetimes(block, chain, reader_at):
        return None
    made = {v.id for k in chain for v in eqns[k].outputs}
    followers = []
    for k in range(start + 1, reader_at):
        if k in chain or not _reads(eqns[k], made):
            continue
        if not block.movable(eqns[k]) or _spells_large_reads(block, eqns[k], made):
            return None
        followers.append(k)
        made.update(v.id for v in eqns[k].outputs)
    if _reads(eqns[reader_at], made) or _is_in_place(chain, followers, reader_at):
        return None
    follower_outputs = {v.id for k in followers for v in eqns[k].outputs}
    followers_at = next(
        (k for k in range(reader_at + 1, len(eqns)) if _reads(eqns[k], follower_outputs)),
        len(eqns),
    )
    return Placement(array, tuple(chain), reader_at, tuple(followers), followers_at)


def _reduction_chain(block: Block, start: int, array: Var) -> list[int] | None:
    """Positions of ``eqns[start]`` and the single users that follow it while its value is
    as large as ``array``'s (``W1 ** 2``, then its sum), ending in a reduction; None where
    there is none."""
    limit = _nbytes(array.aval) // SHRINK
    chain = [start]
    while True:
        last = block.eqns[chain[-1]]
        if len(last.outputs) != 1 or _nbytes(last.outputs[0].aval) == 0:
            return None
        if _nbytes(last.outputs[0].aval) <= limit:
            return chain if _is_reduction(last) else None
        users = block.readers.get(last.outputs[0].id, [])
        if (
            len(users) != 1
            or users[0] == len(block.eqns)
            or not block.movable(block.eqns[users[0]])
        ):
            return None
        chain.append(users[0])


def _keeps_lifetimes(block: Block, chain: list[int], reader_at: int) -> bool:
    """Whether the chain, computed just before ``reader_at``, reads only values that are
    alive there anyway (besides its own)."""
    made = {v.id for k in chain for v in block.eqns[k].outputs}
    return all(
        block.is_alive_at(atom, reader_at)
        for k in chain
        for atom in block.eqns[k].inputs
        if not (isinstance(atom, Var) and atom.id in made)
    )


def _spells_large_reads(block: Block, eqn: Eqn, moved: set[int]) -> bool:
    """Whether the expression written for ``eqn`` reads a large array other than an input
    of the function or a ``moved`` value: directly, or through unnamed values read once, which
    code generation spells inside it (``srcad.codegen.inlining``)."""
    for atom in eqn.inputs:
        if not isinstance(atom, Var) or atom in block.graph.inputs or atom.id in moved:
            continue
        if _is_large(atom):
            return True
        readers = block.readers.get(atom.id, [])
        producer = _producer(block.eqns, atom)
        if producer is not None and not atom.is_named and len(readers) == 1:
            if _spells_large_reads(block, producer, moved):
                return True
    return False


def _producer(eqns: list[Eqn], var: Var) -> Eqn | None:
    return next((e for e in eqns if var in e.outputs), None)


def _readers(eqns: list[Eqn], outputs: tuple) -> dict[int, list[int]]:
    readers: dict[int, list[int]] = {}
    for at, eqn in enumerate(eqns):
        for atom in used_atoms([eqn]):
            if isinstance(atom, Var):
                readers.setdefault(atom.id, []).append(at)
    for atom in outputs:
        if isinstance(atom, Var):
            readers.setdefault(atom.id, []).append(len(eqns))
    return readers


def _is_reduction(eqn: Eqn) -> bool:
    """Whether ``eqn`` sums or otherwise reduces its array (a product of two vectors does)."""
    if PRIMS[eqn.prim].kind == REDUCTION or eqn.prim == "vdot":
        return True
    return eqn.prim in VECTOR_PRODUCTS and eqn.outputs[0].aval.ndim == 0


def _is_in_place(chain: list[int], followers: list[int], reader_at: int) -> bool:
    """Whether the moved equations already stand where they would go."""
    return chain == list(range(reader_at - len(chain), reader_at)) and not followers


def _reordered(eqns: list[Eqn], placement: Placement) -> list[Eqn]:
    chain, followers, reader = placement.chain_at, placement.followers, placement.reader_at
    start = chain[0]
    moved = set(chain) | set(followers)
    staying = [eqns[k] for k in range(start, reader) if k not in moved]
    return [
        *eqns[:start],
        *staying,
        *(eqns[k] for k in chain),
        *eqns[reader : placement.followers_at],
        *(eqns[k] for k in followers),
        *eqns[placement.followers_at :],
    ]


def _reads(eqn: Eqn, ids: set[int]) -> bool:
    return any(isinstance(a, Var) and a.id in ids for a in used_atoms([eqn]))


def _is_large(atom: object) -> bool:
    return isinstance(atom, Var) and _nbytes(atom.aval) >= MIN_BYTES


def _nbytes(aval: AVal) -> int:
    """The bytes of an array of ``aval`` (0 for text and objects, which are not arrays)."""
    dtype = np.dtype(aval.dtype)
    return 0 if dtype.kind == "O" else aval.size * dtype.itemsize
