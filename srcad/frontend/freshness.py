"""Frontend: the source srcad read is the code Python runs.

srcad reads a function's source from its file (``linecache``, ``inspect``). A file edited
after its module was imported, and not reloaded (an editor beside a notebook), holds other
code than the function object runs: differentiating it would give the value and gradient of
a function Python does not run, or, with its lines shifted, of the function next to it.
``check_source_matches`` compiles the ``def`` read from the file as Python compiled it (in
its class and enclosing functions, with the module's ``from __future__`` flags) and compares
the bytecode, names and constants with the function's code object; a difference is refused
with what to do (reload the module).

Where the comparison cannot be made exactly, it is skipped rather than guessed: code that
pytest rewrote (its ``assert`` statements), and a ``def`` that does not compile on its own.
"""

from __future__ import annotations
import __future__

import ast
import dis
import os
import types
import weakref
from collections.abc import Callable

from srcad.errors import SrcadError

FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag


def check_source_matches(fn: types.FunctionType, node: ast.FunctionDef) -> None:
    """Raise ``SrcadError`` where the ``def`` ``node`` read from ``fn``'s file does not
    compile to ``fn``'s code (the file changed after the module was imported)."""
    code = fn.__code__
    if "@py_builtins" in fn.__globals__ and any(isinstance(n, ast.Assert) for n in ast.walk(node)):
        return  # pytest rewrote its asserts: the file's text is not what was compiled
    if node.name != code.co_name:  # the lines shifted: another function's def is there
        _refuse(fn, "")
    _check(fn, lambda: _compiled(fn, node), "")


def check_lambda_matches(fn: types.FunctionType, node: ast.Lambda) -> None:
    """``check_source_matches`` for a lambda found by its position in its file."""
    statement = ast.copy_location(ast.Expr(node), node)
    _check(fn, lambda: _compiled_in_scopes(fn, statement), "the lambda ")


# code object -> the (mtime, size) of its file when its source was found to match it
_CHECKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _check(fn: types.FunctionType, compile_source: Callable, what: str) -> None:
    """Compare the code ``compile_source`` gives with ``fn``'s, once per version of the
    file (checked again when it changes); refuse where they differ."""
    code = fn.__code__
    stamp = _file_stamp(code.co_filename)
    if stamp is not None and _CHECKED.get(code) == stamp:
        return  # this code, against this version of its file: checked already
    compiled = compile_source()
    if compiled is not None and not _same_code(compiled, code):
        _refuse(fn, what)
    if stamp is not None:
        _CHECKED[code] = stamp


def _refuse(fn: types.FunctionType, what: str) -> None:
    raise SrcadError(
        f"the source of {what}{fn.__qualname__} in its file is not the code Python runs: the "
        "file changed after its module was imported. Reload the module "
        "(importlib.reload(module), or IPython's %autoreload) or restart, so that srcad "
        "differentiates the code you run",
        fn.__code__.co_filename,
        fn.__code__.co_firstlineno,
    )


def _file_stamp(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None  # a notebook cell, a string: checked every time
    return (status.st_mtime_ns, status.st_size)


def _compiled(fn: types.FunctionType, node: ast.FunctionDef) -> types.CodeType | None:
    """``node`` compiled in scaffolding that gives it ``fn``'s scopes: the classes and
    functions of its qualified name, the enclosing functions binding its free variables."""
    definition = ast.FunctionDef(
        name=node.name,
        args=node.args,
        body=node.body,
        decorator_list=[],
        returns=node.returns,
        type_comment=None,
    )
    ast.copy_location(definition, node)
    return _compiled_in_scopes(fn, definition)


def _compiled_in_scopes(fn: types.FunctionType, definition: ast.stmt) -> types.CodeType | None:
    """``definition`` (a ``def``, or a lambda's expression) compiled in ``fn``'s scopes."""
    scopes = fn.__qualname__.split(".")[:-1]
    free = [name for name in fn.__code__.co_freevars if name != "__class__"]
    inner: ast.stmt = definition
    is_innermost_function = True
    for k in range(len(scopes) - 1, -1, -1):
        part = scopes[k]
        if part == "<locals>":
            continue
        is_function = k + 1 < len(scopes) and scopes[k + 1] == "<locals>"
        if is_function:
            body: list[ast.stmt] = [inner]
            if is_innermost_function and free:
                body = [_bind_none(free), inner]
            is_innermost_function = False
            inner = _function(part if part.isidentifier() else "enclosing", body)
        else:
            inner = ast.ClassDef(part, [], [], [inner], [])
    if free and is_innermost_function:  # a closure of a function srcad cannot name
        inner = _function("enclosing", [_bind_none(free), inner])
    module = ast.fix_missing_locations(ast.Module([*_imports(fn), inner], []))
    try:
        top = compile(
            module,
            fn.__code__.co_filename,
            "exec",
            flags=fn.__code__.co_flags & FUTURE_FLAGS,
            dont_inherit=True,
        )
    except (SyntaxError, ValueError, TypeError):
        return None
    return _find(top, fn.__code__.co_name, fn.__code__.co_qualname)


def _imports(fn: types.FunctionType) -> list[ast.stmt]:
    """``import sys as np`` for each module the code names: Python compiles a method call on
    a name an import bound otherwise (``LOAD_ATTR``, not ``LOAD_METHOD``)."""
    names: set[str] = set()
    pending = [fn.__code__]
    while pending:
        code = pending.pop()
        names.update(code.co_names)
        pending.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    modules = sorted(n for n in names if isinstance(fn.__globals__.get(n), types.ModuleType))
    return [ast.Import([ast.alias("sys", name)]) for name in modules]


def _bind_none(names: list[str]) -> ast.stmt:
    targets: list[ast.expr] = [ast.Name(name, ast.Store()) for name in names]
    return ast.Assign(targets=targets, value=ast.Constant(None))


def _function(name: str, body: list[ast.stmt]) -> ast.FunctionDef:
    arguments = ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
    )
    return ast.FunctionDef(name, arguments, body, [], None, None)


def _find(code: types.CodeType, name: str, qualname: str) -> types.CodeType | None:
    """The code object named ``name`` (``qualname`` where several are) in ``code``."""
    found = []
    pending = [code]
    while pending:
        current = pending.pop()
        for const in current.co_consts:
            if isinstance(const, types.CodeType):
                if const.co_name == name:
                    found.append(const)
                pending.append(const)
    exact = [c for c in found if c.co_qualname == qualname]
    candidates = exact or found
    return candidates[0] if candidates else None


def _same_code(a: types.CodeType, b: types.CodeType) -> bool:
    """Whether two code objects run the same operations on the same names and constants
    (line numbers aside, the variants one compile context picks over another: a method call
    as ``LOAD_METHOD`` or ``LOAD_ATTR``, jump offsets; and what only dead code after a
    ``return`` leaves in the tables of names and constants)."""
    if a.co_code == b.co_code and a.co_consts == b.co_consts and a.co_names == b.co_names:
        return a.co_varnames == b.co_varnames and a.co_freevars == b.co_freevars
    if _operations(a) != _operations(b):
        return False
    nested_a = [c for c in a.co_consts if isinstance(c, types.CodeType)]
    nested_b = [c for c in b.co_consts if isinstance(c, types.CodeType)]
    return len(nested_a) == len(nested_b) and all(map(_same_code, nested_a, nested_b))


SAME_OPERATION = {"LOAD_METHOD": "LOAD_ATTR"}
NOT_OPERATIONS = {"CACHE", "NOP", "RESUME", "EXTENDED_ARG", "PRECALL", "PUSH_NULL"}
JUMPS = set(dis.hasjrel) | set(dis.hasjabs)


def _argument(instruction: dis.Instruction) -> str:
    """What an instruction acts on, comparably: not a jump's target, nor a nested code
    object's address (``_same_code`` compares those through the constants)."""
    if instruction.opcode in JUMPS:
        return ""
    value = instruction.argval
    if isinstance(value, types.CodeType):
        return f"code {value.co_name}"
    if isinstance(value, frozenset):  # its order depends on the hash seed of the compile
        return f"frozenset {sorted(map(repr, value))}"
    return f"{type(value).__name__} {value!r}"


def _operations(code: types.CodeType) -> list[tuple[str, str]]:
    """The operations of ``code`` with what they act on (a name, a constant), not where
    they jump."""
    return [
        (
            SAME_OPERATION.get(instruction.opname, instruction.opname),
            _argument(instruction),
        )
        for instruction in dis.get_instructions(code)
        if instruction.opname not in NOT_OPERATIONS
    ]
