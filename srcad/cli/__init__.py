"""The ``srcad`` command line: ``demo``, ``train``, ``show``, ``check``, ``graph``, ``explain``,
``compare``, ``generate`` and ``cache``.

``MODULE:FUNCTION`` names a function either by dotted module (``examples.basics:g``) or by
file path (``examples/basics.py:g``). Example arguments come from ``--args`` (a Python
expression evaluated with ``np`` and the module's globals), else from the module's
``EXAMPLE_ARGS`` dict, else every parameter is the float 1.0.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import re
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import numpy as np

import srcad
from srcad import errors
from srcad.api.grad import Transformed
from srcad.train.command import add_train_arguments, bounded, positive

# explain --precision: digits after the point; 17 show every digit of a float64
MAX_PRECISION = 17


class CommandLineError(Exception):
    """A target or a table of example arguments the command cannot use: a usage error (exit
    status 2), its message what to write instead."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    options = parser.parse_args(argv)
    if not getattr(options, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return options.run(options) or 0
    except (srcad.SrcadError, errors.ArgumentTypeError, errors.ArgumentValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        if getattr(options, "guessed_args", False):
            print(
                "note: without --args (or an EXAMPLE_ARGS entry in the module) every argument "
                "is the float 1.0; pass example arguments, e.g. --args 'np.ones(3), 2.0'",
                file=sys.stderr,
            )
        return 1
    except Exception as error:  # noqa: BLE001 - bad options, files, example arguments, or
        if os.environ.get("SRCAD_DEBUG"):  # the user's module raising: no traceback
            raise
        print(f"error: {_describe(error)}", file=sys.stderr)
        return 2


def _describe(error: Exception) -> str:
    if isinstance(error, CommandLineError):
        return str(error)
    if isinstance(error, SyntaxError) and error.filename and not error.filename.startswith("<"):
        return f"{error.filename}:{error.lineno}: {error.msg} (a syntax error in the module)"
    if isinstance(error, SyntaxError):
        return f"not a Python expression: {error.text or ''} ({error.msg})".strip()
    if isinstance(error, (FileNotFoundError, ModuleNotFoundError)):
        return str(error)
    place = _raised_at(error)
    at = f"{place}: " if place else ""
    return f"{at}{error} ({type(error).__name__}; SRCAD_DEBUG=1 shows the traceback)"


# where an exception was raised is named by the innermost frame of none of these: srcad's
# own, Python's, an installed library's (the user's line of srcad's generated code is in the
# note srcad gives the exception: srcad.runtime.errors.locate_users_error)
NOT_THE_USERS = (
    str(Path(srcad.__file__).parent) + os.sep,
    *{sysconfig.get_paths()[key] + os.sep for key in ("stdlib", "purelib", "platlib")},
)
USERS_LINE_NOTE = re.compile(r"srcad: raised by (.+), run by srcad's generated code")


def _raised_at(error: BaseException) -> str | None:
    """``file:line`` of the user's code that raised ``error``."""
    for note in getattr(error, "__notes__", ()):
        found = USERS_LINE_NOTE.match(note)
        if found:
            return found.group(1)
    place = None
    tb = error.__traceback__
    while tb is not None:
        file = tb.tb_frame.f_code.co_filename
        if not file.startswith(NOT_THE_USERS) and not file.startswith("<"):
            place = f"{file}:{tb.tb_lineno}"
        tb = tb.tb_next
    return place


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srcad",
        description="Source-transformation automatic differentiation for Python and NumPy.",
    )
    commands = parser.add_subparsers(title="commands", dest="command")
    demo = commands.add_parser("demo", help="show a generated gradient, then train an MLP")
    demo.add_argument("--epochs", type=int, default=None, help="training epochs")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_run_demo)
    train = commands.add_parser("train", help="train an MLP on a bundled dataset or an .npz file")
    add_train_arguments(train)
    train.set_defaults(run=_run_train)
    for name, run, text in [
        ("show", _run_show, "print the generated gradient source of MODULE:FUNCTION"),
        ("check", _run_check, "compare the gradient with central differences"),
        ("graph", _run_graph, "draw the computation graph of MODULE:FUNCTION (DOT, SVG, PNG)"),
        ("explain", _run_explain, "print every forward value and its adjoint (the grad table)"),
        ("compare", _run_compare, "time numerical differences, forward and reverse mode"),
    ]:
        command = commands.add_parser(name, help=text)
        command.add_argument("target", help="MODULE:FUNCTION or path/to/file.py:FUNCTION")
        command.add_argument("--argnums", type=argnums_option, default=None, help="e.g. 0 or 0,1")
        command.add_argument("--args", default=None, help="example arguments, e.g. '1.0, 2.0'")
        command.set_defaults(run=run)
    commands.choices["show"].add_argument(
        "--mode",
        choices=["reverse", "forward"],
        default="reverse",
        help="reverse mode (the default) or forward mode (tangent code, one pass per input)",
    )
    graph = commands.choices["graph"]
    graph.add_argument("-o", "--output", default=None, help="out.dot, out.svg or out.png")
    graph.add_argument("--backward", action="store_true", help="draw the backward graph too")
    graph.add_argument("--lines", action="store_true", help="group the nodes of each line")
    graph.add_argument(
        "--explain", action="store_true", help="write each value and its gradient on its node"
    )
    commands.choices["explain"].add_argument(
        "--precision",
        type=bounded(
            int, lambda digits: 0 <= digits <= MAX_PRECISION, f"from 0 to {MAX_PRECISION}"
        ),
        default=4,
        help=f"digits after the point, 0 to {MAX_PRECISION} (default 4)",
    )
    commands.choices["compare"].add_argument(
        "--repeat", type=positive(int), default=5, help="timing runs per method (default 5)"
    )
    cache = commands.add_parser(
        "cache", help="the generated-code directory: 'srcad cache info', 'srcad cache clear'"
    )
    cache.add_argument("action", choices=["info", "clear"], help="show its size, or empty it")
    cache.set_defaults(run=_run_cache)
    return parser


def argnums_option(text: str) -> int | tuple[int, ...]:
    """An argparse type: ``--argnums 0`` or ``--argnums 0,1``."""
    try:
        numbers = tuple(int(number) for number in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes ints like 0 or 0,1, not {text!r}") from None
    return numbers[0] if len(numbers) == 1 else numbers


def load_target(target: str) -> tuple[Callable, object]:
    """The function named by ``MODULE:FUNCTION`` and its module."""
    module_name, _, function_name = target.rpartition(":")
    if not module_name or not function_name:
        raise CommandLineError(f"expected MODULE:FUNCTION, got {target!r}")
    if module_name.endswith(".py") or "/" in module_name:
        module = load_module_from_path(Path(module_name))
    else:
        sys.path.insert(0, ".")
        module = importlib.import_module(module_name)
    function: object = module
    for part in function_name.split("."):  # Class.method, a name inside the module
        function = getattr(function, part, None)
    if not callable(function):
        raise CommandLineError(f"{module_name} has no function {function_name!r}")
    if isinstance(function, Transformed):  # @srcad.grad def f: the function it decorates
        function = function.fun
    return function, module


def load_module_from_path(path: Path) -> object:
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CommandLineError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def example_call(
    function: Callable, module: object, args_text: str | None, argnums: int | tuple | None
) -> tuple[tuple, int | tuple]:
    """Example arguments and argnums for ``function``, from the options or the module."""
    name = _name_of(function)
    if args_text is not None:
        namespace = {"np": np, **vars(module)}
        args = eval(f"({args_text},)", namespace)  # noqa: S307 - the user's own expression
        _check_binds(function, args, args_text)
    else:
        args = module_example_args(module, name)
        if args is None:
            parameters = inspect.signature(function).parameters.values()
            count = sum(p.default is p.empty and p.kind in POSITIONAL for p in parameters)
            args = (1.0,) * count
    if argnums is None:
        argnums = module_table(module, "EXAMPLE_ARGNUMS", name, "argnums").get(name, 0)
    return tuple(args), argnums


def _check_binds(function: Callable, args: tuple, args_text: str) -> None:
    """Refuse --args that ``function`` cannot take, saying how many it gave (a parenthesised
    ``(a, b)`` is one tuple argument)."""
    try:
        inspect.signature(function).bind(*args)
    except TypeError as error:
        tuple_hint = (
            "; '(a, b)' in parentheses is one argument, a tuple: write 'a, b'"
            if len(args) == 1 and isinstance(args[0], tuple)
            else ""
        )
        raise CommandLineError(
            f"--args {args_text!r} gives {_name_of(function)} {len(args)} argument(s), which "
            f"it cannot take ({error}){tuple_hint}"
        ) from None
    except ValueError:  # no signature to check against
        return


def has_example_args(function: Callable, module: object) -> bool:
    """Whether ``module`` gives example arguments for ``function`` (``EXAMPLE_ARGS``)."""
    return module_example_args(module, _name_of(function)) is not None


def module_example_args(module: object, name: str) -> tuple | list | None:
    """The arguments the module's ``EXAMPLE_ARGS`` gives function ``name``, or None."""
    args = module_table(module, "EXAMPLE_ARGS", name, "tuple of arguments").get(name)
    if args is not None and not isinstance(args, (tuple, list)):
        raise CommandLineError(
            f"{_file_of(module)}: EXAMPLE_ARGS[{name!r}] must be a tuple of arguments, "
            f"got a {type(args).__name__}; for one argument write {{{name!r}: (value,)}}"
        )
    return args


def module_table(module: object, table_name: str, name: str, entry: str) -> dict:
    """The module's dict ``table_name`` (``EXAMPLE_ARGS``, ``EXAMPLE_ARGNUMS``), empty without
    one; ``name`` is the function the command line names, for the message."""
    table = getattr(module, table_name, {})
    if not isinstance(table, dict):
        raise CommandLineError(
            f"{_file_of(module)}: {table_name} must be a dict {{function name: {entry}}}, "
            f"got a {type(table).__name__}; write {table_name} = {{{name!r}: ...}}, one entry "
            "per function"
        )
    return table


def _file_of(module: object) -> str:
    return getattr(module, "__file__", None) or getattr(module, "__name__", "the module")


POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _name_of(function: Callable) -> str:
    """The name EXAMPLE_ARGS keys a function by: a partial's by its function's."""
    inner = getattr(function, "func", function)
    return getattr(function, "__name__", None) or getattr(inner, "__name__", "")


def target_call(options: argparse.Namespace) -> tuple:
    """The function named on the command line, its example arguments and argnums; notes
    on ``options`` whether the arguments were guessed (every one the float 1.0)."""
    function, module = load_target(options.target)
    options.guessed_args = options.args is None and not has_example_args(function, module)
    args, argnums = example_call(function, module, options.args, options.argnums)
    return function, args, argnums


def _run_show(options: argparse.Namespace) -> int:
    function, args, argnums = target_call(options)
    gradient = srcad.value_and_grad(function, argnums=argnums, mode=options.mode)
    gradient(*args)
    print(srcad.source(gradient), end="")
    return 0


def _run_check(options: argparse.Namespace) -> int:
    from srcad.cli.check import check_report

    function, args, argnums = target_call(options)
    is_ok, report = check_report(function, args, argnums)
    status = "ok  " if is_ok else "FAIL"
    print(f"{status} {options.target}: {report}")
    return 0 if is_ok else 1


def _run_graph(options: argparse.Namespace) -> int:
    from srcad.tools.explain import explain
    from srcad.tools.graph import GraphvizNotFoundError, graph, save_dot

    if options.explain and options.backward:
        print(
            "srcad graph: --explain writes values and adjoints on the forward graph, and "
            "--backward draws the backward graph; give one of them",
            file=sys.stderr,
        )
        return 2
    function, args, argnums = target_call(options)
    if options.explain:
        dot_text = explain(function, *args, argnums=argnums).annotate_graph(lines=options.lines)
    else:
        picture = graph(
            function, *args, argnums=argnums, backward=options.backward, lines=options.lines
        )
        dot_text = picture.to_dot()
    if options.output is None:
        print(dot_text, end="")
        return 0
    try:
        path = save_dot(dot_text, options.output)
    except GraphvizNotFoundError as error:
        print(f"srcad graph: {error.detail}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def _run_explain(options: argparse.Namespace) -> int:
    from srcad.tools.explain import explain

    function, args, argnums = target_call(options)
    print(explain(function, *args, argnums=argnums, precision=options.precision), end="")
    return 0


def _run_compare(options: argparse.Namespace) -> int:
    from srcad.tools.compare import compare

    function, args, argnums = target_call(options)
    table = compare(function, *args, argnums=argnums, repeat=options.repeat)
    print(table, end="")
    if table.multiple("forward") is None and table.multiple("reverse") is None:
        # nothing to compare: raise why, which main prints on its own line, as for show
        srcad.grad(function, argnums=argnums)(*args)
        print("error: neither forward nor reverse mode computed the gradient", file=sys.stderr)
        return 1
    return 0


def _run_train(options: argparse.Namespace) -> int:
    from srcad.train.command import run_train

    return run_train(options)


def _run_demo(options: argparse.Namespace) -> int:
    from srcad.cli.demo import run_demo

    return run_demo(epochs=options.epochs, seed=options.seed)


def _run_cache(options: argparse.Namespace) -> int:
    from srcad.runtime.store import cache_info, clear_cache

    if options.action == "clear":
        removed = clear_cache()
        if removed < 0:
            print(
                f"srcad cache: {cache_info().path} is not srcad's own directory (no CACHEDIR.TAG);"
                " remove its files yourself",
                file=sys.stderr,
            )
            return 1
        print(f"removed {removed} files from {cache_info().path}")
        return 0
    info = cache_info()
    owner = ""
    if info.path.exists() and not info.is_owned:
        owner = " (not srcad's own directory: never trimmed or cleared)"
    print(f"path:  {info.path}{owner}")
    print(f"files: {info.files} (cap {info.max_files}, SRCAD_CACHE_MAX_FILES)")
    print(
        f"size:  {info.size / 2**20:.1f} MB (cap {info.max_bytes / 2**20:.0f} MB, "
        "SRCAD_CACHE_MAX_MB)"
    )
    return 0
