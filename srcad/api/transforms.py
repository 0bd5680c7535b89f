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
from collections.abc import Callable

import numpy as np

from srcad.api.grad import grad, like, plain_value
from srcad.api.signature import ArgSignature, bind_call, signature_of
from srcad.errors import ArgumentTypeError, ArgumentValueError
from srcad.pipeline import Compiled, compile_forward, compile_reverse
from srcad.pytree import flatten, unflatten
from srcad.runtime.errors import public_api


@public_api
def jvp(fun: Callable, primals: tuple, tangents: tuple) -> tuple:
    """``(fun(*primals), directional derivative of fun at primals along tangents)``."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ArgumentTypeError(f"jvp got {len(primals)} primals but {len(tangents)} tangents")
    values = list(bind_call(fun, primals, {}).values())
    signature = signature_of(bind_call(fun, primals, {}), fun)
    numbers = _float_arguments(signature, len(primals))
    compiled = compile_forward(fun, signature, numbers)
    tangent_leaves = []
    for n in numbers:
        primal_leaves, treedef = flatten(primals[n])
        leaves, tangent_tree = flatten(tangents[n])
        if tangent_tree != treedef:
            raise ArgumentTypeError(
                f"the tangent for argument {n} has a different structure " "than the primal"
            )
        tangent_leaves += [_as_tangent(t, p) for t, p in zip(leaves, primal_leaves, strict=True)]
    value, value_dot = compiled.fn(*values, *tangent_leaves)
    return plain_value(value), plain_value(value_dot)


@public_api
def vjp(fun: Callable, *primals) -> tuple:
    """``(fun(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one cotangent per primal."""
    arguments = bind_call(fun, primals, {})
    values = list(arguments.values())
    signature = signature_of(arguments, fun)
    numbers = _float_arguments(signature, len(primals))
    compiled = compile_reverse(fun, signature, numbers, is_scalar=False)
    value = fun(*primals)
    out_aval = compiled.out_avals[0]

    def vjp_fn(cotangent):
        cotangent = np.asarray(cotangent, dtype=out_aval.dtype)
        if cotangent.shape != out_aval.shape:
            raise ArgumentValueError(
                f"the cotangent has shape {cotangent.shape}; the output of "
                f"{fun.__name__} has shape {out_aval.shape}"
            )
        _, grads = compiled.fn(*values, cotangent)
        result = [None] * len(primals)
        for n, g in zip(numbers, grads, strict=True):
            result[n] = like(g, primals[n])
        return tuple(result)

    return value, vjp_fn


class _Jacobian:
    """A function computing a Jacobian; ``srcad.source`` shows the code it runs."""

    def __init__(self, fun: Callable, argnums: int | tuple, mode: str):
        self.fun = fun
        self.argnums = argnums
        self.mode = mode
        self.last: Compiled | None = None
        functools.update_wrapper(self, fun, updated=())

    def compile(self, signature: ArgSignature) -> Compiled:
        if self.mode == "forward":
            self.last = compile_forward(self.fun, signature, self.argnums)
        else:
            self.last = compile_reverse(self.fun, signature, self.argnums, is_scalar=False)
        return self.last

    @public_api
    def __call__(self, *args):
        arguments = bind_call(self.fun, args, {})
        values = list(arguments.values())
        numbers = (self.argnums,) if isinstance(self.argnums, int) else tuple(self.argnums)
        for n in numbers:
            if flatten(values[n])[1].kind != "leaf":
                raise ArgumentTypeError(
                    "jacfwd/jacrev differentiate with respect to arrays or floats, "
                    f"but argument {n} is a {type(values[n]).__name__}"
                )
        compiled = self.compile(signature_of(arguments, self.fun))
        if self.mode == "forward":
            return self._forward(compiled, values, numbers)
        return self._reverse(compiled, values, numbers)

    def _forward(self, compiled: Compiled, values: list, numbers: tuple) -> object:
        out_leaves_by_arg = []
        for k, n in enumerate(numbers):
            columns = []
            for position in np.ndindex(np.shape(values[n])):
                tangents = [np.zeros_like(np.asarray(values[m], dtype=float)) for m in numbers]
                tangents[k][position] = 1.0
                tangents = [
                    _as_tangent(t, values[m]) for t, m in zip(tangents, numbers, strict=True)
                ]
                _, value_dot = compiled.fn(*values, *tangents)
                columns.append(flatten(value_dot)[0])
            out_leaves_by_arg.append(columns)
        out_tree = compiled.out_tree
        n_out = out_tree.n_leaves
        blocks = []
        for j in range(n_out):
            per_arg = []
            for k, n in enumerate(numbers):
                cols = [np.asarray(c[j]) for c in out_leaves_by_arg[k]]
                out_shape = cols[0].shape if cols else ()
                stacked = np.stack(cols, axis=-1) if cols else np.zeros(out_shape + (0,))
                per_arg.append(stacked.reshape(out_shape + np.shape(values[n])))
            blocks.append(per_arg[0] if isinstance(self.argnums, int) else tuple(per_arg))
        return unflatten(out_tree, blocks)

    def _reverse(self, compiled: Compiled, values: list, numbers: tuple) -> object:
        out_aval = compiled.out_avals[0]
        rows = [[] for _ in numbers]
        for position in np.ndindex(out_aval.shape):
            cotangent = np.zeros(out_aval.shape, dtype=out_aval.dtype)
            cotangent[position] = 1.0
            _, grads = compiled.fn(*values, cotangent)
            grads = (grads,) if isinstance(self.argnums, int) else grads
            for k, g in enumerate(grads):
                rows[k].append(np.asarray(g))
        result = tuple(
            np.stack(r).reshape(out_aval.shape + np.shape(values[n]))
            for r, n in zip(rows, numbers, strict=True)
        )
        return result[0] if isinstance(self.argnums, int) else result


def jacfwd(fun: Callable, argnums: int | tuple = 0) -> Callable:
    """The Jacobian of ``fun`` by forward mode (one tangent pass per input element)."""
    return _Jacobian(fun, argnums, "forward")


def jacrev(fun: Callable, argnums: int | tuple = 0) -> Callable:
    """The Jacobian of ``fun`` by reverse mode (one backward pass per output element)."""
    return _Jacobian(fun, argnums, "reverse")


def hessian(fun: Callable, argnums: int | tuple = 0) -> Callable:
    """Second derivatives of scalar ``fun``: forward mode over the generated gradient code."""
    return _Jacobian(grad(fun, argnums), argnums, "forward")


@public_api
def hvp(fun: Callable, primals: tuple, tangents: tuple) -> object:
    """The Hessian of ``fun`` at ``primals`` times ``tangents``, without forming the
    Hessian: one forward pass over the generated gradient code."""
    primals, tangents = tuple(primals), tuple(tangents)
    argnums = tuple(range(len(primals)))
    _, product = jvp(grad(fun, argnums), primals, tangents)
    return product[0] if len(primals) == 1 else product


def _float_arguments(signature: ArgSignature, count: int) -> tuple:
    """The positional arguments (among the first ``count``) made only of floats."""
    from srcad.ir import AVal

    return tuple(
        n
        for n in range(count)
        if signature.leaves[n]
        and all(isinstance(leaf, AVal) and leaf.is_float for leaf in signature.leaves[n])
    )


def _as_tangent(tangent, primal):
    if isinstance(primal, float):
        return float(tangent)
    return np.asarray(tangent, dtype=np.asarray(primal).dtype)


__all__ = ["hessian", "hvp", "jacfwd", "jacrev", "jvp", "vjp"]
