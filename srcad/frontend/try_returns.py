"""Frontend: a ``return`` at the end of a ``try`` block, an ``except`` handler or an ``else``
block, outside loops, becomes a flag and a value, returned right after the statement.

Gaussian-process code writes ``try: L = cholesky(K) / except LinAlgError: return 1e10``.
The lowering follows ``try`` statements whose blocks run to their end (their branches join
after the statement), so the ``return`` is moved after it, where the ``if`` that returns is
an ordinary early return; a ``finally`` block still runs first, as in Python::

    Before:                                     After:
        try:                                        returned = False
            L = np.linalg.cholesky(K)               try:
        except np.linalg.LinAlgError:                   L = np.linalg.cholesky(K)
            return 1e10                             except np.linalg.LinAlgError:
        ...                                             return_value = 1e10
                                                        returned = True
                                                    if returned:
                                                        return return_value
                                                    ...

Returns elsewhere in the statement (in the middle of a block, in an ``if`` inside it) are
left for the lowering, which says what to write. Loops turn their own returns into flags
(``srcad.lower.jumps``): a ``try`` inside a loop is left as it is.
"""

from __future__ import annotations

import ast

from srcad.frontend.desugar import fresh_name, names_in

LOOPS = (ast.For, ast.While, ast.AsyncFor)
RETURN_VALUE = "return_value"  # the name the moved return's value is kept under
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def move_returns_out_of_try(function: ast.FunctionDef) -> ast.FunctionDef:
    """``function`` (changed in place) with the ``return`` ending a block of a ``try``
    statement outside loops moved after the statement."""
    taken = names_in(function)
    function.body = _block(function.body, taken)
    return function


def _block(statements: list[ast.stmt], taken: set[str]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for node in statements:
        if isinstance(node, (*LOOPS, *SCOPES)):
            out.append(node)
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and not isinstance(node, ast.Try):
                setattr(node, field, _block(block, taken))
        if isinstance(node, ast.Try) and _ends_with_return(node):
            out.extend(_moved(node, taken))
        else:
            out.append(node)
    return out


def _ends_with_return(node: ast.Try) -> bool:
    blocks = [node.body, *(h.body for h in node.handlers), node.orelse]
    return any(block and isinstance(block[-1], ast.Return) for block in blocks)


def _moved(node: ast.Try, taken: set[str]) -> list[ast.stmt]:
    returned = fresh_name("returned", taken)
    result = fresh_name(RETURN_VALUE, taken | {returned})
    taken.update((returned, result))
    always = _always_returns(node)
    body_returns = bool(node.body) and isinstance(node.body[-1], ast.Return)
    for block in [node.body, *(h.body for h in node.handlers), node.orelse]:
        if block and isinstance(block[-1], ast.Return):
            ending = block.pop()
            assert isinstance(ending, ast.Return)
            value = ending.value if ending.value is not None else ast.Constant(None)
            block.append(_at(_assign(result, value), ending))
            if not always:
                block.append(_at(_assign(returned, ast.Constant(True)), ending))
    if body_returns and node.orelse:  # a try block that returned skips its else block
        skip = ast.UnaryOp(ast.Not(), ast.Name(returned, ast.Load()))
        node.orelse = [_at(ast.If(test=skip, body=node.orelse, orelse=[]), node.orelse[0])]
    leave: ast.stmt = ast.Return(value=ast.Name(result, ast.Load()))
    if always:  # every way through the statement returns: return after it
        return [node, _at(leave, node)]
    leave = ast.If(test=ast.Name(returned, ast.Load()), body=[leave], orelse=[])
    return [_at(_assign(returned, ast.Constant(False)), node), node, _at(leave, node)]


def _always_returns(node: ast.Try) -> bool:
    """Whether every way through the statement ends with a ``return`` (the ``try`` block or
    its ``else``, and every handler)."""
    ends = [block and isinstance(block[-1], ast.Return) for block in (node.body, node.orelse)]
    completes = ends[0] or ends[1]
    return bool(completes) and all(
        h.body and isinstance(h.body[-1], ast.Return) for h in node.handlers
    )


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(name, ast.Store())], value=value)


def _at(new: ast.stmt, old: ast.AST) -> ast.stmt:
    for part in ast.walk(new):
        if not hasattr(part, "lineno") or part is new or not getattr(part, "lineno", None):
            ast.copy_location(part, old)
    ast.copy_location(new, old)
    return new
