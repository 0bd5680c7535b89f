"""What a ``for`` loop iterates over, and the items it binds its target to.

``range(...)``, the rows of an array, ``zip`` over arrays and ``enumerate`` of those can
stay a loop: an ``Iteration`` counts from ``start`` to ``stop``. Other iterables (Python
lists and tuples, whose items may differ in shape) are unrolled over their items. A list,
a dict or a Python iterator of the lowering's own is gone through as Python goes through
it (``live_items``): each item is taken when the iteration before it has been lowered, so
a worklist the body appends to, an item the body replaces before it is reached, and
``itertools.groupby``'s groups (valid until the next group is taken) are Python's.

    todo = [x[0]]                   unrolled: v = x[0]; todo.append(v * 2) ->
    for v in todo:                            v = x[0] * 2 (taken now); ...
        if len(todo) < 4: todo.append(v * 2)
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

from srcad.errors import SrcadError, UnsupportedSyntax, raised_as
from srcad.ir import Var
from srcad.ir.builder import Tracer
from srcad.lower.dispatch import CALL
from srcad.lower.generators import OneShot, consumed
from srcad.lower.user_code import has_own_method

if TYPE_CHECKING:
    from srcad.lower.context import Lowering, Node


@dataclass(frozen=True)
class Iteration:
    """How a ``for`` loop iterates: over ``range(start, stop, step)``, binding the target
    to the counter itself or to rows of ``arrays`` (``enumerate`` adds the counter, plus
    ``first_number``: ``enumerate(xs, start=1)``)."""

    start: int
    stop: int
    step: int
    arrays: tuple[Tracer, ...]
    is_enumerate: bool
    first_number: int = 0

    @property
    def trip_count(self) -> int:
        return len(range(self.start, self.stop, self.step))


class Zipped(OneShot):
    """``zip`` over arrays, kept symbolic so the loop can stay a loop."""

    def __init__(self, arrays: tuple[Tracer, ...], text: str = "zip(...)"):
        super().__init__(text)
        self.arrays = arrays
        self.length = min(_rows(a) for a in arrays)

    def __iter__(self) -> Iterator[tuple[Tracer, ...]]:
        """The tuples of rows, where Python iterates it (``list(zip(*M))``)."""
        return (tuple(array[i] for array in self.arrays) for i in range(self.length))


class Rows:
    """``iter(x)`` of an array: its rows, handed out one by one. Until it has handed out
    the last, it holds ``x``: a write into ``x`` meanwhile is refused
    (``srcad.lower.aliasing``), where NumPy's iterator would hand out the rows as written."""

    def __init__(self, array: Tracer):
        self.array = array
        self.rows = list(array)
        self.rows_position = 0  # how many it has handed out (srcad.lower.containers)

    def __iter__(self) -> Iterator[Tracer]:
        return self

    def __next__(self) -> Tracer:
        if self.is_done:
            raise StopIteration
        self.rows_position += 1
        return self.rows[self.rows_position - 1]

    @property
    def is_done(self) -> bool:
        return self.rows_position >= len(self.rows)


class Enumerated(OneShot):
    """``enumerate`` of an array or of zipped arrays, kept symbolic like ``Zipped``; its
    numbers count from ``start``."""

    def __init__(self, inner: object, start: int = 0, text: str = "enumerate(...)"):
        super().__init__(text)
        self.inner = inner
        self.start = start

    def use_up(self) -> None:
        """Python's enumerate goes through what it was given: a zip is used up too."""
        super().use_up()
        if isinstance(self.inner, OneShot):
            self.inner.use_up()


def structured_iteration(iterable: object) -> Iteration | None:
    """How to iterate without unrolling, or None for Python containers."""
    if isinstance(iterable, range):
        return Iteration(iterable.start, iterable.stop, iterable.step, (), False)
    if isinstance(iterable, (Tracer, Zipped)):
        return _rows_iteration(iterable, is_enumerate=False)
    if isinstance(iterable, Enumerated) and isinstance(iterable.inner, (Tracer, Zipped)):
        return _rows_iteration(iterable.inner, is_enumerate=True, first_number=iterable.start)
    return None


def _rows_iteration(
    iterable: Tracer | Zipped, is_enumerate: bool, first_number: int = 0
) -> Iteration:
    """Iterating over the rows of an array, or of arrays zipped together."""
    if isinstance(iterable, Tracer):
        return Iteration(0, _rows(iterable), 1, (iterable,), is_enumerate, first_number)
    return Iteration(0, iterable.length, 1, iterable.arrays, is_enumerate, first_number)


def _rows(array: Tracer) -> int:
    if not array.shape:
        raise TypeError("iteration over a 0-d array")
    return array.shape[0]


def loop_item(counter: Tracer, iteration: Iteration) -> object:
    """What the target is bound to in the body of the loop kept as a loop."""
    if not iteration.arrays:
        return counter
    rows = tuple(array[counter] for array in iteration.arrays)
    item = rows[0] if len(rows) == 1 else rows
    if not iteration.is_enumerate:
        return item
    return (counter + iteration.first_number if iteration.first_number else counter, item)


def iteration_items(iteration: Iteration) -> list[object]:
    """What the target is bound to in each iteration of the loop unrolled."""
    return [_item(iteration, i) for i in range(iteration.start, iteration.stop, iteration.step)]


def first_item(iteration: Iteration) -> object:
    """What the target is bound to in the first iteration of the loop unrolled."""
    return _item(iteration, iteration.start)


def last_item(iteration: Iteration) -> object:
    """What the target holds after the loop ran to its end (it ran at least once)."""
    return _item(iteration, range(iteration.start, iteration.stop, iteration.step)[-1])


def _item(iteration: Iteration, i: int) -> object:
    rows = tuple(array[i] for array in iteration.arrays)
    item = i if not rows else rows[0] if len(rows) == 1 else rows
    return (i + iteration.first_number, item) if iteration.is_enumerate else item


DICT_VIEWS: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))


class DependsOnData(Exception):
    """A function of the lowered code, called by a library, returned a value from data."""


def live_items(lowering: Lowering, iterable: object, node: Node) -> Iterator[object]:
    """The items of an iterable that does not stay a loop, each taken when the loop asks
    for it (see the module docstring): a list, a dict or an iterator the lowering holds
    goes through its items as Python's iterator does; anything else through
    ``static_items``."""
    iterable = consumed(lowering, iterable, node)
    if isinstance(iterable, Enumerated) and not isinstance(iterable.inner, (Tracer, Zipped)):
        return enumerate(live_items(lowering, iterable.inner, node), iterable.start)
    is_live = type(iterable) in (list, dict, *DICT_VIEWS) or isinstance(iterable, Iterator)
    if not is_live:  # d.values(): Python's iterator reads the dict as it goes, too
        return iter(static_items(lowering, iterable, node))
    if has_own_method(iterable, "__next__"):  # for v in Steps(): its __next__ as Python
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node).splitlines()[0]}' goes through an iterator of the user's "
            f"class {type(iterable).__name__}, whose __next__ would run as Python when "
            "compiling and read its values once; write it as a generator function (yield), "
            "or loop over a list or an array",
            node,
        )
    items: Any = iterable  # a list, a dict or an iterator
    return _taken_at(lowering, iter(items), node)


def _taken_at(lowering: Lowering, items: Iterator[object], node: Node) -> Iterator[object]:
    """``items``, what taking one raises said at the user's line."""
    while True:
        with _library_errors(lowering, node):
            item = next(items, _END)
        if item is _END:
            return
        yield item


_END = object()


@contextlib.contextmanager
def _library_errors(lowering: Lowering, node: Node) -> Iterator[None]:
    """What Python's iteration raises (a dict changed while gone through), and a function
    of the lowered code that a library calls as it goes (``groupby``'s key, ``filter``'s
    test) computing from data, reported at the user's line."""
    try:
        yield
    except DependsOnData:
        raise lowering.located(
            UnsupportedSyntax,
            f"going over '{ast.unparse(node)}' calls a function of the differentiated code "
            "that computes from data (a key or a test), which srcad cannot follow through "
            "the library's code; compute the keys or tests with NumPy calls (np.argsort, "
            "masks)",
            node,
        ) from None
    except RuntimeError as error:
        if type(error) is not RuntimeError:  # RecursionError: not the user's
            raise
        raise lowering.located(
            raised_as(RuntimeError),
            f"going over '{ast.unparse(node)}' raises RuntimeError: {error} (the plain "
            "function raises here too)",
            node,
        ) from None


def static_items(lowering: Lowering, iterable: object, node: Node) -> list[object]:
    """The items of an iterable that does not stay a loop (a Python list, say), or that
    ``*`` unpacks; a generator not consumed yet runs now."""
    iterable = consumed(lowering, iterable, node)
    if isinstance(iterable, Enumerated):
        return list(enumerate(static_items(lowering, iterable.inner, node), iterable.start))
    if isinstance(iterable, Zipped):
        columns = [static_items(lowering, a, node) for a in iterable.arrays]
        return list(zip(*columns, strict=False))
    if isinstance(iterable, Tracer) and iterable.ndim == 0:
        raise lowering.located(SrcadError, "cannot iterate over a 0-d array", node)
    if has_own_method(iterable, "__iter__"):  # for layer in model: Sequential.__iter__
        return static_items(lowering, CALL[0](lowering, iter, [iterable], {}, node), node)
    items: Any = iterable  # any value: Python's TypeError if it is not iterable
    try:
        with _library_errors(lowering, node):
            listed = list(items)
    except TypeError:
        value = getattr(iterable, "value", iterable)  # an outside object: the object
        raise lowering.located(
            SrcadError,
            f"cannot iterate over a {type(value).__name__} object; iterate over what it "
            "holds (for layer in model.layers)",
            node,
        ) from None
    return listed


def counter_name(target: ast.expr, iteration: Iteration | None = None) -> str:
    """The name the loop's counter var gets: the target's (first) name, or ``i`` where the
    target names the rows (``for row in X``: ``for i in range(...)``, ``row = X[i]``)."""
    if iteration is not None and iteration.arrays and not iteration.is_enumerate:
        return "i"
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Tuple) and target.elts and isinstance(target.elts[0], ast.Name):
        return target.elts[0].id
    return "i"


def stop_dim(node: ast.For, iteration: Iteration, env: dict[str, object]) -> tuple[int, int] | None:
    """``(var id, axis)`` when the user wrote the loop's bound as the length of an array's
    axis (``range(xs.shape[0])``, ``range(len(xs))``, ``for x in xs``), so that the generated
    code can spell it so; ``env`` holds the values of the names before the loop."""
    array: object = iteration.arrays[0] if len(iteration.arrays) == 1 else None
    axis = 0
    written = _range_bound(node.iter)
    if written is not None:
        array, axis = env.get(written[0]), written[1]
    if not isinstance(array, Tracer) or not isinstance(array.atom, Var):
        return None
    if not -array.ndim <= axis < array.ndim or array.shape[axis] != iteration.stop:
        return None  # not what it seemed (a shadowed 'len', say): keep the number
    return array.atom.id, axis % array.ndim


def _range_bound(iterable: ast.expr) -> tuple[str, int] | None:
    """``("xs", k)`` for ``range(xs.shape[k])`` and ``range(start, len(xs), step)`` (k = 0)."""
    if not _is_call_of(iterable, "range") or not 1 <= len(iterable.args) <= 3:
        return None
    bound = iterable.args[0 if len(iterable.args) == 1 else 1]
    if _is_call_of(bound, "len") and len(bound.args) == 1 and isinstance(bound.args[0], ast.Name):
        return bound.args[0].id, 0
    if (
        isinstance(bound, ast.Subscript)
        and isinstance(bound.value, ast.Attribute)
        and bound.value.attr == "shape"
        and isinstance(bound.value.value, ast.Name)
        and isinstance(bound.slice, ast.Constant)
        and type(bound.slice.value) is int
    ):
        return bound.value.value.id, bound.slice.value
    return None


def _is_call_of(node: ast.expr, name: str) -> TypeGuard[ast.Call]:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == name
        and not node.keywords
    )
