"""Frontend: a Python function object → its ``ast`` and the scope its names live in.

``parse_function`` reads the function's source with ``inspect``, parses it, moves the line
numbers to where the function sits in its file, strips decorators, and checks that every
construct belongs to the supported subset (``check_supported``). Anything outside the subset
raises ``UnsupportedSyntax`` naming the file, the line and the construct, with a suggested
rewrite. Afterwards the tree is trusted by the lowering stage.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import linecache
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from srcad.errors import ArgumentTypeError, SrcadError, UnsupportedSyntax
from srcad.ir.world import WorldPath


@dataclass(frozen=True)
class ParsedFunction:
    """A user function's syntax tree together with where its names resolve."""

    fn: Callable | None
    node: ast.FunctionDef
    file: str
    globals: dict
    closure: dict
    cells: dict = field(default_factory=dict)  # closure name -> its cell, read every call

    @property
    def name(self) -> str:
        return self.node.name

    def locate(self, name: str, line: int) -> tuple[object, WorldPath | None]:
        """The object a free name refers to, and where it lives outside the function
        (None for the enclosing function's own values and for builtins)."""
        if name in self.cells:
            cell = self.cells[name]
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
    """Parse ``fn`` and check it against the supported subset."""
    code = getattr(fn, "__code__", None)
    if code is None:
        raise _not_a_function(fn)
    file = code.co_filename
    try:
        lines, first_line = inspect.getsourcelines(fn)
    except (OSError, TypeError) as error:
        raise SrcadError(
            f"cannot read the source of {fn.__qualname__} ({error}); define it in a file "
            "or a notebook cell so srcad can read it",
            file,
            code.co_firstlineno,
        ) from None
    tree = ast.parse(textwrap.dedent("".join(lines)))
    ast.increment_lineno(tree, first_line - 1)
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef):
        raise UnsupportedSyntax(
            "only functions defined with 'def' can be differentiated; "
            "rewrite the lambda as a def",
            file,
            first_line,
        )
    node.decorator_list = []
    check_supported(node, file)
    cells = {}
    if fn.__closure__:
        for name, cell in zip(code.co_freevars, fn.__closure__, strict=True):
            try:
                cell.cell_contents  # noqa: B018 - an empty cell: the variable is assigned later
            except ValueError:
                continue
            cells[name] = cell
    return ParsedFunction(fn, node, file, fn.__globals__, {}, cells)


def globals_name(namespace: dict) -> str:
    """How generated code names a module's globals: ``main_globals``, ``loops_globals``."""
    module = str(namespace.get("__name__", "module")).rsplit(".", 1)[-1].strip("_")
    stem = "".join(c if c.isalnum() else "_" for c in module) or "module"
    return f"{stem}_globals"


def _not_a_function(fn: object) -> Exception:
    """The error for a callable without Python source of its own."""
    if not isinstance(fn, functools.partial):
        return ArgumentTypeError(
            f"srcad can differentiate Python functions, not {type(fn).__name__}"
        )
    name = getattr(fn.func, "__name__", "f")
    positional = [repr(value) for value in fn.args]
    keywords = [f"{key}={value!r}" for key, value in fn.keywords.items()]
    try:
        params = [p for p in inspect.signature(fn).parameters if p not in fn.keywords]
    except (TypeError, ValueError):
        params = ["x"]
    call = ", ".join([*positional, *params, *keywords])
    code = getattr(fn.func, "__code__", None)
    return SrcadError(
        f"cannot differentiate functools.partial({', '.join([name, *positional, *keywords])}) "
        f"yet; differentiate a def that fixes the arguments instead: "
        f"'def {name}_fixed({', '.join(params)}): return {name}({call})'",
        code.co_filename if code else None,
        code.co_firstlineno if code else None,
    )


# Constructs rejected outright, with what to do instead.
REJECTED: dict[type, str] = {
    ast.Try: "cannot differentiate through 'try' statements; "
    "move the error handling to the code that calls the function",
    ast.Global: "cannot differentiate through 'global' statements; "
    "pass the value as an argument instead",
    ast.Nonlocal: "cannot differentiate through 'nonlocal' statements; "
    "pass the value as an argument and return the new value",
    ast.ClassDef: "class definitions inside a differentiated function are not supported; "
    "define the class at module level",
    ast.Delete: "'del' is not supported; drop the statement (names go out of scope anyway)",
    ast.AsyncFunctionDef: "async functions cannot be differentiated; use a plain def",
    ast.Await: "async code cannot be differentiated; use plain function calls",
    ast.AsyncFor: "async code cannot be differentiated; use a plain for loop",
    ast.AsyncWith: "async code cannot be differentiated",
    ast.NamedExpr: "the walrus operator ':=' is not supported; use a separate assignment",
    ast.Match: "'match' statements are not supported; use np.where",
}


class _SubsetChecker(ast.NodeVisitor):
    def __init__(self, file: str, root: ast.FunctionDef):
        self.file = file
        self.root = root

    def generic_visit(self, node: ast.AST) -> None:
        if node is not self.root and type(node) in REJECTED:
            line = getattr(node, "lineno", self.root.lineno)
            construct = ast.unparse(node).splitlines()[0]
            quoted = f" (in '{construct[:60]}')" if construct else ""
            raise UnsupportedSyntax(REJECTED[type(node)] + quoted, self.file, line)
        super().generic_visit(node)


def check_supported(node: ast.FunctionDef, file: str) -> None:
    """Raise ``UnsupportedSyntax`` at the first construct outside the supported subset."""
    _SubsetChecker(file, node).visit(node)
