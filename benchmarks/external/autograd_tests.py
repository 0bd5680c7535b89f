"""Run autograd's own gradient tests against srcad.

    python benchmarks/external/autograd_tests.py [--repo PATH] [--jobs 2] [--out report.json]

Reads tests/test_numpy.py, tests/test_systematic.py and tests/test_linalg.py (with
tests/numpy_utils.py and, for its tolerances, autograd/test_util.py) from a local copy of
HIPS/autograd at run time, and runs them with a shim ``autograd`` package first on the path:
``autograd.numpy`` is NumPy, ``autograd.scipy`` is SciPy, and ``autograd.grad``,
``autograd.test_util.check_grads`` and the rest are srcad (see _autograd_api.py). None of
autograd's code runs and none is copied into this repository.

Counted: every test (a pytest item: a test function, or one parametrization of it) passes
when all of its real-valued checks pass; a test whose checks all have complex arguments is
skipped. Each ``check_grads`` call (each combination in ``combo_check``) is also counted as
a check of its own. See README.md.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import itertools
import json
import os
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    FAILURES,
    OUTCOME_HEADER,
    CheckTimeout,
    Pool,
    Protocol,
    Worker,
    add_report_options,
    classify,
    extract,
    fmt_seconds,
    groups,
    md_groups,
    md_table,
    outcome_row,
    print_groups,
    repo_commit,
    table,
    temp_root,
    worker_env,
    write_reports,
)

DEFAULT_REPO = Path("/work/.mirror/HIPS+autograd/repo")
FILES = ("test_numpy.py", "test_systematic.py", "test_linalg.py")
TEST_UTIL = "autograd/test_util.py"

# --- the shim package, written at run time -----------------------------------------------------
SHIM_INIT = '''"""autograd's API on srcad: a shim written by srcad's benchmarks/external/autograd_tests.py.

autograd.numpy is NumPy and autograd.scipy is SciPy (aliases of the real modules);
the differentiation API comes from _autograd_api (srcad underneath).
"""

import builtins
import importlib
import importlib.abc
import importlib.util
import sys

import numpy

from _autograd_api import (  # noqa: F401
    deriv,
    elementwise_grad,
    grad,
    hessian,
    holomorphic_grad,
    jacobian,
    linalg_dot,
    linalg_T,
    make_diagonal,
    make_jvp,
    make_vjp,
    value_and_grad,
)

tuple = builtins.tuple
list = builtins.list
dict = builtins.dict

ALIASES = {"autograd.numpy": "numpy", "autograd.scipy": "scipy"}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """autograd.numpy[.x] and autograd.scipy[.x] are the real modules numpy[.x], scipy[.x]."""

    def __init__(self, real):
        self.real = real

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        for alias, real in ALIASES.items():
            if fullname == alias or fullname.startswith(alias + "."):
                name = real + fullname[len(alias):]
                if importlib.util.find_spec(name) is None:
                    return None
                return importlib.util.spec_from_loader(fullname, cls(name), is_package=True)
        return None

    def create_module(self, spec):
        module = importlib.import_module(self.real)
        self.spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.spec  # the import system set it to the alias's spec


sys.meta_path.insert(0, _Alias)

# autograd.numpy's own additions, on NumPy for the tests that use them
for _owner, _name, _value in (
    (numpy, "make_diagonal", make_diagonal),
    (numpy.linalg, "_dot", linalg_dot),
    (numpy.linalg, "T", linalg_T),
):
    if not hasattr(_owner, _name):
        setattr(_owner, _name, _value)
'''

SHIM_FILES = {
    "autograd/__init__.py": SHIM_INIT,
    "autograd/test_util.py": (
        '"""autograd.test_util on srcad (shim)."""\n\n'
        "from _autograd_api import (  # noqa: F401\n"
        "    check_equivalent,\n    check_grads,\n    check_jvp,\n    check_vjp,\n"
        "    combo_check,\n    get_name,\n    scalar_close,\n)\n"
    ),
    "autograd/builtins.py": (
        '"""autograd.builtins (shim): the plain containers."""\n\n'
        "import builtins\n\ntuple = builtins.tuple\nlist = builtins.list\n"
        "dict = builtins.dict\nisinstance = builtins.isinstance\ntype = builtins.type\n"
    ),
}


def write_shim(folder: Path) -> None:
    for name, text in SHIM_FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def upstream_tolerances(test_util: Path) -> dict:
    """TOL, RTOL and EPS as autograd's test_util.py sets them (module-level constants)."""
    found = {}
    try:
        tree = ast.parse(test_util.read_text())
    except (OSError, SyntaxError):
        return found
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("TOL", "RTOL", "EPS"):
                try:
                    found[target.id.lower()] = float(ast.literal_eval(node.value))
                except ValueError:
                    pass
    return found


# --- the worker -----------------------------------------------------------------------------------
def _cases(function: object) -> list[tuple[str, dict]]:
    """The parametrizations pytest would make of a test function: (id, arguments)."""
    marks = [m for m in getattr(function, "pytestmark", []) if m.name == "parametrize"]
    if not marks:
        return [("", {})]
    axes = []
    for mark in marks:
        names, values = mark.args[0], list(mark.args[1])
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        axis = []
        for value in values:
            value = getattr(value, "values", value)  # pytest.param(...)
            row = dict(zip(names, value if len(names) > 1 else [value], strict=True))
            axis.append(row)
        axes.append(axis)
    cases = []
    for combo in itertools.product(*axes):
        params: dict = {}
        for row in combo:
            params.update(row)
        ident = "-".join(str(v) for row in combo for v in row.values())
        cases.append((ident, params))
    return cases


def _tests(module: object) -> list[str]:
    return [
        name
        for name, value in vars(module).items()
        if name.startswith("test_")
        and inspect.isfunction(value)
        and value.__module__ == module.__name__
    ]


def worker_main(settings: dict) -> None:
    proto = Protocol()
    warnings.simplefilter("ignore")
    import _autograd_api as api
    import numpy as np

    api.SETTINGS.update({k: v for k, v in settings.items() if k in api.SETTINGS})
    api.SETTINGS["generated"] = str(Path(settings["generated"]) / f"worker-{os.getpid()}")
    api.SETTINGS["beat"] = proto.beat
    modules: dict = {}

    def module_of(file: str) -> object:
        name = file.removesuffix(".py")
        if name not in modules:
            modules[name] = importlib.import_module(name)
        return modules[name]

    for request in proto.requests():
        if request["cmd"] == "exit":
            break
        if request["cmd"] == "list":
            import srcad

            items, errors = [], {}
            for file in request["files"]:
                try:
                    module = module_of(file)
                except Exception as error:  # noqa: BLE001 (reported, the run goes on)
                    errors[file] = f"{type(error).__name__}: {error}"
                    continue
                for test in _tests(module):
                    for k, (ident, _) in enumerate(_cases(getattr(module, test))):
                        suffix = f"[{ident}]" if ident else ""
                        items.append({"file": file, "test": test, "case": k, "id": test + suffix})
            proto.send(
                {
                    "event": "done",
                    "result": {"items": items, "errors": errors, "srcad": srcad.__file__},
                }
            )
            continue
        result = dict(request)
        result.pop("cmd", None)
        start = time.monotonic()
        record = api.Recorder()
        api.Recorder.current = record
        error_outcome = None
        try:
            module = module_of(request["file"])
            function = getattr(module, request["test"])
            _, params = _cases(function)[request["case"]]
            np.random.seed(42)  # autograd's conftest: the same seed before every test
            function(**params)
        except (Exception, CheckTimeout) as error:
            error_outcome = classify(error)
            if os.environ.get("EXTERNAL_TESTS_DEBUG"):
                traceback.print_exc()
        finally:
            api.Recorder.current = None
        checks = record.checks
        failing = [c for c in checks if c.get("status") in FAILURES]
        # a wrong or refused first derivative says more than a failure at a higher order
        failing.sort(key=_first_order_ok)
        if failing:
            status, message = failing[0]["status"], failing[0]["message"]
        elif error_outcome is not None:
            status, message = error_outcome
        elif checks and all(c.get("status") == "skipped" for c in checks):
            status, message = "skipped", "every check has complex-valued arguments"
        else:
            status, message = "passed", ""
        result.update(
            status=status,
            message=message,
            checks=checks,
            seconds=round(time.monotonic() - start, 2),
        )
        if error_outcome is not None:
            result["test_error"] = error_outcome[1]
        if record.timed_out:
            result["_restart"] = True  # the parent starts a fresh worker for the next test
        proto.send({"event": "done", "result": result})
        if record.timed_out:
            break  # a check was interrupted: start the next test in a fresh process


# --- the parent -----------------------------------------------------------------------------------
def _list_items(command: list[str], env: dict, log_dir: Path, files: list[str]) -> dict:
    worker = Worker(command, env, log_dir, 0)
    try:
        worker.send({"cmd": "list", "files": files})
        while True:
            message = worker.lines.get(timeout=300)
            if message is None:
                raise SystemExit(f"the test listing failed: {worker.tail(20)}")
            if message.get("event") == "done":
                return message["result"]
    finally:
        worker.send({"cmd": "exit"})
        worker.stop()


def _first_order_ok(check: dict) -> bool:
    reached = set(check.get("reached", []))
    return check.get("status") == "passed" or all(m in reached for m in check.get("modes", []))


def _first_order_test_ok(result: dict) -> bool:
    """Whether a test would pass if only first derivatives were checked."""
    if result["status"] in ("passed", "skipped"):
        return result["status"] == "passed"
    checks = [c for c in result.get("checks", []) if c.get("status") != "skipped"]
    if "test_error" in result or (not checks and result["status"] != "passed"):
        return False
    return all(_first_order_ok(c) for c in checks)


def summarize(results: list[dict], meta: dict, top: int) -> tuple[dict, str]:
    """Print the summary; return the JSON report and its markdown."""
    results = sorted(results, key=lambda r: (FILES.index(r["file"]), r["order"]))
    for r in results:
        r["where"] = f"{r['file']}::{r['id']}"
        for c in r.get("checks", []):
            c["where"] = f"{r['where']} {c['check']}"
    checks = [c for r in results for c in r.get("checks", [])]
    real_tests = [r for r in results if r["status"] != "skipped"]
    real_checks = [c for c in checks if c.get("status") != "skipped"]
    passed = sum(r["status"] == "passed" for r in results)
    checks_passed = sum(c["status"] == "passed" for c in real_checks)
    first_order = sum(_first_order_ok(c) for c in real_checks)
    first_order_tests = sum(_first_order_test_ok(r) for r in results)

    rows = [outcome_row(f, [r for r in results if r["file"] == f], lambda r: True) for f in FILES]
    rows.append(outcome_row("total", results, lambda r: True))
    check_rows = [
        outcome_row(f, [c for r in results if r["file"] == f for c in r["checks"]], lambda c: True)
        for f in FILES
    ]
    check_rows.append(outcome_row("total", checks, lambda c: True))
    skipped_checks = len(checks) - len(real_checks)
    skipped_tests = len(results) - len(real_tests)
    test_groups = groups(results, "where")
    check_groups = groups(real_checks, "where")

    print(f"\nautograd's tests against srcad  ({meta['srcad']})")
    print(
        f"repository {meta['repo']} at {meta['commit'][:12] or '?'}; nested derivative "
        f"functions: {meta['nested']}; {fmt_seconds(meta['seconds'])} with {meta['jobs']} jobs"
    )
    print(
        f"\nTESTS (pytest items): {passed}/{len(real_tests)} real-valued tests pass "
        f"({skipped_tests} skipped: all their checks have complex-valued arguments)"
    )
    print(table(rows, OUTCOME_HEADER))
    print(f"({first_order_tests}/{len(real_tests)} pass when only first derivatives count)")
    print(
        f"\nCHECKS (each check_grads call, each combo_check combination): {checks_passed}/"
        f"{len(real_checks)} real-valued checks pass ({skipped_checks} complex-valued "
        f"skipped); {first_order}/{len(real_checks)} have right first-order derivatives"
    )
    print(table(check_rows, OUTCOME_HEADER))
    print_groups("Failing tests, grouped by their first failure:", test_groups, top)
    print_groups("Failing checks, grouped by message:", check_groups, top)

    data = {
        "harness": "benchmarks/external/autograd_tests.py",
        **meta,
        "tests": {
            "real": len(real_tests),
            "passed": passed,
            "skipped_complex": skipped_tests,
            "first_order_passed": first_order_tests,
            "by_outcome": dict(Counter(r["status"] for r in results)),
        },
        "checks": {
            "real": len(real_checks),
            "passed": checks_passed,
            "first_order_right": first_order,
            "skipped_complex": skipped_checks,
            "by_outcome": dict(Counter(c["status"] for c in checks)),
        },
        "test_groups": test_groups,
        "check_groups": check_groups,
        "results": results,
    }
    md = [
        "# autograd's tests against srcad",
        "",
        f"- srcad: `{meta['srcad']}`",
        f"- autograd repository: `{meta['repo']}` at `{meta['commit'] or '?'}`",
        f"- files: {', '.join(FILES)}; nested derivative functions: `{meta['nested']}`",
        f"- {fmt_seconds(meta['seconds'])} with {meta['jobs']} jobs",
        "",
        f"**Tests: {passed}/{len(real_tests)} real-valued tests pass** ({skipped_tests} "
        f"skipped: every check has complex-valued arguments); {first_order_tests} pass when "
        "only first derivatives count.",
        "",
        md_table(rows, ["file", *OUTCOME_HEADER[1:]]),
        "",
        f"**Checks: {checks_passed}/{len(real_checks)} pass** ({skipped_checks} complex-valued "
        f"skipped; {first_order} have right first-order derivatives).",
        "",
        md_table(check_rows, ["file", *OUTCOME_HEADER[1:]]),
        "",
        "## Failing tests, grouped by their first failure",
        "",
        md_groups(test_groups, "tests"),
        "",
        "## Failing checks, grouped by message",
        "",
        md_groups(check_groups, "checks"),
        "",
        "## Every test",
        "",
        md_table(
            [
                [r["where"], r["status"], f"{r['seconds']:.1f}", r.get("message", "")[:200]]
                for r in results
            ],
            ["test", "outcome", "s", "message"],
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
        help="HIPS/autograd: a checkout or a git directory (default: %(default)s)",
    )
    parser.add_argument("--jobs", "-j", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per check (20)")
    parser.add_argument("--files", nargs="+", default=list(FILES), choices=FILES)
    parser.add_argument(
        "-k",
        dest="filter",
        default="",
        help="only tests whose id contains this text (comma: any of several)",
    )
    parser.add_argument(
        "--nested",
        choices=("vjp", "grad"),
        default="vjp",
        help="the derivative function checked at order 2 and above: a def "
        "calling srcad.vjp/srcad.jvp (vjp, default), or srcad.grad of the inner "
        "product <f(x), v> (grad)",
    )
    parser.add_argument(
        "--max-order",
        type=int,
        default=None,
        help="check derivatives up to this order only (default: autograd's)",
    )
    parser.add_argument(
        "--srcad",
        default=None,
        help="a folder holding the srcad package to test (default: the " "installed one)",
    )
    add_report_options(parser, top=15, unit="test")
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker_main(json.loads(args.worker))
        return 0

    start = time.monotonic()
    root, cleanup = temp_root(args.keep_temp, "srcad-autograd-")
    try:
        upstream = root / "upstream"
        extract(args.repo, ["tests", TEST_UTIL], upstream)
        shim = root / "shim"
        write_shim(shim)
        (root / "logs").mkdir()
        settings = {
            **upstream_tolerances(upstream / TEST_UTIL),
            "timeout": args.timeout,
            "nested": args.nested,
            "max_order": args.max_order,
            "generated": str(root / "wrappers"),
        }
        env = worker_env(args.srcad, root / "generated", [shim, upstream / "tests", HERE])
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(settings)]
        listing = _list_items(command, env, root / "logs", args.files)
        items = listing["items"]
        if args.filter:
            wanted = [w for w in args.filter.split(",") if w]
            items = [i for i in items if any(w in f"{i['file']}::{i['id']}" for w in wanted)]
        for n, item in enumerate(items):
            item.update(cmd="run", order=n)
        print(
            f"{len(items)} tests from {', '.join(args.files)} ({args.repo}); srcad: "
            f"{listing['srcad']}; {args.jobs} jobs",
            flush=True,
        )
        for file, error in listing["errors"].items():
            print(f"  cannot import {file}: {error}")
        done = Counter()

        def progress(result: dict) -> None:
            done[result["status"]] += 1
            n = sum(done.values())
            if args.verbose:
                message = (
                    f"  {result.get('message', '')[:100]}" if result["status"] != "passed" else ""
                )
                print(
                    f"[{n}/{len(items)}] {result['file']}::{result['id']} "
                    f"{result['status']} {result.get('seconds', 0):.1f}s{message}",
                    flush=True,
                )
            elif n % 25 == 0 or n == len(items):
                summary = ", ".join(f"{k} {v}" for k, v in sorted(done.items()))
                print(f"  {n}/{len(items)} done: {summary}", flush=True)

        pool = Pool(command, env, args.jobs, args.timeout + 40, root / "logs", progress)
        results = pool.run(items)
        meta = {
            "repo": str(args.repo),
            "commit": repo_commit(args.repo),
            "srcad": listing["srcad"],
            "nested": args.nested,
            "max_order": args.max_order,
            "jobs": args.jobs,
            "timeout": args.timeout,
            "tolerances": {k: settings[k] for k in ("tol", "rtol", "eps") if k in settings},
            "import_errors": listing["errors"],
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
