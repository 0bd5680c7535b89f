"""Index encoding: a Python index split into a static part and runtime index arrays.

The static part is kept as a param of an equation: a tuple with one entry per position, an
``int``, ``("slice", start, stop, step)``, ``None`` (a new axis), ``"..."``, or
``("array", k)`` for the k-th index array, which is an input of the equation. The subscript
primitives that use it are in ``srcad.ir.indexing``.
"""

from __future__ import annotations

Index = tuple


def encode_index(index: object) -> tuple[Index, list[object]]:
    """The static encoding of a Python index and the list of its array parts."""
    items = index if isinstance(index, tuple) else (index,)
    static: list[object] = []
    arrays: list[object] = []
    for item in items:
        if isinstance(item, slice):
            static.append(("slice", item.start, item.stop, item.step))
        elif item is None or isinstance(item, int) and not isinstance(item, bool):
            static.append(item)
        elif item is Ellipsis:
            static.append("...")
        else:
            static.append(("array", len(arrays)))
            arrays.append(item)
    return tuple(static), arrays


def decode_index(static: Index, arrays: tuple) -> tuple:
    """The Python index that ``static`` and ``arrays`` stand for."""
    items: list[object] = []
    for item in static:
        if isinstance(item, tuple) and item[0] == "slice":
            items.append(slice(*item[1:]))
        elif isinstance(item, tuple):
            items.append(arrays[item[1]])
        elif item == "...":
            items.append(Ellipsis)
        else:
            items.append(item)
    return tuple(items)


def has_arrays(static: Index) -> bool:
    return any(isinstance(item, tuple) and item[0] == "array" for item in static)
