"""User extensions: ``stop_gradient``, ``defvjp`` and ``defjvp`` (reverse and forward rules
for any function) and ``custom_vjp`` (JAX-style forward/backward pair).

A function given a rule becomes a primitive: calls to it are not inlined but appear in the
generated code as calls (the function is bound in the generated module's namespace), and
its rule runs on tracers like the built-in rules, so it may use any NumPy function srcad
knows. These registrations happen at run time, when the user asks for them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from srcad.ir.primitive import CUSTOM
from srcad.ir.prims import CALLABLES, PRIMS, Prim, load_deferred
from srcad.rules.registry import JVP_RULES, VJP_RULES, cotangents_as_tuple


def stop_gradient(x):
    """``x`` itself, through which no gradient flows."""
    return x


def defvjp(fn: Callable, rule: Callable) -> Callable:
    """Give ``fn`` a reverse rule: ``rule(g, out, *args)`` returns one cotangent per
    argument (``None`` for arguments that take no gradient; for a function of one argument
    the cotangent alone will do). Returns ``fn``."""
    name = _register(fn)
    VJP_RULES[name] = cotangents_as_tuple(rule)
    return fn


def defjvp(fn: Callable, rule: Callable) -> Callable:
    """Give ``fn`` a forward rule: ``rule(tangents, out, *args)`` returns the tangent of the
    output, given one tangent per argument (``None`` for arguments that carry none).
    Returns ``fn``. With ``defvjp`` too, ``fn`` works in both modes."""
    name = _register(fn)
    JVP_RULES[name] = rule
    return fn


class custom_vjp:  # noqa: N801 - named as in JAX
    """A function with a hand-written gradient::

    @srcad.custom_vjp
    def f(x): ...
    def f_fwd(x): return f(x), residuals
    def f_bwd(residuals, g): return (dx,)
    f.defvjp(f_fwd, f_bwd)
    """

    def __init__(self, fn: Callable):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __call__(self, *args):
        return self.fn(*args)

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        def rule(g, out, *args):
            _, residuals = fwd(*args)
            return tuple(bwd(residuals, g))

        name = _register(self.fn, alias=self)
        VJP_RULES[name] = rule


def _register(fn: Callable, alias: object = None) -> str:
    """The primitive standing for ``fn`` (made on its first rule). The table's deferred
    families (SciPy's) load first, so that a built-in rule never replaces the user's later."""
    load_deferred()
    module = getattr(fn, "__module__", None) or type(fn).__module__  # ufuncs have none
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "function")
    name = f"custom_{module}_{qualname}".replace(".", "_").replace("<", "")
    name = name.replace(">", "")
    if name in PRIMS and PRIMS[name].fn is fn and alias is None:
        return name
    n_inputs = fn.__code__.co_argcount if hasattr(fn, "__code__") else 1
    PRIMS[name] = Prim(name, fn, CUSTOM, n_inputs, module=module)
    CALLABLES[fn] = name
    if alias is not None:
        CALLABLES[alias] = name
    return name


# spelled srcad.stop_gradient in generated code, so that a further derivative of that code
# (srcad.hessian reads it) sees it too
PRIMS["stop_gradient"] = Prim(
    "stop_gradient", stop_gradient, "shape", 1, is_differentiable=False, module="srcad"
)
CALLABLES[stop_gradient] = "stop_gradient"
