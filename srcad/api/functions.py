"""What srcad differentiates when it is given a callable: the function itself, or for a
NumPy function (a ufunc such as ``np.tanh``, ``np.sum``, ``scipy.special.gammaln``) a one-line
``def`` that calls it, whose source srcad reads like any other (``differentiable``)."""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable

import numpy as np

from srcad.api.custom import custom_vjp
from srcad.errors import NoDerivativeRule
from srcad.ir.primitive import CUSTOM
from srcad.ir.prims import prim_of
from srcad.lower.compositions import composition_of
from srcad.pipeline import primitive_function
from srcad.runtime import load_function


def differentiable(fun: Callable) -> Callable:
    """``fun``, or for a NumPy function with a derivative rule of its own (a ufunc such as
    ``np.sqrt``, ``np.sum``, ``scipy.special.gammaln``) or lowered as the calls it is made of
    (``np.interp``, ``np.logaddexp.reduce``), a one-line ``def`` calling it; for a
    ``functools.partial`` of such a function or of a transformation, one of that ``def``,
    or a ``def`` calling the partial."""
    if isinstance(fun, functools.partial):  # of np.power, of srcad.grad(f): of a def calling it
        inner = differentiable(fun.func)
        if inner is not fun.func:
            return functools.partial(inner, *fun.args, **fun.keywords)
        if hasattr(inner, "srcad_plain_function"):  # a transformation's: called in a def
            return _calling(fun) or fun
    return _differentiable(fun)


def _calling(partial: functools.partial) -> Callable | None:
    """``def partial_of_grad_f(a): return partial(a)``: a call of ``partial``, which srcad
    lowers as it lowers one in the user's code; None where its positional parameters have
    defaults or it takes ``*args``."""
    try:
        parameters = list(inspect.signature(partial).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    others = [p for p in parameters if p not in positional]
    if any(p.default is not p.empty for p in positional) or any(
        p.kind != p.KEYWORD_ONLY or p.default is p.empty for p in others
    ):
        return None
    name = "".join(c if c.isalnum() else "_" for c in getattr(partial.func, "__name__", "f"))
    name = f"partial_of_{name.strip('_') or 'function'}"
    args = ", ".join(p.name for p in positional)
    source = f"def {name}({args}):\n    return partial({args})\n"
    return load_function(source, name, name, {"partial": partial})


def _differentiable(fun: Callable) -> Callable:
    prim = prim_of(fun)
    is_python = isinstance(fun, types.FunctionType)  # a rule of the user's on their function
    if isinstance(fun, np.ufunc):  # one without a rule too: refused as it is in a function
        return primitive_function(fun)
    if prim is None and isinstance(fun, custom_vjp):
        name = getattr(fun, "__name__", "f")
        raise NoDerivativeRule(
            f"{name} is a srcad.custom_vjp without its rule: give it one with "
            f"{name}.defvjp({name}_fwd, {name}_bwd) before differentiating it"
        )
    if (
        prim is None
        and composition_of(fun) is None
        or prim is not None
        and prim.kind == CUSTOM
        and is_python
    ):
        return fun
    return primitive_function(fun)  # a custom_vjp object too: called from a one-line def
