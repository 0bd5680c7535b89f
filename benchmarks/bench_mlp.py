"""Benchmark: srcad's generated value-and-gradient against hand-written NumPy backprop.

A 784-256-256-10 tanh MLP with softmax cross-entropy (mean over the batch) and an L2 penalty
on the weights, at batch 1, 32, 128 and 1024, in float64 and float32. srcad differentiates the
loss that ``srcad.train`` writes; the hand-written backprop reuses every forward intermediate
and, at batch 1, uses vector-matrix products and ``np.outer`` instead of matrix products with
a length-1 dimension. srcad's numba backend runs beside its NumPy code where numba is
installed and compiles the loss (where it cannot, it is left out). ``--activation relu`` (or
sigmoid) times the same network with another activation, against the hand-written code with
that activation (the other systems are then left out).
Each case prints the page faults per call of every implementation: glibc's default malloc
settings put code that makes megabyte arrays on every call into a state where each call
faults on every page of them. autograd, JAX (jit) and PyTorch (eager) run too when
installed, each in a fresh process pinned to one CPU, against the hand-written code timed
again there (see ``isolated.py``: importing them slows NumPy down in the importing
process). All gradients are
checked against the hand-written ones before anything is timed. Timings interleave the
implementations and keep the minimum, which tames a busy machine.

    python benchmarks/bench_mlp.py                      # every batch and dtype
    python benchmarks/bench_mlp.py --batch 1 --profile  # where the generated code spends time
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import platform
import resource
import time
import timeit
import warnings

import numpy as np

import srcad
from srcad.train import MLP

try:  # run as a script from the repository root or from benchmarks/
    import isolated
except ImportError:
    from benchmarks import isolated

SIZES = (784, 256, 256, 10)
LAM = 1e-4
BATCHES = (1, 32, 128, 1024)
TOLERANCES = {np.float64: (1e-9, 1e-12), np.float32: (2e-3, 1e-5)}
# activation -> (itself, its derivative from its value) in the hand-written code
HAND_ACTIVATIONS = {
    "tanh": (np.tanh, lambda h: 1 - h * h),
    "relu": (lambda z: np.maximum(z, 0.0), lambda h: h > 0.0),  # a mask: bool * float is float
    "sigmoid": (lambda z: 0.5 + 0.5 * np.tanh(0.5 * z), lambda h: h * (1 - h)),
}
ACTIVATION = {"name": "tanh"}  # what --activation chose


# --- the contenders ------------------------------------------------------------------------
def hand_value_and_grad(params, x, y, lam):
    """Loss and gradient by hand: reuse every forward intermediate, no wasted work."""
    if x.shape[0] == 1:
        return hand_value_and_grad_single(params, x, y, lam)
    (W1, b1), (W2, b2), (W3, b3) = params
    act, slope = HAND_ACTIVATIONS[ACTIVATION["name"]]
    n = x.shape[0]
    h1 = act(x @ W1 + b1)
    h2 = act(h1 @ W2 + b2)
    logits = h2 @ W3 + b3
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    penalty = np.vdot(W1, W1) + np.vdot(W2, W2) + np.vdot(W3, W3)
    value = -np.vdot(y, shifted - np.log(total)) / n + lam * penalty
    # Rows of y are one-hot, so they sum to 1: d/dlogits = (softmax - y) / n.
    dlogits = (e / total - y) / n
    dz2 = dlogits @ W3.T
    dz2 *= slope(h2)  # tanh' = 1 - tanh^2, relu' = (h > 0)
    dz1 = dz2 @ W2.T
    dz1 *= slope(h1)
    grads = []
    for h, dz, W in ((x, dz1, W1), (h1, dz2, W2), (h2, dlogits, W3)):
        dW = h.T @ dz
        dW += (2 * lam) * W
        grads.append((dW, dz.sum(axis=0)))
    return value, grads


def hand_value_and_grad_single(params, x, y, lam):
    """Batch 1: vectors throughout, so every product is GEMV or an outer product."""
    (W1, b1), (W2, b2), (W3, b3) = params
    act, slope = HAND_ACTIVATIONS[ACTIVATION["name"]]
    xv, yv = x[0], y[0]
    h1 = act(xv @ W1 + b1)
    h2 = act(h1 @ W2 + b2)
    logits = h2 @ W3 + b3
    shifted = logits - logits.max()
    e = np.exp(shifted)
    total = e.sum()
    penalty = np.vdot(W1, W1) + np.vdot(W2, W2) + np.vdot(W3, W3)
    value = -np.vdot(yv, shifted - np.log(total)) + lam * penalty
    dlogits = e / total - yv
    dz2 = (W3 @ dlogits) * slope(h2)
    dz1 = (W2 @ dz2) * slope(h1)
    grads = []
    for h, dz, W in ((xv, dz1, W1), (h1, dz2, W2), (h2, dlogits, W3)):
        dW = np.outer(h, dz)
        dW += (2 * lam) * W
        grads.append((dW, dz))
    return value, grads


def optional_contenders() -> dict:
    """The other AD systems: name -> (module that must be installed, builder for a dtype)."""
    return {
        "autograd": ("autograd", _autograd),
        "jax jit": ("jax", _jax),
        "torch eager": ("torch", _torch),
    }


def _autograd(dtype):
    import autograd
    import autograd.numpy as anp

    def loss(params, x, y, lam):
        (W1, b1), (W2, b2), (W3, b3) = params
        h1 = anp.tanh(anp.dot(x, W1) + b1)
        h2 = anp.tanh(anp.dot(h1, W2) + b2)
        logits = anp.dot(h2, W3) + b3
        shifted = logits - anp.max(logits, axis=1, keepdims=True)
        log_p = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
        penalty = anp.sum(W1**2) + anp.sum(W2**2) + anp.sum(W3**2)
        return -anp.mean(anp.sum(y * log_p, axis=1)) + lam * penalty

    return autograd.value_and_grad(loss), lambda args: args


def _jax(dtype):
    import jax
    import jax.numpy as jnp

    if dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    compiled = jax.jit(jax.value_and_grad(_jax_loss))

    def run(params, x, y, lam):
        value, grads = compiled(params, x, y, lam)
        return jax.block_until_ready((value, grads))

    def convert(args):
        params, x, y, lam = args
        to_jax = lambda a: jnp.asarray(a)  # noqa: E731
        return [tuple(map(to_jax, layer)) for layer in params], to_jax(x), to_jax(y), lam

    return run, convert


def _jax_loss(params, x, y, lam):
    import jax
    import jax.numpy as jnp

    (W1, b1), (W2, b2), (W3, b3) = params
    h1 = jnp.tanh(x @ W1 + b1)
    h2 = jnp.tanh(h1 @ W2 + b2)
    log_p = jax.nn.log_softmax(h2 @ W3 + b3, axis=1)
    penalty = jnp.sum(W1**2) + jnp.sum(W2**2) + jnp.sum(W3**2)
    return -jnp.mean(jnp.sum(y * log_p, axis=1)) + lam * penalty


def torch_loss(weights, x, y, lam):
    """The loss in PyTorch, from the flat tuple (W1, b1, W2, b2, W3, b3)."""
    import torch

    W1, b1, W2, b2, W3, b3 = weights
    h1 = torch.tanh(x @ W1 + b1)
    h2 = torch.tanh(h1 @ W2 + b2)
    log_p = torch.log_softmax(h2 @ W3 + b3, dim=1)
    penalty = (W1**2).sum() + (W2**2).sum() + (W3**2).sum()
    return -(y * log_p).sum(dim=1).mean() + lam * penalty


def _torch(dtype):
    import torch

    def run(params, x, y, lam):
        (W1, b1), (W2, b2), (W3, b3) = params
        for p in (W1, b1, W2, b2, W3, b3):
            p.grad = None
        value = torch_loss((W1, b1, W2, b2, W3, b3), x, y, lam)
        value.backward()
        return value.item(), [(W.grad, b.grad) for W, b in params]

    def convert(args):
        params, x, y, lam = args
        layers = [
            tuple(torch.from_numpy(a.copy()).requires_grad_() for a in layer) for layer in params
        ]
        return layers, torch.from_numpy(x), torch.from_numpy(y), lam

    return run, convert


# --- problem, checks, timing -----------------------------------------------------------------
def make_problem(batch, dtype, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        W = rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
        b = 0.1 * rng.standard_normal(fan_out)
        params.append((W.astype(dtype), b.astype(dtype)))
    x = rng.standard_normal((batch, SIZES[0])).astype(dtype)
    y = np.eye(SIZES[-1], dtype=dtype)[rng.integers(0, SIZES[-1], size=batch)]
    return params, x, y, LAM


def check_same_gradient(name, fn, args, dtype, reference_args=None):
    """``fn``'s value and gradient match the hand-written ones (computed on the NumPy
    ``reference_args`` when ``args`` were converted for another framework)."""
    rtol, atol = TOLERANCES[dtype]
    value, grads = fn(*args)
    hand_value, hand_grads = hand_value_and_grad(*(reference_args or args))
    assert np.allclose(float(value), hand_value, rtol=rtol, atol=atol), (name, value, hand_value)
    for layer, (got, want) in enumerate(zip(grads, hand_grads, strict=True), start=1):
        for label, g, h in zip(("W", "b"), got, want, strict=True):
            g = np.asarray(g.detach() if hasattr(g, "detach") else g)
            worst = np.max(np.abs(g - h))
            assert np.allclose(g, h, rtol=rtol, atol=atol), f"{name}: d{label}{layer} off {worst}"


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def choose_clock(name: str | None, threads: int | None) -> str:
    """CPU time of this process when BLAS runs one thread: it barely notices other processes
    on a shared machine. With more threads it would add theirs up, so wall-clock then."""
    if name is not None:
        return name
    return "cpu" if threads == 1 else "wall"


def interleaved_best_ms(
    functions: dict, repeat: int, clock: str = "wall", faults: dict | None = None
) -> dict:
    """Per function, the best ms per call over ``repeat`` rounds that take turns; into
    ``faults``, the page faults (minor) per call over all rounds, where given."""
    timers = {
        name: timeit.Timer(lambda f=f, a=a: f(*a), timer=CLOCKS[clock])
        for name, (f, a) in functions.items()
    }
    # short samples (about 20 ms each), many rounds: the minimum dodges bursts of load
    numbers = {name: max(1, timer.autorange()[0] // 10) for name, timer in timers.items()}
    best = dict.fromkeys(functions, float("inf"))
    faulted = dict.fromkeys(functions, 0)
    for _ in range(repeat):
        for name, timer in timers.items():
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            seconds = timer.timeit(numbers[name]) / numbers[name]
            faulted[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
            best[name] = min(best[name], 1e3 * seconds)
    if faults is not None:
        faults.update({name: faulted[name] / (repeat * numbers[name]) for name in functions})
    return best


def describe_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed; BLAS threads unknown"
    pools = [f"{p['internal_api']} {p['num_threads']} threads" for p in threadpool_info()]
    return ", ".join(pools) or "no BLAS thread pool found"


def keep_freed_memory() -> str:
    """Stop glibc from handing freed arrays back to the OS (and faulting them in again).

    By default glibc serves allocations above its mmap threshold with fresh mappings and trims
    the heap on free, so a loop that allocates megabyte-sized temporaries page-faults on every
    call: on this VM that made a float64 batch-1 hand-written step 7x slower. The benchmark
    fixes the thresholds for every contender alike (as MALLOC_MMAP_THRESHOLD_=64MiB and
    MALLOC_TRIM_THRESHOLD_=128MiB in the environment would).
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return "malloc: defaults (mallopt not available)"
    trim, mmap_threshold = -1, -3  # M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
    if mallopt(mmap_threshold, 64 * 2**20) and mallopt(trim, 128 * 2**20):
        return "malloc: freed memory kept (mmap threshold 64 MiB, trim threshold 128 MiB)"
    return "malloc: defaults (mallopt refused)"


def limit_threads(count: int | None):
    if count is None:
        return None
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=count)


# --- profiling the generated code --------------------------------------------------------------
def generated_function(transformed, args):
    """The generated function itself, compiled from ``srcad.source`` (no call dispatch): the
    one that computes, which srcad calls once its guard has checked the layout."""
    source = srcad.source(transformed)
    namespace: dict = {}
    exec(compile(source, "<generated>", "exec"), namespace)  # noqa: S102 - our own output
    return namespace[_computing_function(source).name], source


def _computing_function(source: str) -> ast.FunctionDef:
    """``f_grad_unchecked`` (``f_grad`` checks the layout of its arguments, then calls it)."""
    functions = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    return next((f for f in functions if f.name.endswith("_unchecked")), functions[0])


def profile_lines(generated, source: str, args: tuple, top: int = 8) -> list[tuple[float, str]]:
    """Time each statement of the generated function on its own: (microseconds, statement)."""
    function = _computing_function(source)
    bound = inspect.signature(generated).bind(*args)
    bound.apply_defaults()
    scope = {**generated.__globals__, **bound.arguments}
    costs = []
    for statement in function.body[1:]:  # skip the docstring
        if isinstance(statement, ast.Return):
            break
        code = compile(ast.Module([statement], []), "<line>", "exec")
        exec(code, scope)  # noqa: S102
        number = 50
        elapsed = timeit.timeit(lambda code=code: exec(code, scope), number=number)  # noqa: S102
        costs.append((1e6 * elapsed / number, ast.unparse(statement)))
    return sorted(costs, reverse=True)[:top]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25, help="timing rounds; the min is kept")
    parser.add_argument("--batch", type=int, nargs="*", default=list(BATCHES))
    parser.add_argument("--dtype", nargs="*", default=["float64", "float32"])
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (threadpoolctl)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), help="default: cpu with --threads 1")
    parser.add_argument("--profile", action="store_true", help="per-line cost of srcad's code")
    parser.add_argument("--others", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--numba", action=argparse.BooleanOptionalAction, default=True, help="srcad's numba backend"
    )
    parser.add_argument("--malloc-tuning", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--activation", choices=sorted(HAND_ACTIVATIONS), default="tanh")
    parser.add_argument("--contender", help=argparse.SUPPRESS)  # a child process's one system
    options = parser.parse_args()
    if options.contender:
        return contender_child(options)
    limits = limit_threads(options.threads)  # noqa: F841 - held for the whole run
    malloc = keep_freed_memory() if options.malloc_tuning else "malloc: glibc defaults"

    ACTIVATION["name"] = options.activation
    network = f"MLP {'-'.join(map(str, SIZES))}, {options.activation}"
    print(f"{network}, softmax cross-entropy + {LAM:g} * L2")
    print(f"numpy {np.__version__}, python {platform.python_version()}; {describe_threads()}")
    print(malloc)
    options.clock = choose_clock(options.clock, options.threads)
    print(f"clock: {options.clock} time")
    model = MLP(SIZES, options.activation, "softmax_cross_entropy", lam=LAM)
    options.others = options.others and options.activation == "tanh"  # theirs is tanh
    rows = {}
    for dtype_name in options.dtype:
        for batch in options.batch:
            rows[dtype_name, batch] = run_case(model, batch, np.dtype(dtype_name).type, options)
    for name, (module, _) in optional_contenders().items() if options.others else ():
        if not isolated.installed(module):
            print(f"({name} is not installed: skipped)")
            continue
        for row in run_contender(name, options) or []:
            rows[row["dtype"], row["batch"]][name] = (row[name], row[name] / row["hand"])
    print_table(list(rows.values()))


def run_case(model, batch, dtype, options) -> dict:
    args = make_problem(batch, dtype)
    started = time.perf_counter()
    model.gradient(*args)  # the first call compiles for these shapes and dtypes
    compile_ms = 1e3 * (time.perf_counter() - started)
    functions = {"hand": (hand_value_and_grad, args), "srcad": (model.gradient, args)}
    generated, source = generated_function(model.gradient, args)
    functions["srcad, no dispatch"] = (generated, args)
    numba_gradient = compiled_on_numba(model, args) if options.numba else None
    if numba_gradient is not None:
        functions["srcad numba"] = (numba_gradient, args)
    for name, (fn, fn_args) in functions.items():
        if name != "hand":
            check_same_gradient(name, fn, fn_args, dtype)
    faults: dict = {}
    best = interleaved_best_ms(functions, options.repeat, options.clock, faults)
    print(f"batch {batch} {np.dtype(dtype).name}: page faults a call: ", end="")
    print(", ".join(f"{name} {count:.0f}" for name, count in faults.items()))
    if options.profile:
        print(f"\nbatch {batch} {np.dtype(dtype).name}: the costliest lines of srcad's code")
        for micros, line in profile_lines(generated, source, args):
            print(f"  {micros:9.1f} us  {line}")
    ratios = {name: (ms, ms / best["hand"]) for name, ms in best.items() if name != "hand"}
    row = {"batch": batch, "dtype": np.dtype(dtype).name, "compile_ms": compile_ms}
    return {**row, "hand": best["hand"], **ratios}


def compiled_on_numba(model, args):
    """The loss's value and gradient on the numba backend (its compile done here), or None
    where numba is not installed or cannot compile it (it would run the NumPy code)."""
    if not isolated.installed("numba"):
        return None
    gradient = srcad.value_and_grad(model.loss_fn, backend="numba")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradient(*args)
    fell_back = [w for w in caught if type(w.message).__name__ == "NumbaFallbackWarning"]
    if fell_back:
        print(f"(srcad numba: {str(fell_back[0].message)[:160]}...)")
        return None
    return gradient


def run_contender(name: str, options) -> list[dict] | None:
    """``name`` timed in a child process with its own hand-written reference."""
    arguments = ["--contender", name, "--repeat", str(options.repeat), "--clock", "cpu"]
    arguments += ["--batch", *map(str, options.batch), "--dtype", *options.dtype]
    if not options.malloc_tuning:
        arguments.append("--no-malloc-tuning")
    return isolated.run_child(__file__, arguments, name)


def contender_child(options) -> None:
    """In the child: hand-written and ``options.contender`` timings as one JSON line."""
    where = isolated.pin_to_one_cpu()
    if options.malloc_tuning:
        keep_freed_memory()
    _, build = optional_contenders()[options.contender]
    rows = []
    for dtype_name in options.dtype:
        dtype = np.dtype(dtype_name).type
        fn, convert = build(dtype)
        for batch in options.batch:
            args = make_problem(batch, dtype)
            functions = {
                "hand": (hand_value_and_grad, args),
                options.contender: (fn, convert(args)),
            }
            check_same_gradient(options.contender, fn, convert(args), dtype, reference_args=args)
            best = interleaved_best_ms(functions, options.repeat, options.clock)
            rows.append({"batch": batch, "dtype": dtype_name, **best})
    print(f"{options.contender}: {where}")
    print(json.dumps(rows))


def print_table(rows: list[dict]) -> None:
    names = [key for key in rows[0] if key not in ("batch", "dtype", "compile_ms", "hand")]
    names += sorted({key for row in rows for key in row} - set(names) - set(rows[0]))
    print("\ngradients agree with the hand-written ones (allclose) everywhere")
    print("times in ms per value-and-gradient (best of interleaved rounds); ratio = x / hand")
    print("(other systems: each in its own process on one CPU, vs the hand code timed there)\n")
    header = f"{'dtype':<8}{'batch':>6}{'compile':>9}{'hand':>9}"
    header += "".join(f"{name:>20}" for name in names)
    print(header)
    for row in rows:
        line = f"{row['dtype']:<8}{row['batch']:>6}{row['compile_ms']:>9.0f}{row['hand']:>9.3f}"
        for name in names:
            ms, ratio = row.get(name, (float("nan"), float("nan")))
            line += f"{f'{ms:.3f} ({ratio:.2f}x)':>20}"
        print(line)


if __name__ == "__main__":
    main()
