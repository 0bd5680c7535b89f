"""Testing: shrinking a failing program while it keeps failing the same way.

In: a failing ``Program``, a predicate ``still_fails(program) -> bool`` (usually: running it
gives the same status and kind), and a budget of seconds. Out: a program that still fails,
and from which no single edit below removes anything while keeping the failure. Edits, tried
in this order and repeated until none helps:

1. delete one statement (an emptied body gets ``pass``; an emptied ``else`` disappears);
2. replace a compound statement (``if``, ``for``, ``while``, a nested ``def``) by its body or
   its ``else`` block;
3. replace an expression by one of its operands (``np.sin(a + b)`` by ``a + b``, then ``a``),
   drop a keyword argument or one side of ``and``/``or``;
4. drop a parameter of ``f`` together with its argument.

An edit is kept only when it makes the module smaller (fewer AST nodes), so this terminates.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from srcad.testing.program import Program
from srcad.testing.runner import Outcome, run_program

Edit = Callable[[Program, int], Program | None]  # the index-th edit of a kind; None: no more


def minimize(
    program: Program,
    still_fails: Callable[[Program], bool],
    budget_seconds: float = 600.0,
    log: Callable[[str], None] | None = None,
) -> Program:
    """The smallest program found that ``still_fails``."""
    deadline = time.monotonic() + budget_seconds
    current = program
    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        for edit in EDITS:
            current, improved = _apply_all(current, edit, still_fails, deadline)
            if improved and log is not None:
                log(f"{edit.__name__}: {_size(current.source)} nodes")
            changed = changed or improved
    return current


def same_failure(outcome: Outcome, directory: Path, timeout: float) -> Callable[[Program], bool]:
    """A predicate: the program ends with the same status and kind as ``outcome``."""

    def still_fails(candidate: Program) -> bool:
        result = run_program(candidate, directory, timeout)
        return (result.status, result.kind) == (outcome.status, outcome.kind)

    return still_fails


def _apply_all(
    program: Program, edit: Edit, still_fails: Callable[[Program], bool], deadline: float
) -> tuple[Program, bool]:
    """Try the edit at every index in turn, keeping each one that still fails."""
    improved, index = False, 0
    while time.monotonic() < deadline:
        candidate = edit(program, index)
        if candidate is None:
            return program, improved
        if _size(candidate.source) < _size(program.source) and still_fails(candidate):
            program, improved = candidate, True  # the same index now names the next place
        else:
            index += 1
    return program, improved


def _on_tree(apply: Callable[[ast.Module, int], bool]) -> Edit:
    """An edit made by changing the module's syntax tree in place (``apply`` returns False
    when there is no ``index``-th place to change)."""

    def edit(program: Program, index: int) -> Program | None:
        tree = ast.parse(program.source)
        if not apply(tree, index):
            return None
        return program.with_source(_module_text(tree))

    edit.__name__ = apply.__name__
    return edit


def _module_text(tree: ast.Module) -> str:
    """Imports first, then each definition separated by blank lines (as generated)."""
    imports = [ast.unparse(node) for node in tree.body if isinstance(node, ast.Import)]
    parts = [ast.unparse(node) for node in tree.body if not isinstance(node, ast.Import)]
    return "\n".join(imports) + "".join(f"\n\n\n{part}" for part in parts) + "\n"


def _size(source: str) -> int:
    """The number of syntax-tree nodes (a source that does not parse counts as huge)."""
    try:
        return sum(1 for _ in ast.walk(ast.parse(source)))
    except SyntaxError:
        return 1 << 30


# --- edits --------------------------------------------------------------------------------


def _statement_lists(tree: ast.Module) -> Iterator[tuple[ast.AST, str, list]]:
    """Every (node, field, list of statements) below the imports, in a fixed order."""
    for node in ast.walk(tree):
        for field in ("body", "orelse"):
            statements = getattr(node, field, None)
            if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                yield node, field, statements


def delete_statement(tree: ast.Module, index: int) -> bool:
    """Delete the ``index``-th statement (counting through every body)."""
    for node, field, statements in _statement_lists(tree):
        if index < len(statements):
            if isinstance(statements[index], ast.Import):
                return True  # not deleted: the edit is a no-op (and rejected as not smaller)
            del statements[index]
            if not statements and field == "body" and not isinstance(node, ast.Module):
                statements.append(ast.Pass())
            return True
        index -= len(statements)
    return False


def inline_block(tree: ast.Module, index: int) -> bool:
    """Replace a compound statement by its body (even index) or ``else`` (odd index)."""
    place, use_else = divmod(index, 2)
    for _, _, statements in _statement_lists(tree):
        for position, statement in enumerate(statements):
            if not isinstance(statement, ast.If | ast.For | ast.While | ast.FunctionDef):
                continue
            if place == 0:
                replacement = getattr(statement, "orelse", []) if use_else else statement.body
                statements[position : position + 1] = replacement or [ast.Pass()]
                return True
            place -= 1
    return False


def replace_expression(tree: ast.Module, index: int) -> bool:
    """Replace an expression inside a function by one of its operands, or drop a keyword
    argument; the index counts (expression, operand) pairs."""
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if field in ("target", "targets"):
                continue  # an assignment target must stay a target
            children = value if isinstance(value, list) else [value]
            for position, child in enumerate(children):
                if not isinstance(child, ast.expr) or isinstance(parent, ast.arguments):
                    continue
                options = _simpler(child)
                if index < len(options):
                    if isinstance(value, list):
                        value[position] = options[index]
                    else:
                        setattr(parent, field, options[index])
                    return True
                index -= len(options)
    return False


def _simpler(node: ast.expr) -> list[ast.expr]:
    """Expressions that could stand in for ``node``: its operands, and the call without one
    of its keyword arguments."""
    if isinstance(node, ast.Name | ast.Constant | ast.Attribute):
        return []
    options = [child for child in ast.iter_child_nodes(node) if _is_operand(child)]
    if isinstance(node, ast.Call):
        for position in range(len(node.keywords)):
            keywords = node.keywords[:position] + node.keywords[position + 1 :]
            options.append(ast.Call(node.func, node.args, keywords))
    return options


def _is_operand(node: ast.AST) -> bool:
    if not isinstance(node, ast.expr) or isinstance(node, ast.Attribute):
        return False
    return not (isinstance(node, ast.Name) and node.id in ("np", "math"))


def drop_parameter(program: Program, index: int) -> Program | None:
    """``f`` without its ``index``-th parameter, called without that argument."""
    tree = ast.parse(program.source)
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    f = next((node for node in functions if node.name == "f"), None)
    if f is None or index >= len(f.args.args):
        return None
    del f.args.args[index]
    args = program.args[:index] + program.args[index + 1 :]
    return program.with_source(_module_text(tree), args)


EDITS: tuple[Edit, ...] = (
    _on_tree(delete_statement),
    _on_tree(inline_block),
    _on_tree(replace_expression),
    drop_parameter,
)
