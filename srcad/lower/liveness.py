"""Which names a function may still read after each of its statements.

Lowering treats ``y[i] = v`` and ``y += v`` as making a new value of ``y``. NumPy writes into
the array, which every other name for it (``z = y``, a slice ``v = y[1:]``) sees too; the two
readings differ only if such another name is read afterwards. This module answers "read
afterwards" with a backward liveness pass over the statements: a name is live after a
statement if some path from there reads it before assigning it again. Loops are iterated to
a fixed point (a name read at the top of the next iteration is live at the end of the body);
names that nested functions read are live everywhere, since the function may run at any
later time. Statements that lowering puts in place of a loop (``break`` as a flag, a copy of
the body) get their own entries from ``live_after`` with the names live after the loop.
"""

from __future__ import annotations

import ast

from srcad.frontend.syntax import nodes


def live_after(
    body: list[ast.stmt],
    live_out: frozenset[str] = frozenset(),
    always: frozenset[str] = frozenset(),
) -> dict[int, frozenset[str]]:
    """For each statement (by ``id``), the names that may be read after it runs. For a part
    of a function: ``live_out``, the names read after ``body``, and ``always``, those that
    the function's nested functions read."""
    analysis = _Liveness(always | read_by_nested_functions(body))
    analysis.block(body, live_out)
    return analysis.after


def read_before_bound(body: list[ast.stmt]) -> frozenset[str]:
    """The names ``body`` may read before binding them (a loop body: ``prev`` of
    ``if i > 0: d = v - prev`` then ``prev = v``, read from the iteration before)."""
    return _Liveness(read_by_nested_functions(body)).block(body, frozenset())


class _Liveness:
    def __init__(self, always: frozenset[str]):
        self.always = always
        self.after: dict[int, frozenset[str]] = {}
        self.loop_exits: list[tuple[frozenset[str], frozenset[str]]] = []  # (after, head)
        # simple statements by id: (names bound, names read), the same on every pass of a loop
        self.simple: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        self.read: dict[int, frozenset[str]] = {}  # reads of other nodes, by id: the same too

    def reads(self, node: ast.AST) -> frozenset[str]:
        """``reads(node)``, worked out once per analysis (loops are passed over again)."""
        found = self.read.get(id(node))
        if found is None:
            found = self.read[id(node)] = reads(node)
        return found

    def block(self, statements: list[ast.stmt], live: frozenset[str]) -> frozenset[str]:
        """The names live before ``statements`` given those live after them."""
        for statement in reversed(statements):
            live = self.statement(statement, live | self.always)
        return live

    def statement(self, node: ast.stmt, live: frozenset[str]) -> frozenset[str]:
        self.after[id(node)] = self.after.get(id(node), frozenset()) | live
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)):  # most: read once
            key = id(node)
            if key not in self.simple:
                self.simple[key] = (assigned(node), self.reads(node))
            bound, read = self.simple[key]
            return (live - bound) | read
        if isinstance(node, ast.If):
            return (
                self.reads(node.test) | self.block(node.body, live) | self.block(node.orelse, live)
            )
        if isinstance(node, (ast.For, ast.While)):
            return self._loop(node, live)
        if isinstance(node, ast.Return):
            return self.reads(node.value) if node.value is not None else frozenset()
        if isinstance(node, (ast.Break, ast.Continue)) and self.loop_exits:
            after_loop, head = self.loop_exits[-1]
            return after_loop if isinstance(node, ast.Break) else head
        if isinstance(node, (ast.FunctionDef, ast.With, ast.Try)):
            return live | self.reads(node)  # nested code: conservatively, everything it reads
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            return live | self.reads(node) | {node.target.id}  # y += v reads y
        return (live - assigned(node)) | self.reads(node)

    def _loop(self, node: ast.For | ast.While, live: frozenset[str]) -> frozenset[str]:
        header = self.reads(node.iter) if isinstance(node, ast.For) else self.reads(node.test)
        target = _assigned_names(node.target) if isinstance(node, ast.For) else frozenset()
        after_loop = self.block(node.orelse, live) | header
        head = after_loop
        while True:  # the body's end flows to the next iteration's head
            self.loop_exits.append((live, head))
            body_start = self.block(node.body, head)
            self.loop_exits.pop()
            new_head = after_loop | header | (body_start - target)
            if new_head == head:
                return head
            head = new_head


def reads(node: ast.AST) -> frozenset[str]:
    """Names ``node`` reads (a subscript assignment ``y[i] = v`` reads ``y``)."""
    return frozenset(
        n.id for n in nodes(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    )


def assigned(node: ast.stmt | None) -> frozenset[str]:
    """Names a statement binds anew (``x = ...``, not ``x[i] = ...`` nor ``x += ...``)."""
    if isinstance(node, ast.Assign):
        return frozenset().union(*(_assigned_names(t) for t in node.targets))
    if isinstance(node, ast.AnnAssign):
        return _assigned_names(node.target)
    return frozenset()


def _assigned_names(target: ast.expr) -> frozenset[str]:
    if isinstance(target, ast.Name):
        return frozenset({target.id})
    if isinstance(target, (ast.Tuple, ast.List)):
        return frozenset().union(*(_assigned_names(e) for e in target.elts))
    if isinstance(target, ast.Starred):
        return _assigned_names(target.value)
    return frozenset()


def read_by_nested_functions(body: list[ast.stmt]) -> frozenset[str]:
    """Names that functions defined in ``body`` read: live everywhere."""
    nested = [
        n
        for statement in body
        for n in nodes(statement)
        if isinstance(n, (ast.FunctionDef, ast.Lambda))
    ]
    return frozenset().union(*(reads(n) for n in nested))
