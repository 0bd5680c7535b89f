"""Frontend: a Python function object → its ``ast`` and the scope its names live in.

``parse_function`` reads the function's source, parses it, moves the line numbers to where
the function sits in its file, strips decorators, and checks that every construct belongs
to the supported subset (``check_supported``). Anything outside the subset raises
``UnsupportedSyntax`` naming the file, the line and the construct, with a suggested rewrite.
Afterwards the tree is trusted by the lowering stage.

Functions come as people write them: a ``def`` (its source read with ``inspect``); a
lambda (the ``ast.Lambda`` node in its file whose position matches the code object's, so
that several lambdas on one line, or one inside a call spread over lines, are told apart),
made into a ``def`` named after the variable it is assigned to; a bound method, whose
``self`` is bound outside the call; a ``functools.partial``, whose positional arguments
are. A parameter bound outside the call is not a parameter of the parsed function: its
name resolves, like a closure cell, to a ``Bound`` value read on every call through its
path (``self.W``, ``partial.args[0]``).

    lambda params: loss(params, X)       →  def lambda(params): return loss(params, X)
    model.loss  (def loss(self, x): ...) →  def loss(x): ...   with self bound to model
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import inspect
import keyword
import linecache
import textwrap
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from srcad.errors import ArgumentTypeError, SrcadError, UnsupportedSyntax
from srcad.frontend.desugar import desugar_matches
from srcad.frontend.freshness import check_lambda_matches, check_source_matches
from srcad.frontend.loop_else import else_after_loops
from srcad.frontend.syntax import children, nodes, own_nodes
from srcad.frontend.try_returns import move_returns_out_of_try
from srcad.frontend.unbound import guard_unbound_reads
from srcad.frontend.updates import updated_operand
from srcad.ir.world import WorldPath

LAMBDA = "<lambda>"


@dataclass(frozen=True)
class Bound:
    """A parameter bound outside the call (a method's ``self``, an argument a
    ``functools.partial`` fixes): the value now, and where the generated code reads it."""

    value: object
    path: WorldPath


@dataclass(frozen=True)
class ParsedFunction:
    """A user function's syntax tree together with where its names resolve."""

    fn: Callable | None
    node: ast.FunctionDef
    file: str
    globals: dict
    closure: Mapping  # the enclosing functions' names, for a nested def (EnclosingNames)
    # closure name -> its cell; a parameter bound outside the call -> its Bound value: both
    # read on every call
    cells: dict = field(default_factory=dict)
    has_yields: bool = True  # whether a generator may need desugaring (False: none does)

    @property
    def name(self) -> str:
        return self.node.name

    def locate(self, name: str, line: int) -> tuple[object, WorldPath | None]:
        """The object a free name refers to, and where it lives outside the function
        (None for the enclosing function's own values and for builtins)."""
        if name in self.cells:
            cell = self.cells[name]
            if isinstance(cell, Bound):
                return cell.value, cell.path
            return cell.cell_contents, WorldPath(
                cell, f"{name}_cell", (("attr", "cell_contents"),), name
            )
        if name in self.closure:
            return self.closure[name], None
        if name in self.globals:
            return self.globals[name], WorldPath(
                self.globals, globals_name(self.globals), (("item", name),), name
            )
        if name in vars(builtins):
            return vars(builtins)[name], None
        raise SrcadError(f"name {name!r} is not defined", self.file, line)

    def source_line(self, line: int) -> str:
        return linecache.getline(self.file, line).strip()


def parse_function(fn: Callable) -> ParsedFunction:
    """Parse ``fn`` (a function, lambda, bound method or ``functools.partial``, or a stand-in
    made by ``function_for``) and check it against the supported subset."""
    fn = getattr(fn, "srcad_callable", fn)
    function, bound = unbound(fn)
    code = getattr(function, "__code__", None)
    if code is None or not isinstance(function, types.FunctionType):
        raise _not_a_function(fn)
    definition = getattr(function, "srcad_definition", None)  # made by srcad.lower.transforms
    plain = getattr(function, "srcad_plain_definitions", None)  # srcad.runtime.loader's
    if definition is None and plain is not None:
        definition = plain.definition(code.co_name)
    if definition is not None:
        node = copy.deepcopy(definition)
    elif code.co_name == LAMBDA:
        node, _ = _lambda_definition(function)
    else:
        node = _definition(function)
        check_source_matches(function, node)  # the file may have changed since the import
    node = _without_parameters(node, set(bound))
    if any(isinstance(n, ast.Match) for n in nodes(node)):
        node = desugar_matches(node, code.co_filename)
    yields = check_supported(node, code.co_filename)
    outside_names = written_outside_names(node)  # as checked (a name only written outside)
    node = move_returns_out_of_try(guard_unbound_reads(else_after_loops(node)))
    node.srcad_outside_names = outside_names  # type: ignore[attr-defined]
    cells: dict[str, object] = dict(bound)
    if function.__closure__:
        for name, cell in zip(code.co_freevars, function.__closure__, strict=True):
            try:
                cell.cell_contents  # noqa: B018 - an empty cell: the variable is assigned later
            except ValueError:
                continue
            cells[name] = cell
    return ParsedFunction(
        function, node, code.co_filename, function.__globals__, {}, cells, has_yields=yields
    )


def unbound(fn: Callable) -> tuple[Callable, dict[str, Bound]]:
    """The Python function ``fn`` runs, and its parameters bound outside the call: a bound
    method's first (``self``, ``cls``; a callable object's ``__call__`` is its bound method),
    a ``functools.partial``'s leading positional ones.
    (A partial's keywords stay parameters: the API binds them on every call.)"""
    if isinstance(fn, types.MethodType):
        function, bound = unbound(fn.__func__)
        name = _free_positional(function, bound, fn)[0]
        owner = fn.__self__
        return function, {**bound, name: Bound(owner, WorldPath(owner, name, (), name))}
    if isinstance(fn, functools.partial):
        function, bound = unbound(fn.func)
        names = _free_positional(function, bound, fn)
        if len(fn.args) > len(names):
            raise ArgumentTypeError(
                f"functools.partial gives {len(fn.args)} positional arguments to "
                f"{getattr(function, '__name__', 'a function')}, which takes {len(names)}"
            )
        bound = dict(bound)
        for k, (name, value) in enumerate(zip(names, fn.args, strict=False)):
            path = WorldPath(fn, "partial", (("attr", "args"), ("item", k)), name)
            bound[name] = Bound(value, path)
        return function, bound
    if is_callable_object(fn):  # its __call__, bound to it
        return unbound(types.MethodType(inspect.getattr_static(type(fn), "__call__"), fn))
    return fn, {}


def is_callable_object(fn: object) -> bool:
    """An instance of the user's class with a ``__call__`` written in Python."""
    kind = type(fn)
    is_own = kind.__module__.startswith("srcad.") or hasattr(fn, "srcad_plain_function")
    is_python = isinstance(inspect.getattr_static(kind, "__call__", None), types.FunctionType)
    return is_python and not is_own and not isinstance(fn, (types.FunctionType, type))


def _free_positional(function: Callable, bound: dict, fn: Callable) -> list[str]:
    """The positional parameters of ``function`` not bound yet, in order."""
    code = getattr(function, "__code__", None)
    if code is None:
        raise _not_a_function(fn)
    names = [n for n in code.co_varnames[: code.co_argcount] if n not in bound]
    if not names and code.co_flags & inspect.CO_VARARGS:
        raise ArgumentTypeError(
            f"{getattr(function, '__qualname__', 'the function')} takes its arguments as "
            f"*args (a decorator's wrapper?), and srcad binds the {type(fn).__name__}'s first "
            "one to a named parameter; differentiate a lambda that calls it "
            "(srcad.grad(lambda x: model.loss(x))), or give the wrapper a first parameter"
        )
    if not names:
        raise ArgumentTypeError(
            f"{type(fn).__name__} binds more arguments than "
            f"{getattr(function, '__name__', 'the function')} takes"
        )
    return names


def _definition(fn: types.FunctionType) -> ast.FunctionDef:
    """The ``def`` of ``fn``, decorators stripped."""
    code = fn.__code__
    tree, first_line = _parsed_by_positions(fn), code.co_firstlineno
    if tree is None:
        try:
            lines, first_line = inspect.getsourcelines(fn)
        except (OSError, TypeError) as error:
            raise _no_source(fn, error) from None
        tree = _parsed(lines, first_line)
    node = tree.body[0]
    if isinstance(node, ast.AsyncFunctionDef):
        raise UnsupportedSyntax(
            f"{fn.__qualname__} is a coroutine function (async def), whose calls give an "
            "awaitable, not a value; srcad differentiates plain functions: differentiate the "
            "computation it awaits, written as a plain def",
            code.co_filename,
            first_line,
        )
    if not isinstance(node, ast.FunctionDef):
        raise UnsupportedSyntax(
            f"cannot find the definition of {fn.__qualname__} in its source",
            code.co_filename,
            first_line,
        )
    node.decorator_list = []
    return node


def _parsed(lines: list[str], first_line: int) -> ast.Module:
    # blank lines in front put every node at its line in the file (no renumbering walk)
    text = "".join(lines)
    try:
        return ast.parse("\n" * (first_line - 1) + textwrap.dedent(text))
    except SyntaxError:  # IndentationError: a string with lines at column 0 (no dedent)
        if first_line < 2 or not text[:1].isspace():
            raise
    block = ast.parse("\n" * (first_line - 2) + "if True:\n" + text)  # an indented def as is
    statement = block.body[0]
    assert isinstance(statement, ast.If)
    return ast.Module(statement.body, [])


def _parsed_by_positions(fn: types.FunctionType) -> ast.Module | None:
    """The ``def`` of ``fn`` parsed from its file's lines up to the last line its code (or a
    function nested in it) was compiled from: no tokenizing to find where it ends, as
    ``inspect`` does (a few ms for a long function). None where that does not give the
    ``def`` of ``fn`` (then ``inspect`` finds it)."""
    code = fn.__code__
    linecache.checkcache(code.co_filename)
    lines = linecache.getlines(code.co_filename, fn.__globals__)
    last = _last_line(code)
    if not lines or last is None or last > len(lines):
        return None
    try:
        tree = _parsed(lines[code.co_firstlineno - 1 : last], code.co_firstlineno)
    except SyntaxError:
        return None
    node = tree.body[0] if len(tree.body) == 1 else None
    return tree if isinstance(node, ast.FunctionDef) and node.name == code.co_name else None


def _last_line(code: types.CodeType) -> int | None:
    """The last source line that ``code`` or a code object nested in it was compiled from."""
    ends = [end for _, end, _, _ in code.co_positions() if end is not None]
    ends += [_last_line(c) or 0 for c in code.co_consts if isinstance(c, types.CodeType)]
    return max(ends, default=None)


def _no_source(fn: types.FunctionType, error: object) -> SrcadError:
    return SrcadError(
        f"cannot read the source of {fn.__qualname__} ({error}); define it in a file "
        "or a notebook cell so srcad can read it",
        fn.__code__.co_filename,
        fn.__code__.co_firstlineno,
    )


# --- lambdas ------------------------------------------------------------------------------
def _lambda_definition(fn: types.FunctionType) -> tuple[ast.FunctionDef, str]:
    """A lambda as the ``def`` it stands for (``def lambda(x): return <body>``, named after
    the variable it is assigned to, if any), found by its position in its file."""
    code = fn.__code__
    file = code.co_filename
    linecache.checkcache(file)
    lines = linecache.getlines(file, fn.__globals__)
    if not lines:
        raise _no_source(fn, "no source file")
    try:
        candidates = _lambdas_on_line(file, "".join(lines), code.co_firstlineno)
    except SyntaxError as error:
        raise _no_source(fn, error) from None
    found, name = _matching_lambda(candidates, code)
    check_lambda_matches(fn, found)  # the file may have changed since the import
    node = copy.deepcopy(found)
    body = ast.Return(node.body)
    ast.copy_location(body, node.body)
    definition = ast.FunctionDef(
        name=name, args=node.args, body=[body], decorator_list=[], returns=None
    )
    return ast.copy_location(definition, node), name


def _lambdas_on_line(file: str, text: str, line: int) -> tuple[tuple[ast.Lambda, str], ...]:
    """The lambdas that start on ``line`` of a file with this text, each with the name it
    is assigned to (``objective = lambda p: ...``; else ``lambda``)."""
    return _lambdas_by_line(file, text).get(line, ())


@functools.lru_cache(maxsize=8)
def _lambdas_by_line(file: str, text: str) -> dict[int, tuple[tuple[ast.Lambda, str], ...]]:
    """Every lambda of a file with this text by the line it starts on, found in one walk.
    Cached: a training loop that makes a lambda per step, or a file of many lambdas, finds
    each without walking the file again."""
    names: dict[int, str] = {}
    lambdas: list[ast.Lambda] = []
    for node in nodes(_parsed_file(file, text)):
        if isinstance(node, ast.Lambda):
            lambdas.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Lambda):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) == 1 and isinstance(targets[0], (ast.Name, ast.Attribute)):
                target = targets[0]
                names[id(node.value)] = target.id if isinstance(target, ast.Name) else target.attr
    by_line: dict[int, list[tuple[ast.Lambda, str]]] = {}
    for node in lambdas:
        by_line.setdefault(node.lineno, []).append((node, names.get(id(node), "lambda")))
    return {line: tuple(found) for line, found in by_line.items()}


@functools.lru_cache(maxsize=4)
def _parsed_file(file: str, text: str) -> ast.Module:
    return ast.parse(text, file)


def _matching_lambda(
    candidates: tuple[tuple[ast.Lambda, str], ...], code: types.CodeType
) -> tuple[ast.Lambda, str]:
    """The lambda whose body spans the source positions of ``code``'s instructions (the
    innermost, for a lambda inside another); on Python 3.10, which records no columns, the
    only lambda on the line with these parameters."""
    span = _code_span(code)
    if span is not None:
        start, end = span
        inside = [
            (node, name)
            for node, name in candidates
            if _start(node.body) <= start and end <= _end(node.body)
        ]
        if inside:
            return max(inside, key=lambda found: (_start(found[0].body), _end(found[0].body)))
    parameters = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
    same = [(n, name) for n, name in candidates if _parameters(n.args) == parameters]
    if len(same) == 1:
        return same[0]
    raise SrcadError(
        f"cannot tell which of the {len(same) or 'no'} lambdas on this line is the function "
        "(srcad reads a lambda from its line); assign it to a name with 'def'",
        code.co_filename,
        code.co_firstlineno,
    )


def _code_span(code: types.CodeType) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The first and last source position of ``code``'s instructions: its lambda's body."""
    if not hasattr(code, "co_positions"):
        return None
    starts, ends = [], []
    for line, end_line, column, end_column in code.co_positions():
        if line is None or end_line is None or column is None or end_column is None:
            continue
        if (line, column) != (end_line, end_column):  # (line, line, 0, 0): the function's start
            starts.append((line, column))
            ends.append((end_line, end_column))
    return (min(starts), max(ends)) if starts else None


def _start(node: ast.expr) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _end(node: ast.expr) -> tuple[int, int]:
    return node.end_lineno or node.lineno, node.end_col_offset or 0


def _parameters(arguments: ast.arguments) -> list[str]:
    return [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]


def _without_parameters(node: ast.FunctionDef, names: set[str]) -> ast.FunctionDef:
    """``node`` without the positional parameters ``names`` (bound outside the call), and
    their defaults."""
    if not names:
        return node
    arguments = node.args
    positional = arguments.posonlyargs + arguments.args
    first_default = len(positional) - len(arguments.defaults)
    arguments.defaults = [
        default
        for k, default in enumerate(arguments.defaults)
        if positional[first_default + k].arg not in names
    ]
    arguments.posonlyargs = [a for a in arguments.posonlyargs if a.arg not in names]
    arguments.args = [a for a in arguments.args if a.arg not in names]
    return node


# --- the function the pipeline compiles ---------------------------------------------------
def function_name(fn: Callable) -> str:
    """The name generated code gives ``fn``: its own; a lambda's variable (or ``lambda``);
    the name of the function a bound method or partial calls."""
    function, _ = unbound(fn)
    code = getattr(function, "__code__", None)
    if code is not None and code.co_name == LAMBDA and isinstance(function, types.FunctionType):
        return _lambda_definition(function)[1]
    return str(getattr(function, "__name__", type(fn).__name__))


def root_name(fn: Callable) -> str:
    """How generated code names ``fn`` when it reads from it (a helper's defaults:
    ``act.__defaults__[0]``): ``function_name``, made an identifier (``lambda_``)."""
    name = function_name(fn)
    return f"{name}_" if keyword.iskeyword(name) or not name.isidentifier() else name


def function_for(fn: Callable) -> types.FunctionType:
    """A Python function standing for ``fn`` in the pipeline: ``fn`` itself for a ``def``;
    for a lambda, a bound method or a partial, the function it runs, named for generated
    code (``lambda_grad``, ``objective_grad``), which remembers ``fn`` (``srcad_callable``:
    ``parse_function`` parses ``fn`` with its bound parameters)."""
    if isinstance(fn, types.FunctionType) and fn.__code__.co_name != LAMBDA:
        return fn
    function, _ = unbound(fn)
    if not isinstance(function, types.FunctionType):
        raise _not_a_function(fn)
    name = function_name(fn)
    stand_in = types.FunctionType(
        function.__code__, function.__globals__, name, function.__defaults__, function.__closure__
    )
    stand_in.__qualname__ = function.__qualname__.replace(LAMBDA, "lambda")
    stand_in.__kwdefaults__ = function.__kwdefaults__
    stand_in.srcad_callable = fn  # type: ignore[attr-defined]
    return stand_in


def call_parameters(fun: Callable) -> inspect.Signature:
    """The parameters a call of ``fun`` binds. A decorated function's are its own
    (``wrapper(*args, **kwargs)``, whose body srcad lowers), not those of the function its
    ``functools.wraps`` names, which ``inspect.signature`` gives by default; so are those
    of ``srcad.grad`` of it."""
    wrapped = getattr(fun, "__wrapped__", None)
    if hasattr(fun, "srcad_plain_function") and wrapped is not None:
        return call_parameters(wrapped)  # a transformed function: its function's
    if not callable(fun):
        raise ArgumentTypeError(
            f"srcad differentiates a function: pass the function itself (srcad.grad(loss)), "
            f"not {type(fun).__name__} {fun!r:.40}"
        )
    try:
        return inspect.signature(fun, follow_wrapped=False)  # a method's, an object's __call__
    except ValueError:  # a builtin without a signature (max, functools.reduce)
        raise _not_a_function(fun) from None


def globals_name(namespace: dict) -> str:
    """How generated code names a module's globals: ``main_globals``, ``loops_globals``."""
    module = str(namespace.get("__name__", "module")).rsplit(".", 1)[-1].strip("_")
    stem = "".join(c if c.isalnum() else "_" for c in module) or "module"
    return f"{stem}_globals"


def _not_a_function(fn: object) -> Exception:
    """The error for a callable without Python source of its own."""
    what = type(fn).__name__
    if isinstance(fn, functools.partial):
        what = f"functools.partial of {getattr(fn.func, '__name__', type(fn.func).__name__)}"
    elif isinstance(fn, types.BuiltinFunctionType):
        what = (
            f"the builtin {fn.__name__}, which has no Python source: call it in a function "
            f"of yours (lambda v: {fn.__name__}(v))"
        )
    return ArgumentTypeError(
        f"srcad can differentiate Python functions (def, lambda, methods, functools.partial "
        f"of them, NumPy functions with a derivative rule), not {what}"
    )


# Constructs rejected outright, with what to do instead.
REJECTED: dict[type, str] = {
    ast.TryStar: "'except*' (exception groups) is not supported; catch "
    "np.linalg.LinAlgError with a plain 'except'",
    ast.Global: "cannot differentiate through a 'global' statement of a name the function "
    "assigns and also reads elsewhere (a counter it only updates, 'calls += 1' and no other "
    "read of calls, is written on every call); pass the value as an argument instead",
    ast.Nonlocal: "cannot differentiate through a 'nonlocal' statement of a name the "
    "function assigns and also reads elsewhere (a counter it only updates, 'calls += 1' and "
    "no other read of calls, is written on every call); pass the value as an argument and "
    "return the new value",
    ast.ClassDef: "class definitions inside a differentiated function are not supported; "
    "define the class at module level",
    ast.Delete: "'del' is supported for names that no later statement reads, in the "
    "function's own body (not inside if/for/while/with); drop the statement",
    ast.AsyncFunctionDef: "async functions cannot be differentiated; use a plain def",
    ast.Await: "async code cannot be differentiated; use plain function calls",
    ast.AsyncFor: "async code cannot be differentiated; use a plain for loop",
    ast.AsyncWith: "async code cannot be differentiated",
}


# Expressions whose parts may not all run (or run once): an assignment expression ``:=`` in
# them would bind what srcad evaluates, which is every part. (Of ``a if t else b`` and
# ``a and b``, the test and the first operand always run once.)
CONDITIONAL_EXPRESSIONS = (
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _outside_nested_scopes(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``node`` outside the lambdas and comprehensions it holds."""
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.Lambda, *COMPREHENSIONS)):
            yield child
            yield from _outside_nested_scopes(child)


class _SubsetChecker(ast.NodeVisitor):
    def __init__(self, file: str, root: ast.FunctionDef):
        self.file = file
        self.root = root
        declares = any(isinstance(n, (ast.Global, ast.Nonlocal)) for n in nodes(root))
        self.read_only = (
            _read_only_declarations(root) | _written_only_declarations(root) if declares else set()
        )
        self.unread_deletes = _unread_deletes(root)
        self.yields = False  # whether a ``yield`` was seen (a generator to desugar)
        self.conditional = 0  # how many CONDITIONAL_EXPRESSIONS enclose the node

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            self.yields = True
        if isinstance(node, ast.NamedExpr) and self.conditional:
            raise UnsupportedSyntax(
                "':=' inside a conditional expression, 'and'/'or', a comprehension or a "
                f"lambda is not supported; assign it in a statement before (in "
                f"'{ast.unparse(node)[:60]}')",
                self.file,
                node.lineno,
            )
        if isinstance(node, (ast.IfExp, ast.BoolOp)):  # the test, the first operand: once
            first, *rest = (
                [node.test, node.body, node.orelse] if isinstance(node, ast.IfExp) else node.values
            )
            self.generic_visit(first)
            self.conditional += 1
            for part in rest:
                self.generic_visit(part)
            self.conditional -= 1
            return
        if isinstance(node, COMPREHENSIONS) and self._binds_only_inside(node):
            self._visit_children(node)  # run as the loop it is: its filters, then its item
            return
        if isinstance(node, CONDITIONAL_EXPRESSIONS):
            self.conditional += 1
            self._visit_children(node)
            self.conditional -= 1
            return
        self._visit_children(node)

    def _binds_only_inside(self, node: ast.expr) -> bool:
        """Whether every ``:=`` directly in a comprehension (not in a nested lambda or
        comprehension) binds a name the function uses nowhere else: Python binds it in the
        function's scope, srcad inside the comprehension, which is the same only then."""
        targets = {
            n.target.id for n in _outside_nested_scopes(node) if isinstance(n, ast.NamedExpr)
        }
        if not targets:
            return False
        inside = {id(n) for n in ast.walk(node)}
        elsewhere = {
            n.id for n in ast.walk(self.root) if isinstance(n, ast.Name) and id(n) not in inside
        }
        return not targets & elsewhere

    def _visit_children(self, node: ast.AST) -> None:
        if isinstance(node, (ast.Global, ast.Nonlocal)) and id(node) in self.read_only:
            return  # global CONFIG of a name only read: harmless
        if isinstance(node, ast.Delete) and id(node) in self.unread_deletes:
            return  # del tmp of a name not read again: nothing to follow
        if node is not self.root and type(node) in REJECTED:
            line = getattr(node, "lineno", self.root.lineno)
            construct = ast.unparse(node).splitlines()[0]
            quoted = f" (in '{construct[:60]}')" if construct else ""
            raise UnsupportedSyntax(REJECTED[type(node)] + quoted, self.file, line)
        for child in children(node):  # (no visit_ methods: straight to generic_visit)
            self.generic_visit(child)


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _unread_deletes(root: ast.FunctionDef) -> set[int]:
    """The ids of the ``del a, b`` statements in the function's own body (not nested in a
    block) whose names no later statement reads: deleting them changes nothing srcad
    computes."""
    harmless: set[int] = set()
    for k, statement in enumerate(root.body):
        if not isinstance(statement, ast.Delete):
            continue
        names = [t.id for t in statement.targets if isinstance(t, ast.Name)]
        if len(names) != len(statement.targets):
            continue  # del d[key], del obj.attr
        later = {
            n.id
            for s in root.body[k + 1 :]
            for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        if not later & set(names):
            harmless.add(id(statement))
    return harmless


def _read_only_declarations(root: ast.AST) -> set[int]:
    """The ids of the ``global``/``nonlocal`` statements whose names their function never
    assigns: they change nothing (``global CONFIG`` before reading it)."""
    harmless: set[int] = set()
    for scope in [root, *(n for n in ast.walk(root) if isinstance(n, SCOPES) and n is not root)]:
        own = _own_nodes(scope)
        assigned = {
            n.id for n in own if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
        }
        assigned |= {n.name for n in own if isinstance(n, SCOPES) and not isinstance(n, ast.Lambda)}
        assigned |= {(n.asname or n.name).split(".")[0] for n in own if isinstance(n, ast.alias)}
        for node in own:
            if isinstance(node, (ast.Global, ast.Nonlocal)) and not set(node.names) & assigned:
                harmless.add(id(node))
    return harmless


def written_outside_names(root: ast.FunctionDef) -> frozenset[str]:
    """The names a ``global``/``nonlocal`` statement of the function's own body declares and
    the function only writes, by ``name = value``, ``name += value`` or ``name = name + value``
    and never reads otherwise (``global calls; calls += 1``): the generated code writes them
    on every call (``srcad.lower.outside_writes``). Kept on the tree: asked at every loop."""
    known = getattr(root, "srcad_outside_names", None)
    if known is None:
        known = _written_outside_names(root)
        root.srcad_outside_names = known  # type: ignore[attr-defined]
    return known


def _written_outside_names(root: ast.FunctionDef) -> frozenset[str]:
    own = _own_nodes(root)
    declared = {name for n in own if isinstance(n, (ast.Global, ast.Nonlocal)) for name in n.names}
    if not declared:
        return frozenset()
    simple_targets = {
        id(name)
        for n in own
        if isinstance(n, (ast.Assign, ast.AugAssign))
        for target in (n.targets if isinstance(n, ast.Assign) else [n.target])
        for name in _target_names_in(target)
    }
    simple_targets |= {id(read) for n in own if (read := updated_operand(n)) is not None}
    others = {
        n.id
        for n in ast.walk(root)
        if isinstance(n, ast.Name) and n.id in declared and id(n) not in simple_targets
    }
    inner = {n.name for n in own if isinstance(n, SCOPES) and not isinstance(n, ast.Lambda)}
    return frozenset(declared - others - inner)


def _target_names_in(target: ast.expr) -> list[ast.Name]:
    """The names an assignment target binds: ``a`` and ``b`` of ``a, (b, *c) = ...``."""
    if isinstance(target, ast.Name):
        return [target]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _target_names_in(element)]
    if isinstance(target, ast.Starred):
        return _target_names_in(target.value)
    return []


def _written_only_declarations(root: ast.FunctionDef) -> set[int]:
    """The ids of the ``global``/``nonlocal`` statements all of whose names the function
    only writes (``written_outside_names``)."""
    written = written_outside_names(root)
    return {
        id(node)
        for node in _own_nodes(root)
        if isinstance(node, (ast.Global, ast.Nonlocal)) and set(node.names) <= written
    }


def _own_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes of ``scope``'s own body, not those of the functions and classes in it."""
    return own_nodes(scope, SCOPES)


def check_supported(node: ast.FunctionDef, file: str) -> bool:
    """Raise ``UnsupportedSyntax`` at the first construct outside the supported subset;
    whether ``node`` (or a function in it) yields."""
    checker = _SubsetChecker(file, node)
    checker.visit(node)
    return checker.yields
