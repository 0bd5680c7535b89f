"""NumPy spellings that numba has no typing for, respelled in the numba variant into ones it
has: slices, or functions of ``srcad.runtime.numba_arrays`` that numba compiles.

Comes in: the NumPy source of a generated module and its body's name. Goes out: the same
source, line for line, in which

    np.add.at(dx, idx, dt1)                       ->  add_at(dx, idx, detached(dt1, dx))
    dt2[::-1] += dt2                              ->  dt2[::-1] += detached(dt2, dt2)
    np.flip(a, axis=1)                            ->  np.asarray(a)[:, ::-1]
    np.split(dm, axis=0, indices_or_sections=(1, 3))  ->  (np.asarray(dm)[:1], ...)
    t7.sum(dtype=np.float64, keepdims=True)       ->  keepdims_all(np.sum(t7.astype(np.float64)), t7)
    x.max(keepdims=True)                          ->  keepdims_all(np.max(x), x)
    x.cumprod(axis=-1)                            ->  cumprod_along(x, -1)
    np.roll(c, axis=-1, shift=1)                  ->  roll_along(c, 1, -1)
    np.expand_dims(g, axis=(-2, -1))              ->  np.expand_dims(np.expand_dims(np.asarray(g), -1), -1)
    x.squeeze(axis=-1)                            ->  squeeze_axis(x, -1)
    x.prod(axis=1)                                ->  prod_along(x, 1)
    np.linalg.norm(a, axis=1)                     ->  np.sqrt(np.sum((a * np.conj(a)).real, axis=1))
    np.linalg.norm(a)                             ->  np.sqrt(np.sum((a * np.conj(a)).real))
    np.linalg.cholesky(K, upper=True)             ->  np.ascontiguousarray(np.linalg.cholesky(K).T)
    g.swapaxes(-1, -2)                            ->  np.swapaxes(g, -1, -2)
    np.stack([a.mean(), b.mean()])                ->  stack_items([a.mean(), b.mean()])
    np.tile(x, reps=2)                            ->  tile_vector(x, 2)
    x.reshape((3, 2), order="F")                  ->  np.ascontiguousarray(np.asarray(x).T).reshape((2, 3)).T
    A.diagonal()                                  ->  diagonal_of(A)
    dv.reshape(4, 4)                              ->  reshaped(dv, (4, 4))
    M.ravel(order="C")                            ->  M.ravel()
    int(x * 3.0)                                  ->  int(integral(x * 3.0))
    np.clip(t2, a_max=1.0, a_min=-1.0)            ->  clip_values(t2, -1.0, 1.0)
    np.inner(c, v)                                ->  inner_product(c, v)
    np.vdot(W1, W1)                               ->  vdot_values(W1, W1)
    np.sort(x, axis=0)                            ->  sort_along(x, 0)
    np.pad(g, pad_width=((1, 0),))                ->  padded(g, ((1, 0),))
    np.diff(A, axis=0)                            ->  differences_along(A, 0)
    np.where(t23, v0, 0.5)                        ->  where_values(t23, v0, 0.5)
    np.where(b > a, b, a)[()]                     ->  item_of(where_values(b > a, b, a))
    2**k                                          ->  power_of(2, k)
    (t1 ** 2).sum()                               ->  sum_values(t1 ** 2)
    np.may_share_memory(x, y)                     ->  may_share_memory(x, y)
    np.astype(s, np.float64)                      ->  np.float64(s)
    kept_where(t1 >= 0.0, dh1)                    ->  where_values(t1 >= 0.0, dh1, 0.0)
    np.argsort(x, axis=-1, kind="stable")         ->  argsort_along(x, -1)
    scipy.linalg.solve_triangular(L, b, lower=True)  ->  triangular_solve(L, b, True, False, False)
    scipy.special.expit(z)                        ->  expit_values(z)
    scipy.special.logsumexp(x, axis=1, keepdims=True)  ->  np.expand_dims(logsumexp_along(x, 1), 1)
    scipy.special.log_softmax(x, axis=-1)         ->  log_softmax_along(x, -1)
    srcad.stop_gradient(x)                        ->  x

and the runtime functions it now calls (the module imports them: ``scipy.special``'s from
``srcad.runtime.numba_special``, the others from ``srcad.runtime.numba_arrays``). A split
along another axis than the first makes its pieces contiguous, as numba's ``reshape`` wants
them. Anything else is left as it is: where numba refuses it, srcad runs the NumPy code and
names the line.
"""

from __future__ import annotations

import ast
from typing import cast

from srcad.backends.respelling import (
    call_arguments,
    literal_int,
    operand_arguments,
    respelled_values,
    spell_in_place,
)
from srcad.codegen import select
from srcad.codegen.expressions import is_name

RUNTIME = "srcad.runtime.numba_arrays"
SPECIAL_RUNTIME = "srcad.runtime.numba_special"
# scipy.special's functions of one array that SPECIAL_RUNTIME has as <name>_values
SPECIAL_ELEMENTWISE = ("expit", "erf", "erfc", "gammaln", "gamma", "ndtr", "psi")
# ... and of an array and an axis: <name>_values over all, <name>_along(x, k) along k
SPECIAL_ALONG = {"logsumexp": "a", "softmax": "x", "log_softmax": "x"}
SPECIAL_FUNCTIONS = {f"{name}_values" for name in (*SPECIAL_ELEMENTWISE, *SPECIAL_ALONG)} | {
    f"{name}_along" for name in SPECIAL_ALONG
}
FULL_REDUCTIONS = ("sum", "mean", "var", "std")
# x.max(keepdims=True) of all of x: numba's take no keepdims (np.amax is np.max)
KEPT_REDUCTIONS = {"max": "max", "min": "min", "amax": "max", "amin": "min", "prod": "prod"}
# NumPy's functions (or methods) along a literal axis -> the runtime function that takes it
ALONG_AXIS = {
    "cumprod": "cumprod_along",
    "prod": "prod_along",
    "roll": "roll_along",
    "squeeze": "squeeze_axis",
}


# np.<name>(...) -> the method of _Spellings that respells it (or returns None)
NUMPY_CALLS = {
    "inner": "_inner",
    "vdot": "_vdot",
    "sort": "_sorted",
    "pad": "_padded",
    "diff": "_differences",
    "argsort": "_argsorted",
    "where": "_where",
    "may_share_memory": "_may_share_memory",
    "astype": "_cast",
}


def respelled_spellings(source: str, body_name: str) -> tuple[str, set[str]]:
    """``source`` with the body's spellings respelled; the runtime functions it now calls."""
    rewriter = _Spellings()
    source = respelled_values(source, body_name, rewriter)
    source, detaches = _detached_augmented(source, body_name)
    return source, rewriter.called | ({"detached"} if detaches else set())


def _detached_augmented(source: str, body_name: str) -> tuple[str, bool]:
    """``t[...] += v`` (and ``-=``, ``*=``, ...) with ``v`` detached from the array ``t``
    where it may share its memory (NumPy buffers it; numba reads elements it already wrote:
    ``g[::-1] += g``), line for line; whether any was."""
    tree = ast.parse(source)
    body = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == body_name)
    lines = source.splitlines()
    found = False
    for statement in ast.walk(body):
        if not isinstance(statement, ast.AugAssign) or isinstance(statement.value, ast.Constant):
            continue
        root: ast.expr = statement.target
        while isinstance(root, (ast.Subscript, ast.Attribute)):
            root = root.value
        if isinstance(root, ast.Name):
            value = statement.value
            spell_in_place(lines, value, f"detached({ast.unparse(value)}, {root.id})")
            found = True
    return "\n".join(lines) + "\n", found


def import_line(names: set[str]) -> list[str]:
    special = names & SPECIAL_FUNCTIONS
    lines = []
    for module, imported in ((RUNTIME, names - special), (SPECIAL_RUNTIME, special)):
        if imported:
            lines.append(f"from {module} import {', '.join(sorted(imported))}")
    return lines


def _is_ellipsis(index: ast.expr) -> bool:
    return isinstance(index, ast.Constant) and index.value is Ellipsis


class _Spellings(ast.NodeTransformer):
    def __init__(self) -> None:
        self.called: set[str] = set()

    def _detached(self, values: ast.expr, target: ast.expr) -> ast.expr:
        return self._call("detached", [values, target])

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:  # noqa: N802 - ast's visitor name
        """``a ** b`` whose exponent is not a literal >= 0: ``power_of(a, b)``, which numba
        types as ``**`` except for two ints, where Python's answer may be a float (2 ** -1
        is 0.5; numba's int power gives 0) or an int beyond int64."""
        node = self.generic_visit(node)  # type: ignore[assignment]
        exponent = node.right
        value = exponent.value if isinstance(exponent, ast.Constant) else None
        literal = isinstance(value, (int, float)) and value >= 0
        if isinstance(node.op, ast.Pow) and not literal:
            return self._call("power_of", [node.left, node.right])
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:  # noqa: N802
        """``x[()]`` read: ``item_of(x)``, which numba types for a number too (the number
        of a 0-d array, as NumPy's ``[()]``; of NumPy's ``where`` of numbers, numba's
        ``where_values`` gives a number). ``x[...]`` read (of ``np.copyto(x, v)``, whose
        derivative reads all of ``dx``): ``x``, all of it, which numba cannot index so."""
        node = self.generic_visit(node)  # type: ignore[assignment]
        index = node.slice
        if isinstance(node.ctx, ast.Load) and isinstance(index, ast.Tuple) and not index.elts:
            return self._call("item_of", [node.value])
        if isinstance(node.ctx, ast.Load) and _is_ellipsis(index):
            return node.value
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:  # noqa: N802 - ast's visitor name
        node = self.generic_visit(node)  # type: ignore[assignment]
        function = node.func
        if isinstance(function, ast.Name) and function.id in select.HELPERS:
            return self._selected(node) or node
        if _makes_an_int(function) and len(node.args) == 1 and not node.keywords:
            return ast.Call(function, [self._call("integral", node.args)], [])
        if not isinstance(function, ast.Attribute):
            return node
        if _is_stop_gradient(function) and _plain(node, 1):
            return node.args[0]  # the value itself: only a derivative of the code sees it
        if _is_scipy_special(function.value):
            return self._special(node) or node
        if function.attr == "solve_triangular" and _is_scipy_linalg(function.value):
            return self._triangular_solve(node) or node
        if _is_numpy(function.value, "add") and function.attr == "at" and _plain(node, 3):
            target, index, values = node.args
            return self._call("add_at", [target, index, self._detached(values, target)])
        if _is_numpy(function, "flip"):
            return _flipped(node) or node
        if _is_numpy(function, "split"):
            return _split(node) or node
        if _is_numpy(function, "expand_dims"):
            return _expanded(node) or node
        if _is_numpy(function, "stack") and _plain(node, 1):
            return self._stacked(node.args[0]) or node
        if function.attr in ALONG_AXIS:
            return self._along_axis(node) or node
        if function.attr == "norm" and _is_numpy(function.value, "linalg"):
            return _norm(node) or node
        if function.attr == "lstsq" and _is_numpy(function.value, "linalg"):
            return _lstsq(node) or node
        if function.attr == "cholesky" and _is_numpy(function.value, "linalg"):
            return _cholesky(node) or node
        if function.attr == "swapaxes" and not _is_numpy(function, "swapaxes"):
            return _swapped(node) or node
        if function.attr in FULL_REDUCTIONS:
            return self._full_reduction(node) or node
        if function.attr in KEPT_REDUCTIONS:
            return self._kept_reduction(node) or node
        if _is_numpy(function, "tile"):
            return self._tiled(node) or node
        if function.attr == "diagonal":
            return self._diagonal(node) or node
        if function.attr == "reshape":
            return _reshaped_in_fortran_order(node) or self._reshaped(node) or node
        if function.attr == "ravel" and not _is_numpy(function, "ravel"):
            return _ravelled_in_c_order(node) or node
        if function.attr == "clip":
            return self._clipped(node) or node
        if _is_numpy(function, function.attr) and function.attr in NUMPY_CALLS:
            return getattr(self, NUMPY_CALLS[function.attr])(node) or node
        return node

    def _cast(self, node: ast.Call) -> ast.expr | None:
        """``np.astype(s, np.float64)``, which NumPy's code spells for a number (an array
        gets ``.astype``): ``np.float64(s)``, which numba types."""
        if not _plain(node, 2):
            return None
        value, dtype = node.args
        if not (isinstance(dtype, ast.Attribute) and is_name(dtype.value, "np")):
            return None
        return ast.Call(dtype, [value], [])

    def _inner(self, node: ast.Call) -> ast.expr | None:
        return self._call("inner_product", node.args) if _plain(node, 2) else None

    def _vdot(self, node: ast.Call) -> ast.expr | None:
        return self._call("vdot_values", node.args) if _plain(node, 2) else None

    def _may_share_memory(self, node: ast.Call) -> ast.expr | None:
        return self._call("may_share_memory", node.args) if _plain(node, 2) else None

    def _where(self, node: ast.Call) -> ast.expr | None:
        return self._call("where_values", node.args) if _plain(node, 3) else None

    def _selected(self, node: ast.Call) -> ast.expr | None:
        """``kept_where(c, x)`` (``srcad.runtime.select``) -> ``where_values(c, x, 0.0)``,
        ``picked_where(c, x, y)`` -> ``where_values(c, x, y)``."""
        plain = select.plain_selects(node)
        return self._where(plain) if isinstance(plain, ast.Call) and _plain(plain, 3) else None

    def _differences(self, node: ast.Call) -> ast.expr | None:
        """``np.diff(a, axis=k)`` for a literal ``k``, one difference: ``differences_along(a,
        k)`` (numba's ``np.diff`` takes no axis)."""
        given = call_arguments(node, ("a", "n", "axis"))
        if given is None or not {"a", "axis"} <= set(given):
            return None
        if literal_int(given["axis"]) is None:
            return None
        if literal_int(given.get("n", ast.Constant(1))) != 1:
            return None
        return self._call("differences_along", [given["a"], given["axis"]])

    def _argsorted(self, node: ast.Call) -> ast.expr | None:
        """``np.argsort(x, axis=k, kind="stable")`` for a literal ``k`` (``kind`` also
        "mergesort", or ``stable=True``): ``argsort_along(x, k)``. An argsort of another
        kind is left to numba, or to NumPy: with ties its order is NumPy's own."""
        given = call_arguments(node, ("a", "axis", "kind", "order", "stable"))
        if given is None or "a" not in given or "order" in given:
            return None
        axis = given.get("axis", _minus_one())
        if literal_int(axis) is None:
            return None
        kind, stable = given.get("kind"), given.get("stable")
        is_stable = isinstance(kind, ast.Constant) and kind.value in ("stable", "mergesort")
        is_stable = is_stable or (isinstance(stable, ast.Constant) and stable.value is True)
        return self._call("argsort_along", [given["a"], axis]) if is_stable else None

    def _padded(self, node: ast.Call) -> ast.expr | None:
        """``np.pad(x, widths)`` with zeros (no mode but "constant", no other options):
        ``padded(x, widths)``."""
        given = call_arguments(node, ("array", "pad_width", "mode"))
        if given is None or not {"array", "pad_width"} <= set(given):
            return None
        mode = given.get("mode", ast.Constant("constant"))
        if not (isinstance(mode, ast.Constant) and mode.value == "constant"):
            return None
        return self._call("padded", [given["array"], given["pad_width"]])

    def _reshaped(self, node: ast.Call) -> ast.expr | None:
        """``x.reshape(shape)``, ``x.reshape(i, j)`` or ``np.reshape(x, shape)`` in C order:
        ``reshaped(x, shape)``, which copies an array of another layout first (numba's
        ``reshape`` refuses one; NumPy's copies it)."""
        function = node.func
        assert isinstance(function, ast.Attribute)
        order = next((k.value for k in node.keywords if k.arg == "order"), ast.Constant("C"))
        if not (isinstance(order, ast.Constant) and order.value == "C"):
            return None
        keywords = [k for k in node.keywords if k.arg != "order"]
        starred = any(isinstance(a, ast.Starred) for a in node.args)
        if starred or any(k.arg not in ("shape", "newshape") for k in keywords):
            return None
        given = node.args + [k.value for k in keywords]
        if _is_numpy(function, "reshape"):
            array, shape = (given[0], given[1:]) if given else (None, [])
        else:
            array, shape = function.value, given
        if array is None or not shape or (len(shape) > 1 and keywords):
            return None
        whole = shape[0] if len(shape) == 1 else ast.Tuple(shape, ast.Load())
        return self._call("reshaped", [array, whole])

    def _clipped(self, node: ast.Call) -> ast.expr | None:
        """``np.clip(x, lo, hi)`` (bounds by position or as ``a_min``/``a_max``, a missing
        one None) or ``x.clip(lo, hi)`` (``min``/``max``): ``clip_values(x, lo, hi)``,
        which takes a number too."""
        function = node.func
        assert isinstance(function, ast.Attribute)
        if isinstance(function.value, ast.Attribute) and is_name(function.value.value, "np"):
            return None  # np.ma.clip and the like
        names = ("a_min", "a_max") if _is_numpy(function, "clip") else ("min", "max")
        given = operand_arguments(node, names)
        if given is None or "a" not in given:
            return None
        bounds = [given.get(name, ast.Constant(None)) for name in names]
        return self._call("clip_values", [given["a"], *bounds])

    def _sorted(self, node: ast.Call) -> ast.expr | None:
        """``np.sort(x, axis=k)`` for a literal ``k`` (no ``kind``): ``sort_along(x, k)``."""
        given = call_arguments(node, ("a", "axis"))
        if given is None or set(given) != {"a", "axis"}:
            return None
        if literal_int(given["axis"]) is None:
            return None
        return self._call("sort_along", [given["a"], given["axis"]])

    def _full_reduction(self, node: ast.Call) -> ast.expr | None:
        """``x.sum(keepdims=True)`` (or ``np.sum(x, ...)``, with a ``dtype``) of all of a
        named array ``x``: ``keepdims_all(np.sum(x), x)``; of an expression, without a
        ``dtype``: ``sum_kept(expression)`` (``mean`` alike)."""
        given = operand_arguments(node, ("axis", "dtype", "out", "keepdims"))
        if given is None or not set(given) <= {"a", "dtype", "keepdims"}:
            return None
        assert isinstance(node.func, ast.Attribute)
        if set(given) == {"a"}:  # all of it: float32 summed in float64, as NumPy pairs them
            return self._call(f"{node.func.attr}_values", [given["a"]])
        if node.func.attr in ("var", "std"):
            return None
        array, keepdims = given["a"], given.get("keepdims")
        if not (isinstance(keepdims, ast.Constant) and keepdims.value is True):
            return None
        if not isinstance(array, ast.Name):
            return None if "dtype" in given else self._call(f"{node.func.attr}_kept", [array])
        summed: ast.expr = array
        if "dtype" in given:
            summed = ast.Call(ast.Attribute(array, "astype", ast.Load()), [given["dtype"]], [])
        reduced = (
            ast.Call(_numpy(node.func.attr), [summed], [])
            if "dtype" in given
            else self._call(f"{node.func.attr}_values", [summed])
        )
        return self._call("keepdims_all", [reduced, ast.Name(array.id, ast.Load())])

    def _kept_reduction(self, node: ast.Call) -> ast.expr | None:
        """``x.max(keepdims=True)`` (``np.max``, ``np.amax``, ``min``, ``prod``) of all of
        a named array ``x``: ``keepdims_all(np.max(x), x)``."""
        given = operand_arguments(node, ("axis", "out", "keepdims"))
        if given is None or set(given) != {"a", "keepdims"}:
            return None
        array, keepdims = given["a"], given["keepdims"]
        if not (isinstance(keepdims, ast.Constant) and keepdims.value is True):
            return None
        if not isinstance(array, ast.Name):
            return None
        assert isinstance(node.func, ast.Attribute)
        reduced = ast.Call(_numpy(KEPT_REDUCTIONS[node.func.attr]), [array], [])
        return self._call("keepdims_all", [reduced, ast.Name(array.id, ast.Load())])

    def _along_axis(self, node: ast.Call) -> ast.expr | None:
        """``np.cumprod(x, axis=k)`` or ``x.cumprod(axis=k)`` (``prod``, ``squeeze``
        alike), ``np.roll(x, s, axis=k)`` for a literal ``k``: ``cumprod_along(x, k)``,
        ``roll_along(x, s, k)`` (see ``ALONG_AXIS``)."""
        function = node.func
        assert isinstance(function, ast.Attribute)
        names: tuple[str, ...] = ("a", "axis")
        if function.attr == "roll":  # np.roll only: arrays have no such method
            names = ("a", "shift", "axis")
            given = call_arguments(node, names) if _is_numpy(function, "roll") else None
        else:
            given = operand_arguments(node, ("axis",))
        if given is None or set(given) != set(names) or literal_int(given["axis"]) is None:
            return None
        return self._call(ALONG_AXIS[function.attr], [given[name] for name in names])

    def _tiled(self, node: ast.Call) -> ast.expr | None:
        """``np.tile(x, reps)``: ``tile_vector(x, reps)`` (a vector and an int, or numba's
        typing fails and srcad runs NumPy's code)."""
        given = call_arguments(node, ("A", "reps"))
        if given is None or set(given) != {"A", "reps"}:
            return None
        return self._call("tile_vector", [given["A"], given["reps"]])

    def _diagonal(self, node: ast.Call) -> ast.expr | None:
        """``np.diagonal(a)`` or ``a.diagonal()`` with no options: ``diagonal_of(a)`` (a
        matrix, or numba's typing fails). Not ``np.linalg.diagonal``: the last two axes."""
        function = node.func
        assert isinstance(function, ast.Attribute)
        if isinstance(function.value, ast.Attribute) and is_name(function.value.value, "np"):
            return None
        given = operand_arguments(node, ("offset", "axis1", "axis2"))
        if given is None or set(given) != {"a"}:
            return None
        return self._call("diagonal_of", [given["a"]])

    def _stacked(self, items: ast.expr) -> ast.expr | None:
        """``np.stack([a, b])`` -> ``stack_items([a, b])``, which takes numbers too, for a
        sequence written in the call (``numba_source`` makes the list a tuple, as for
        ``np.stack``)."""
        if not isinstance(items, (ast.List, ast.Tuple)) or not items.elts:
            return None
        return self._call("stack_items", [items])

    def _special(self, node: ast.Call) -> ast.expr | None:
        """``scipy.special.expit(z)`` and the other ``SPECIAL_ELEMENTWISE``:
        ``expit_values(z)``; ``logsumexp``, ``softmax`` and ``log_softmax`` over all
        elements or along a literal axis (``keepdims`` kept by ``np.expand_dims``)."""
        assert isinstance(node.func, ast.Attribute)
        name = node.func.attr
        if name in SPECIAL_ELEMENTWISE:
            return self._call(f"{name}_values", node.args) if _plain(node, 1) else None
        if name not in SPECIAL_ALONG:
            return None
        array = SPECIAL_ALONG[name]
        given = call_arguments(node, (array, "axis", "b", "keepdims"))
        if given is None or array not in given or "b" in given:
            return None
        axis_node, keepdims = given.get("axis", ast.Constant(None)), given.get("keepdims")
        if keepdims is not None and not isinstance(keepdims, ast.Constant):
            return None
        keep = keepdims is not None and keepdims.value is True
        if isinstance(axis_node, ast.Constant) and axis_node.value is None:
            return None if keep else self._call(f"{name}_values", [given[array]])
        axis = literal_int(axis_node)
        if axis is None:
            return None
        along = self._call(f"{name}_along", [given[array], ast.Constant(axis)])
        return ast.Call(_numpy("expand_dims"), [along, ast.Constant(axis)], []) if keep else along

    def _triangular_solve(self, node: ast.Call) -> ast.expr | None:
        """``scipy.linalg.solve_triangular(a, b, trans=, lower=, unit_diagonal=)`` with
        literal options: ``triangular_solve(a, b, lower, transposed, unit)``."""
        names = ("a", "b", "trans", "lower", "unit_diagonal", "overwrite_b", "check_finite")
        given = call_arguments(node, names)
        if given is None or not {"a", "b"} <= set(given):
            return None
        options = {}
        for name, default in (("trans", 0), ("lower", False), ("unit_diagonal", False)):
            value = given.get(name, ast.Constant(default))
            if not isinstance(value, ast.Constant):
                return None
            options[name] = value.value
        if options["trans"] not in (0, 1, 2, "N", "T", "C") or given.keys() & {"overwrite_b"}:
            return None
        transposed = options["trans"] not in (0, "N")
        flags = [ast.Constant(bool(options["lower"])), ast.Constant(transposed)]
        flags.append(ast.Constant(bool(options["unit_diagonal"])))
        return self._call("triangular_solve", [given["a"], given["b"], *flags])

    def _call(self, name: str, arguments: list[ast.expr]) -> ast.Call:
        self.called.add(name)
        return ast.Call(ast.Name(name, ast.Load()), arguments, [])


def _flipped(node: ast.Call) -> ast.expr | None:
    """``np.flip(a, axis=k)`` for a literal ``k``: ``a`` sliced backwards along axis ``k``."""
    arguments = call_arguments(node, ("m", "axis"))
    if arguments is None or set(arguments) != {"m", "axis"}:
        return None
    axis = literal_int(arguments["axis"])
    if axis is None:
        return None
    return _along(arguments["m"], axis, ast.Slice(None, None, _minus_one()))


def _split(node: ast.Call) -> ast.expr | None:
    """``np.split(a, axis=k, indices_or_sections=(i, j))`` of a named ``a`` with literal
    positions: the tuple of its slices ``a[:i], a[i:j], a[j:]`` along axis ``k``."""
    arguments = call_arguments(node, ("ary", "indices_or_sections", "axis"))
    if arguments is None or not isinstance(arguments.get("ary"), ast.Name):
        return None
    axis = literal_int(arguments.get("axis", ast.Constant(0)))
    positions = arguments.get("indices_or_sections")
    if axis is None or not isinstance(positions, (ast.Tuple, ast.List)):
        return None
    bounds = [literal_int(p) for p in positions.elts]
    if any(b is None or b < 0 for b in bounds):
        return None
    edges: list[int | None] = [None, *bounds, None]
    pieces: list[ast.expr] = [
        _along(arguments["ary"], axis, ast.Slice(_constant(start), _constant(stop), None))
        for start, stop in zip(edges[:-1], edges[1:], strict=True)
    ]
    if axis != 0:  # not contiguous: numba reshapes contiguous arrays only
        pieces = [ast.Call(_numpy("ascontiguousarray"), [piece], []) for piece in pieces]
    return ast.Tuple(pieces, ast.Load())


def _expanded(node: ast.Call) -> ast.expr | None:
    """``np.expand_dims(a, axis=(i, j))`` for literal axes all counted from the start or all
    from the end: one axis at a time, in order (``np.asarray``: ``a`` may be a number, also
    with one axis, ``np.expand_dims(dout, axis=-1)``)."""
    arguments = call_arguments(node, ("a", "axis"))
    if arguments is None or set(arguments) != {"a", "axis"}:
        return None
    axes = arguments["axis"]
    if literal_int(axes) is not None:
        axes = ast.Tuple([axes], ast.Load())
    if not isinstance(axes, ast.Tuple):
        return None
    literal = [literal_int(item) for item in axes.elts]
    given = sorted(a for a in literal if a is not None)
    if len(given) < len(literal) or not (all(a >= 0 for a in given) or all(a < 0 for a in given)):
        return None
    count = len(given)
    expanded: ast.expr = ast.Call(_numpy("asarray"), [arguments["a"]], [])
    for k, axis in enumerate(given):
        # inserting at the final position; counted from the end of the array so far
        at = axis if axis >= 0 else axis + count - k - 1
        expanded = ast.Call(_numpy("expand_dims"), [expanded, ast.Constant(at)], [])
    return expanded


def _reshaped_in_fortran_order(node: ast.Call) -> ast.expr | None:
    """``a.reshape((i, j), order="F")`` or ``np.reshape(a, (i, j), order="F")`` with a
    literal shape: ``a``'s transpose made contiguous, reshaped to the reversed shape in C
    order, transposed back (numba's reshape takes no order)."""
    given = operand_arguments(node, ("newshape", "order"))
    if given is None or set(given) != {"a", "newshape", "order"}:
        return None
    shape, order = given["newshape"], given["order"]
    if not (isinstance(order, ast.Constant) and order.value == "F"):
        return None
    if not isinstance(shape, ast.Tuple) or any(literal_int(e) is None for e in shape.elts):
        return None
    transposed = ast.Attribute(ast.Call(_numpy("asarray"), [given["a"]], []), "T", ast.Load())
    contiguous = ast.Call(_numpy("ascontiguousarray"), [transposed], [])
    reversed_shape = ast.Tuple(list(reversed(shape.elts)), ast.Load())
    reshaped = ast.Call(ast.Attribute(contiguous, "reshape", ast.Load()), [reversed_shape], [])
    return ast.Attribute(reshaped, "T", ast.Load())


def _norm(node: ast.Call) -> ast.expr | None:
    """``np.linalg.norm(a, axis=k)`` of a named ``a`` for a literal ``k`` (or ``np.linalg.
    norm(a)``): the square root of the sum of ``a`` times its conjugate along ``k`` (of
    all of them), as NumPy computes it: numba's norm of a vector scales it, and gives
    5e-170 where NumPy's square underflows to 0.0 (or 5e160 where it overflows)."""
    arguments = call_arguments(node, ("x", "ord", "axis"))
    if arguments is None or set(arguments) not in ({"x", "axis"}, {"x"}):
        return None
    array = arguments["x"]
    axis = literal_int(arguments["axis"]) if "axis" in arguments else None
    if not isinstance(array, ast.Name) or ("axis" in arguments and axis is None):
        return None
    conjugate = ast.Call(_numpy("conj"), [ast.Name(array.id, ast.Load())], [])
    squares = ast.Attribute(ast.BinOp(array, ast.Mult(), conjugate), "real", ast.Load())
    along = [] if axis is None else [ast.keyword("axis", ast.Constant(axis))]
    total = ast.Call(_numpy("sum"), [squares], along)
    return ast.Call(_numpy("sqrt"), [total], [])


def _along(array: ast.expr, axis: int, index: ast.expr) -> ast.expr:
    """``np.asarray(array)[:, ..., index]`` with ``index`` at ``axis``
    (``[..., index, :]`` when ``axis`` counts from the end)."""
    every = ast.Slice(None, None, None)
    if axis >= 0:
        items: list[ast.expr] = [every] * axis + [index]
    else:
        items = [ast.Constant(Ellipsis), index] + [every] * (-axis - 1)
    subscript = items[0] if len(items) == 1 else ast.Tuple(items, ast.Load())
    # np.asarray: NumPy's flip and split make a list an array, a slice would keep it a list
    return ast.Subscript(ast.Call(_numpy("asarray"), [array], []), subscript, ast.Load())


def _constant(value: int | None) -> ast.expr | None:
    return None if value is None else ast.Constant(value)


def _minus_one() -> ast.expr:
    return ast.UnaryOp(ast.USub(), ast.Constant(1))


def _is_scipy_linalg(node: ast.expr) -> bool:
    """``scipy.linalg``, as generated code names the module."""
    return (
        isinstance(node, ast.Attribute) and is_name(node.value, "scipy") and node.attr == "linalg"
    )


def _is_scipy_special(node: ast.expr) -> bool:
    """``scipy.special``, as generated code names the module."""
    return (
        isinstance(node, ast.Attribute) and is_name(node.value, "scipy") and node.attr == "special"
    )


def _lstsq(node: ast.Call) -> ast.Call | None:
    """``np.linalg.lstsq(a, b)`` with NumPy's cutoff for small singular values spelled out
    (``eps * max(M, N)``): numba's default is machine precision, which keeps values NumPy
    drops (a solution 1e15 where NumPy's is 1.3)."""
    rcond = next((k for k in node.keywords if k.arg == "rcond"), None)
    given_none = rcond is not None and isinstance(rcond.value, ast.Constant)
    if len(node.args) != 2 or not isinstance(node.args[0], ast.Name):
        return None
    if rcond is not None and not (given_none and rcond.value.value is None):  # type: ignore[attr-defined]
        return None
    a = node.args[0].id
    cutoff = ast.parse(f"np.finfo({a}.dtype).eps * max({a}.shape[0], {a}.shape[1])").body[0]
    keywords = [k for k in node.keywords if k.arg != "rcond"]
    keywords.append(ast.keyword("rcond", cast(ast.Expr, cutoff).value))
    return ast.Call(node.func, node.args, keywords)


def _swapped(node: ast.Call) -> ast.expr | None:
    """``x.swapaxes(a, b)``: ``np.swapaxes(x, a, b)`` (numba has the function only)."""
    given = operand_arguments(node, ("axis1", "axis2"))
    if given is None or set(given) != {"a", "axis1", "axis2"}:
        return None
    return ast.Call(_numpy("swapaxes"), [given["a"], given["axis1"], given["axis2"]], [])


def _cholesky(node: ast.Call) -> ast.expr | None:
    """``np.linalg.cholesky(a, upper=...)`` (SciPy's cholesky lowered): numba's takes no
    ``upper``; the upper factor is the lower one transposed."""
    upper = [k for k in node.keywords if k.arg == "upper"]
    if len(node.args) != 1 or len(node.keywords) != 1 or not upper:
        return None
    flag = upper[0].value
    if not (isinstance(flag, ast.Constant) and isinstance(flag.value, bool)):
        return None
    lower = ast.Call(node.func, node.args, [])
    if not flag.value:
        return lower
    transposed = ast.Attribute(lower, "T", ast.Load())
    return ast.Call(_numpy("ascontiguousarray"), [transposed], [])


def _is_numpy(node: ast.expr, name: str) -> bool:
    """``np.<name>``."""
    return isinstance(node, ast.Attribute) and is_name(node.value, "np") and node.attr == name


def _numpy(name: str) -> ast.Attribute:
    return ast.Attribute(ast.Name("np", ast.Load()), name, ast.Load())


# int(v), round(v), math.floor(v)...: Python raises for a NaN or an infinity, numba does not
MATH_INTS = ("floor", "ceil", "trunc")


def _makes_an_int(function: ast.expr) -> bool:
    if isinstance(function, ast.Name):
        return function.id in ("int", "round")
    return isinstance(function, ast.Attribute) and (
        is_name(function.value, "math") and function.attr in MATH_INTS
    )


def _ravelled_in_c_order(node: ast.Call) -> ast.expr | None:
    """``M.ravel(order="C")`` (``M.flatten()`` as generated code writes it): ``M.ravel()``,
    numba's only order, which takes no argument."""
    order = [k for k in node.keywords if k.arg == "order"]
    if node.args or len(node.keywords) != len(order) or len(order) > 1:
        return None
    if order and not (isinstance(order[0].value, ast.Constant) and order[0].value.value == "C"):
        return None
    return ast.Call(node.func, [], [])


def _is_stop_gradient(function: ast.Attribute) -> bool:
    return is_name(function.value, "srcad") and function.attr == "stop_gradient"


def _plain(node: ast.Call, count: int) -> bool:
    """Exactly ``count`` positional arguments, none starred, no keywords."""
    starred = any(isinstance(a, ast.Starred) for a in node.args)
    return len(node.args) == count and not node.keywords and not starred
