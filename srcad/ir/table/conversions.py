"""The rows of Python's conversions of a number: ``int(v)``, ``round(v)``, ``math.floor(v)``,
``math.ceil(v)`` and ``math.trunc(v)`` to an int, ``float(v)`` (and ``v.item()`` of a float)
to a float, of a value computed from data, spelled in generated code as the user wrote them.

Their results are Python ints, as the plain function's are: weak, in NumPy's promotion, so
``x32 * int(v)`` stays float32 (an int64 array would make it float64), and ``int(nan)``
raises as Python does. Shape inference sees that: each row evaluated on a stand-in gives a
Python int (``srcad.ir.shapes``). The int conversions are steps, with no derivative;
``float`` passes its cotangent on, in its argument's dtype. Rows of their own,
reached by ``srcad.lower.callees`` only (``int``, ``round`` and ``math.floor`` stay
Python's elsewhere: ``math.floor`` of an array is NumPy's ``floor``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from srcad.ir.primitive import BUILTINS, PARAMETRIC, Example, Prim
from srcad.ir.table.registry import PRIMS

SCALAR: tuple[Example, ...] = ((((),), {}),)
# row name -> the conversion, and its module
INT_CONVERSIONS: dict[str, tuple[Callable[..., int], str]] = {
    "python_int": (int, BUILTINS),
    "python_bool": (bool, BUILTINS),  # x.item() of a boolean array
    "python_round": (round, BUILTINS),
    "math_floor": (math.floor, "math"),
    "math_ceil": (math.ceil, "math"),
    "math_trunc": (math.trunc, "math"),
}

for _name, (_function, _module) in INT_CONVERSIONS.items():
    PRIMS[_name] = Prim(
        _name, _function, PARAMETRIC, 1, is_differentiable=False, module=_module, takes_numbers=True
    )
# round(v, ndigits) of a Python float: Python's own rounding of the decimal value (2.675 to
# 2.67, where np.round gives 2.68), a Python float with no derivative
PRIMS["python_round_digits"] = Prim(
    "python_round_digits",
    round,
    PARAMETRIC,
    1,
    ("ndigits",),
    is_differentiable=False,
    module=BUILTINS,
    takes_numbers=True,
)
# float(v) and v.item() of a float: a Python float, with the derivative 1 (rules/shape.py)
PRIMS["python_float"] = Prim(
    "python_float", float, PARAMETRIC, 1, module=BUILTINS, takes_numbers=True, examples=SCALAR
)
# math.fsum(xs) of numbers from data: the exactly rounded sum of the vector of them (NumPy's
# sum may lose all of it: fsum([1e16, w, -1e16, w]) is 2w), a Python float; each item's
# derivative is 1 (rules/shape.py)
PRIMS["math_fsum"] = Prim(
    "math_fsum", math.fsum, PARAMETRIC, 1, module="math", examples=((((4,),), {}),)
)
