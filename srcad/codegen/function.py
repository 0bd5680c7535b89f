"""The generated function around its statements: what it looks like from outside
(``FunctionSpec``), its parameters and docstring, the prologue that reads its inputs, the
aliases and the return statement, and the module text: the imports of the modules its
primitives come from, then the function, with the layout check in front (``layout``) where
the spec names the layout compiled for.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

from srcad.codegen import reuse, select
from srcad.codegen.expressions import literal
from srcad.codegen.layout import checked_function, function_constants
from srcad.codegen.scalar_math import is_scalar_graph, math_lines
from srcad.ir import Atom, Graph, Var
from srcad.ir.prims import NUMPY, PRIMS, import_statement, module_spelling
from srcad.ir.walk import walk_eqns
from srcad.ir.world import (
    AT_LINE,
    AT_LINE_MODULE,
    ONCE_PER_CALL,
    ONCE_PER_CALL_MODULE,
    RUNTIME_CALLEES,
    ArgumentRoot,
    WorldPath,
)
from srcad.pytree import Field

if TYPE_CHECKING:
    from typing import TypeAlias, Unpack

    from srcad.arguments import ArgSignature
    from srcad.codegen.emit import Emitter

    # Where a graph input comes from: ``(param, *keys)`` for a leaf of a parameter, ``(name,
    # default)`` for an extra parameter such as ``dout``, or a place outside the function.
    InputPath: TypeAlias = tuple[str, Unpack[tuple[object, ...]]] | WorldPath

LINE_LENGTH = 100


@dataclass(frozen=True)
class ConstantLeaf:
    """A leaf of a returned tree that is a constant, not an output: the gradient of a
    setting among the parameters (``0`` for ``{"n": 3}``)."""

    value: object


@dataclass(frozen=True)
class FunctionSpec:
    """What the generated function looks like from outside.

    ``input_paths[i]`` says where graph input ``i`` comes from (``InputPath``).
    ``returns`` is a tree whose leaves are indices into the graph's outputs (or constants,
    ``ConstantLeaf``);
    ``output_names`` gives preferred names to outputs (``dw1`` for the gradient of ``w1``), so
    that a gradient shared with another value is returned under its own name.
    """

    name: str
    params: tuple[str, ...]
    input_paths: tuple[InputPath, ...]
    returns: object
    docstring: str
    header: tuple[str, ...]
    output_names: tuple[tuple[int, str], ...] = ()
    compiled_for: ArgSignature | None = None

    @property
    def is_checked(self) -> bool:
        """Whether the module checks the layout of the arguments (``srcad.codegen.layout``)."""
        return self.compiled_for is not None and bool(self.compiled_for.params)

    @property
    def body_name(self) -> str:
        """The function that computes: ``<name>_unchecked`` when the public ``name`` checks
        the layout first, else ``name`` itself."""
        return f"{self.name}_unchecked" if self.is_checked else self.name


def world_roots(graph: Graph, spec: FunctionSpec) -> dict[int, str]:
    """A distinct name for each outside object the code reads from (``main_globals``,
    ``state_cell``), by the object's identity."""
    paths = [p for p in spec.input_paths if isinstance(p, WorldPath)]
    for eqn in walk_eqns(graph.eqns):
        if eqn.prim != "outside_call":
            continue
        callee = eqn.param_dict["callee"]
        if isinstance(callee, WorldPath):
            paths.append(callee)
        paths += _places(eqn.param_dict["arguments"])
    roots: dict[int, str] = {}
    for path in paths:
        if isinstance(path.root, ArgumentRoot):
            continue  # read from its parameter
        if id(path.root) not in roots:
            name, k = path.root_name, 1
            while name in roots.values() or name in spec.params:
                name, k = f"{path.root_name}_{k}", k + 1
            roots[id(path.root)] = name
    return roots


def _places(specs: object) -> list[WorldPath]:
    """The outside objects among an outside call's arguments (``("place", path)``), at any
    depth of their containers."""
    if isinstance(specs, WorldPath):
        return [specs]
    if isinstance(specs, tuple):
        if len(specs) == 2 and specs[0] == "place":
            return _places(specs[1])
        return [path for spec in specs for path in _places(spec)]
    return []


def module_imports(graph: Graph) -> list[str]:
    """The module's imports: NumPy's, then one for each other module whose functions
    ``graph`` calls (``import scipy.special``), in order."""
    statements = {import_statement(module) for module in _modules(graph)} - {""}
    numpy = import_statement(NUMPY)
    return [numpy, *sorted(statements - {numpy})]


def imported_names(graph: Graph) -> set[str]:
    """The names the module's imports bind (``np``, ``scipy``): no value may take them."""
    modules = {module_spelling(module).partition(".")[0] for module in _modules(graph)}
    once = {ONCE_PER_CALL, AT_LINE, *RUNTIME_CALLEES}
    return modules | set(reuse.HELPERS) | set(select.HELPERS) | once


def _modules(graph: Graph) -> set[str]:
    """NumPy and the modules of the primitives ``graph`` calls. A user's function with a
    rule of its own (kind ``custom``) is not imported: it is given to the module."""
    prims = [PRIMS[eqn.prim] for eqn in walk_eqns(graph.eqns)]
    return {NUMPY} | {prim.module for prim in prims if prim.kind != "custom"}


def name_inputs(emitter: Emitter) -> list[str]:
    """Name the graph inputs (after keeping the imported names free); the prologue that
    reads them: leaves of container parameters are unpacked first, then the values read
    from outside the function (globals, closures, attributes)."""
    names, uses, params = emitter.names, emitter.program.uses, emitter.spec.params
    names.taken.update(imported_names(emitter.graph))
    prologue = []
    reads = []
    for var, path in zip(emitter.graph.inputs, emitter.spec.input_paths, strict=True):
        if isinstance(path, WorldPath):
            names.assign_input(var, path.name_hint)
            if uses.get(var.id):
                reads.append(f"{names.name(var)} = {emitter.spelling(path)}")
        elif path[0] not in params:
            names.assign_input(var, path[0])
        elif len(path) == 1:
            names.bind(var, path[0])
        else:
            names.assign_input(var, var.hint)
            if uses.get(var.id):
                access = path[0] + "".join(map(_step, path[1:]))
                prologue.append(f"{names.name(var)} = {access}")
    if reads:
        prologue += [f"# read on every call: values from outside {emitter.graph.name}", *reads]
    return prologue


def parameter_names(emitter: Emitter) -> dict[int, str]:
    """Var id → name of the graph inputs that are parameters of the generated function
    (not leaves of a container, not extras such as ``dout``)."""
    params = emitter.spec.params
    return {
        var.id: path[0]
        for var, path in zip(emitter.graph.inputs, emitter.spec.input_paths, strict=True)
        if not isinstance(path, WorldPath) and len(path) == 1 and path[0] in params
    }


def has_math_body(graph: Graph, spec: FunctionSpec) -> bool:
    """Whether the module gets a body on Python floats with ``math`` (scalar code), tried
    first by the checked function."""
    return spec.compiled_for is not None and spec.is_checked and is_scalar_graph(graph)


def entry_name(graph: Graph, spec: FunctionSpec) -> str:
    """The function srcad calls, after its own layout check: the body, or for scalar code
    the checked function, which tries the math body and falls back to the NumPy one."""
    return spec.name if has_math_body(graph, spec) else spec.body_name


def module_source(emitter: Emitter, prologue: list[str]) -> str:
    """The module: header comments, then the function (after the one that checks the
    layout, where there is one), ``prologue`` first in its body."""
    spec = emitter.spec
    has_math = has_math_body(emitter.graph, spec)
    numpy_seed = not has_math and _divides_numbers(emitter.graph)
    seeds = _numpy_seeds(emitter) if numpy_seed else []  # after the reads of the world
    body = prologue + seeds + emitter.block_lines(emitter.graph.eqns)
    aliases, alias_of_output = _aliases(emitter)
    body += aliases + [_return_line(emitter, alias_of_output)]
    parameters = [*spec.params, *_extra_parameters(emitter, numpy_seed)]
    if spec.compiled_for is not None and spec.is_checked:  # the checks compare functions
        emitter.constants.update(function_constants(spec.compiled_for))
    lines = [*(f"# {line}" for line in spec.header)]
    if emitter.constants:
        lines.append("# Names bound at load time: " + ", ".join(sorted(emitter.constants)))
    body = [piece for line in body for piece in line.split("\n")]
    math_body = math_lines(body) if has_math else []
    imports = module_imports(emitter.graph)
    if any("math." in line for line in math_body) and "import math" not in imports:
        imports = ["import math", "", *imports]  # the standard library's first (isort)
    if emitter.reuses_arrays:
        imports = [*imports, *reuse.import_lines(emitter.reuse_helpers)]
    if emitter.select_helpers:
        imports = [*imports, "", *select.import_line(emitter.select_helpers)]
    if emitter.once_helpers:
        names = ", ".join(sorted(emitter.once_helpers))
        imports = [*imports, "", f"from {ONCE_PER_CALL_MODULE} import {names}"]
    if emitter.reports_lines:
        imports = [*imports, "", f"from {AT_LINE_MODULE} import {AT_LINE}"]
    if any(PRIMS[eqn.prim].output_tree is not None for eqn in walk_eqns(emitter.graph.eqns)):
        imports = [*imports, "", "from srcad.pytree import leaves_of"]  # a rule's tree
    lines += [*imports, "", ""]
    lines += [f"def {spec.body_name}({', '.join(parameters)}):", *_docstring(spec.docstring)]
    lines += [f"    {line}" if line else "" for line in body]
    if has_math:
        lines += ["", "", f"def {spec.name}_math({', '.join(parameters)}):"]
        lines += _docstring(f"{spec.body_name} with math's functions on Python floats.")
        lines += [f"    {line}" if line else "" for line in math_body]
    source = "\n".join(lines) + "\n"
    return _with_checked_function(spec, source, parameters, has_math)


def _with_checked_function(
    spec: FunctionSpec, source: str, parameters: list[str], has_math: bool
) -> str:
    """``source`` with the public function, which checks the layout of its arguments
    before calling the body, in front of the body (none when the spec names no layout)."""
    if spec.compiled_for is None or not spec.is_checked:
        return source
    docstring = f"{spec.docstring} Only for the layout in the header: others raise ValueError."
    checked = checked_function(
        spec.name, parameters, spec.compiled_for, _docstring(docstring), has_math
    )
    body = source.index(f"\ndef {spec.body_name}(") + 1
    return f"{source[:body]}{checked}\n\n{source[body:]}"


# Python raises where NumPy gives inf or nan: 1.0 / 0, 0.0 ** -1.0, 1.0 % 0.0
RAISING_ON_NUMBERS = frozenset({"divide", "floor_divide", "remainder", "fmod", "power"})


def _divides_numbers(graph: Graph) -> bool:
    """Whether a derivative line divides a number by a number computed when the code runs
    (``dt3 = dout / n`` of ``np.sum(...) / n``, ``n = int(mask.sum())``), or raises one to
    such a power."""
    for eqn in walk_eqns(graph.eqns):
        if eqn.role == "primal" or eqn.prim not in RAISING_ON_NUMBERS:
            continue
        if all(atom.aval.shape == () for atom in (*eqn.inputs, *eqn.outputs)):
            # a Python number (a weak value): NumPy's own numbers divide as NumPy does
            if any(_may_be_python_zero(atom) for atom in eqn.inputs[1:]):
                return True
    return False


def _may_be_python_zero(atom: Atom) -> bool:
    """A Python number computed when the code runs, or a zero written in (``dout / 0.0``
    of ``np.sum(x) / n`` with ``n == 0`` fixed)."""
    if isinstance(atom, Var):
        return atom.aval.is_weak
    return isinstance(atom.value, (int, float)) and atom.value == 0


def _extra_parameters(emitter: Emitter, numpy_seed: bool) -> list[str]:
    """``dout=1.0``: the parameters after the user's, with their defaults. ``numpy_seed``: a
    float64 seed is NumPy's ``np.float64(1.0)``, as the value it seeds is (``np.sum(...) / n``),
    so that the derivative lines divide numbers as the forward ones (``_divides_numbers``): a
    Python float raised ZeroDivisionError at ``dout / n`` with ``n == 0``, where the plain
    function gives nan. Code on Python floats keeps ``1.0`` (its math body; its NumPy body
    gets ``np.float64``'s)."""
    extras = []
    for var, path in zip(emitter.graph.inputs, emitter.spec.input_paths, strict=True):
        if not isinstance(path, WorldPath) and path[0] not in emitter.spec.params:
            name, default = emitter.names.name(var), path[-1]  # path is (name, default)
            if numpy_seed and default == "1.0":
                default = "np.float64(1.0)"
            extras.append(name if default is None else f"{name}={default}")
    return extras


def _numpy_seeds(emitter: Emitter) -> list[str]:
    """``s_dot = np.float64(s_dot)`` for each seed a caller gives as a Python float (the
    tangent of ``srcad.jvp``, or grad's in forward mode), where derivative lines divide
    Python numbers (``_divides_numbers``): ``s_dot / s`` of ``np.log(s)`` divides as NumPy
    does (inf at ``s == 0``, dropped by a mask) instead of raising ZeroDivisionError."""
    read_by_primal = {
        atom.id
        for eqn in walk_eqns(emitter.graph.eqns)
        if eqn.role == "primal"
        for atom in eqn.inputs
        if isinstance(atom, Var)
    }
    lines = []
    for var, path in zip(emitter.graph.inputs, emitter.spec.input_paths, strict=True):
        is_seed = not isinstance(path, WorldPath) and var.id not in read_by_primal
        if is_seed and var.aval.shape == () and var.aval.is_weak and var.aval.dtype == "float64":
            name = emitter.names.name(var)
            lines.append(f"{name} = np.float64({name})  # divided as NumPy divides")
    return lines


def _aliases(emitter: Emitter) -> tuple[list[str], dict[int, str]]:
    """``dw1 = dq`` for outputs that are values named after something else; the name each
    such output is returned under."""
    names = emitter.names
    lines = []
    alias_of_output: dict[int, str] = {}
    for index, preferred in emitter.spec.output_names:
        atom = emitter.graph.outputs[index]
        if not isinstance(atom, Var) or atom.id in emitter.inlined:
            continue
        current = names.name(atom)
        if current != preferred and preferred not in names.taken:
            names.taken.add(preferred)
            lines.append(f"{preferred} = {current}")
            alias_of_output[index] = preferred
    return lines, alias_of_output


def _step(key: object) -> str:
    """How code reaches into a container: ``[0]``, ``['W']``, or ``.W`` for a field."""
    return f".{key}" if isinstance(key, Field) else f"[{key!r}]"


def _return_line(emitter: Emitter, alias_of_output: dict[int, str]) -> str:
    returns = emitter.spec.returns

    def spelled(tree: object) -> str:
        return ast.unparse(_tree_expression(emitter, tree, alias_of_output))

    if isinstance(returns, tuple) and len(returns) > 1:
        return "return " + ", ".join(spelled(tree) for tree in returns)
    return "return " + spelled(returns)


def _tree_expression(emitter: Emitter, tree: object, alias_of_output: dict[int, str]) -> ast.expr:
    """The returned tree (tuples, lists, dicts) with each leaf, an output index, spelled."""
    if isinstance(tree, tuple):
        items = [_tree_expression(emitter, t, alias_of_output) for t in tree]
        return ast.Tuple(items, ast.Load())
    if isinstance(tree, list):
        return ast.List([_tree_expression(emitter, t, alias_of_output) for t in tree], ast.Load())
    if isinstance(tree, dict):
        keys: list[ast.expr | None] = [literal(k) for k in tree]
        values = [_tree_expression(emitter, v, alias_of_output) for v in tree.values()]
        return ast.Dict(keys, values)
    if isinstance(tree, ConstantLeaf):
        return literal(tree.value)
    if not isinstance(tree, int):
        raise TypeError(f"a leaf of the returned tree is an output's index, not {tree!r}")
    if tree in alias_of_output:
        return ast.Name(alias_of_output[tree], ast.Load())
    return emitter.operand(emitter.graph.outputs[tree])


def _docstring(text: str) -> list[str]:
    wrapped = textwrap.wrap(f'"""{text}', width=LINE_LENGTH - 12)
    if len(wrapped) == 1:
        return [f'    {wrapped[0]}"""']
    return [f"    {line}" for line in wrapped] + ['    """']
