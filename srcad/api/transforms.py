"""The rest of the transformation family: ``jvp``, ``vjp``, ``jacfwd``, ``jacrev``,
``hessian`` and ``hvp``, all built on the two compiled forms (``srcad.pipeline``).

Jacobians use JAX's layout: an output of shape ``out.shape`` and an argument of shape
``x.shape`` give an array of shape ``out.shape + x.shape``. ``jacfwd`` runs one tangent pass
per input element, ``jacrev`` one cotangent pass per output element. ``hessian`` is forward
mode over the generated reverse-mode code, and ``hvp`` is a single such pass, so it never
forms the Hessian.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from srcad.api.grad import argnums_given, differentiable, grad, like
from srcad.api.jacobian_source import JacobianLayout, jacobian_function
from srcad.api.methods import BOUND_KINDS, bound_to, reduced_as_method, reduced_by_name
from srcad.api.results import in_classes_of
from srcad.api.signature import abstract_leaf, bind_call, positional_count, signature_of
from srcad.arguments import (
    ArgSignature,
    Wrt,
    constant_gradient,
    describe_tree,
    is_constant_leaf,
)
from srcad.backends import backend_runner
from srcad.errors import ArgumentTypeError, ArgumentValueError, NoDerivativeRule, SrcadError
from srcad.frontend.parse import call_parameters
from srcad.ir import AVal
from srcad.ir.facts import has_effect
from srcad.ir.walk import walk_eqns
from srcad.lower.transforms import keeps_a_while_tape
from srcad.pipeline import Compiled, Outputs, compile_forward, compile_reverse
from srcad.pytree import TreeDef, flatten, has_classes, plain_treedef, unflatten
from srcad.runtime.draws import DrawState
from srcad.runtime.errors import callers_line, public_api
from srcad.runtime.passes import silenced, silenced_after_first
from srcad.runtime.snapshot import WorldSnapshot


@public_api
def jvp(fun: Callable, primals: tuple, tangents: tuple) -> tuple:
    """``(fun(*primals), directional derivative of fun at primals along tangents)``; primals,
    tangents and outputs may be pytrees (each tangent shaped like its primal).

    One forward-mode pass: the Jacobian of ``fun`` times the tangents, without forming it.

    Example:
        >>> import numpy as np, srcad
        >>> srcad.jvp(lambda x: x ** 2, (np.array([1.0, 3.0]),), (np.array([1.0, 0.0]),))
        (array([1., 9.]), array([2., 0.]))
    """
    primals, tangents = _as_tuples("jvp", primals, tangents)
    if len(primals) != len(tangents):
        raise ArgumentTypeError(f"jvp got {len(primals)} primals but {len(tangents)} tangents")
    fun = differentiable(fun)
    arguments = bind_call(fun, primals, {})
    signature = signature_of(arguments, fun)
    wrt = Wrt.floats_with_settings(signature, len(primals))
    compiled = compile_forward(fun, signature, wrt, outputs=Outputs())
    tangent_leaves = []
    for n in wrt.numbers:
        primal_leaves, treedef = flatten(primals[n])
        leaves, tangent_tree = flatten(tangents[n])
        if tangent_tree != treedef:
            raise ArgumentTypeError(
                f"the tangent for argument {n} has a different structure than the primal"
            )
        tangent_leaves += [  # a setting among the floats (an int) takes no tangent
            _as_tangent(t, p, n)
            for t, p in zip(leaves, primal_leaves, strict=True)
            if not is_constant_leaf(p)
        ]
    value, value_dot = compiled.fn(*arguments.values(), *tangent_leaves)
    value_dot = _constant_tangents(_not_the_callers(value_dot, tangent_leaves), value, compiled)
    return in_classes_of(value, compiled.out_tree), in_classes_of(value_dot, compiled.out_tree)


def _constant_tangents(tangent: object, value: object, compiled: Compiled) -> object:
    """``tangent`` with the tangent of each constant output leaf (an int, a bool, a string,
    None among the floats) the zero of its type: ``0``, ``False``, an int array's zeros, a
    string or None itself (as a gradient gives for such an argument leaf)."""
    tangents, treedef = flatten(tangent)
    values = flatten(value)[0]
    avals = _output_avals(compiled)
    if len(tangents) != len(values) or len(values) != len(avals):
        return tangent
    leaves = [
        t if aval.is_float else _zero_of(v)
        for t, v, aval in zip(tangents, values, avals, strict=True)
    ]
    return unflatten(treedef, leaves) if treedef.kind != "leaf" else leaves[0]


def _zero_of(constant: object) -> object:
    """The zero derivative of a constant output leaf, in its type."""
    if isinstance(constant, (np.ndarray, np.generic)):
        return np.zeros_like(constant)[()] if np.ndim(constant) == 0 else np.zeros_like(constant)
    return constant_gradient(constant)


def _not_the_callers(tree: object, given: list) -> object:
    """``tree`` with a copy of each array that is (a view of) one the caller gave (``jvp``
    of the identity returned the caller's tangent, ``vjp_fn`` of ``a + b`` its cotangent:
    writing into one changed the other)."""
    given_arrays = [g for g in given if isinstance(g, np.ndarray)]
    leaves, treedef = flatten(tree)
    copied = [
        (
            leaf.copy()
            if isinstance(leaf, np.ndarray)
            and any(np.may_share_memory(leaf, g) for g in given_arrays)
            else leaf
        )
        for leaf in leaves
    ]
    return unflatten(treedef, copied) if treedef.kind != "leaf" else copied[0]


@public_api
def vjp(fun: Callable, *primals) -> tuple:
    """``(fun(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one cotangent per primal.
    The output may be a pytree of arrays; the cotangent then has its structure.

    One reverse-mode pass per call of ``vjp_fn``: the cotangent times the Jacobian.

    Example:
        >>> import numpy as np, srcad
        >>> value, vjp_fn = srcad.vjp(lambda x: x ** 2, np.array([1.0, 3.0]))
        >>> vjp_fn(np.array([1.0, 1.0]))
        (array([2., 6.]),)
    """
    fun = differentiable(fun)
    arguments = bind_call(fun, primals, {})
    signature = signature_of(arguments, fun)
    wrt = Wrt.floats_with_settings(signature, len(primals))
    compiled = compile_reverse(fun, signature, wrt, is_scalar=False)
    values = list(arguments.values())
    before = DrawState.of(compiled.random_draws, arguments)
    world = WorldSnapshot.of(compiled.fn, compiled.is_current)
    # the pullback runs at this point: the caller may change its arrays in place meanwhile
    kept = [_copied_arrays(value) for value in values]
    value, _ = compiled.fn(*values, *_unit_cotangents(compiled, None))

    @public_api
    def vjp_fn(cotangent):
        try:
            world.check("its vjp_fn")  # the values the forward pass read, or an error
        except SrcadError as error:
            raise error.at(*callers_line()) from None  # where vjp_fn was called
        cotangents = _cotangent_leaves(compiled, cotangent, fun)
        now = DrawState.of(compiled.random_draws, arguments)  # the caller's, left as it is
        before.restore()  # the pullback sees the draws the forward run saw
        try:
            with silenced():  # and it printed already
                _, grads = compiled.fn(*kept, *cotangents)
        finally:
            now.restore()
        # an int primal's cotangent is its zero (grad's of a setting), as JAX's is float0
        result = [constant_gradient(p) if is_constant_leaf(p) else None for p in primals]
        grads = _not_the_callers(tuple(grads), list(cotangents))  # a + b: the cotangent itself
        for n, g in zip(wrt.numbers, grads, strict=True):
            result[n] = like(g, primals[n])
        return tuple(result)

    return in_classes_of(value, compiled.out_tree), vjp_fn


def _copied_arrays(tree: object) -> object:
    """``tree`` with its NumPy arrays copied (the other leaves as they are)."""
    leaves, treedef = flatten(tree)
    copies = [leaf.copy() if isinstance(leaf, np.ndarray) else leaf for leaf in leaves]
    return unflatten(treedef, copies) if treedef.kind != "leaf" else copies[0]


_NOT_COMPOSED = (
    "a Jacobian is differentiated again for arguments and results of floats and float "
    "arrays, and tuples, lists and dicts of them (not NamedTuples, dataclasses or ints); "
    "differentiate a function of those (or compose with srcad.grad)"
)


def _is_float_leaf(leaf: object) -> bool:
    return isinstance(leaf, AVal) and leaf.is_float


_DRAWS_NOT_COMPOSED = (
    "a Jacobian of a function that draws random numbers or prints (logs, warns) is not "
    "differentiated again: its passes, one per element, would each draw (and print) anew; "
    "pass the draw in as an argument, or use srcad.hessian of a scalar function"
)


def _output_avals(compiled: Compiled) -> tuple[AVal, ...]:
    return compiled.out_avals[: compiled.out_tree.n_leaves]


def _cotangent_leaves(compiled: Compiled, cotangent: object, fun: Callable) -> list:
    """The leaves of a cotangent, checked against the output's structure, shapes and dtypes
    (a dict's keys in any order, as for equal dicts)."""
    leaves, tree = flatten(_keys_in_order_of(cotangent, compiled.out_tree))
    if tree != compiled.out_tree and not (len(leaves) == 1 and compiled.out_tree.kind == "leaf"):
        given = describe_tree(unflatten(tree, [_abstract(leaf) for leaf in leaves]))
        expected = describe_tree(unflatten(compiled.out_tree, list(_output_avals(compiled))))
        raise ArgumentValueError(
            f"the cotangent is laid out as {given}; the output of {fun.__name__} is "
            f"{expected}: give one cotangent per output leaf, in the same containers"
        )
    fitted: list = []
    for leaf, aval in zip(leaves, _output_avals(compiled), strict=True):
        if not aval.is_float:  # a constant output's (an int's): it takes none
            fitted.append(None)
            continue
        array = np.asarray(leaf, dtype=aval.dtype)
        if array.shape != aval.shape:
            raise ArgumentValueError(
                f"the cotangent has shape {array.shape}; the output of "
                f"{fun.__name__} has shape {aval.shape}"
            )
        fitted.append(float(array) if aval.is_weak else array)
    return fitted


def _keys_in_order_of(tree: object, treedef: TreeDef) -> object:
    """``tree`` with each dict's keys in the order of ``treedef``'s where they are the same."""
    if type(tree) is dict and treedef.kind == "dict" and set(tree) == set(treedef.keys):
        pairs = zip(treedef.keys, treedef.children, strict=True)
        return {key: _keys_in_order_of(tree[key], child) for key, child in pairs}
    if type(tree) in (list, tuple) and len(tree) == len(treedef.children):
        return type(tree)(map(_keys_in_order_of, tree, treedef.children))
    return tree


def _abstract(leaf: object) -> object:
    try:
        return abstract_leaf(leaf)
    except TypeError:
        return type(leaf).__name__


def _unit_cotangents(compiled: Compiled, hot: tuple[int, tuple] | None) -> list:
    """Zero cotangents for every output leaf, with a 1 at ``hot`` (leaf, position) if given."""
    leaves: list = []
    for j, aval in enumerate(_output_avals(compiled)):
        if not aval.is_float:  # a constant output (an int among the floats) takes none
            leaves.append(None)
            continue
        leaf = np.zeros(aval.shape, dtype=aval.dtype)
        if hot is not None and hot[0] == j:
            leaf[hot[1]] = 1.0
        leaves.append(float(leaf) if aval.is_weak else leaf)
    return leaves


class _Jacobian:
    """A function computing a Jacobian; ``srcad.source`` shows the code it runs.

    Laid out as JAX lays it out: the output's structure, at each output leaf the structure
    of the differentiated argument (a tuple of them for a tuple ``argnums``), at each
    argument leaf an array of shape ``out_leaf.shape + in_leaf.shape``."""

    def __init__(
        self,
        fun: Callable,
        argnums: object,
        mode: str,
        backend: str = "numpy",
        rows_as_argument: bool = False,  # a hessian's: a row per leaf of its argument
    ):
        fun = differentiable(fun)
        self.fun = fun
        name = getattr(fun, "__name__", "the function")
        self.wrt = Wrt.of(argnums).counted_from(positional_count(fun), name)
        self.mode = mode
        self.numba = backend_runner(backend)  # backend="numba": srcad.backends
        self.last: Compiled | None = None
        self.rows_as_argument = rows_as_argument
        self._bound: OrderedDict[int, _Jacobian] = OrderedDict()  # see Transformed.__get__
        functools.update_wrapper(self, fun, updated=())

    def __get__(self, instance: object, owner: type | None = None) -> _Jacobian:
        """``@srcad.jacrev`` (``jacfwd``, ``hessian``) on a method: the Jacobian of the
        method bound to ``instance`` (see ``Transformed.__get__``)."""
        options = self._options()
        return bound_to(self, self._bound, instance, owner, lambda fun: _Jacobian(fun, *options))

    def _options(self) -> tuple:
        """The options this Jacobian was made with, after the function."""
        backend = "numpy" if self.numba is None else "numba"
        return (self.wrt.argnums, self.mode, backend, self.rows_as_argument)

    def __reduce__(self) -> tuple | str:
        """Pickled as the transformation of the function: compiled again when unpickled
        (by its name where its module holds it so: ``@srcad.jacrev`` on a function)."""
        options = self._options()
        found = reduced_by_name(self) or reduced_as_method(self, options)
        return found or (_Jacobian, (self.fun, *options))

    def compile(self, signature: ArgSignature) -> Compiled:
        if self.mode == "forward":
            self.last = compile_forward(self.fun, signature, self.wrt, outputs=Outputs())
        else:
            self.last = compile_reverse(self.fun, signature, self.wrt, is_scalar=False)
        return self.last

    @public_api
    def __call__(self, *args, **kwargs):
        self.wrt.check_given(len(args), getattr(self.fun, "__name__", "the function"))
        arguments = bind_call(self.fun, args, kwargs)  # keywords: not differentiated (JAX)
        values = list(arguments.values())
        compiled = self.compile(signature_of(arguments, self.fun))
        arg_leaves = [flatten(values[n])[0] for n in self.wrt.numbers]
        draws = DrawState.of(compiled.random_draws, arguments)  # each pass draws the same
        if self.mode == "forward":
            columns = self._forward_columns(compiled, values, arg_leaves, draws)
        else:
            columns = self._reverse_columns(compiled, values, arg_leaves, draws)
        result = self._assemble(compiled, values, arg_leaves, columns)
        if self.rows_as_argument and not self.wrt.is_single:  # a hessian of several
            return _in_dtypes_of(result, tuple(values[n] for n in self.wrt.numbers))
        if self.rows_as_argument:  # a hessian's rows: the gradient, in the argument's classes
            argument = values[self.wrt.numbers[0]]
            return _outer_as(_in_dtypes_of(result, argument), argument)
        return result

    def srcad_plain_function(self, signature: ArgSignature) -> Callable:
        """A Python function with readable source computing this Jacobian, which a further
        transformation differentiates (``jacfwd(jacrev(f))``): one pass per element, as
        ``__call__`` makes them. For float arguments and results, and tuples, lists and
        dicts of them."""
        compiled = self.compile(signature)
        out_avals = _output_avals(compiled)
        arg_trees = tuple(signature.treedefs[n] for n in self.wrt.numbers)
        arg_avals = tuple(signature.leaves[n] for n in self.wrt.numbers)
        trees = (compiled.out_tree, *arg_trees)
        leaves = (*out_avals, *(leaf for avals in arg_avals for leaf in avals))
        if any(map(has_classes, trees)) or not all(_is_float_leaf(leaf) for leaf in leaves):
            raise ArgumentTypeError(_NOT_COMPOSED)
        if compiled.random_draws or any(has_effect(e) for e in walk_eqns(compiled.graph.eqns)):
            raise ArgumentTypeError(_DRAWS_NOT_COMPOSED)
        mode = self.mode
        if mode == "reverse" and keeps_a_while_tape(compiled.graph):
            # a while loop's tape is not differentiated again: the same Jacobian, column by
            # column, by forward mode (as grad's second derivatives are)
            compiled, mode = (
                compile_forward(self.fun, signature, self.wrt, outputs=Outputs()),
                "forward",
            )
        layout = JacobianLayout(
            signature.params,
            compiled.body,
            compiled.out_tree,
            out_avals,
            arg_trees,
            arg_avals,
            self.wrt.is_single,
        )
        return jacobian_function(mode, layout)

    def _forward_columns(
        self, compiled: Compiled, values: list, arg_leaves: list, draws: DrawState
    ) -> dict:
        """For each argument leaf, the output leaves' tangents along each of its elements."""
        # the leaves that take tangents (not the settings among them), by (argument, leaf)
        taking = [(k, i) for k, ls in enumerate(arg_leaves) for i, x in enumerate(ls)]
        taking = [(k, i) for k, i in taking if not is_constant_leaf(arg_leaves[k][i])]
        flat = [arg_leaves[k][i] for k, i in taking]
        columns = {}
        runs = 0
        for place, (k, i) in enumerate(taking):
            per_element = []
            for position in np.ndindex(np.shape(flat[place])):
                tangents = [np.zeros_like(np.asarray(x, dtype=float)) for x in flat]
                tangents[place][position] = 1.0
                tangents = [
                    _as_tangent(t, x, n)
                    for t, x, (n, _) in zip(tangents, flat, taking, strict=True)
                ]
                draws.restore()
                with silenced_after_first(runs):
                    _, value_dot = self._run(compiled, (*values, *tangents))
                runs += 1
                per_element.append(flatten(value_dot)[0])
            columns[k, i] = per_element
        return columns

    def _reverse_columns(
        self, compiled: Compiled, values: list, arg_leaves: list, draws: DrawState
    ) -> dict:
        """The same table as ``_forward_columns``, one backward pass per output element."""
        rows: dict = {}
        runs = 0
        for j, aval in enumerate(_output_avals(compiled)):
            for position in np.ndindex(aval.shape if aval.is_float else (0,)):
                draws.restore()
                with silenced_after_first(runs):
                    _, grads = self._run(
                        compiled, (*values, *_unit_cotangents(compiled, (j, position)))
                    )
                runs += 1
                grads = (grads,) if self.wrt.is_single else grads
                for k, g in enumerate(grads):
                    for i, leaf in enumerate(flatten(g)[0]):
                        rows.setdefault((j, k, i), []).append(np.asarray(leaf))
        return rows

    def _run(self, compiled: Compiled, args: tuple) -> tuple:
        """``compiled.fn(*args)``, on this function's backend."""
        if self.numba is None:
            return compiled.fn(*args)
        return self.numba.run(compiled, args)

    def _assemble(self, compiled: Compiled, values: list, arg_leaves: list, table: dict) -> object:
        out_avals = _output_avals(compiled)
        blocks = []
        for j, aval in enumerate(out_avals):
            if aval.dtype == "object":  # None: an empty subtree, as JAX takes it (no block)
                blocks.append(None)
                continue
            per_arg = []
            for k, n in enumerate(self.wrt.numbers):
                jacobians = []
                for i, leaf in enumerate(arg_leaves[k]):
                    if is_constant_leaf(leaf):  # a setting among the parameters
                        jacobians.append(constant_gradient(leaf))
                        continue
                    shape = aval.shape + np.shape(leaf)
                    if not aval.is_float:  # a constant output: zero derivatives
                        jacobians.append(np.zeros(shape, _row_dtype(leaf) or float))
                        continue
                    # as JAX: a column is a tangent of the output, a row a cotangent of
                    # the argument, in its dtype (float32 where the function computes in
                    # float64)
                    dtype = aval.dtype if self.mode == "forward" else np.asarray(leaf).dtype
                    if self.mode == "forward":
                        parts = [np.asarray(outs[j]) for outs in table[k, i]]
                        stacked = np.stack(parts, axis=-1) if parts else np.zeros(shape, dtype)
                    else:
                        parts = table.get((j, k, i), [])
                        stacked = np.stack(parts) if parts else np.zeros(shape, dtype)
                    if np.iscomplexobj(stacked) and not np.iscomplexobj(leaf):
                        raise _complex_jacobian(self)
                    if stacked.dtype.kind == "f" and np.dtype(dtype).kind == "f":
                        stacked = stacked.astype(dtype, copy=False)
                    jacobians.append(stacked.reshape(shape))
                per_arg.append(unflatten(flatten(values[n])[1], jacobians))
            blocks.append(self.wrt.pick(per_arg))
        return unflatten(compiled.out_tree, blocks)


def _complex_jacobian(jacobian: _Jacobian) -> NoDerivativeRule:
    """A Jacobian of a real argument that came out complex (``np.linalg.eig`` of a matrix
    with complex eigenvalues on the way): JAX's jacrev/jacfwd refuse complex outputs too."""
    name = "jacfwd" if jacobian.mode == "forward" else "jacrev"
    return NoDerivativeRule(
        f"{name} of {getattr(jacobian.fun, '__name__', 'the function')}: its output is complex "
        "here (np.linalg.eig of a matrix with complex eigenvalues on the way); srcad gives "
        "Jacobians of real outputs: use np.linalg.eigh for a symmetric matrix, or keep the "
        "computation real"
    )


@public_api
def jacfwd(
    fun: Callable, argnums: int | tuple = 0, *, backend: str = "numpy", **misspelled: object
) -> Callable:
    """The Jacobian of ``fun`` by forward mode (one tangent pass per input element).

    Returns a function of ``fun``'s arguments; each leaf Jacobian has shape
    ``out_leaf.shape + in_leaf.shape`` (a tuple per output leaf for a tuple ``argnums``).
    ``backend="numba"`` runs the passes compiled by numba, as ``srcad.grad`` does.

    Example:
        >>> import numpy as np, srcad
        >>> srcad.jacfwd(lambda x: x ** 2)(np.array([1.0, 3.0]))
        array([[2., 0.],
               [0., 6.]])
    """
    argnums = argnums_given(jacfwd, argnums, misspelled)  # type: ignore[assignment]
    return _Jacobian(fun, argnums, "forward", backend)


@public_api
def jacrev(
    fun: Callable, argnums: int | tuple = 0, *, backend: str = "numpy", **misspelled: object
) -> Callable:
    """The Jacobian of ``fun`` by reverse mode (one backward pass per output element).

    Laid out as ``jacfwd``'s; cheaper than it when there are fewer outputs than inputs.
    ``backend`` as for ``jacfwd``.

    Example:
        >>> import numpy as np, srcad
        >>> srcad.jacrev(lambda x: np.sin(x) * 2.0)(np.array([0.0, 0.0]))
        array([[2., 0.],
               [0., 2.]])
    """
    argnums = argnums_given(jacrev, argnums, misspelled)  # type: ignore[assignment]
    return _Jacobian(fun, argnums, "reverse", backend)


@public_api
def hessian(
    fun: Callable, argnums: int | tuple = 0, *, backend: str = "numpy", **misspelled: object
) -> Callable:
    """Second derivatives of scalar ``fun``: forward mode over the generated gradient code.

    Returns a function of ``fun``'s arguments giving an array of shape ``x.shape + x.shape``.
    ``backend`` as for ``jacfwd``.

    Example:
        >>> import numpy as np, srcad
        >>> srcad.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 2.0]))
        array([[4., 2.],
               [2., 0.]])
    """
    argnums = argnums_given(hessian, argnums, misspelled)  # type: ignore[assignment]
    _callable(fun)
    return _Jacobian(grad(fun, argnums), argnums, "forward", backend, rows_as_argument=True)


def _in_dtypes_of(blocks: object, arg: object) -> object:
    """A hessian's blocks in the dtype of the argument's leaf of their row (float32 for a
    float32 array, as its gradient is, even where the function computes in float64), as
    JAX's jacfwd of jacrev gives them."""
    arg_leaves, _ = flatten(arg)
    leaves, treedef = flatten(blocks)
    if len(leaves) != len(arg_leaves) ** 2:
        return blocks
    dtypes = [_row_dtype(a) for a in arg_leaves for _ in arg_leaves]  # a row's, as JAX
    cast = [  # (a constant's row, an int's or a label's, stays in floats: zeros)
        leaf.astype(dtype, copy=False) if isinstance(leaf, np.ndarray) and dtype else leaf
        for leaf, dtype in zip(leaves, dtypes, strict=True)
    ]
    return unflatten(treedef, cast)


def _row_dtype(leaf: object) -> np.dtype | None:
    """The dtype of a hessian's row for an argument leaf: its float dtype; None for a
    constant (an int, a bool, a label), whose row stays as it is."""
    if is_constant_leaf(leaf):
        return None
    dtype = np.result_type(leaf)  # type: ignore[arg-type]
    return dtype if dtype.kind == "f" else None


def _outer_as(rows: object, arg: object) -> object:
    """``rows``, laid out as ``arg`` is (as tuples for its NamedTuples and dataclasses),
    with the argument's classes (one row per leaf of ``arg``)."""
    _, treedef = flatten(arg)
    if not has_classes(treedef):
        return rows
    return unflatten(treedef, _rows_of(rows, plain_treedef(treedef)))


def _rows_of(rows: object, treedef: TreeDef) -> list:
    if treedef.kind == "leaf":
        return [rows]
    items = [rows[key] for key in treedef.keys] if treedef.kind == "dict" else list(rows)
    return [
        row
        for item, child in zip(items, treedef.children, strict=True)
        for row in _rows_of(item, child)
    ]


@public_api
def hvp(fun: Callable, primals: tuple, tangents: tuple) -> object:
    """The Hessian of ``fun`` at ``primals`` times ``tangents``, without forming the
    Hessian: one forward pass over the generated gradient code.

    Returns the product shaped like the primal (a tuple of them for several primals).

    Example:
        >>> import numpy as np, srcad
        >>> srcad.hvp(lambda x: np.sum(x ** 3), (np.array([1.0, 2.0]),), (np.ones(2),))
        array([ 6., 12.])
    """
    primals, tangents = _as_tuples("hvp", primals, tangents)
    _callable(fun)
    argnums = tuple(range(len(primals)))
    _, product = jvp(grad(fun, argnums), primals, tangents)
    product = tuple(like(p, primal) for p, primal in zip(product, primals, strict=True))
    return product[0] if len(primals) == 1 else product


def _callable(fun: object) -> None:
    """Refuse what is not a function as ``jvp`` does (``grad(None, argnums)`` would be
    taken for ``@srcad.grad(argnums=...)``, a decorator's)."""
    if not callable(fun):
        call_parameters(fun)  # raises: "pass the function itself, not NoneType None"


def _as_tuples(name: str, primals: object, tangents: object) -> tuple[tuple, tuple]:
    """The primals and the tangents, each a tuple (a list will do) with one item per
    argument, as in JAX."""
    for what, given in (("primals", primals), ("tangents", tangents)):
        if not isinstance(given, (tuple, list)):
            raise ArgumentTypeError(
                f"{name} takes the {what} as a tuple with one item per argument "
                f"({name}(f, (x,), (t,)) for one argument), not {type(given).__name__}"
            )
    return tuple(primals), tuple(tangents)  # type: ignore[arg-type]


def _as_tangent(tangent, primal, number: int):
    """``tangent`` as the generated code takes it: of its primal's shape and dtype."""
    if np.shape(tangent) != np.shape(primal):
        raise ArgumentValueError(
            f"the tangent for argument {number} has shape {np.shape(tangent)}, its primal "
            f"{np.shape(primal)}: give each tangent the shape of its primal"
        )
    if isinstance(primal, float):  # a Python float's a float, an np.float64's its type
        return type(primal)(tangent)
    return np.asarray(tangent, dtype=np.asarray(primal).dtype)


__all__ = ["hessian", "hvp", "jacfwd", "jacrev", "jvp", "vjp"]


BOUND_KINDS.append(_Jacobian)  # bound to instances, pickled by their binding (grad.reached)
