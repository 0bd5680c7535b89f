"""Testing: statements that write into arrays and lists.

In: a ``StatementMaker`` (its scope, writer and the set of arrays it may write into). Out:
source lines that make buffers (``np.zeros``, copies), write into them by index, slice,
index array (repeats included) or boolean mask, with ``=`` or an augmented operator, build
lists with ``append`` in a loop and stack them, swap two buffers' names, and make aliases (``z = buf``, a slice of
``buf``) that later writes show through, as NumPy's do. Every index is valid for the shape it
is used on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from srcad.testing.expressions import paren
from srcad.testing.scope import Shape

if TYPE_CHECKING:
    from srcad.testing.statements import StatementMaker

OPERATORS = ("=", "=", "+=", "-=", "*=")


def write_buffer(maker: StatementMaker) -> None:
    """A new array that owns its memory: zeros, ones, a copy."""
    shape = maker.pick_shape()
    if shape == ():
        shape = (maker.rng.choice(maker.sizes),)
    same = maker.scope.readable(shape)
    forms = [f"np.zeros({shape!r})", f"np.ones({shape!r})", f"np.full({shape!r}, 0.5)"]
    if same:
        name = maker.rng.choice(same)
        forms += [f"np.zeros_like({name})", f"{name}.copy()", f"{name} * 1.0", f"np.array({name})"]
    buffer = maker.writer.fresh("buf")
    maker.writer.line(f"{buffer} = {maker.rng.choice(forms)}")
    maker.bind(buffer, shape)
    maker.owned.add(buffer)


def write_into(maker: StatementMaker) -> None:
    """``buf[index] op= value`` for an array that may be written into."""
    names = sorted(maker.owned & set(maker.scope.floats))
    name = maker.rng.choice(names)
    shape = maker.scope.floats[name]
    if shape == ():
        maker.writer.line(f"{name} += {paren(maker.expression((), 2))}")
        return
    target, value_shape = _target(maker, shape)
    operator = maker.rng.choice(OPERATORS)
    value = maker.expression(value_shape, 2)
    if operator == "*=":
        value = f"1.0 + 0.5 * np.tanh({value})"
    maker.writer.line(f"{name}[{target}] {operator} {value}")


def _target(maker: StatementMaker, shape: Shape) -> tuple[str, Shape]:
    """An index expression into an array of ``shape`` and the shape it selects."""
    if len(shape) == 1:
        return _target_1d(maker, shape[0])
    rows, columns = shape
    roll = maker.rng.random()
    if roll < 0.3:
        return _index(maker, rows), (columns,)
    if roll < 0.5:
        return f":, {_index(maker, columns)}", (rows,)
    if roll < 0.75:
        return f"{_index(maker, rows)}, {_index(maker, columns)}", ()
    start = maker.rng.randint(0, rows - 1)
    stop = maker.rng.randint(start + 1, rows)
    return f"{start}:{stop}, :", (stop - start, columns)


def _target_1d(maker: StatementMaker, length: int) -> tuple[str, Shape]:
    rng = maker.rng
    roll = rng.random()
    if roll < 0.4:
        return _index(maker, length), ()
    if roll < 0.6:
        start = rng.randint(0, length - 1)
        stop = rng.randint(start + 1, length)
        return f"{start}:{stop}", (stop - start,)
    if roll < 0.8:
        positions = [rng.randrange(length) for _ in range(rng.randint(1, length))]
        return f"np.array({positions!r})", (len(positions),)
    if roll < 0.9:
        mask = [rng.random() < 0.5 for _ in range(length)]
        return f"np.array({mask!r})", ()
    return ("::2", ((length + 1) // 2,)) if length > 1 else (":", (length,))


def _index(maker: StatementMaker, length: int) -> str:
    names = maker.scope.int_indices(length)
    if names and maker.rng.random() < 0.7:
        name = maker.rng.choice(names)
        return maker.rng.choice((name, f"{name} - 1", f"({name} + 1) % {length}"))
    return str(maker.rng.randint(-length, length - 1))


def write_list_loop(maker: StatementMaker) -> None:
    """``parts = []``, a loop that appends, then the list stacked, joined or summed."""
    rng, writer = maker.rng, maker.writer
    shape = maker.pick_shape()
    parts, index = writer.fresh("parts"), writer.fresh("i")
    trips = rng.randint(1, 4)
    writer.line(f"{parts} = []")
    writer.line(f"for {index} in range({trips}):")
    body = maker.scope.copy()
    body.ints[index] = (0, trips - 1)
    jumps = maker.jumps
    maker.loop_depth += 1
    with maker.scoped(body), maker.nested():
        writer.line(f"{parts}.append({maker.expression(shape, 2)})")
        if rng.random() < 0.6:
            maker.block(rng.randint(1, 2))
    maker.loop_depth -= 1
    value, value_shape = _joined(maker, parts, shape, trips if maker.jumps == jumps else None)
    name = writer.fresh("v")
    writer.line(f"{name} = {value}")
    maker.bind(name, value_shape)


def _joined(
    maker: StatementMaker, parts: str, shape: Shape, count: int | None
) -> tuple[str, Shape]:
    """One value made of the list: stacked when its length is known, else summed."""
    if count is None:
        forms = [f"sum({parts})", f"np.sum(np.stack({parts}), axis=0)"]
        return maker.rng.choice(forms), shape
    forms = [(f"np.stack({parts})", (count, *shape)), (f"np.array({parts})", (count, *shape))]
    forms.append((f"sum({parts})", shape))
    if len(shape) == 1:
        forms.append((f"np.concatenate({parts})", (count * shape[0],)))
    if len(shape) == 2:
        return f"np.sum(np.stack({parts}), axis=0)", shape
    return maker.rng.choice(forms)


def write_alias(maker: StatementMaker) -> None:
    """Another name for (part of) a writable array: later writes show through it."""
    names = sorted(maker.owned & set(maker.scope.floats))
    name = maker.rng.choice(names)
    shape = maker.scope.floats[name]
    alias = maker.writer.fresh("z")
    if shape != () and maker.rng.random() < 0.5:
        maker.writer.line(f"{alias} = {name}[1:]")
        maker.bind(alias, (shape[0] - 1, *shape[1:]))
        return
    maker.writer.line(f"{alias} = {name}")
    maker.bind(alias, shape)
    maker.owned.add(alias)


def write_swap(maker: StatementMaker) -> None:
    """Two writable arrays of one shape trade names (``a, b = b, a``: ping-pong buffers)."""
    first, second = maker.rng.choice(swappable(maker))
    maker.writer.line(f"{first}, {second} = {second}, {first}")


def swappable(maker: StatementMaker) -> list[tuple[str, str]]:
    """Pairs of names of writable arrays of one shape."""
    names = sorted(maker.owned & set(maker.scope.floats))
    floats = maker.scope.floats
    return [
        (first, second)
        for k, first in enumerate(names)
        for second in names[k + 1 :]
        if floats[first] == floats[second] and floats[first] != ()
    ]


STATEMENTS = {
    "buffer": write_buffer,
    "write": write_into,
    "list_loop": write_list_loop,
    "alias": write_alias,
    "swap": write_swap,
}
