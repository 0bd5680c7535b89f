"""autograd's API on top of srcad, for running autograd's own tests (see autograd_tests.py).

The shim package ``autograd`` that the harness writes at run time re-exports these names;
``autograd.numpy`` and ``autograd.scipy`` are NumPy and SciPy themselves. None of autograd's
code is used: ``check_grads`` below follows the semantics of autograd's ``test_util`` (the
tolerances are read from the repository being run), with srcad computing every derivative:

- reverse mode: ``srcad.vjp(f, *x)`` with a random cotangent ``v``; the number
  ``<x_v, vjp(v)>`` must match ``<v, J x_v>`` computed by central differences;
- forward mode: ``srcad.jvp(f, x, x_v)`` against central differences along ``x_v``;
- ``order > 1``: the derivative function itself is checked again, one order lower, with the
  same modes, as autograd does with ``lambda x, v: make_vjp(f, x)[0](v)``. With the default
  ``nested="vjp"`` that function is a plain ``def`` calling ``srcad.vjp`` (or ``srcad.jvp``),
  the literal translation; with ``nested="grad"`` it is the function ``srcad.grad`` returns
  for the inner product ``<f(x), v>`` (the vjp again, as reverse-mode code srcad promises to
  differentiate), checked once per order whatever the modes.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import keyword
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import (
    CheckTimeout,
    WrongDerivative,
    alarm,
    axpy,
    classify,
    describe_space,
    describe_value,
    has_complex,
    inner,
    randn_like,
    space,
    tree_sub_scale,
)

import srcad

# --- configuration, set by the worker -----------------------------------------------------------
SETTINGS = {
    "tol": 1e-6,
    "rtol": 1e-6,
    "eps": 1e-6,
    "timeout": 20.0,
    "nested": "vjp",
    "max_order": None,
    "generated": None,  # folder for the wrapper functions written for srcad to read
    "beat": None,  # callable(label): a heartbeat to the parent
}


class Recorder:
    """The checks of the test being run."""

    current: Recorder | None = None

    def __init__(self) -> None:
        self.checks: list[dict] = []
        self.timed_out = False


# --- autograd's differentiation API -------------------------------------------------------------
def _argnums(argnum: object) -> object:
    return tuple(argnum) if isinstance(argnum, (list, tuple)) else argnum


def grad(fun: Callable, argnum: object = 0) -> Callable:
    return srcad.grad(fun, argnums=_argnums(argnum))


def value_and_grad(fun: Callable, argnum: object = 0) -> Callable:
    return srcad.value_and_grad(fun, argnums=_argnums(argnum))


def jacobian(fun: Callable, argnum: object = 0) -> Callable:
    return srcad.jacrev(fun, argnums=_argnums(argnum))


def hessian(fun: Callable, argnum: object = 0) -> Callable:
    return srcad.hessian(fun, argnums=_argnums(argnum))


holomorphic_grad = grad
deriv = grad


def elementwise_grad(fun: Callable, argnum: int = 0) -> Callable:
    """The vector-Jacobian product with a cotangent of ones."""

    @functools.wraps(fun)
    def gradient(*args: object) -> object:
        out, pull = srcad.vjp(fun, *args)
        return pull(np.ones_like(out))[argnum]

    return gradient


def make_vjp(fun: Callable, argnum: int = 0) -> Callable:
    def at(*args: object) -> tuple:
        out, pull = srcad.vjp(fun, *args)
        return (lambda g: pull(g)[argnum]), out

    return at


def make_jvp(fun: Callable, argnum: int = 0) -> Callable:
    def at(*args: object) -> Callable:
        def jvp(v: object) -> tuple:
            tangents = tuple(v if i == argnum else _zeros(a) for i, a in enumerate(args))
            return srcad.jvp(fun, args, tangents)

        return jvp

    return at


def _zeros(x: object) -> object:
    return np.zeros_like(x) if not isinstance(x, float) else 0.0


# --- functions srcad reads: written to files, so that their source can be read ------------------
_made: dict[str, Callable] = {}


def _identifier(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_") or "f"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "f_" + name
    return name[:40]


def _load(source: str, stem: str) -> object:
    """A module from ``source``, written to a file of the generated folder."""
    key = source
    if key in _made:
        return _made[key]
    folder = Path(SETTINGS["generated"])
    folder.mkdir(parents=True, exist_ok=True)
    name = f"_ag_{stem}_{len(_made)}"
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _made[key] = module
    return module


def get_name(fun: object) -> str:
    return getattr(fun, "__name__", None) or type(fun).__name__


_LIBRARIES = (("np", "numpy"), ("np.linalg", "numpy.linalg"), ("operator", "operator"))


def _spelling(fun: object) -> str | None:
    """How a user would call a NumPy (or ``operator``) function: ``np.max``; None for other
    functions (the test's own, lambdas), which the wrapper calls through a closure."""
    name = getattr(fun, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():
        return None
    for prefix, module_name in _LIBRARIES:
        module = importlib.import_module(module_name)
        try:
            if getattr(module, name, None) is fun:
                return f"{prefix}.{name}"
        except Exception:  # noqa: BLE001 (a module's __getattr__ may warn or raise)
            continue
    return None


def _unary(fun: Callable, args: tuple, kwargs: dict, argnums: tuple) -> Callable:
    """``fun`` as a function of the arguments ``argnums`` only, the others fixed: what
    autograd's ``unary_to_nary`` makes, as a plain ``def`` srcad can read (a NumPy function
    is called as ``np.name``, like a user would)."""
    free = [f"x{i}" for i in argnums]
    call, fixed = [], []
    for i in range(len(args)):
        if i in argnums:
            call.append(f"x{i}")
        else:
            call.append(f"c{i}")
            fixed.append(f"c{i}")
    names = {}
    for k in kwargs:
        if not k.isidentifier():
            raise TypeError(f"keyword {k!r} is not an identifier")
        names[k] = f"k_{k}"
        call.append(f"{k}=k_{k}")
    fname = _identifier(get_name(fun))
    callee = _spelling(fun)
    params = ", ".join([*([] if callee else ["target"]), *fixed, *names.values()])
    source = (
        "import operator  # noqa: F401\n\nimport numpy as np  # noqa: F401\n\n\n"
        f"def make({params}):\n"
        f"    def wrt_{fname}({', '.join(free)}):\n"
        f"        return {callee or 'target'}({', '.join(call)})\n\n"
        f"    return wrt_{fname}\n"
    )
    make = _load(source, "unary").make
    values = [args[i] for i in range(len(args)) if i not in argnums]
    return make(*([] if callee else [fun]), *values, *kwargs.values())


def _inner_expr(structure: object, y: str, v: str) -> str:
    if isinstance(structure, dict):
        parts = [_inner_expr(s, f"{y}[{k!r}]", f"{v}[{k!r}]") for k, s in structure.items()]
    elif isinstance(structure, (tuple, list)):
        parts = [_inner_expr(s, f"{y}[{i}]", f"{v}[{i}]") for i, s in enumerate(structure)]
    else:
        return f"np.sum({y} * {v})"
    return " + ".join(parts) if parts else "0.0"


def _skeleton(x: object) -> object:
    if isinstance(x, dict):
        return {k: _skeleton(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return [_skeleton(v) for v in x]
    return None


def _derivative_function(fun: Callable, n: int, mode: str, y: object) -> tuple[Callable, str]:
    """The derivative function of ``fun`` (a function of ``n`` arguments) that the next order
    checks, and what its extra argument is ('input': shaped like the inputs, one per
    argument; 'output': shaped like ``y``)."""
    xs = ", ".join(f"x{i}" for i in range(n))
    name = _identifier(get_name(fun))
    if SETTINGS["nested"] == "vjp":
        if mode == "rev":
            pick = "[0]" if n == 1 else ""
            source = (
                "def make(srcad, target):\n"
                f"    def vjp_{name}({xs}, v):\n"
                f"        return srcad.vjp(target, {xs})[1](v){pick}\n\n"
                f"    return vjp_{name}\n"
            )
            return _load(source, "vjp").make(srcad, fun), "output"
        ts = ", ".join(f"t{i}" for i in range(n))
        source = (
            "def make(srcad, target):\n"
            f"    def jvp_{name}({xs}, {ts}):\n"
            f"        return srcad.jvp(target, ({xs},), ({ts},))[1]\n\n"
            f"    return jvp_{name}\n"
        )
        return _load(source, "jvp").make(srcad, fun), "input"
    expr = _inner_expr(_skeleton(y), "y", "v")
    source = (
        "import numpy as np\n\n\n"
        "def make(target):\n"
        f"    def inner_{name}({xs}, v):\n"
        f"        y = target({xs})\n"
        f"        return {expr}\n\n"
        f"    return inner_{name}\n"
    )
    inner_fn = _load(source, "inner").make(fun)
    return srcad.grad(inner_fn, argnums=0 if n == 1 else tuple(range(n))), "output"


# --- the checks ---------------------------------------------------------------------------------
def scalar_close(a: float, b: float) -> bool:
    tol, rtol = SETTINGS["tol"], SETTINGS["rtol"]
    return abs(a - b) < tol or abs(a - b) / abs(a + b) < rtol


def _numerical_jvp(fun: Callable, xs: list) -> Callable:
    eps = SETTINGS["eps"]

    def jvp(v: list) -> object:
        plus = fun(*axpy(eps / 2, v, xs))
        minus = fun(*axpy(-eps / 2, v, xs))
        return tree_sub_scale(plus, minus, 1.0 / eps)

    return jvp


def _same_space(got: object, expected: object, what: str) -> None:
    if space(got) != space(expected):
        raise WrongDerivative(
            f"{what} has the wrong structure, shape or dtype: got {describe_space(space(got))},"
            f" expected {describe_space(space(expected))}"
        )


def _check_primal(out: object, fun: Callable, xs: list, what: str) -> None:
    expected = fun(*xs)
    _same_space(out, expected, f"the value returned by {what}")


def check_vjp(fun: Callable, xs: list, where: str) -> None:
    out, pull = srcad.vjp(fun, *xs)
    _check_primal(out, fun, xs, "srcad.vjp")
    numeric = _numerical_jvp(fun, xs)
    x_v, y_v = randn_like(xs), randn_like(out)
    cotangents = pull(y_v)
    if not isinstance(cotangents, tuple) or len(cotangents) != len(xs):
        raise WrongDerivative(
            f"srcad.vjp's vjp_fn returned {describe_value(cotangents)}, not one cotangent per "
            f"argument ({len(xs)})"
        )
    for i, (c, x) in enumerate(zip(cotangents, xs, strict=True)):
        _same_space(c, x, f"the cotangent of argument {i}")
    exact = inner(x_v, list(cotangents))
    approx = inner(y_v, numeric(x_v))
    if not scalar_close(approx, exact):
        raise WrongDerivative(
            f"VJP check ({where}) of {get_name(fun)} failed: analytic {exact!r}, "
            f"numeric {approx!r}"
        )


def check_jvp(fun: Callable, xs: list, where: str) -> None:
    x_v = randn_like(xs)
    out, tangent = srcad.jvp(fun, tuple(xs), tuple(x_v))
    _check_primal(out, fun, xs, "srcad.jvp")
    approx = _numerical_jvp(fun, xs)(x_v)
    _same_space(tangent, out, "the tangent of srcad.jvp")
    v = randn_like(approx)
    exact_ip, approx_ip = inner(tangent, v), inner(approx, v)
    if not scalar_close(exact_ip, approx_ip):
        raise WrongDerivative(
            f"JVP check ({where}) of {get_name(fun)} failed: analytic {exact_ip!r}, "
            f"numeric {approx_ip!r}"
        )


def _check(fun: Callable, xs: list, modes: list, order: int, path: str, reached: list) -> None:
    """autograd's ``check_grads`` recursion, with every first-order check of a level made
    before the next order's (so that a wrong first derivative is what gets reported)."""
    max_order = SETTINGS["max_order"]
    if max_order is not None:
        depth = path.count("/") + 1 if path else 0
        order = min(order, max_order - depth)
    prefix = f"{path}/" if path else ""
    if "fwd" in modes:
        check_jvp(fun, xs, prefix + "fwd")
        reached.append(prefix + "fwd")
    if "rev" in modes:
        check_vjp(fun, xs, prefix + "rev")
        reached.append(prefix + "rev")
    if order <= 1:
        return
    nesting = [m for m in ("fwd", "rev") if m in modes]
    if SETTINGS["nested"] == "grad":
        nesting = ["grad"]  # one derivative function, srcad.grad of <f(x), v>
    for mode in nesting:
        y = fun(*xs)
        d_fun, extra = _derivative_function(fun, len(xs), mode, y)
        if extra == "input":
            more = list(randn_like(xs))
        else:
            more = [randn_like(y)]
        _check(d_fun, [*xs, *more], modes, order - 1, prefix + mode, reached)


def _label(fun: Callable, args: tuple, kwargs: dict, argnums: tuple) -> str:
    parts = [describe_value(a) for a in args]
    parts += [f"{k}={describe_value(v)}" for k, v in kwargs.items()]
    wrt = argnums[0] if len(argnums) == 1 else argnums
    return f"{get_name(fun)}({', '.join(parts)}) wrt {wrt}"


def check_grads(fun: Callable, argnum: object = 0, modes: list | None = None, order: int = 2):
    """autograd's ``check_grads(fun, argnum, modes, order)(*args, **kwargs)``, checking
    srcad's derivatives. Records one check; never raises (the test goes on)."""
    if modes is None:
        modes = ["fwd", "rev"]
    assert all(m in ("fwd", "rev") for m in modes)
    argnums = tuple(argnum) if isinstance(argnum, (list, tuple)) else (argnum,)

    def checker(*args: object, **kwargs: object) -> None:
        record = Recorder.current
        label = _label(fun, args, kwargs, argnums)
        entry = {"check": label, "modes": list(modes), "order": order}
        if record is not None:
            record.checks.append(entry)
        if has_complex(args, kwargs):
            entry.update(status="skipped", message="complex-valued arguments")
            return
        if SETTINGS["beat"] is not None:
            SETTINGS["beat"](label)
        reached: list = []
        start = time.monotonic()
        try:
            with alarm(SETTINGS["timeout"]):
                unary = _unary(fun, args, kwargs, argnums)
                _check(unary, [args[i] for i in argnums], modes, order, "", reached)
            entry["status"] = "passed"
        except (Exception, CheckTimeout) as error:
            status, message = classify(error)
            entry.update(status=status, message=message)
            if status == "timeout" and record is not None:
                record.timed_out = True
        entry["reached"] = reached
        entry["seconds"] = round(time.monotonic() - start, 3)

    return checker


def combo_check(fun: Callable, *args: object, **kwargs: object) -> Callable:
    """autograd's ``combo_check``: every combination of the given arguments and keyword
    arguments is one check."""
    _check_grads = lambda f: check_grads(f, *args, **kwargs)  # noqa: E731

    def _combo_check(*args: object, **kwargs: object) -> None:
        kwarg_key_vals = [[(k, x) for x in xs] for k, xs in kwargs.items()]
        for _args in itertools.product(*args):
            for _kwargs in itertools.product(*kwarg_key_vals):
                _check_grads(fun)(*_args, **dict(_kwargs))

    return _combo_check


def check_equivalent(x: object, y: object) -> None:
    _same_space(x, y, "value")
    v = randn_like(x)
    assert scalar_close(inner(x, v), inner(y, v)), f"Value mismatch:\nx: {x}\ny: {y}"


# --- autograd.numpy's own additions (plain NumPy here) ------------------------------------------
def make_diagonal(D, offset=0, axis1=0, axis2=1):  # noqa: N803 (autograd's signature)
    """autograd.numpy.make_diagonal: the last axis of ``D`` spread on a diagonal (offset 0,
    the only one the tests use; written without a raise, which srcad would refuse)."""
    out = D[..., None] * np.eye(D.shape[-1])
    return np.moveaxis(out, (-2, -1), (axis1, axis2))


def linalg_dot(a, b):
    return np.einsum("...ij,...jk->...ik", a, b)


def linalg_T(x):  # noqa: N802 (autograd's name)
    return np.swapaxes(x, -1, -2)
