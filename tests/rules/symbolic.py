"""A sympy stand-in for arrays, so that derivative rules run on symbols.

``Sym`` wraps a sympy expression and answers the NumPy protocol: ufuncs are mapped through
the primitive table's sympy counterparts, and the few shape queries rules make see a scalar.
"""

from __future__ import annotations

import numpy as np
import sympy

from srcad.ir.prims import PRIMS, prim_of

SYMPY_NAMESPACE = vars(sympy)


def sympy_function(prim_name: str):
    spec = PRIMS[prim_name].sympy
    if spec is None:
        raise KeyError(f"{prim_name} has no sympy counterpart")
    return eval(spec, dict(SYMPY_NAMESPACE)) if spec.startswith("lambda") else getattr(sympy, spec)


def _expr(value):
    return value.expr if isinstance(value, Sym) else sympy.sympify(value)


class Sym:
    """A scalar sympy expression that NumPy code (a rule) can compute with."""

    __array_priority__ = 1000

    def __init__(self, expr):
        self.expr = sympy.sympify(expr)

    shape = ()
    ndim = 0

    def _binary(self, name, left, right):
        return Sym(sympy_function(name)(_expr(left), _expr(right)))

    def __add__(self, other):
        return self._binary("add", self, other)

    def __radd__(self, other):
        return self._binary("add", other, self)

    def __sub__(self, other):
        return self._binary("subtract", self, other)

    def __rsub__(self, other):
        return self._binary("subtract", other, self)

    def __mul__(self, other):
        return self._binary("multiply", self, other)

    def __rmul__(self, other):
        return self._binary("multiply", other, self)

    def __truediv__(self, other):
        return self._binary("divide", self, other)

    def __rtruediv__(self, other):
        return self._binary("divide", other, self)

    def __pow__(self, other):
        return self._binary("power", self, other)

    def __rpow__(self, other):
        return self._binary("power", other, self)

    def __neg__(self):
        return Sym(-self.expr)

    def __ge__(self, other):
        return Sym(sympy.Ge(self.expr, _expr(other)))

    def __le__(self, other):
        return Sym(sympy.Le(self.expr, _expr(other)))

    def __gt__(self, other):
        return Sym(sympy.Gt(self.expr, _expr(other)))

    def __lt__(self, other):
        return Sym(sympy.Lt(self.expr, _expr(other)))

    def __or__(self, other):
        return Sym(sympy.Or(self.expr, _expr(other)))

    __ror__ = __or__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        prim = prim_of(ufunc)
        return Sym(sympy_function(prim.name)(*[_expr(v) for v in inputs]))

    def __array_function__(self, func, types, args, kwargs):
        if func is np.shape:
            return ()
        if func is np.ndim:
            return 0
        if func is np.where:
            condition, x, y = (_expr(v) for v in args)
            return Sym(sympy.Piecewise((x, condition), (y, True)))
        prim = prim_of(func)  # a SciPy function rules call through call_primitive
        if prim is not None and prim.sympy and not kwargs:
            return Sym(sympy_function(prim.name)(*[_expr(v) for v in args]))
        raise TypeError(f"{func.__name__} is not available on symbols")
