"""Run google/tangent's test functions (tests/functions.py) through srcad.

    python benchmarks/external/tangent_tests.py [--repo PATH] [--jobs 2] [--out report.json]

Reads tests/functions.py and tests/conftest.py from a local copy of google/tangent at run
time. The functions counted are those that need no TensorFlow (no use of ``tf``) and that
tangent's conftest does not blacklist: 100 of them. Each is called with the arguments
tangent's tests give it (conftest's values for parameters named a, b, c, n, x, sqm; the
dedicated tests' arguments for logistic_regression, rnn, bilinear, dict_saxpy, nested_dict,
...), differentiated with respect to the same arguments as there (the first, unless a
dedicated test says otherwise), with srcad.grad in reverse mode and in forward mode, and
compared with central differences of the plain function. A function passes when both
modes are right for every argument value. ``tangent`` is a small shim written at run time
(its Stack/push/pop and insert_grad_of as plain Python); ``tensorflow`` cannot be imported.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import itertools
import json
import os
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    FAILURES,
    OUTCOME_HEADER,
    CheckTimeout,
    Pool,
    Protocol,
    WrongDerivative,
    add_report_options,
    alarm,
    classify,
    describe_space,
    describe_value,
    extract,
    first_line,
    fmt_seconds,
    groups,
    leaves,
    md_groups,
    md_table,
    outcome_row,
    print_groups,
    repo_commit,
    space,
    table,
    temp_root,
    worker_env,
    write_reports,
)

DEFAULT_REPO = Path("/work/.mirror/google+tangent/repo")
UPSTREAM = ["tests/functions.py", "tests/conftest.py", "tests/utils.py"]

SHIM_TANGENT = '''"""tangent's helpers that tests/functions.py calls, as plain Python: a shim written by
srcad's benchmarks/external/tangent_tests.py (none of tangent's code)."""

import contextlib


def Stack():
    return []


def push(stack, value, op_id):
    stack.append(value)


def pop(stack, op_id):
    return stack.pop()


@contextlib.contextmanager
def insert_grad_of(var):
    # tangent runs the block in the backward pass; plain Python runs it here, once
    yield var


def trace(fun):
    return fun
'''

SHIM_TENSORFLOW = '''"""No TensorFlow: tangent's functions.py then sets tf = None."""

raise ImportError("the srcad harness runs tangent's functions without TensorFlow")
'''

# conftest.py's values (used if they cannot be read from the file)
DEFAULT_VALUES = {
    "scalars": [-2.0, -1.5, -1.0, -0.5, -0.1, 0.1, 0.5, 1.0, 1.5, 2.0],
    "integers": [1, 2, 3],
    "vectors": [3, 5, 10],
    "square_matrices": [(1, 1), (5, 5)],
}
SHORT_VALUES = {"scalars": [2.0], "integers": [1], "vectors": [3], "square_matrices": [(3, 3)]}


# --- what to run, read from tangent's tests -----------------------------------------------------
def conftest_values(conftest: Path, short: bool) -> tuple[list[str], dict]:
    """tangent's blacklist, and the argument values its conftest parametrizes with: each
    ``name = [...] if short else [...]`` (or a comprehension over such a choice)."""
    values = dict(SHORT_VALUES if short else DEFAULT_VALUES)
    blacklist: list[str] = []
    tree = ast.parse(conftest.read_text())
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not isinstance(target, ast.Name):
            continue
        if target.id == "blacklisted":
            blacklist = list(ast.literal_eval(node.value))
        elif target.id in values:
            choice = next((n for n in ast.walk(node.value) if isinstance(n, ast.IfExp)), None)
            if choice is None:
                continue
            try:
                found = ast.literal_eval(choice.body if short else choice.orelse)
            except ValueError:
                continue
            values[target.id] = list(found)
    return blacklist, values


def tangent_functions(functions: Path) -> list[dict]:
    """Every top-level function of functions.py: name, parameters, whether it uses TF."""
    tree = ast.parse(functions.read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            uses_tf = any(isinstance(n, ast.Name) and n.id == "tf" for n in ast.walk(node))
            found[node.name] = {
                "name": node.name,
                "params": [a.arg for a in node.args.args],
                "tf": uses_tf,
                "line": node.lineno,
            }
    return list(found.values())


# --- the cases of one function ------------------------------------------------------------------
def _cases(name: str, params: list[str], values: dict) -> tuple[list[tuple], object]:
    """(argument tuples, argnums) for one function, as tangent's tests call it."""
    rng = np.random.RandomState(0)
    scalars, integers = values["scalars"], values["integers"]
    if name == "logistic_regression":  # test_logistic_regression
        w, b = rng.randn(3, 5), rng.randn(5)
        label = np.zeros(5)
        label[1] = 1
        return [(rng.rand(3), label, w, b)], (2, 3)
    if name == "rnn":  # test_rnn
        w = rng.randn(2, 3)
        return [(rng.randn(3, 2), w)], (0, 1)
    if name == "bilinear":  # test_bilinear
        d = 3
        r = np.random.RandomState(0)
        x, h, u, w, b = r.randn(1, d), r.randn(1, d), r.randn(d, d), r.randn(d, d), r.randn(1, d)
        return [(x, h, u, w, b)], 0
    if name == "nested_dict":  # test_nested_dict
        return [({"i": {"j": 3.0, "k": 4.0}},)], 0
    if name == "dict_saxpy":  # test_dict_saxpy
        return [({"a": a, "b": b, "c": c},) for a, b, c in itertools.product(scalars, repeat=3)], 0
    if params == ["abc_packed_in_tuple"]:  # test_unpacking_args_saxpy (and the same shape)
        return [((a, b, c),) for a, b, c in itertools.product(scalars, repeat=3)], 0
    if name == "passthru_pack":  # no test of its own: a, b, c scalars, i each position
        return [
            (a, b, c, i) for a, b, c in itertools.product(scalars, repeat=3) for i in range(3)
        ], 0
    kinds = {
        "a": scalars,
        "b": scalars,
        "c": scalars,
        "n": integers,
        "x": [rng.randn(i) for i in values["vectors"]],
        "sqm": [rng.randn(*shape) for shape in values["square_matrices"]],
        "boolean": [True, False],
    }
    if not all(p in kinds for p in params):
        raise ValueError(f"no argument values known for parameters {params}")
    return list(itertools.product(*(kinds[p] for p in params))), 0


# --- checking one function ----------------------------------------------------------------------
def _positions(tree: object) -> list[tuple]:
    """(path, index) of every float element of ``tree``: index None for a float leaf."""
    found: list[tuple] = []

    def collect(x: object, path: tuple) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                collect(v, (*path, k))
        elif isinstance(x, (tuple, list)):
            for i, v in enumerate(x):
                collect(v, (*path, i))
        elif isinstance(x, float):
            found.append((path, None))
        elif isinstance(x, np.ndarray) and x.dtype.kind == "f":
            found.extend((path, idx) for idx in np.ndindex(x.shape))

    collect(tree, ())
    return found


def _bump(array: object, idx: tuple, delta: float) -> object:
    out = array.copy()
    out[idx] += delta
    return out


def _rebuild(tree: object, path: tuple, idx: object, delta: float) -> object:
    """A copy of ``tree`` with one element moved, through tuples too."""
    if not path:
        return (tree + delta) if idx is None else _bump(tree, idx, delta)
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        out = copy.deepcopy(tree)
        out[head] = _rebuild(tree[head], rest, idx, delta)
        return out
    items = [copy.deepcopy(v) for v in tree]
    items[head] = _rebuild(tree[head], rest, idx, delta)
    return type(tree)(items)


def _set_leaf(grad: object, path: tuple, idx: object, value: float) -> object:
    if not path:
        if idx is None:
            return value
        grad[idx] = value
        return grad
    head, rest = path[0], path[1:]
    if isinstance(grad, tuple):
        items = list(grad)
        items[head] = _set_leaf(items[head], rest, idx, value)
        return tuple(items)
    grad[head] = _set_leaf(grad[head], rest, idx, value)
    return grad


def _zeros(tree: object) -> object:
    if isinstance(tree, dict):
        return {k: _zeros(v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(_zeros(v) for v in tree)
    if isinstance(tree, np.ndarray):
        return np.zeros(tree.shape)
    return 0.0


def _scalar_out(fun, args: tuple) -> float:
    """tangent's numeric_grad: the output dotted with a seed of ones."""
    out = fun(*copy.deepcopy(args))
    return float(sum(np.sum(np.asarray(v, dtype=np.float64)) for v in leaves(out)))


def numeric_grad(fun, args: tuple, argnums: tuple, eps: float, side: int = 0) -> tuple:
    """Central differences (``side`` 0, as tangent's numeric_grad), or one-sided ones (+1:
    forward, -1: backward), of the sum of ``fun``'s outputs with respect to ``argnums``."""
    grads = []
    base = _scalar_out(fun, args) if side else 0.0
    for k in argnums:

        def at(path: tuple, idx: object, delta: float, k: int = k) -> float:
            moved = _rebuild(args[k], path, idx, delta)
            return _scalar_out(fun, args[:k] + (moved,) + args[k + 1 :])

        g = _zeros(args[k])
        for path, idx in _positions(args[k]):
            if side == 0:
                value = (at(path, idx, eps / 2) - at(path, idx, -eps / 2)) / eps
            elif side > 0:
                value = (at(path, idx, eps) - base) / eps
            else:
                value = (base - at(path, idx, -eps)) / eps
            g = _set_leaf(g, path, idx, value)
        grads.append(g)
    return tuple(grads)


def _close(got: object, expected: object, rtol: float, atol: float) -> bool:
    """Leaf by leaf: finite differences that are finite must match; where they are not (the
    function is undefined on one side, as arccos at -1), srcad's value must not be finite
    either."""
    for a, b in zip(leaves(got), leaves(expected), strict=True):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            return False
        finite = np.isfinite(b)
        if np.any(np.isfinite(a[~finite])):
            return False
        if not np.allclose(a[finite], b[finite], rtol=rtol, atol=atol):
            return False
    return True


def _structure_ok(got: object, args: tuple, argnums: tuple) -> bool:
    expected = tuple(args[k] for k in argnums)
    return _spaces_match(got, expected)


def _spaces_match(got: object, expected: object) -> bool:
    return _relaxed(space(got)) == _relaxed(space(expected))


def _relaxed(s: object) -> object:
    """Spaces compared as tangent's tests do: ints given for floats are fine (an int scalar
    argument has a float gradient)."""
    if isinstance(s, tuple) and len(s) == 2 and s[1] in ("int", "float64"):
        return (s[0], "float64")
    if isinstance(s, tuple) and len(s) == 2 and isinstance(s[1], tuple):
        return (s[0], tuple(_relaxed(c) for c in s[1]))
    return s


def check_function(fun, cases: list, argnums: object, settings: dict, beat) -> dict:
    import srcad

    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    eps, rtol, atol = settings["eps"], settings["rtol"], settings["atol"]
    modes = {}
    one_sided: list = []
    for mode in ("reverse", "forward"):
        beat(f"{fun.__name__} {mode}")
        outcome = {"status": "passed", "cases": 0}
        start = time.monotonic()
        try:
            with alarm(settings["timeout"]):
                derivative = srcad.grad(fun, argnums=argnums, mode=mode)
                for args in cases:
                    outcome["cases"] += 1
                    out = fun(*copy.deepcopy(args))
                    if np.size(out) != 1 or isinstance(out, (tuple, list, dict)):
                        derivative = _seeded(fun, argnums, mode)
                    got = derivative(*copy.deepcopy(args))
                    got_t = got if isinstance(argnums, tuple) else (got,)
                    if not _structure_ok(got_t, args, nums):
                        raise WrongDerivative(
                            f"{mode} gradient at {describe_value(args)} has the wrong "
                            f"structure, shape or dtype: {describe_space(space(got_t))}, "
                            f"expected {describe_space(space(tuple(args[k] for k in nums)))}"
                        )
                    expected = numeric_grad(fun, args, nums, eps)
                    if _close(got_t, expected, rtol, atol):
                        continue
                    # a kink or a jump at this point: srcad may take either side
                    sides = [numeric_grad(fun, args, nums, eps, s) for s in (-1, 1)]
                    if any(_close(got_t, e, 100 * rtol, 100 * atol) for e in sides):
                        one_sided.append(f"{mode} at {describe_value(args)}")
                        continue
                    raise WrongDerivative(
                        f"{mode} gradient at {describe_value(args)}: got "
                        f"{_short(got_t)}, central differences {_short(expected)}"
                    )
        except (Exception, CheckTimeout) as error:
            status, message = classify(error)
            outcome.update(status=status, message=message)
            if settings.get("debug"):
                traceback.print_exc()
        outcome["seconds"] = round(time.monotonic() - start, 3)
        modes[mode] = outcome
    return {"modes": modes, "one_sided": one_sided}


def _short(tree: object) -> str:
    text = np.array2string(
        np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in leaves(tree)]),
        precision=6,
        threshold=6,
    )
    return first_line(" ".join(text.split()), 120)


def _seeded(fun, argnums, mode):
    """The derivative of the sum of a non-scalar output (tangent seeds with ones)."""
    import srcad

    def derivative(*args):
        nums = argnums if isinstance(argnums, tuple) else (argnums,)
        if mode == "reverse":
            out, pull = srcad.vjp(fun, *args)
            seed = [np.ones_like(np.asarray(v, dtype=np.float64)) for v in leaves(out)]
            seed_tree = seed[0] if not isinstance(out, (tuple, list)) else type(out)(seed)
            cotangents = pull(seed_tree)
            picked = tuple(cotangents[k] for k in nums)
        else:
            jac = srcad.jacfwd(fun, argnums=argnums)(*args)
            outs = fun(*args)
            picked = _sum_jacobian(jac, outs, args, nums)
        return picked if isinstance(argnums, tuple) else picked[0]

    return derivative


def _sum_jacobian(jac, outs, args, nums):
    per_out = jac if isinstance(outs, (tuple, list)) else (jac,)
    total = None
    for j, o in zip(per_out, outs if isinstance(outs, (tuple, list)) else (outs,), strict=True):
        parts = j if isinstance(j, tuple) and len(nums) > 1 else (j,)
        summed = tuple(np.sum(np.asarray(p), axis=tuple(range(np.ndim(o)))) for p in parts)
        total = (
            summed if total is None else tuple(a + b for a, b in zip(total, summed, strict=True))
        )
    return total


# --- the worker -----------------------------------------------------------------------------------
def worker_main(settings: dict) -> None:
    proto = Protocol()
    warnings.simplefilter("ignore")
    functions = importlib.import_module("functions")
    for request in proto.requests():
        if request["cmd"] == "exit":
            break
        result = dict(request)
        result.pop("cmd", None)
        start = time.monotonic()
        try:
            fun = getattr(functions, request["name"])
            cases, argnums = _cases(request["name"], request["params"], settings["values"])
            result["cases"] = len(cases)
            result["argnums"] = argnums
            checked = check_function(fun, cases, argnums, settings, proto.beat)
            result.update(checked)
            statuses = [m["status"] for m in checked["modes"].values()]
            failing = [m for m in checked["modes"].values() if m["status"] in FAILURES]
            if failing:
                result.update(status=failing[0]["status"], message=failing[0]["message"])
            else:
                result.update(status="passed", message="")
            timed_out = "timeout" in statuses
        except Exception as error:  # noqa: BLE001 (the harness's own trouble, reported)
            status, message = classify(error)
            result.update(status="crashed", message=f"harness: {message}", modes={})
            timed_out = False
        result["seconds"] = round(time.monotonic() - start, 2)
        if timed_out:
            result["_restart"] = True  # the parent starts a fresh worker for the next one
        proto.send({"event": "done", "result": result})
        if timed_out:
            break


# --- the parent -----------------------------------------------------------------------------------
def summarize(results: list[dict], meta: dict, top: int) -> tuple[dict, str]:
    results = sorted(results, key=lambda r: r["order"])
    for r in results:
        r["where"] = f"functions.py::{r['name']}"
    counted = [r for r in results if not r.get("blacklisted")]
    extra = [r for r in results if r.get("blacklisted")]

    def mode_ok(r: dict, mode: str) -> bool:
        return r.get("modes", {}).get(mode, {}).get("status") == "passed"

    passed = sum(r["status"] == "passed" for r in counted)
    rev = sum(mode_ok(r, "reverse") for r in counted)
    fwd = sum(mode_ok(r, "forward") for r in counted)
    rows = [outcome_row("counted", counted, lambda r: True)]
    if extra:
        rows.append(outcome_row("blacklisted (not counted)", extra, lambda r: True))
    mode_records = [
        {
            "status": r.get("modes", {}).get(m, {}).get("status", r["status"]),
            "message": r.get("modes", {}).get(m, {}).get("message", r.get("message", "")),
            "where": f"{r['where']} ({m})",
        }
        for r in counted
        for m in ("reverse", "forward")
    ]
    found = groups(counted, "where")
    by_mode = groups(mode_records, "where")
    one_sided = sum(len(r.get("one_sided", [])) for r in counted)
    print(f"\ntangent's test functions through srcad  ({meta['srcad']})")
    print(
        f"repository {meta['repo']} at {meta['commit'][:12] or '?'}; "
        f"{fmt_seconds(meta['seconds'])} with {meta['jobs']} jobs"
    )
    print(
        f"\nFUNCTIONS: {passed}/{len(counted)} pass (reverse and forward mode right for every "
        f"argument value); reverse mode {rev}/{len(counted)}, forward mode {fwd}/{len(counted)}"
    )
    print(table(rows, OUTCOME_HEADER))
    if one_sided:
        print(f"({one_sided} argument values matched only a one-sided difference: a kink or jump)")
    print_groups("Failing functions, grouped by their first failure:", found, top)
    print_groups("Failures by mode, grouped by message:", by_mode, top)
    data = {
        "harness": "benchmarks/external/tangent_tests.py",
        **meta,
        "functions": {
            "counted": len(counted),
            "passed": passed,
            "reverse_passed": rev,
            "forward_passed": fwd,
            "by_outcome": dict(Counter(r["status"] for r in counted)),
            "one_sided_matches": one_sided,
        },
        "groups": found,
        "mode_groups": by_mode,
        "results": results,
    }
    md = [
        "# tangent's test functions through srcad",
        "",
        f"- srcad: `{meta['srcad']}`",
        f"- tangent repository: `{meta['repo']}` at `{meta['commit'] or '?'}`",
        f"- {fmt_seconds(meta['seconds'])} with {meta['jobs']} jobs",
        "",
        f"**{passed}/{len(counted)} functions pass** (reverse and forward mode right for every "
        f"argument value); reverse mode {rev}, forward mode {fwd}.",
        "",
        md_table(rows, ["functions", *OUTCOME_HEADER[1:]]),
        "",
        "## Failing functions, grouped by their first failure",
        "",
        md_groups(found, "functions"),
        "",
        "## Every function",
        "",
        md_table(
            [
                [
                    r["name"],
                    r["status"],
                    str(r.get("cases", "")),
                    r.get("modes", {}).get("reverse", {}).get("status", ""),
                    r.get("modes", {}).get("forward", {}).get("status", ""),
                    r.get("message", "")[:200],
                ]
                for r in results
            ],
            ["function", "outcome", "cases", "reverse", "forward", "message"],
        ),
        "",
    ]
    return data, "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repo",
        type=Path,
        default=DEFAULT_REPO,
        help="google/tangent: a checkout or a git directory (default: %(default)s)",
    )
    parser.add_argument("--jobs", "-j", type=int, default=2, help="worker processes (2)")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per function and mode (60)"
    )
    parser.add_argument(
        "-k",
        dest="filter",
        default="",
        help="only functions whose name contains this text (comma: any of several)",
    )
    parser.add_argument(
        "--short", action="store_true", help="one value per argument kind, as tangent's --short"
    )
    parser.add_argument(
        "--include-blacklisted",
        action="store_true",
        help="also run the functions tangent's conftest blacklists (not counted)",
    )
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--atol", type=float, default=1e-6)
    parser.add_argument(
        "--srcad",
        default=None,
        help="a folder holding the srcad package to test (default: the " "installed one)",
    )
    add_report_options(parser, top=15, unit="function")
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker_main(json.loads(args.worker))
        return 0

    start = time.monotonic()
    root, cleanup = temp_root(args.keep_temp, "srcad-tangent-")
    try:
        upstream = root / "upstream"
        extract(args.repo, UPSTREAM, upstream)
        shim = root / "shim"
        (shim / "tangent").mkdir(parents=True)
        (shim / "tangent" / "__init__.py").write_text(SHIM_TANGENT)
        (shim / "tensorflow.py").write_text(SHIM_TENSORFLOW)
        (root / "logs").mkdir()
        blacklist, values = conftest_values(upstream / "tests/conftest.py", args.short)
        eps = _numeric_eps(upstream / "tests/utils.py")
        functions = [f for f in tangent_functions(upstream / "tests/functions.py") if not f["tf"]]
        items = []
        for f in functions:
            listed = f["name"] in blacklist
            if listed and not args.include_blacklisted:
                continue
            if args.filter and not any(w in f["name"] for w in args.filter.split(",") if w):
                continue
            items.append(
                {
                    "cmd": "run",
                    "name": f["name"],
                    "params": f["params"],
                    "blacklisted": listed,
                    "order": len(items),
                }
            )
        settings = {
            "values": values,
            "eps": eps,
            "rtol": args.rtol,
            "atol": args.atol,
            "timeout": args.timeout,
            "debug": bool(os.environ.get("EXTERNAL_TESTS_DEBUG")),
        }
        env = worker_env(args.srcad, root / "generated", [shim, upstream / "tests", HERE])
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(settings)]
        srcad_file = _srcad_file(env, root)
        counted = sum(not i["blacklisted"] for i in items)
        print(
            f"{counted} functions of tests/functions.py that need no TensorFlow and are not "
            f"blacklisted ({len(items) - counted} blacklisted also run); srcad: {srcad_file}; "
            f"{args.jobs} jobs",
            flush=True,
        )
        done: Counter = Counter()

        def progress(result: dict) -> None:
            done[result["status"]] += 1
            n = sum(done.values())
            if args.verbose:
                note = (
                    f"  {result.get('message', '')[:100]}" if result["status"] != "passed" else ""
                )
                print(
                    f"[{n}/{len(items)}] {result['name']} {result['status']} "
                    f"{result.get('seconds', 0):.1f}s{note}",
                    flush=True,
                )
            elif n % 25 == 0 or n == len(items):
                summary = ", ".join(f"{k} {v}" for k, v in sorted(done.items()))
                print(f"  {n}/{len(items)} done: {summary}", flush=True)

        pool = Pool(command, env, args.jobs, 2 * args.timeout + 30, root / "logs", progress)
        results = pool.run(items)
        meta = {
            "repo": str(args.repo),
            "commit": repo_commit(args.repo),
            "srcad": srcad_file,
            "jobs": args.jobs,
            "timeout": args.timeout,
            "blacklist": blacklist,
            "values": values,
            "eps": eps,
            "rtol": args.rtol,
            "atol": args.atol,
            "seconds": round(time.monotonic() - start, 1),
        }
        data, markdown = summarize(results, meta, args.top)
        if args.out:
            paths = write_reports(args.out, data, markdown)
            print("\nreport: " + ", ".join(map(str, paths)))
    finally:
        cleanup()
    return 0


def _numeric_eps(utils: Path) -> float:
    """The default ``eps`` of tangent's tests/utils.py numeric_grad (1e-6)."""
    try:
        tree = ast.parse(utils.read_text())
    except (OSError, SyntaxError):
        return 1e-6
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "numeric_grad":
            names = [a.arg for a in node.args.args]
            defaults = node.args.defaults
            offset = len(names) - len(defaults)
            for i, name in enumerate(names[offset:]):
                if name == "eps":
                    return float(ast.literal_eval(defaults[i]))
    return 1e-6


def _srcad_file(env: dict, cwd: Path) -> str:
    """The srcad the workers import (run from a folder of no package, as they are)."""
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", "import srcad; print(srcad.__file__)"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or first_line(result.stderr)


if __name__ == "__main__":
    sys.exit(main())
