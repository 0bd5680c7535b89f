"""Primitives called the way SciPy's functions are: with array arguments that may be given
by name or left out, and spelled by a qualified name (``scipy.stats.norm.logpdf``).

``scipy.stats.norm.logpdf(x, loc=m, scale=s)``, ``norm.logpdf(x, m, s)`` and
``scipy.special.logsumexp(a, axis=1, b=w)`` take arrays that NumPy-style rows (``Prim``)
would read as static params. A ``NamedArgumentsPrim`` reads every argument by its name
instead: the required arrays come first (``x``, then shape parameters such as ``df``), the
optional ones (``loc``, ``scale``; ``b``) follow in the row's input order, and the rest are
static params (``axis``). An optional array left out before one that is given takes its
default value (``scale=s`` alone gives the inputs ``x, 0.0, s``); those left out at the end
are no inputs at all, so a rule sees ``loc`` and ``scale`` only where the call gave them
(``rule(g, out, x, loc=0.0, scale=1.0)``). Generated code passes the required arrays by
position and the others by name: ``scipy.stats.norm.logpdf(x, loc=m, scale=s)``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from srcad.ir.primitive import Prim, module_spelling


@dataclass(frozen=True)
class NamedArgumentsPrim(Prim):
    """A primitive whose arguments are read by name (see the module docstring).

    ``arguments``: every argument in the function's positional order, arrays and params
    alike (``("a", "axis", "b", "keepdims")``). ``input_names``: the array arguments in input
    order, of which the first ``required`` must be given and the others default to
    ``defaults`` (one per optional input). ``qualname``: the name after the module
    (``norm.logpdf``). ``n_inputs`` counts every array input, given or not.
    ``no_derivative``: array inputs whose derivative is not elementary (the shape
    parameter of a gamma distribution's cdf); the rules refuse them, the tests skip them.
    """

    arguments: tuple[str, ...] = ()
    input_names: tuple[str, ...] = ()
    required: int = 1
    defaults: tuple[object, ...] = ()
    qualname: str = ""
    no_derivative: tuple[str, ...] = ()

    @property
    def spelling(self) -> str:
        """``scipy.stats.norm.logpdf``, ``scipy.special.logsumexp``."""
        return f"{module_spelling(self.module)}.{self.qualname or self.fn.__name__}"

    def bind(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """The array inputs (up to the last one given) and the static params of a call.

        Raises ValueError, with a message for the user, when the call does not fit.
        """
        if len(args) > len(self.arguments):
            raise ValueError(f"too many arguments for {self.spelling}")
        given = dict(zip(self.arguments, args, strict=False))
        for key, value in kwargs.items():
            if key not in self.arguments:
                allowed = ", ".join(self.arguments[1:])
                raise ValueError(
                    f"{self.spelling} does not support the argument {key!r} "
                    f"(supported: {allowed})"
                )
            if key in given:
                raise ValueError(f"{self.spelling} got the argument {key!r} twice")
            given[key] = value
        missing = [name for name in self.input_names[: self.required] if name not in given]
        if missing:
            raise ValueError(f"{self.spelling} needs the argument {missing[0]!r}")
        arrays = self._arrays(given)
        params = {k: v for k, v in given.items() if k not in self.input_names}
        return tuple(arrays), self._static_params(params)

    def _arrays(self, given: dict) -> list:
        """The given arrays in input order, defaults filling the gaps before the last."""
        present = [i for i, name in enumerate(self.input_names) if given.get(name) is not None]
        last = max(present)
        optional = dict(zip(self.input_names[self.required :], self.defaults, strict=True))
        return [
            given[name] if given.get(name) is not None else optional[name]
            for name in self.input_names[: last + 1]
        ]

    def arrange(self, inputs: list, params: dict) -> tuple[list, dict]:
        """The required arrays by position; optional arrays and params by name, but for an
        array at its default (a number, or its ``ast`` node in code generation), which is
        left out: ``norm.logpdf(x, scale=s)``, not ``norm.logpdf(x, loc=0.0, scale=s)``."""
        positional = list(inputs[: self.required])
        optional = zip(
            self.input_names[self.required :],
            inputs[self.required :],
            self.defaults,
            strict=False,
        )
        named = {name: value for name, value, default in optional if not _is_number(value, default)}
        return positional, {**named, **params}


def _is_number(value: object, number: object) -> bool:
    """Whether ``value`` is the Python number ``number``, or an ``ast`` node that spells it."""
    constant = value.value if isinstance(value, ast.Constant) else value
    return type(constant) in (int, float) and constant == number
