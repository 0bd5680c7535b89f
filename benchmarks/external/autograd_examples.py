"""Run autograd's example programs, ported to srcad by changing their import lines only.

    python benchmarks/external/autograd_examples.py [--repo PATH] [--jobs 2] [--out report.json]

Reads ``examples/`` from a local copy of HIPS/autograd at run time (none of it is committed
here), rewrites each example's ``import`` statements (and nothing else: ``autograd.numpy`` ->
``numpy``, ``autograd.scipy`` -> ``scipy``, ``grad``/``value_and_grad``/``jacobian``/
``hessian`` -> srcad's own, autograd's helpers -> ``agcompat``, a small module of this
harness written at run time on srcad and NumPy), then runs every example as ``__main__`` in a
process of its own: matplotlib's Agg backend, ``plt.show``/``plt.pause`` do nothing, MNIST
replaced by small random data of its shape, optimizers and ``scipy.optimize.minimize`` capped
at ``--steps`` iterations, a few listed size patches, ``--timeout`` seconds of CPU time (60).

Counted: an example passes when it runs to its end AND the gradients it asked srcad for are
right: the first call (and the fifth, to catch stale values) of each function srcad
differentiated is checked against central differences of the plain function, along random
directions, at the very arguments the example passed (random draws replayed). Failures are
``wrong`` (a gradient or value off), ``refused`` (a srcad error), ``crashed``, ``timeout`` or
``unportable`` (the example uses autograd internals: its tracer, ``Box``, ``VSpace``).
``--reference`` runs the same examples, unported, with autograd itself (from the repository):
the harness's own check, which autograd should pass. See README.md.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import contextlib
import copy
import gc
import importlib
import importlib.util
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    CheckTimeout,
    Pool,
    Protocol,
    add_report_options,
    classify,
    describe_space,
    extract,
    first_line,
    fmt_seconds,
    group_key,
    is_float_leaf,
    leaves,
    md_table,
    repo_commit,
    space,
    table,
    temp_root,
    tree_map,
    worker_env,
    write_reports,
)

DEFAULT_REPO = Path("/work/.mirror/HIPS+autograd/repo")
OUTCOMES = ("passed", "wrong", "refused", "crashed", "timeout", "unportable")
FAILURES = OUTCOMES[1:]


# --- the examples ------------------------------------------------------------------------------
@dataclass
class Example:
    """One example program. ``objective``: the name (in the example's ``__main__``
    namespace) of the function whose gradient is the example's point; None: the first
    function the example differentiated. ``patches``: (old, new) replacements of its text,
    each found exactly once, made after the import lines are ported (sizes only)."""

    path: str
    objective: str | None
    patches: list[tuple[str, str]] = field(default_factory=list)
    notes: str = ""
    # a check made after the run when no call of ``objective`` was recorded:
    # (kind, argument expression), kind "egrad" (elementwise_grad) or "grad"
    explicit: tuple[str, str] | None = None
    rtol: float = 1e-5
    steps: int | None = None  # a lower optimizer cap than --steps (slow callbacks)
    fd_steps: tuple = (1e-6, 1e-5, 1e-4, 1e-7)  # central-difference steps, in turn
    check: bool = True  # False: running to the end is all (the tracer demos)
    counted: bool = True  # False: not among the 29 (autograd's tracer demos)


MNIST = "MNIST replaced by random 28x28 images and labels (512 train, 128 test)"

EXAMPLES: dict[str, Example] = {
    "neural_net": Example("neural_net.py", "objective", notes=MNIST),
    "neural_net_regression": Example("neural_net_regression.py", "objective"),
    "rnn": Example("rnn.py", "training_loss"),
    "lstm": Example("lstm.py", "training_loss"),
    "gaussian_process": Example("gaussian_process.py", "objective"),
    "deep_gaussian_process": Example("deep_gaussian_process.py", "objective"),
    "gmm": Example("gmm.py", "flattened_obj"),
    "mixture_variational_inference": Example("mixture_variational_inference.py", "objective"),
    "black_box_svi": Example("black_box_svi.py", "objective"),
    "natural_gradient_black_box_svi": Example("natural_gradient_black_box_svi.py", "objective"),
    "bayesian_neural_net": Example("bayesian_neural_net.py", "objective"),
    "bayesian_optimization": Example(
        "bayesian_optimization.py",
        None,
        patches=[
            (
                "def bayesian_optimize(func, domain_min, domain_max, num_iters=20,",
                "def bayesian_optimize(func, domain_min, domain_max, num_iters=2,",
            )
        ],
        notes="2 of 20 iterations: at the 3rd (its first GP fit) autograd itself stops "
        "here (scipy 1.17): CG's line search reaches a covariance that is not positive "
        "definite",
    ),
    "variational_autoencoder": Example("variational_autoencoder.py", "objective", notes=MNIST),
    "generative_adversarial_net": Example(
        "generative_adversarial_net.py",
        "objective",
        patches=[("    num_epochs = 50\n", "    num_epochs = 2\n")],
        notes=MNIST,
    ),
    "convnet": Example(
        "convnet.py",
        "loss_fun",
        patches=[("    num_epochs = 50\n", "    num_epochs = 2\n")],
        notes=MNIST,
    ),
    "logistic_regression": Example("logistic_regression.py", "training_loss"),
    "tanh": Example("tanh.py", "tanh", explicit=("egrad", "(x,)")),
    "sinusoid": Example("sinusoid.py", "fun"),
    "rosenbrock": Example("rosenbrock.py", "rosenbrock"),
    "ica": Example(
        "ica.py",
        "objective",
        steps=3,
        notes="3 steps: each callback makes 200 scatter plots",
    ),
    "rkhs": Example("rkhs.py", "logprob"),
    "gplvm": Example("gplvm.py", "objective"),
    "hmm_em": Example(
        "hmm_em.py",
        "log_partition_function",
        patches=[("atol=1e-3, rtol=1e-3", "atol=1e3, rtol=1e3")],
        notes="one EM step (the tolerance of its own fixed-point loop): EM takes hundreds",
    ),
    "negative_binomial_maxlike": Example("negative_binomial_maxlike.py", None),
    "fixed_points": Example(
        "fixed_points.py",
        "sqrt",
        rtol=1e-2,
        notes="rtol 1e-2: autograd differentiates the fixed point implicitly, the plain "
        "function stops at tol 1e-4",
    ),
    "ode_net": Example(
        "ode_net.py",
        "train_loss",
        steps=3,
        rtol=5e-2,
        fd_steps=(1e-3, 3e-3, 1e-2),
        notes="loose check (rtol 5e-2, steps 1e-3 to 1e-2): odeint(rtol=0.01) takes adaptive "
        "steps, a jagged function of the parameters; 3 optimizer steps (streamplot callback)",
    ),
    "fluidsim": Example(
        "fluidsim/fluidsim.py",
        "objective",
        steps=3,
        patches=[("    simulation_timesteps = 100\n", "    simulation_timesteps = 10\n")],
        notes="10 of 100 time steps, 3 CG iterations (each callback draws every step)",
    ),
    "wing": Example(
        "fluidsim/wing.py",
        "objective",
        steps=3,
        patches=[("    simulation_timesteps = 20\n", "    simulation_timesteps = 5\n")],
        notes="5 of 20 time steps, 3 CG iterations (each callback draws every step)",
    ),
    "define_gradient": Example("define_gradient.py", "example_func"),
    "print_trace": Example("print_trace.py", None, check=False, counted=False),
    "dot_graph": Example("dot_graph.py", None, check=False, counted=False),
}

# Stand-in for examples/data_mnist.py: no download.
DATA_MNIST = '''"""Stand-in for autograd's examples/data_mnist.py, written by srcad's
benchmarks/external/autograd_examples.py: random images and labels shaped like MNIST's
(uint8 28x28 images, labels 0-9), so that nothing is downloaded."""

import numpy as np

N_TRAIN, N_TEST = 512, 128


def mnist():
    rs = np.random.RandomState(0)
    train_images = rs.randint(0, 256, (N_TRAIN, 28, 28)).astype(np.uint8)
    train_labels = rs.randint(0, 10, N_TRAIN).astype(np.uint8)
    test_images = rs.randint(0, 256, (N_TEST, 28, 28)).astype(np.uint8)
    test_labels = rs.randint(0, 10, N_TEST).astype(np.uint8)
    return train_images, train_labels, test_images, test_labels
'''

# --- agcompat: autograd's helpers on srcad, written at run time ---------------------------------
AGCOMPAT = '''"""autograd's helpers on srcad and NumPy, for autograd's examples ported by changing their
import lines (written at run time by srcad's benchmarks/external/autograd_examples.py).

What srcad has itself, the ported examples import from srcad (grad, value_and_grad,
jacobian as srcad.jacrev, hessian). The rest is here: elementwise_grad,
hessian_vector_product (srcad.vjp, srcad.hvp); autograd.misc's flatten, flatten_func,
optimizers (adam, sgd, rmsprop: they call grad(params, iteration)) and fixed_point;
test_util.check_grads (srcad.check_grad: first derivatives only); extend.primitive (nothing
to do) and defvjp (srcad.defvjp); util.func; scipy.signal.convolve ('valid' mode of two
4-d arrays, what convnet.py uses). Functions that differentiated code may call (flatten,
unflatten, fixed_point, convolve) are plain NumPy that srcad reads.
"""

import types

import numpy as np

import srcad

MAX_ITERS = None  # set by the harness: the optimizers stop after this many iterations


# --- differential operators srcad has under no name of its own ---------------------------------
def elementwise_grad(fun, argnum=0):
    """The vector-Jacobian product with a cotangent of ones (autograd's elementwise_grad)."""

    def gradient(*args):
        out, pull = srcad.vjp(fun, *args)
        return pull(np.ones_like(out))[argnum]

    return gradient


def hessian_vector_product(fun, argnum=0):
    """f(*args, vector): the Hessian of fun with respect to argument argnum, times vector."""

    def product(*args):
        xs, vector = args[:-1], args[-1]
        if len(xs) == 1 and argnum == 0:
            return srcad.hvp(fun, (xs[0],), (vector,))

        def of_one(x):
            return fun(*xs[:argnum], x, *xs[argnum + 1 :])

        return srcad.hvp(of_one, (xs[argnum],), (vector,))

    return product


# --- autograd.misc.flatten -----------------------------------------------------------------------
def _flatten(value):
    if isinstance(value, (list, tuple)):
        return _concatenate([_flatten(v) for v in value])
    if isinstance(value, dict):
        return _concatenate([_flatten(value[k]) for k in value])
    return np.ravel(value)


def _concatenate(parts):
    if len(parts) == 0:
        return np.zeros(0)
    return np.concatenate(parts)


def _size(value):
    if isinstance(value, (list, tuple)):
        return sum([_size(v) for v in value])
    if isinstance(value, dict):
        return sum([_size(v) for v in value.values()])
    return np.size(value)


def _unflatten(flat, like):
    if isinstance(like, (list, tuple)):
        out = []
        start = 0
        for v in like:
            n = _size(v)
            out.append(_unflatten(flat[start : start + n], v))
            start = start + n
        if isinstance(like, tuple):
            return tuple(out)
        return out
    if isinstance(like, dict):
        out = {}
        start = 0
        for k in like:
            n = _size(like[k])
            out[k] = _unflatten(flat[start : start + n], like[k])
            start = start + n
        return out
    if np.ndim(like) == 0:
        return flat[0]
    return np.reshape(flat, np.shape(like))


def flatten(value):
    """(1-d array of all the leaves; the function that undoes it). Dicts are read in their
    own order (autograd sorts their keys: srcad refuses sorted() in differentiated code)."""

    def unflatten(flat):
        return _unflatten(flat, value)

    return _flatten(value), unflatten


def flatten_func(func, example):
    flat_example, unflatten = flatten(example)

    def flat_func(flat, *args):
        return _flatten(func(unflatten(flat), *args))

    return flat_func, unflatten, flat_example


# --- autograd.misc.optimizers --------------------------------------------------------------------
def _iterations(num_iters):
    return num_iters if MAX_ITERS is None else min(num_iters, MAX_ITERS)


def _unflatten_optimizer(optimize):
    """An optimizer of flat vectors made one of (nested containers of) arrays."""

    def on_trees(grad, x0, callback=None, *args, **kwargs):
        flat_x0, unflatten = flatten(x0)

        def flat_grad(x, i):
            return _flatten(grad(unflatten(x), i))

        flat_callback = None
        if callback:

            def flat_callback(x, i, g):
                return callback(unflatten(x), i, unflatten(g))

        return unflatten(optimize(flat_grad, flat_x0, flat_callback, *args, **kwargs))

    on_trees.__name__ = optimize.__name__
    on_trees.__doc__ = optimize.__doc__
    return on_trees


@_unflatten_optimizer
def sgd(grad, x, callback=None, num_iters=200, step_size=0.1, mass=0.9):
    """Stochastic gradient descent with momentum; grad(x, i)."""
    velocity = np.zeros(len(x))
    for i in range(_iterations(num_iters)):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        velocity = mass * velocity - (1.0 - mass) * g
        x = x + step_size * velocity
    return x


@_unflatten_optimizer
def rmsprop(grad, x, callback=None, num_iters=100, step_size=0.1, gamma=0.9, eps=10**-8):
    avg_sq_grad = np.ones(len(x))
    for i in range(_iterations(num_iters)):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        avg_sq_grad = avg_sq_grad * gamma + g**2 * (1 - gamma)
        x = x - step_size * g / (np.sqrt(avg_sq_grad) + eps)
    return x


@_unflatten_optimizer
def adam(grad, x, callback=None, num_iters=100, step_size=0.001, b1=0.9, b2=0.999, eps=10**-8):
    """Adam (Kingma and Ba); grad(x, i)."""
    m = np.zeros(len(x))
    v = np.zeros(len(x))
    for i in range(_iterations(num_iters)):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * (g**2) + b2 * v
        mhat = m / (1 - b1 ** (i + 1))
        vhat = v / (1 - b2 ** (i + 1))
        x = x - step_size * mhat / (np.sqrt(vhat) + eps)
    return x


# --- autograd.misc.fixed_points ------------------------------------------------------------------
def fixed_point(f, a, x0, distance, tol):
    """Iterate f(a) from x0 until two iterates are within tol (differentiated as a loop)."""
    _f = f(a)
    x, x_prev = _f(x0), x0
    while distance(x, x_prev) > tol:
        x, x_prev = _f(x), x
    return x


# --- autograd.test_util, autograd.extend, autograd.util ------------------------------------------
def check_grads(fun, argnum=0, modes=None, order=2):
    """srcad.check_grad at the given arguments (first derivatives; raises on a mismatch)."""

    def check(*args):
        srcad.check_grad(fun, *args, argnums=argnum)

    return check


def primitive(fun):
    """autograd.extend.primitive: srcad makes a function with a rule a primitive itself."""
    return fun


def defvjp(fun, *makers, argnums=None):
    """autograd's defvjp(fun, maker_0, maker_1, ...), maker_i(ans, *args) -> (g -> cotangent
    of argument i), as srcad.defvjp(fun, rule(g, out, *args))."""

    def rule(g, out, *args):
        numbers = range(len(args)) if argnums is None else argnums
        cotangents = [None] * len(args)
        for number, maker in zip(numbers, makers):
            if maker is not None:
                cotangents[number] = maker(out, *args)(g)
        return tuple(cotangents)

    return srcad.defvjp(fun, rule)


def func(f):
    return f


# --- autograd.scipy.signal.convolve --------------------------------------------------------------
def convolve(A, B, axes=None, dot_axes=None, mode="full"):
    """autograd.scipy.signal.convolve for convnet.py's call: 'valid' mode, A [data, color_in,
    y, x] and B [color_in, color_out, ky, kx], axes ([2, 3], [2, 3]), dot_axes ([1], [0]);
    the result is [data, color_out, y', x'] (a true convolution: B is flipped)."""
    if (
        mode != "valid"
        or np.ndim(A) != 4
        or np.ndim(B) != 4
        or [list(a) for a in axes] != [[2, 3], [2, 3]]
        or [list(a) for a in dot_axes] != [[1], [0]]
    ):
        raise NotImplementedError("agcompat.convolve: only convnet.py's form is written")
    ky, kx = B.shape[2], B.shape[3]
    out_y = A.shape[2] - ky + 1
    out_x = A.shape[3] - kx + 1
    out = 0.0
    for i in range(ky):
        for j in range(kx):
            patch = A[:, :, i : i + out_y, j : j + out_x]
            weights = B[:, :, ky - 1 - i, kx - 1 - j]
            out = out + np.einsum("ncyx,co->noyx", patch, weights)
    return out


scipy = types.SimpleNamespace(signal=types.SimpleNamespace(convolve=convolve))
'''

# what the ported files import from srcad itself, under autograd's name
SRCAD_NAMES = {"grad": "grad", "value_and_grad": "value_and_grad", "jacobian": "jacrev"}
SRCAD_NAMES["hessian"] = "hessian"
AGCOMPAT_NAMES = {
    "elementwise_grad",
    "hessian_vector_product",
    "flatten",
    "flatten_func",
    "adam",
    "sgd",
    "rmsprop",
    "fixed_point",
    "check_grads",
    "primitive",
    "defvjp",
    "func",
}
# autograd's modules whose names the port takes from srcad or agcompat
API_MODULES = {
    "autograd",
    "autograd.misc",
    "autograd.misc.flatten",
    "autograd.misc.optimizers",
    "autograd.misc.fixed_points",
    "autograd.extend",
    "autograd.test_util",
    "autograd.util",
    "autograd.tracer",
    "autograd.core",
}


# --- porting: import lines only -------------------------------------------------------------------
def _real_module(name: str) -> str:
    for alias, real in (("autograd.numpy", "numpy"), ("autograd.scipy", "scipy")):
        if name == alias or name.startswith(alias + "."):
            return real + name[len(alias) :]
    return name


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _alias(name: str, asname: str | None) -> str:
    return name if not asname or asname == name else f"{name} as {asname}"


def _port_statement(node: ast.stmt) -> tuple[str, list[str]] | None:
    """The ported text of one import statement (None: it imports nothing of autograd), and
    the names that no port can give (autograd internals)."""
    missing: list[str] = []
    if isinstance(node, ast.Import):
        if not any(a.name.split(".")[0] == "autograd" for a in node.names):
            return None
        parts = []
        for a in node.names:
            if a.name.split(".")[0] != "autograd":
                parts.append(f"import {_alias(a.name, a.asname)}")
            elif a.name.startswith(("autograd.numpy", "autograd.scipy")) and a.asname:
                real = _real_module(a.name)
                if _is_module(real):
                    parts.append(f"import {_alias(real, a.asname)}")
                else:  # an object, not a module: scipy.stats.multivariate_normal
                    owner, _, attr = real.rpartition(".")
                    parts.append(f"from {owner} import {_alias(attr, a.asname)}")
            elif a.asname is None and a.name.startswith("autograd."):
                parts.append("import agcompat as autograd")  # autograd.scipy.signal.convolve
            else:
                parts.append(f"import agcompat as {a.asname or 'autograd'}")
        return "; ".join(parts), missing
    if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
        return None
    module = node.module
    if module.split(".")[0] != "autograd":
        return None
    if module.startswith(("autograd.numpy", "autograd.scipy")):
        names = ", ".join(_alias(a.name, a.asname) for a in node.names)
        return f"from {_real_module(module)} import {names}", missing
    if module == "autograd.builtins":
        names = ", ".join(_alias(a.name, a.asname) for a in node.names)
        return f"from builtins import {names}", missing
    from_srcad, from_compat = [], []
    for a in node.names:
        if a.name in SRCAD_NAMES and module == "autograd":
            from_srcad.append(_alias(SRCAD_NAMES[a.name], a.asname or a.name))
        else:
            from_compat.append(_alias(a.name, a.asname))
            if a.name not in AGCOMPAT_NAMES or module not in API_MODULES:
                missing.append(f"{module}.{a.name}")
    parts = []
    if from_srcad:
        parts.append(f"from srcad import {', '.join(from_srcad)}")
    if from_compat:
        parts.append(f"from agcompat import {', '.join(from_compat)}")
    return "; ".join(parts), missing


def port_source(text: str) -> tuple[str, list[dict], list[str]]:
    """``text`` with its autograd import statements rewritten, each in place (the line
    numbers stay): the new text, the changes, the names no port can give."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    changes, missing = [], []
    statements = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    for node in sorted(statements, key=lambda n: n.lineno, reverse=True):
        ported = _port_statement(node)
        if ported is None:
            continue
        new, lost = ported
        missing += lost
        first, last = node.lineno - 1, node.end_lineno or node.lineno
        old = "".join(lines[first:last])
        indent = " " * node.col_offset
        lines[first:last] = [indent + new + "\n"] + ["\n"] * (last - first - 1)
        changes.append({"line": node.lineno, "old": old.strip(), "new": new})
    return "".join(lines), sorted(changes, key=lambda c: c["line"]), sorted(set(missing))


def apply_patches(text: str, patches: list[tuple[str, str]]) -> str:
    for old, new in patches:
        found = text.count(old)
        if found != 1:
            raise ValueError(f"patch {old.strip()!r} found {found} times (expected once)")
        text = text.replace(old, new)
    return text


def prepare(upstream: Path, dest: Path, reference: bool) -> dict:
    """The examples folder, ported (or, for --reference, as it is), with the stand-in
    data_mnist.py and the patches; returns each example's port record."""
    source = upstream / "examples"
    shutil.copytree(source, dest)
    (dest / "data_mnist.py").write_text(DATA_MNIST)
    if not reference:
        (dest / "agcompat.py").write_text(AGCOMPAT)
    records: dict = {}
    ported_texts: dict[Path, str] = {}
    for path in sorted(dest.rglob("*.py")):
        if path.name in ("data_mnist.py", "agcompat.py", "__init__.py"):
            continue
        text = path.read_text()
        if reference:
            ported, changes, missing = text, [], []
        else:
            ported, changes, missing = port_source(text)
        ported_texts[path] = ported
        records[str(path.relative_to(dest))] = {"changes": changes, "missing": missing}
    for ex in EXAMPLES.values():
        path = dest / ex.path
        rec = records.get(ex.path)
        if rec is None:
            continue
        try:
            ported_texts[path] = apply_patches(ported_texts[path], ex.patches)
        except ValueError as error:
            rec["patch_error"] = str(error)
    for path, text in ported_texts.items():
        path.write_text(text)
    return records


# --- the worker: random states, the recorder, the checks -----------------------------------------
# The limits count the worker's CPU time (user + system: ITIMER_PROF) by default, so that a
# loaded machine does not turn into timeouts; --clock wall counts wall-clock time.
CLOCK = {"timer": signal.ITIMER_PROF, "signal": signal.SIGPROF}


def _set_clock(kind: str) -> None:
    if kind == "wall":
        CLOCK.update(timer=signal.ITIMER_REAL, signal=signal.SIGALRM)


def _rng_snapshot() -> list:
    """Every live NumPy random state (RandomState, Generator, the global one)."""
    import numpy as np

    found = []
    for obj in gc.get_objects():
        if isinstance(obj, np.random.RandomState):
            found.append((obj, obj.get_state()))
        elif isinstance(obj, np.random.Generator):
            found.append((obj, obj.bit_generator.state))
    return found


def _rng_restore(snapshot: list) -> None:
    import numpy as np

    for obj, state in snapshot:
        if isinstance(obj, np.random.RandomState):
            obj.set_state(state)
        else:
            obj.bit_generator.state = state


def _plain_leaf(x: object) -> bool:
    """False for srcad's tracers and autograd's boxes: a call made while compiling or
    tracing, which is not the example's own."""
    module = getattr(type(x), "__module__", "") or ""
    return not module.startswith(("srcad", "autograd"))


def _unit_direction(args: list, numbers: tuple, rs: object) -> list:
    """Random normal values on the float leaves of args[numbers], of norm 1 in all."""
    import numpy as np

    def one(v: object) -> object:
        if isinstance(v, float):
            return float(rs.randn())
        if is_float_leaf(v):
            return np.asarray(rs.randn(*np.shape(v)))
        return None

    picked = [tree_map(one, args[n]) for n in numbers]
    total = sum(float(np.sum(np.square(v))) for v in leaves(picked) if v is not None)
    scale = 1.0 / np.sqrt(total) if total > 0 else 0.0
    return [tree_map(lambda v: None if v is None else v * scale, p) for p in picked]


def _shift(arg: object, direction: object, h: float) -> object:
    """``arg + h * direction`` on the leaves where direction is not None (dtypes kept)."""
    import numpy as np

    def one(x: object, d: object) -> object:
        if d is None:
            return x
        if isinstance(x, float):
            return x + h * d
        out = np.asarray(x, dtype=np.float64) + h * d
        if isinstance(x, np.generic):
            return x.dtype.type(out)
        return out.astype(np.asarray(x).dtype)

    return tree_map(one, arg, direction)


def _inner_dir(direction: object, grad: object) -> float:
    """<direction, grad> over the leaves where direction is not None."""
    import numpy as np

    total = 0.0
    for d, g in zip(leaves(direction), leaves(grad), strict=True):
        if d is None or g is None:
            continue
        total += float(np.sum(np.asarray(d, dtype=np.float64) * np.asarray(g, dtype=np.float64)))
    return total


class Recorder:
    """Watches the calls of functions srcad (or, for --reference, autograd) returned: the
    first call and the fifth of each is recorded and checked on the spot, with the script's
    timer paused."""

    LATER_CALL = 5
    MAX_RECORDS = 8
    STEPS = (1e-6, 1e-5, 1e-4, 1e-7)
    DIRECTIONS = 3

    def __init__(self, settings: dict, beat: object) -> None:
        self.records: list[dict] = []
        self.depth = 0
        self.calls: dict[int, int] = {}
        self.keep: list = []  # keeps the watched functions alive (ids stay unique)
        self.first_keys: set = set()
        self.check_timeout = settings["check_timeout"]
        self.rtol = settings.get("rtol", 1e-5)
        self.beat = beat

    @contextlib.contextmanager
    def inside(self):
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def call(self, kind, fun, numbers, single, with_value, target, args, kwargs, owner=None):
        """``target(*args, **kwargs)`` (the derivative function), recorded and checked when
        it is a top-level call worth checking."""
        if self.depth > 0 or not all(_plain_leaf(x) for x in leaves([args, kwargs])):
            with self.inside():
                return target(*args, **kwargs)
        owner = target if owner is None else owner
        key = id(owner)
        if key not in self.calls:
            self.keep.append(owner)
        n = self.calls[key] = self.calls.get(key, 0) + 1
        first_key = (getattr(fun, "__code__", None) or id(fun), numbers, _shapes(args))
        worth = len(self.records) < self.MAX_RECORDS and (
            (n == 1 and first_key not in self.first_keys) or n == self.LATER_CALL
        )
        if not worth:
            with self.inside():
                return target(*args, **kwargs)
        if n == 1:
            self.first_keys.add(first_key)
        before = _rng_snapshot()
        try:
            saved = copy.deepcopy((args, kwargs))
        except Exception:  # noqa: BLE001 (then the arguments themselves, unchanged so far)
            saved = (args, kwargs)
        record = {
            "kind": kind,
            "function": _name(fun),
            "call": n,
            "argnums": list(numbers),
            "arguments": _describe(args),
        }
        self.records.append(record)
        record["fun"] = fun  # removed before the result is sent
        start = time.monotonic()
        try:
            with self.inside():
                result = target(*args, **kwargs)
        except BaseException as error:
            record["seconds"] = round(time.monotonic() - start, 3)
            status, message = (
                classify(error)
                if not isinstance(error, CheckTimeout)
                else (
                    "timeout",
                    "timeout",
                )
            )
            record.update(status=status, message=message)
            raise
        record["seconds"] = round(time.monotonic() - start, 3)
        after = _rng_snapshot()
        self.check(record, fun, numbers, single, with_value, saved, before, result)
        _rng_restore(after)
        return result

    def check(self, record, fun, numbers, single, with_value, saved, before, result) -> None:
        """Compare ``result`` with central differences of ``fun`` (random draws replayed)."""
        if callable(self.beat):
            self.beat(f"checking {record['function']}")
        remaining = signal.setitimer(CLOCK["timer"], 0)[0]
        previous = signal.getsignal(CLOCK["signal"])

        def ring(signum: int, frame: object) -> None:
            raise CheckTimeout(f"the check ran past {self.check_timeout:g} s")

        signal.signal(CLOCK["signal"], ring)
        signal.setitimer(CLOCK["timer"], self.check_timeout)
        start = time.monotonic()
        try:
            with self.inside(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                status, message, worst = _compare(
                    fun, numbers, single, with_value, saved, before, result, self
                )
        except CheckTimeout as error:
            status, message, worst = "check_timeout", f"check: {error}", None
        except Exception as error:  # noqa: BLE001 (the plain function failed: reported)
            status, message, worst = "check_error", "check: " + classify(error)[1], None
        finally:
            signal.setitimer(CLOCK["timer"], 0)
            signal.signal(CLOCK["signal"], previous)
            if remaining > 0:
                signal.setitimer(CLOCK["timer"], remaining)
        record.update(
            status=status, message=message, check_seconds=round(time.monotonic() - start, 3)
        )
        if worst is not None:
            record["worst_relative_error"] = worst


def _shapes(args: object) -> tuple:
    import numpy as np

    return tuple((type(x).__name__, np.shape(x)) for x in leaves(args))


def _name(fun: object) -> str:
    name = getattr(fun, "__name__", None) or type(fun).__name__
    inner_fun = getattr(fun, "fun", None) or getattr(fun, "__wrapped__", None)
    if inner_fun is not None and inner_fun is not fun and callable(inner_fun):
        return f"d({_name(inner_fun)})"  # the derivative of a derivative
    return name


def _describe(args: object) -> str:
    from _common import describe_value

    text = describe_value(tuple(args) if isinstance(args, (list, tuple)) else args)
    return text if len(text) < 200 else text[:197] + "..."


def _compare(fun, numbers, single, with_value, saved, before, result, recorder) -> tuple:
    """(status, message, worst relative error): 'passed' or 'wrong'."""
    import numpy as np

    args, kwargs = list(saved[0]), dict(saved[1])

    def plain(at: list) -> float:
        _rng_restore(before)
        return float(np.sum(np.asarray(fun(*at, **kwargs), dtype=np.float64)))

    value = plain(args)
    if with_value:
        got_value, grads = result
        got = float(np.sum(np.asarray(got_value, dtype=np.float64)))
        if not abs(got - value) <= 1e-7 * max(1.0, abs(value)):
            return "wrong", f"value {got!r} but the plain function gives {value!r}", None
    else:
        grads = result
    grads = [grads] if single else list(grads)
    if len(grads) != len(numbers):
        return "wrong", f"{len(grads)} gradients for argnums {list(numbers)}", None
    for g, n in zip(grads, numbers, strict=True):
        if space(g) != space(args[n]):
            return (
                "wrong",
                f"the gradient of argument {n} is {describe_space(space(g))}, the argument "
                f"{describe_space(space(args[n]))}",
                None,
            )
    rs = np.random.RandomState(1234)
    worst, kinks = 0.0, 0
    for d in range(recorder.DIRECTIONS):
        direction = _unit_direction(args, numbers, rs)
        exact = sum(_inner_dir(v, g) for v, g in zip(direction, grads, strict=True))
        tried = []
        for h in recorder.STEPS:
            plus, minus = list(args), list(args)
            for v, n in zip(direction, numbers, strict=True):
                plus[n] = _shift(args[n], v, h)
                minus[n] = _shift(args[n], v, -h)
            approx = (plain(plus) - plain(minus)) / (2 * h)
            error = abs(exact - approx)
            scale = max(abs(exact), abs(approx))
            tolerance = recorder.rtol * scale + 1e-12 * max(1.0, abs(value)) / h
            tried.append((error / scale if scale else error, h, approx))
            if error <= tolerance:
                break
        else:
            side = _one_sided(plain, args, numbers, direction, grads, value)
            if side is None:
                best = min(tried)
                return (
                    "wrong",
                    f"directional derivative {exact!r} but central differences give "
                    f"{best[2]!r} (relative error {best[0]:.2g}, direction {d + 1})",
                    best[0],
                )
            kinks += 1
            tried.append((side, 0.0, 0.0))
        worst = max(worst, tried[-1][0])
    return "passed", f"one-sided differences at a kink ({kinks} directions)" if kinks else "", worst


def _one_sided(plain, args, numbers, direction, grads, value) -> float | None:
    """The relative error of the derivative against a one-sided difference that matches it,
    at a point where the function has kinks (floor, abs, maximum: autograd and srcad give
    one side's derivative); None when none does. The directions tried: ``direction`` both
    ways, then ``|direction|`` and ``-|direction|`` forwards (every coordinate moved the same
    way: fluidsim.py's zero velocities sit on the kinks of floor in every cell)."""
    import numpy as np

    f0 = plain(args)

    def signed(v: object, sign: float) -> object:
        return tree_map(lambda d: None if d is None else sign * np.abs(d), v)

    candidates = [(direction, 1.0), (direction, -1.0)]
    candidates += [([signed(v, 1.0) for v in direction], 1.0)]
    candidates += [([signed(v, -1.0) for v in direction], 1.0)]
    for vs, sign in candidates:
        exact = sum(_inner_dir(v, g) for v, g in zip(vs, grads, strict=True))
        for h in (1e-7, 1e-6, 1e-5):
            moved = list(args)
            for v, n in zip(vs, numbers, strict=True):
                moved[n] = _shift(args[n], v, sign * h)
            approx = (plain(moved) - f0) / (sign * h)
            scale = max(abs(exact), abs(approx))
            if abs(exact - approx) <= 1e-3 * scale + 1e-10 * max(1.0, abs(value)) / h:
                return abs(exact - approx) / scale if scale else 0.0
    return None


def _install_srcad(recorder: Recorder) -> None:
    """Watch the calls of every function srcad.grad and srcad.value_and_grad return."""
    import srcad

    def probe(x):
        return x

    cls = type(srcad.grad(probe))
    original = cls.__call__

    def __call__(self, *args, **kwargs):  # noqa: N807
        wrt = getattr(self, "wrt", None)
        numbers = tuple(getattr(wrt, "numbers", (0,)))
        single = bool(getattr(wrt, "is_single", True))
        kind = "value_and_grad" if getattr(self, "returns_value", False) else "grad"
        if getattr(self, "has_aux", False) or getattr(self, "fun", None) is None:
            return original(self, *args, **kwargs)
        return recorder.call(
            kind,
            self.fun,
            numbers,
            single,
            kind == "value_and_grad",
            lambda *a, **k: original(self, *a, **k),
            args,
            kwargs,
            owner=self,
        )

    cls.__call__ = __call__


def _install_autograd(recorder: Recorder, steps: int | None) -> None:
    """--reference: watch autograd's grad and value_and_grad; cap its optimizers."""
    import autograd
    import autograd.misc.optimizers as optimizers

    def watched(kind: str, operator):
        def make(fun, argnum=0, *rest, **options):
            target = operator(fun, argnum, *rest, **options)
            numbers = tuple(argnum) if isinstance(argnum, (list, tuple)) else (argnum,)
            single = not isinstance(argnum, (list, tuple))

            def derivative(*args, **kwargs):
                return recorder.call(
                    kind, fun, numbers, single, kind == "value_and_grad", target, args, kwargs
                )

            derivative.__name__ = getattr(fun, "__name__", "f")
            derivative.__wrapped__ = fun
            return derivative

        return make

    autograd.grad = watched("grad", autograd.grad)
    autograd.value_and_grad = watched("value_and_grad", autograd.value_and_grad)
    if steps is not None:
        for name in ("adam", "sgd", "rmsprop"):
            setattr(optimizers, name, _capped(getattr(optimizers, name), steps))


def _capped(optimizer, steps: int):
    def capped(grad, x0, callback=None, *args, **kwargs):
        if args:
            args = (min(args[0], steps), *args[1:])
        else:
            kwargs["num_iters"] = min(kwargs.get("num_iters", steps), steps)
        return optimizer(grad, x0, callback, *args, **kwargs)

    return capped


def _cap_scipy(steps: int | None) -> None:
    import scipy.optimize

    if steps is None:
        return
    original = scipy.optimize.minimize

    def minimize(fun, x0, *args, **kwargs):
        options = dict(kwargs.get("options") or {})
        options["maxiter"] = min(options.get("maxiter", steps), steps)
        kwargs["options"] = options
        return original(fun, x0, *args, **kwargs)

    minimize.__doc__ = original.__doc__
    scipy.optimize.minimize = minimize


def _quiet_matplotlib() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.show = lambda *a, **k: None
    plt.pause = lambda *a, **k: None


class _Tee(io.TextIOBase):
    """The example's output: kept (its last lines go in the report) and passed on."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.buffer_ = io.StringIO()

    def write(self, text: str) -> int:
        if self.buffer_.tell() < 1_000_000:
            self.buffer_.write(text)
        self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def tail(self, n: int = 8) -> list[str]:
        return [
            first_line(line, 300) for line in self.buffer_.getvalue().rstrip().splitlines()[-n:]
        ]


def _where(error: BaseException, folder: Path) -> str:
    """The example's line the error came through (the deepest one in the examples), with
    its text."""
    found = ""
    for frame in traceback.extract_tb(error.__traceback__):
        try:
            path = Path(frame.filename).resolve()
        except (OSError, ValueError):
            continue
        if folder in path.parents and path.name != "agcompat.py":
            found = f"{path.relative_to(folder)}:{frame.lineno}: {(frame.line or '').strip()}"
    return found


def run_example(request: dict, settings: dict, proto: Protocol) -> dict:
    import numpy as np

    name = request["name"]
    ex = EXAMPLES[name]
    folder = Path(settings["examples"]).resolve()
    path = folder / ex.path
    result: dict = {"name": name, "path": ex.path, "counted": ex.counted}
    work = Path(settings["runs"]) / name
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    for p in (folder, path.parent):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    _quiet_matplotlib()
    _set_clock(settings["clock"])
    steps = settings["steps"]
    if ex.steps is not None and (steps is None or ex.steps < steps):
        steps = ex.steps
    result["steps"] = steps
    _cap_scipy(steps)
    recorder = Recorder({**settings, "rtol": ex.rtol}, proto.beat)
    recorder.STEPS = ex.fd_steps
    if settings["reference"]:
        _install_autograd(recorder, steps)
    else:
        import agcompat

        agcompat.MAX_ITERS = steps
        _install_srcad(recorder)
    np.random.seed(0)
    namespace: dict = {"__name__": "__main__", "__file__": str(path), "__builtins__": builtins}
    tee = _Tee(sys.stdout)
    run_status, run_message, where = "completed", "", ""
    start, cpu = time.monotonic(), time.process_time()
    proto.beat(f"running {name}")
    try:
        code = compile(path.read_text(), str(path), "exec")
        with contextlib.redirect_stdout(tee), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            signal.signal(CLOCK["signal"], _ring(settings["timeout"]))
            signal.setitimer(CLOCK["timer"], settings["timeout"])
            try:
                exec(code, namespace)  # noqa: S102 (the example program)
            finally:
                signal.setitimer(CLOCK["timer"], 0)
    except (Exception, CheckTimeout, SystemExit) as error:
        run_status, run_message = (
            classify(error)
            if not isinstance(error, SystemExit)
            else (
                "crashed",
                f"SystemExit: {error}",
            )
        )
        where = _where(error, folder)
        if isinstance(error, ImportError) and "agcompat" in str(error):
            run_status = "unportable"
        if os.environ.get("EXTERNAL_TESTS_DEBUG"):
            traceback.print_exc()
    if "srcad" in sys.modules:
        result["srcad"] = sys.modules["srcad"].__file__
    result["run_seconds"] = round(time.monotonic() - start, 2)
    result["run_cpu_seconds"] = round(time.process_time() - cpu, 2)
    result.update(run=run_status, run_message=run_message, where=where, output=tee.tail())

    # which record is the example's objective
    target = namespace.get(ex.objective) if ex.objective else None
    primary = None
    for record in recorder.records:
        fun = record["fun"]
        if primary is None and (
            (target is None and ex.objective is None)
            or (target is not None and fun is target)
            or (target is None and record["function"] == ex.objective)
        ):
            primary = record
    if primary is None and ex.explicit and run_status != "timeout" and target is not None:
        primary = _explicit_check(ex, namespace, target, recorder, settings)
    if primary is not None:
        primary["primary"] = True
    for record in recorder.records:
        record.pop("fun", None)
    result["checks"] = recorder.records
    result["objective_checked"] = primary is not None and primary.get("status") in (
        "passed",
        "wrong",
    )
    status, message = _verdict(run_status, run_message, recorder.records, primary, ex)
    result.update(status=status, message=message)
    return result


def _ring(seconds: float):
    def ring(signum: int, frame: object) -> None:
        raise CheckTimeout(f"ran past {seconds:g} s")

    return ring


def _explicit_check(ex: Example, namespace: dict, target, recorder: Recorder, settings: dict):
    """The table's own check, made after the run: the example never called the derivative
    through a watched function (tanh.py's elementwise_grad)."""
    kind, expression = ex.explicit
    args = eval(expression, namespace)  # noqa: S307 (the table's expression)
    if settings["reference"]:
        import autograd

        op = autograd.elementwise_grad if kind == "egrad" else autograd.grad
    else:
        import agcompat

        import srcad

        op = agcompat.elementwise_grad if kind == "egrad" else srcad.grad
    derivative = op(target)
    before = len(recorder.records)
    recorder.MAX_RECORDS += 1
    try:
        recorder.call(kind, target, (0,), True, False, derivative, args, {})
    except Exception:  # noqa: BLE001 (recorded)
        pass
    return recorder.records[before] if len(recorder.records) > before else None


def _verdict(run_status: str, run_message: str, records: list, primary, ex: Example):
    """The example's outcome: the first of unportable, a wrong derivative (anywhere), the
    run's failure, a derivative call that failed although the run went on; else passed when
    the objective's check passed."""
    if run_status == "unportable":
        return "unportable", run_message
    wrong = [r for r in records if r.get("status") == "wrong"]
    if wrong:
        r = wrong[0]
        return "wrong", f"{r['function']} (call {r['call']}): {r['message']}"
    if run_status != "completed":
        return run_status, run_message
    failed = [r for r in records if r.get("status") in ("refused", "crashed", "timeout")]
    if failed:  # the example caught the error and went on
        r = failed[0]
        return r["status"], r["message"]
    if not ex.check:
        return "passed", "ran to its end (no derivative to check)"
    if primary is None:
        return "crashed", f"harness: no call of {ex.objective or 'a derivative'} was recorded"
    if primary.get("status") != "passed":
        return "crashed", f"harness: {primary['function']}: {primary.get('message')}"
    return "passed", ""


def worker_main(settings: dict) -> None:
    proto = Protocol()
    for request in proto.requests():
        if request.get("cmd") == "exit":
            break
        start = time.monotonic()
        try:
            result = run_example(request, settings, proto)
        except BaseException as error:  # noqa: BLE001 (a harness failure: reported)
            result = {
                "name": request.get("name"),
                "status": "crashed",
                "message": "harness: " + first_line(f"{type(error).__name__}: {error}"),
                "checks": [],
                "traceback": traceback.format_exc()[-2000:],
            }
        result["seconds"] = round(time.monotonic() - start, 2)
        result["_restart"] = True  # one example per process
        proto.send({"event": "done", "result": result})
        break


# --- failure causes --------------------------------------------------------------------------------
# (pattern in the message, cause): the first that matches names the cause
RULE_CAUSES = [
    (
        r"^srcad\.|^(grad|vjp|jvp|value_and_grad|hvp)$",
        "nested derivatives (srcad called in differentiated code)",
    ),
    (r"odeint", "scipy.integrate.odeint"),
    (r"norm|multivariate_normal|^t\.|stats", "scipy.stats"),
    (r"^np\.(shape|size|ndim)$", "shape queries as functions (np.shape, np.size, np.ndim)"),
]
CAUSES = [
    (r"\bargnum\b", "autograd's argnum= keyword (srcad takes argnums=)"),
    (r"only functions defined with 'def'|\blambda", "lambdas"),
    (r"comprehension|generator expression", "comprehensions / generator expressions"),
    (r"'print'|print\(", "print"),
    (r"partial", "functools.partial"),
    (
        r"srcad\.(grad|vjp|jvp|value_and_grad|hvp)",
        "nested derivatives (srcad called in differentiated code)",
    ),
    (r"scipy\.stats|logpdf|multivariate_normal|_parse_args", "scipy.stats"),
    (r"odeint", "scipy.integrate.odeint"),
    (r"type Tracer|Tracer\b", "a defvjp rule's NumPy code run on srcad's tracers"),
    (r"KeyError\(Outside", "a dict subscripted by an object (a key srcad does not hold constant)"),
    (r"further derivative", "higher-order derivatives through a while loop"),
    (r"'self'|\bself\.|bound method", "methods / attributes (self)"),
    (r"recurs", "recursion"),
    (r"\byield\b|generator", "generators"),
]


def cause_of(result: dict) -> str:
    """What srcad lacks, in a few words, from an example's failure."""
    status, message = result["status"], result.get("message", "")
    if status == "passed":
        return ""
    if status == "unportable":
        return "autograd internals (tracer, Box, VSpace): nothing to port them to"
    if status == "timeout":
        return "timeout"
    if status == "wrong":
        return "wrong derivative or value"
    if re.search(r"scipy/stats/|scipy\.stats", message):
        return "scipy.stats"
    rule = re.search(r"'([^']+)' has no derivative rule", message)
    if rule:
        for pattern, cause in RULE_CAUSES:
            if re.search(pattern, rule.group(1)):
                return cause
        return f"no derivative rule: {rule.group(1)}"
    for pattern, cause in CAUSES:
        if re.search(pattern, message):
            return cause
    return group_key(message)[:100] or status


# --- the parent ------------------------------------------------------------------------------------
def summarize(results: list[dict], meta: dict, top: int) -> tuple[dict, str]:
    order = list(EXAMPLES)
    results = sorted(results, key=lambda r: order.index(r["name"]))
    for r in results:
        r["cause"] = cause_of(r)
    counted = [r for r in results if r.get("counted", True)]
    extra = [r for r in results if not r.get("counted", True)]
    tally = Counter(r["status"] for r in counted)
    passed = tally["passed"]
    causes: dict[str, dict] = {}
    for r in counted:
        if r["status"] == "passed":
            continue
        c = causes.setdefault(
            r["cause"], {"cause": r["cause"], "count": 0, "examples": [], "statuses": Counter()}
        )
        c["count"] += 1
        c["examples"].append(r["name"])
        c["statuses"][r["status"]] += 1
    cause_list = sorted(causes.values(), key=lambda c: (-c["count"], c["cause"]))
    for c in cause_list:
        c["statuses"] = dict(c["statuses"])

    def row(r: dict) -> list[str]:
        checks = [c for c in r.get("checks", []) if c.get("status") in ("passed", "wrong")]
        ok = sum(c["status"] == "passed" for c in checks)
        return [
            r["name"],
            r["status"],
            r.get("run", "?"),
            f"{ok}/{len(checks)}",
            f"{r.get('run_cpu_seconds', 0):.1f}",
            f"{r.get('run_seconds', r.get('seconds', 0)):.1f}",
            first_line(r.get("message", ""), 110),
        ]

    header = ["example", "outcome", "run", "checks ok", "cpu s", "wall s", "message"]
    who = "autograd itself (--reference)" if meta["reference"] else f"srcad ({meta['srcad']})"
    print(f"\nautograd's examples, {who}")
    print(
        f"repository {meta['repo']} at {meta['commit'][:12] or '?'}; optimizers and "
        f"minimize capped at {meta['steps']} steps; {meta['timeout']:g} s ({meta['clock']}) "
        "per example; "
        f"{fmt_seconds(meta['seconds'])} with {meta['jobs']} jobs"
    )
    print()
    print(table([row(r) for r in counted], header))
    if extra:
        print("\nnot counted (autograd's tracer demos):")
        print(table([row(r) for r in extra], header))
    summary = ", ".join(f"{o} {tally[o]}" for o in OUTCOMES if tally[o])
    print(f"\n{passed}/{len(counted)} examples pass ({summary})")
    if cause_list:
        print("\nFailures by cause:")
        for c in cause_list[:top]:
            print(f"  {c['count']:3d}  {c['cause'][:110]}")
            print(f"       {', '.join(c['examples'])}")
    data = {
        "harness": "benchmarks/external/autograd_examples.py",
        **meta,
        "counted": len(counted),
        "passed": passed,
        "by_outcome": dict(tally),
        "causes": cause_list,
        "results": results,
        "examples": {
            name: {
                "path": ex.path,
                "objective": ex.objective,
                "patches": ex.patches,
                "notes": ex.notes,
            }
            for name, ex in EXAMPLES.items()
        },
    }
    md = [
        "# autograd's examples against srcad"
        + (" (reference: autograd)" if meta["reference"] else ""),
        "",
        f"- {'autograd from the repository' if meta['reference'] else 'srcad: `' + meta['srcad'] + '`'}"
        + (
            f" (commit `{meta['srcad_commit']}`{', tree dirty' if meta.get('srcad_dirty') else ''})"
            if meta.get("srcad_commit")
            else ""
        ),
        f"- autograd repository: `{meta['repo']}` at `{meta['commit'] or '?'}`",
        f"- optimizers and `scipy.optimize.minimize` capped at {meta['steps']} steps; "
        f"{meta['timeout']:g} s ({meta['clock']} time) per example; "
        f"{fmt_seconds(meta['seconds'])} with {meta['jobs']} jobs (load average "
        f"{meta['load_average'][0]:.1f})",
        "",
        f"**{passed}/{len(counted)} examples pass** ({summary}).",
        "",
        md_table([row(r) for r in counted], header),
        "",
    ]
    if extra:
        md += [
            "Not counted (autograd's tracer demos):",
            "",
            md_table([row(r) for r in extra], header),
            "",
        ]
    md += [
        "## Failures by cause",
        "",
        md_table(
            [[str(c["count"]), c["cause"], ", ".join(c["examples"])] for c in cause_list],
            ["examples", "cause", "which"],
        ),
        "",
        "## Patches and substitutions",
        "",
        md_table(
            [
                [
                    name,
                    "; ".join(f"`{o.strip()}` -> `{n.strip()}`" for o, n in ex.patches),
                    ex.notes,
                ]
                for name, ex in EXAMPLES.items()
                if ex.patches or ex.notes
            ],
            ["example", "patch", "note"],
        ),
        "",
    ]
    return data, "\n".join(md)


def _git(args: list[str], cwd: Path) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repo", type=Path, default=DEFAULT_REPO, help="HIPS/autograd (%(default)s)"
    )
    parser.add_argument("--jobs", "-j", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per example (60)")
    parser.add_argument(
        "--check-timeout", type=float, default=60.0, help="seconds per gradient check (60)"
    )
    parser.add_argument(
        "--steps", type=int, default=20, help="optimizer / minimize iterations at most (20)"
    )
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="what the time limits count: the worker's CPU time (default) or wall time",
    )
    parser.add_argument("-k", dest="filter", default="", help="only these examples (comma)")
    parser.add_argument("--reference", action="store_true", help="run with autograd itself")
    parser.add_argument("--srcad", default=None, help="a folder holding the srcad package to test")
    parser.add_argument(
        "--srcad-commit",
        default=None,
        help="the commit the --srcad folder was exported from, for the report (default: "
        "git's HEAD where the srcad package lies in a work tree)",
    )
    add_report_options(parser, top=20, unit="example")
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker_main(json.loads(args.worker))
        return 0

    start = time.monotonic()
    root, cleanup = temp_root(args.keep_temp, "srcad-agexamples-")
    try:
        upstream = root / "upstream"
        extract(args.repo, ["examples"] + (["autograd"] if args.reference else []), upstream)
        examples = root / "examples"
        ports = prepare(upstream, examples, args.reference)
        (root / "logs").mkdir()
        (root / "runs").mkdir()
        settings = {
            "examples": str(examples),
            "runs": str(root / "runs"),
            "timeout": args.timeout,
            "check_timeout": args.check_timeout,
            "steps": args.steps,
            "reference": args.reference,
            "clock": args.clock,
        }
        extra_paths = [examples, HERE] + ([upstream] if args.reference else [])
        env = worker_env(args.srcad, root / "generated", extra_paths)
        env["MPLBACKEND"] = "Agg"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(settings)]
        names = list(EXAMPLES)
        if args.filter:
            wanted = [w for w in args.filter.split(",") if w]
            names = [n for n in names if any(w == n for w in wanted)] or [
                n for n in names if any(w in n for w in wanted)
            ]
        requests = [{"cmd": "run", "name": n} for n in names if EXAMPLES[n].path in ports]
        srcad_dir = Path(args.srcad).resolve() if args.srcad else None
        probe = subprocess.run(
            [sys.executable, "-c", "import srcad; print(srcad.__file__)"],
            env=env,
            cwd=root,  # not this folder: `python -c` puts the working directory first
            capture_output=True,
            text=True,
        )
        srcad_file = probe.stdout.strip() or "?"
        print(
            f"{len(requests)} examples from {args.repo}; "
            f"{'autograd (reference)' if args.reference else 'srcad: ' + srcad_file}; {args.jobs} jobs",
            flush=True,
        )

        def progress(result: dict) -> None:
            if args.verbose:
                print(
                    f"  {result['name']}: {result['status']} {result.get('seconds', 0):.1f}s "
                    f"{first_line(result.get('message', ''), 120)}",
                    flush=True,
                )

        # the parent's limit is wall time: a worker that hangs in C code, or a loaded machine
        silence = max(900.0, 4 * (args.timeout + 2 * args.check_timeout))
        pool = Pool(command, env, args.jobs, silence, root / "logs", progress)
        results = pool.run(requests)
        for r in results:
            r.setdefault("counted", EXAMPLES[r["name"]].counted)
            port = ports.get(EXAMPLES[r["name"]].path, {})
            r["port"] = port
            if port.get("patch_error"):
                r["status"], r["message"] = "crashed", "harness: " + port["patch_error"]
        srcad_root = (
            srcad_dir
            if srcad_dir
            else Path(srcad_file).resolve().parent.parent if srcad_file != "?" else None
        )
        meta = {
            "repo": str(args.repo),
            "commit": repo_commit(args.repo),
            "reference": args.reference,
            "srcad": srcad_file,
            "srcad_commit": args.srcad_commit
            or (_git(["rev-parse", "HEAD"], srcad_root) if srcad_root else ""),
            "srcad_dirty": (
                bool(_git(["status", "--porcelain", "--", "srcad"], srcad_root))
                if srcad_root and not args.srcad_commit
                else False
            ),
            "steps": args.steps,
            "timeout": args.timeout,
            "clock": args.clock,
            "jobs": args.jobs,
            "load_average": list(os.getloadavg()),
            "seconds": round(time.monotonic() - start, 1),
        }
        data, markdown = summarize(results, meta, args.top)
        if args.out:
            paths = write_reports(args.out, data, markdown)
            print("\nreport: " + ", ".join(map(str, paths)))
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
