"""The numba variant of a generated module's source, and where a line of it came from.

Comes in: the NumPy source of a generated module (``srcad.codegen``) and the name of its
body function (``<f>_grad_unchecked``). Goes out: the source numba compiles, in which

- the body's statements are kept as they are, with their comments (``# line 5: ...``), so
  that an error numba reports at a line can be traced back to the user's line;
- the body is split when it must be: what numba cannot take stays in a Python function of
  the body's name (reading values from outside the function, ``C = main_globals['C']``;
  unpacking containers, ``W1 = params[0][0]``; building a dict or another container of
  the results), and the rest becomes ``<body>_core``, compiled with ``numba.njit``;
- a loop's tape made empty again while it still is stays the one list
  (``numba_tapes``: numba could not type the second);
- constructs numba has no typing for are rewritten in place: ``reversed(range(n))`` becomes
  ``range(n - 1, -1, -1)`` and ``np.stack([a, b])`` ``np.stack((a, b))`` (more in
  ``numba_spellings``: ``np.vdot(W, V)`` becomes ``vdot_values(W, V)``).

Example (a function reading a global ``C``)::

    def f_grad_unchecked(x, dout=1.0):            def f_grad_unchecked(x, dout=1.0):
        # read on every call: values ...              # read on every call: values ...
        C = main_globals['C']              -->        C = main_globals['C']
        out = (x * C).sum()                           return f_grad_unchecked_core(x, dout, C)
        dx = dout * C
        return out, dx                            @numba.njit(cache=True, ...)
                                                  def f_grad_unchecked_core(x, dout, C):
                                                      out = (x * C).sum()
                                                      dx = dout * C
                                                      return out, dx

The checked function in front of the body and the ``math`` body of scalar code are left
out: srcad checks the layout before it calls the variant.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TypeGuard

from srcad.backends import (
    numba_einsum,
    numba_fusion,
    numba_numpy_loops,
    numba_reuse,
    numba_spellings,
    numba_tapes,
)
from srcad.backends.numba_reductions import helper_lines, respelled_reductions
from srcad.backends.numba_reuse import docstring_end, pooled_arrays_first
from srcad.codegen import select
from srcad.codegen.quiet import without_ignoring_blocks

# The options every compiled body gets: NumPy's results for a division by zero (inf, nan)
# rather than ZeroDivisionError, and IndexError for an index out of bounds, as NumPy.
NJIT_OPTIONS = 'cache=True, error_model="numpy", boundscheck=True'
HEADER = "# numba variant of the module below: srcad.source(g) shows the NumPy code it runs."
# A comment naming the user's line: ``# line 5: ...``, ``# forward  (line 4: ...)``,
# ``# backward  (line 4 in helper: ...)``.
SOURCE_COMMENT = re.compile(r"^#\s*(?:forward|backward)?\s*\(?line (\d+)( in [\w.]+)?: (.*?)\)?$")


# np.array(rows) of a list of equally shaped arrays (a tape of loop values to be multiplied
# after the loop), which numba's np.array does not take
STACK_HELPER = [
    "",
    "",
    f"@numba.njit({NJIT_OPTIONS})",
    "def stack_rows(rows):",
    '    """np.array(rows) for a list of arrays of one shape."""',
    "    stacked = np.empty((len(rows),) + rows[0].shape, rows[0].dtype)",
    "    for k in range(len(rows)):",
    "        stacked[k] = rows[k]",
    "    return stacked",
]


@dataclass(frozen=True)
class _Edit:
    """Replace the text of ``line`` (1-based) between columns ``start`` and ``end``."""

    line: int
    start: int
    end: int
    text: str


def _refuse_formatted_values(source: str, body_name: str) -> None:
    """An f-string of a value (``print(f"loss {s}")``): numba formats it as
    ``<object type:float64>``, where its own refusal of a format spec would send the call to
    the NumPy code; a ValueError does so for any (``NumbaBackend``'s first run)."""
    tree = ast.parse(source)
    body = _function(tree, body_name)
    if any(isinstance(node, ast.FormattedValue) for node in ast.walk(body)):
        raise ValueError(
            "an f-string formats a value, which numba's code prints otherwise than Python "
            "(<object type:float64>)"
        )


def numba_source(
    source: str,
    body_name: str,
    float_params: frozenset[str] = frozenset(),
    single: bool = False,
    function_params: frozenset[str] = frozenset(),
) -> str:
    """The source numba compiles for the generated module ``source`` whose body function is
    ``body_name``; its entry point keeps that name (see the module docstring).
    ``float_params``: the parameters that are Python floats (their ``np.zeros_like`` is 0.0).
    ``function_params``: the parameters that hold functions (``act=np.tanh``), which the
    code has inlined and numba cannot take: the core goes without them.
    ``single``: every float array the code gets is float32; its float literals are spelled
    ``np.float32(2.0)``, as NumPy treats a Python float next to float32 values (numba would
    compute in float64, and refuse ``@`` of a float64 and a float32 array)."""
    _refuse_formatted_values(source, body_name)
    source = without_ignoring_blocks(source, body_name)  # numba does not warn
    source, fused = numba_fusion.fused_weight_gradients(source, body_name)
    source, in_place = pooled_arrays_first(source, body_name)
    source, reductions = respelled_reductions(source, body_name)
    source, spelled = numba_spellings.respelled_spellings(source, body_name)
    source, einsums = numba_einsum.respelled_einsums(source, body_name)
    source, numpy_loops = numba_numpy_loops.respelled_ufuncs(source, body_name)
    source = numba_tapes.one_list_per_tape(source, body_name)
    tree = ast.parse(source)
    body = _function(tree, body_name)
    stacks = _stacked_lists(body)
    edits = [
        *_reversed_ranges(body),
        *_float_zeros(body, float_params),
        *stacks,
        *_joined_tuples(body),
        *(_single_literals(body) if single else []),
    ]
    lines = _edited(source.splitlines(), edits)
    statements = _statements(body)
    prologue = _prologue(statements)
    returned = _returned_container(statements[len(prologue) :])
    if prologue or returned is not None or function_params & {a.arg for a in body.args.args}:
        function = _split(body, lines, prologue, returned)
    else:
        function = [f"@numba.njit({NJIT_OPTIONS})", *_text(lines, body.lineno, body.end_lineno)]
    helpers = [
        *(STACK_HELPER if stacks else []),
        *helper_lines(reductions, NJIT_OPTIONS),
        *numba_einsum.helper_lines(einsums, NJIT_OPTIONS),
        *numba_reuse.helper_lines(in_place),
        *numba_fusion.helper_lines(fused),
    ]
    imported = numba_numpy_loops.import_line(numpy_loops) + numba_spellings.import_line(spelled)
    head = _module_head(tree, lines, imported)
    return "\n".join([*head, *function, *helpers]) + "\n"


def _split(
    body: ast.FunctionDef, lines: list[str], prologue: list[ast.stmt], returned: ast.Return | None
) -> list[str]:
    """The body as a Python function that runs ``prologue``, calls the compiled core with
    what it read and builds the ``returned`` container, and the core, which does the rest."""
    core_name = f"{body.name}_core"
    rest = _statements(body)[len(prologue) :]
    core_params = _core_parameters(body, prologue, rest)
    split = prologue[-1].end_lineno if prologue else docstring_end(body)
    assert split is not None
    wrapper = _text(lines, body.lineno, split)
    call = f"{core_name}({', '.join(core_params)})"
    core_lines = _text(lines, split + 1, body.end_lineno)
    if returned is None:
        wrapper.append(f"    return {call}")
    else:
        assert returned.value is not None
        results = ", ".join(_results_made_in(rest[:-1], returned.value, core_params))
        wrapper.append(f"    {results}, = {call}" if results else f"    {call}")
        wrapper += _text(lines, returned.lineno, returned.end_lineno)
        core_lines = _text(lines, split + 1, returned.lineno - 1)
        core_lines.append(f"    return {results}," if results else "    return None")
    while core_lines and not core_lines[0].strip():
        core_lines.pop(0)
    core = [f"@numba.njit({NJIT_OPTIONS})", f"def {core_name}({', '.join(core_params)}):"]
    return [*wrapper, "", "", *core, *core_lines]


def _returned_container(rest: list[ast.stmt]) -> ast.Return | None:
    """The final return statement when it builds something numba would give back as its own
    type (a dict, a list) or calls something, and is the only return; else None."""
    if not rest or not isinstance(rest[-1], ast.Return) or rest[-1].value is None:
        return None
    returns = [node for s in rest for node in ast.walk(s) if isinstance(node, ast.Return)]
    plain = (ast.Tuple, ast.Name, ast.Load)
    if len(returns) > 1 or all(isinstance(node, plain) for node in ast.walk(rest[-1].value)):
        return None
    return rest[-1]


def source_line(source: str, line: int) -> tuple[str, str | None]:
    """The text of ``line`` of ``source`` and the user's line it was generated from, as the
    nearest comment above it says (``line 5: h = np.tanh(W @ h)``), or None."""
    lines = source.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    for above in reversed(lines[: max(line, 0)]):
        match = SOURCE_COMMENT.match(above.strip())
        if match:
            return text, f"line {match.group(1)}{match.group(2) or ''}: {match.group(3)}"
    return text, None


def _function(tree: ast.Module, name: str) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise ValueError(f"the generated module has no function {name!r}")


def _module_head(tree: ast.Module, lines: list[str], imported: list[str]) -> list[str]:
    """The header comments and imports (everything before the first function), with numba
    and the lines ``imported`` imported and a line saying what the module is."""
    first = min(node.lineno for node in tree.body if isinstance(node, ast.FunctionDef))
    runtime_select = f"from {select.RUNTIME} import "  # respelled: where_values instead
    head = [line for line in lines[: first - 1] if line.strip()]
    head = [line for line in head if not line.startswith(runtime_select)]
    imports = [k for k, line in enumerate(head) if line.startswith(("import ", "from "))]
    at = imports[-1] + 1 if imports else len(head)
    return [HEADER, *head[:at], "import numba", *imported, *head[at:], "", ""]


def _text(lines: list[str], first: int, last: int | None) -> list[str]:
    return lines[first - 1 : last]


def _statements(body: ast.FunctionDef) -> list[ast.stmt]:
    """The body's statements after its docstring."""
    first = body.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        return body.body[1:]
    return list(body.body)


def _prologue(statements: list[ast.stmt]) -> list[ast.stmt]:
    """The leading statements that only read (``W1 = params[0][0]``, ``C = main_globals['C']``,
    ``w = self.w``): names bound to subscripts and attributes of names, no calls."""
    prologue = []
    for statement in statements[:-1]:
        if not _is_read(statement):
            break
        prologue.append(statement)
    return prologue


def _is_read(statement: ast.stmt) -> bool:
    if numba_reuse.is_pool_statement(statement):
        return True  # an array from the pool, which the wrapper passes to the core
    if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
        return False
    if not isinstance(statement.targets[0], ast.Name):
        return False
    value = statement.value
    if not isinstance(value, (ast.Subscript, ast.Attribute)):
        return False
    allowed = (ast.Subscript, ast.Attribute, ast.Name, ast.Constant, ast.Load)
    return all(isinstance(node, allowed) for node in ast.walk(value))


def _result_names(value: ast.expr) -> list[str]:
    """The names the return expression reads, in order, each once."""
    names: list[str] = []
    for node in ast.walk(value):
        if isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
    return names


def _results_made_in(core: list[ast.stmt], value: ast.expr, params: list[str]) -> list[str]:
    """The names the return expression reads that the wrapper does not hold already: not a
    parameter of the core that the core never binds (a pooled gradient written in place
    comes back through the wrapper's own name, which saves numba boxing it again)."""
    bound = {name for statement in core for name in _bound_names(statement)}
    held = set(params) - bound
    return [name for name in _result_names(value) if name not in held]


def _bound_names(statement: ast.stmt) -> set[str]:
    return {
        node.id
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del))
    }


def _core_parameters(
    body: ast.FunctionDef, prologue: list[ast.stmt], rest: list[ast.stmt]
) -> list[str]:
    """The parameters of the compiled core: the body's parameters and the prologue's names
    that the rest of the body reads, in that order."""
    read = {
        node.id
        for statement in rest
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    params = [arg.arg for arg in body.args.args]
    bound = [name for s in prologue for name in _targets(s)]
    return [name for name in [*params, *bound] if name in read]


def _targets(statement: ast.stmt) -> list[str]:
    assert isinstance(statement, ast.Assign)
    return [t.id for t in statement.targets if isinstance(t, ast.Name)]


def _reversed_ranges(body: ast.FunctionDef) -> list[_Edit]:
    """``reversed(range(n))`` → ``range(n - 1, -1, -1)``, ``reversed(range(a, b))`` →
    ``range(b - 1, a - 1, -1)`` and ``reversed(range(a, b, s))`` → ``range(a + (len(range(a,
    b, s)) - 1) * s, a - s, -s)`` (its last element down to ``a``; empty where the range
    is), for calls on one line."""
    edits = []
    for node in ast.walk(body):
        if not (_is_call(node, "reversed") and len(node.args) == 1):
            continue
        inner = node.args[0]
        if not (_is_call(inner, "range") and len(inner.args) in (1, 2, 3)):
            continue
        if node.lineno != node.end_lineno or node.end_col_offset is None:
            continue
        if len(inner.args) == 1:
            text = f"range({_operand(inner.args[0])} - 1, -1, -1)"
        elif len(inner.args) == 2:
            start, stop = (_operand(arg) for arg in inner.args)
            text = f"range({stop} - 1, {start} - 1, -1)"
        else:
            start, stop, step = (_operand(arg) for arg in inner.args)
            last = f"{start} + (len(range({start}, {stop}, {step})) - 1) * {step}"
            text = f"range({last}, {start} - {step}, -{step})"
        edits.append(_Edit(node.lineno, node.col_offset, node.end_col_offset, text))
    return edits


def _operand(node: ast.expr) -> str:
    """``node`` as the left operand of ``- 1``: in parentheses unless it binds tighter."""
    text = ast.unparse(node)
    simple = (ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.Constant)
    return text if isinstance(node, simple) else f"({text})"


def _float_zeros(body: ast.FunctionDef, float_params: frozenset[str]) -> list[_Edit]:
    """``np.zeros_like(y)`` → ``0.0`` for a parameter ``y`` that is a Python float and that
    the body never assigns, and ``np.zeros_like(t)[()]`` for any other name: NumPy makes a
    0-d array of a number, with which numba cannot unify a number accumulated into it later
    (``[()]`` is the number in a 0-d array, and a whole array otherwise)."""
    assigned = {
        node.id
        for node in ast.walk(body)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    edits = []
    for node in ast.walk(body):
        if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "np.zeros_like"):
            continue
        if node.keywords or len(node.args) != 1 or node.lineno != node.end_lineno:
            continue
        name = node.args[0]
        if not isinstance(name, ast.Name) or node.end_col_offset is None:
            continue
        zero = "0.0" if name.id in float_params - assigned else f"np.zeros_like({name.id})[()]"
        edits.append(_Edit(node.lineno, node.col_offset, node.end_col_offset, zero))
    return edits


def _stacked_lists(body: ast.FunctionDef) -> list[_Edit]:
    """``np.array(rows)`` → ``stack_rows(rows)`` for a list ``rows`` the body starts empty
    (``rows = []``) and appends arrays to (not numbers: numba's np.array takes those)."""
    empty = {
        target.id
        for node in ast.walk(body)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List) and not node.value.elts
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    edits = []
    for node in ast.walk(body):
        if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "np.array"):
            continue
        if node.keywords or len(node.args) != 1 or node.lineno != node.end_lineno:
            continue
        rows = node.args[0]
        if isinstance(rows, ast.Name) and rows.id in empty:
            assert node.end_col_offset is not None
            edits.append(
                _Edit(node.lineno, node.col_offset, node.end_col_offset, f"stack_rows({rows.id})")
            )
    return edits


# NumPy functions joining a sequence of arrays, which numba takes as a tuple, not a list
# (and numba_spellings' stack_items, its np.stack that takes numbers too)
JOINS = {f"np.{name}" for name in ("stack", "concatenate", "hstack", "vstack", "column_stack")}
JOINS |= {"stack_items"}


def _joined_tuples(body: ast.FunctionDef) -> list[_Edit]:
    """``np.stack([a, b])`` → ``np.stack((a, b))`` (and the other joins): the brackets of a
    list written in the call become parentheses (a single item gets its comma)."""
    edits = []
    for node in ast.walk(body):
        if not (isinstance(node, ast.Call) and ast.unparse(node.func) in JOINS and node.args):
            continue
        items = node.args[0]
        if not isinstance(items, ast.List) or not items.elts or items.end_col_offset is None:
            continue
        close = ",)" if len(items.elts) == 1 else ")"
        end = items.end_col_offset
        edits.append(_Edit(items.lineno, items.col_offset, items.col_offset + 1, "("))
        edits.append(_Edit(items.end_lineno or items.lineno, end - 1, end, close))
    return edits


FLOAT64_CASTS = ("np.float64", "np.double", "numpy.float64", "numpy.double")


def _single_literals(body: ast.FunctionDef) -> list[_Edit]:
    """``2.0`` → ``np.float32(2.0)`` for each float literal of the body's statements."""
    edits = []
    for statement in body.body:
        cast = {  # np.float64(0.1): a float64 the user asked for, left as it is
            id(argument)
            for node in ast.walk(statement)
            if isinstance(node, ast.Call) and ast.unparse(node.func) in FLOAT64_CASTS
            for argument in node.args
        }
        for node in ast.walk(statement):
            if not (isinstance(node, ast.Constant) and type(node.value) is float):
                continue
            if node.end_col_offset is None or node.lineno != node.end_lineno or id(node) in cast:
                continue
            text = f"np.float32({_float_text(node.value)})"
            edits.append(_Edit(node.lineno, node.col_offset, node.end_col_offset, text))
    return edits


def _float_text(value: float) -> str:
    """A float as Python source: ``inf`` and ``nan`` as NumPy's names (repr gives ``inf``,
    which the generated module does not define)."""
    if value != value:
        return "np.nan"
    if value in (float("inf"), float("-inf")):
        return "np.inf" if value > 0 else "-np.inf"
    return repr(value)


def _is_call(node: ast.AST, name: str) -> TypeGuard[ast.Call]:
    """Whether ``node`` calls the builtin ``name`` with positional arguments only."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == name
        and not node.keywords
    )


def _edited(lines: list[str], edits: list[_Edit]) -> list[str]:
    """``lines`` with ``edits`` applied, right to left within a line so columns hold."""
    lines = list(lines)
    for edit in sorted(edits, key=lambda e: (e.line, -e.start)):
        line = lines[edit.line - 1].encode()  # ast columns count UTF-8 bytes
        lines[edit.line - 1] = (line[: edit.start] + edit.text.encode() + line[edit.end :]).decode()
    return lines
