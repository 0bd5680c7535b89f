"""Operators on objects of the user's classes (``Vec(x) + Vec(y)``, ``v += w``, ``-v``,
``a < b``, ``s == FIRST``) and Python's containers changed in place (``xs += [v]``).

The user's ``__add__`` used to run as Python when compiling: the globals it read were frozen
and the gradient went stale when they changed (found this session). Each case compares the
gradient with central differences of the plain function, in reverse and forward mode, and
again after the global the method reads changed.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import functools
import heapq
import math
import operator

import numpy as np
import pytest

import srcad

X = np.array([0.4, -1.1, 0.9])
SETTING = {"scale": 2.0}


class Vec:
    def __init__(self, data):
        self.data = data

    def __add__(self, other):
        if not isinstance(other, Vec):
            return NotImplemented
        return Vec(self.data * SETTING["scale"] + other.data)

    def __radd__(self, other):  # 1.0 + v
        return Vec(self.data + other * SETTING["scale"])

    def __mul__(self, other):
        return Vec(self.data * other)

    __rmul__ = __mul__

    def __neg__(self):
        return Vec(-self.data * SETTING["scale"])

    def __lt__(self, other):
        return np.sum(self.data) < np.sum(other.data) * SETTING["scale"]

    def total(self):
        return np.sum(np.sin(self.data) * self.data)


class Accumulator(Vec):
    def __iadd__(self, other):
        self.data = self.data + SETTING["scale"] * other.data
        return self


class Scaled(Vec):
    def __radd__(self, other):  # a subclass's reflected method goes first
        return Scaled(self.data * 3.0 * SETTING["scale"] + other.data)


class Valued:
    def __eq__(self, other):
        return isinstance(other, Valued)

    __hash__ = object.__hash__


class Other:
    pass


STATE = {"current": Valued(), "first": Valued()}


def added(x):
    return (Vec(x) + Vec(x**2)).total()


def added_to_a_float(x):
    return (1.5 + Vec(x)).total() + (2.0 * Vec(x)).total()


def negated_and_compared(x):
    v = -Vec(x)
    return v.total() if Vec(x) < Vec(x**2) else np.sum(x**3)


def accumulated(x):
    total = Accumulator(x * 1.0)
    for k in range(3):
        total += Vec(x**k)
    return total.total()


def added_without_an_in_place_method(x):
    v = Vec(x)
    v += Vec(np.cos(x))  # no __iadd__: __add__, a new object
    return v.total()


def reflected_by_the_subclass(x):
    return (Vec(x) + Scaled(x**2)).total()


def compared_with_a_global(x):
    if STATE["current"] == STATE["first"]:
        return np.sum(x**2)
    return np.sum(np.sin(x))


CASES = [
    added,
    added_to_a_float,
    negated_and_compared,
    accumulated,
    added_without_an_in_place_method,
    reflected_by_the_subclass,
]


def _agrees_before_and_after(function, mode, change, restore):
    compiled = srcad.grad(function, mode=mode)
    try:
        for _ in range(2):
            np.testing.assert_allclose(
                compiled(X), srcad.numerical_grad(function, X), rtol=1e-6, atol=1e-9
            )
            change()
    finally:
        restore()


@pytest.mark.sampled(2)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("function", CASES)
def test_the_users_operators_are_inlined_and_read_the_world_on_every_call(function, mode):
    def change():
        SETTING["scale"] = -0.5

    _agrees_before_and_after(function, mode, change, lambda: SETTING.update(scale=2.0))


def test_equality_by_the_users_eq_is_decided_on_every_call():
    """``STATE['current'] == STATE['first']`` runs Valued.__eq__ (was refused as a test
    srcad cannot check); an object without __eq__ on the left tries the reflected one."""
    kept = dict(STATE)
    settings = iter([{"first": Other()}, {"current": Other(), "first": Valued()}])
    _agrees_before_and_after(
        compared_with_a_global,
        "reverse",
        lambda: STATE.update(next(settings, {})),
        lambda: STATE.update(kept),
    )


class Shift:
    __array_ufunc__ = None  # NumPy leaves 'array + Shift(...)' to Shift.__radd__

    def __init__(self, d):
        self.d = d

    def __radd__(self, other):
        return other + self.d * SETTING["scale"]


def shifted_array(x):
    return np.sum((x + Shift(x[0])) ** 2)


def test_an_array_on_the_left_of_a_class_numpy_defers_to_calls_it_once():
    _agrees_before_and_after(
        shifted_array,
        "reverse",
        lambda: SETTING.update(scale=0.5),
        lambda: SETTING.update(scale=2.0),
    )


def test_an_array_on_the_left_of_an_object_is_refused():
    def array_first(x):
        return (x + Vec(x)).total()

    with pytest.raises(srcad.UnsupportedSyntax, match="on each element"):
        srcad.grad(array_first)(X)


def test_operator_methods_that_all_return_not_implemented_raise_as_python_does():
    def unsupported(x):
        return (Vec(x) + Other()).total()

    with pytest.raises(TypeError):
        unsupported(X)
    with pytest.raises(srcad.SrcadError, match="NotImplemented"):
        srcad.grad(unsupported)(X)


def extended_while_named(x):
    a = [x]
    b = a
    a += [x * 2.0]  # b is the same list: it has both items
    return sum(np.sum(v * v) for v in b)


def extended_in_a_dict(x):
    d = {"xs": [x]}
    xs = d["xs"]
    xs += [x * 3.0]
    d["xs"] *= 2
    return sum(np.sum(np.sin(v)) for v in d["xs"]) * SETTING["scale"]


@pytest.mark.parametrize("function", [extended_while_named, extended_in_a_dict])
def test_a_list_extended_in_place_is_seen_by_every_name_for_it(function):
    """``a += [v]`` extends the list itself, as Python does: ``b = a`` saw only the first
    item (a wrong value, 3.0 where Python gives 9.0, found this session)."""
    _agrees_before_and_after(
        function,
        "reverse",
        lambda: SETTING.update(scale=-0.5),
        lambda: SETTING.update(scale=2.0),
    )


HISTORY = [np.zeros(3)]


def extends_a_global_list(x):
    history = HISTORY
    history += [x]
    return np.sum(x**2)


def test_extending_a_list_from_outside_in_place_is_refused():
    with pytest.raises(srcad.UnsupportedSyntax, match="changes a container from outside"):
        srcad.grad(extends_a_global_list)(X)
    assert len(HISTORY) == 1  # the compile did not change it


class Bag:
    def __init__(self, items):
        self.items = list(items)

    def __getitem__(self, k):
        return self.items[k] * SETTING["scale"]


class Ranked:
    def __init__(self, value, rank):
        self.value, self.rank = value, rank

    def __lt__(self, other):
        return self.rank < other.rank


class RankedByGlobal(Ranked):
    def __lt__(self, other):
        return self.rank * SETTING["scale"] < other.rank


def indexed(x):
    bag = Bag([x[0], x[1] ** 2, x[2]])
    return bag[0] * bag[1] + np.sin(bag[2])


def ordered(x):
    items = [Ranked(x[0], 2), Ranked(x[1] ** 2, 0), Ranked(np.sin(x[2]), 1)]
    first, second, third = sorted(items)
    return first.value * 3.0 + second.value * 2.0 + third.value + max(items).value


def test_a_users_getitem_is_inlined_and_reads_the_world_on_every_call():
    """bag[0] ran Bag.__getitem__ as Python when compiling: the global it read was frozen
    (a stale gradient, found this session)."""
    _agrees_before_and_after(
        indexed, "reverse", lambda: SETTING.update(scale=-0.5), lambda: SETTING.update(scale=2.0)
    )


def test_sorting_by_the_users_lt_lowers_each_comparison():
    """sorted(items) by Ranked.__lt__ on ranks known when compiling: ordered, the values
    differentiated; an order decided by a global read on every call is refused (it ran
    __lt__ as Python once: a stale order, found this session)."""
    _agrees_before_and_after(ordered, "reverse", lambda: None, lambda: None)

    def ordered_by_a_global(x):
        items = [RankedByGlobal(x[0], 1.0), RankedByGlobal(x[1], 1.5)]
        return sorted(items)[0].value

    with pytest.raises(srcad.UnsupportedSyntax, match="orders by a key computed from data"):
        srcad.grad(ordered_by_a_global)(X)


class Knob:
    def __init__(self, a):
        self.a = a

    def __float__(self):
        return self.a * SETTING["scale"]

    def __array__(self, dtype=None, copy=None):
        return np.array([self.a * SETTING["scale"]])


class Slotted:
    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k * SETTING["scale"]


class Weights(list):
    def total(self):
        return sum(self) * SETTING["scale"]


KNOBS = [Knob(1.5), Knob(2.5)]


def square_root_of_a_knob(x):
    return math.sqrt(Knob(1.5)) * np.sum(x**2)


def array_of_a_knob(x):
    return np.sum(np.asarray(Knob(1.5)) * x)


def sum_of_global_knobs(x):
    return math.fsum(KNOBS) * np.sum(x)


def smallest_knob(x):
    return heapq.nsmallest(1, [Knob(1.5), Knob(2.0)], key=float)[0].a * np.sum(x)


def slotted(x):
    return Slotted(1.5).k * np.sum(x)


def subclassed_list(x):
    return Weights([1.0, 2.0]).total() * np.sum(x)


@pytest.mark.parametrize(
    "function",
    [
        square_root_of_a_knob,
        array_of_a_knob,
        sum_of_global_knobs,
        smallest_knob,
        slotted,
        subclassed_list,
    ],
)
def test_library_code_that_would_run_the_users_methods_when_compiling_is_refused(function):
    """math.sqrt(knob) ran Knob.__float__ as Python when compiling, Slotted(1.5) its
    __init__, Weights(...).total() its method: the global they read was frozen (stale
    gradients, found by a probe). Refused, naming the method."""
    with pytest.raises(srcad.UnsupportedSyntax, match="as Python when compiling"):
        srcad.grad(function)(X)


def summed_objects(x):
    return sum([Vec(x), Vec(x**2), Vec(np.sin(x))], Vec(np.zeros(3))).total()


def test_a_sum_of_the_users_objects_adds_them_by_their_methods():
    """sum(objects, start) ran Vec.__add__ as Python (stale, found by a probe): now the
    additions one after the other, inlined."""
    _agrees_before_and_after(
        summed_objects,
        "reverse",
        lambda: SETTING.update(scale=-0.5),
        lambda: SETTING.update(scale=2.0),
    )


class Gate:
    def __init__(self, a):
        self.a = a

    def __bool__(self):
        return self.a * SETTING["scale"] > 1.0


class Bin:
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __contains__(self, value):
        return value * SETTING["scale"] > 1.0


class Act(enum.Enum):
    RELU = 1
    TANH = 2

    def slope(self):
        return SETTING["scale"] * self.value

    @property
    def gain(self):
        return SETTING["scale"] + self.value


class Copied:
    def __init__(self, w):
        self.w = w

    def __copy__(self):
        return Copied(self.w * SETTING["scale"])

    def __deepcopy__(self, memo):
        return Copied(self.w * (SETTING["scale"] + 1.0))


def decided_by_truth(x):
    total = np.sum(x**2) if Gate(1.0) else np.sum(np.sin(x))
    if not Gate(0.8):
        total = total * 2.0
    if Bin([1, 2]) and 1.5 in Bin([]):
        total = total + np.sum(x)
    return total


def methods_of_an_enum_member(x):
    return Act.RELU.slope() * np.sum(x**2) + Act.TANH.gain * np.sum(np.sin(x))


def copied_by_its_own_methods(x):
    kept = Copied(x)
    return np.sum(copy.copy(kept).w ** 2) + np.sum(copy.deepcopy([kept])[0].w)


@pytest.mark.parametrize(
    "function", [decided_by_truth, methods_of_an_enum_member, copied_by_its_own_methods]
)
def test_truth_membership_enum_methods_and_copies_run_the_users_methods_inlined(function):
    """'if Gate(1.0):' ran Gate.__bool__ as Python, '1.5 in Bin()' its __contains__,
    Act.RELU.slope() the enum's method (stale after the global changed), and copy.copy
    ignored the class's own __copy__ (wrong from the first call). Found by a probe."""
    _agrees_before_and_after(
        function, "reverse", lambda: SETTING.update(scale=0.5), lambda: SETTING.update(scale=2.0)
    )


class Steps:
    def __init__(self):
        self.k = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.k += 1
        if self.k > 2:
            raise StopIteration
        return self.k * SETTING["scale"]


class Named:
    def __format__(self, spec):
        return "wide" if SETTING["scale"] > 1.0 else "narrow"


class Watched:
    def __init__(self, a):
        self.a = a

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value * SETTING["scale"])


WIDTHS = {"wide": 2.0, "narrow": 5.0}


def through_an_iterator_class(x):
    return sum(v * x[0] for v in Steps())


def formatted_now(x):
    return WIDTHS[f"{Named()}"] * np.sum(x)


def looked_up_by_a_key_object(x):
    return {Gate(1.0): 2.0}.get(Gate(1.0), 3.0) * np.sum(x)


def set_through_setattr(x):
    return Watched(1.0).a * np.sum(x)


@pytest.mark.parametrize(
    "function",
    [through_an_iterator_class, formatted_now, looked_up_by_a_key_object, set_through_setattr],
)
def test_the_users_methods_that_would_run_when_compiling_are_refused(function):
    with pytest.raises(srcad.UnsupportedSyntax, match="as Python when compiling"):
        srcad.grad(function)(X)


def test_a_library_method_of_a_subclass_of_the_users_is_refused():
    """A global scipy.stats.rv_continuous subclass: DECAY.pdf(1.0) ran the user's _pdf as
    Python when compiling (its global read once: stale, found by a probe)."""
    stats = pytest.importorskip("scipy.stats")

    class Decay(stats.rv_continuous):
        def _pdf(self, t):
            return SETTING["scale"] * np.exp(-SETTING["scale"] * t)

    decay = Decay(a=0.0, name="decay")

    def density_at_one(x):
        return decay.pdf(1.0) * np.sum(x)

    with pytest.raises(srcad.UnsupportedSyntax, match="_pdf"):
        srcad.grad(density_at_one)(X)


class Classy:
    SCALE = 3.0

    def __init__(self, a):
        self.a = a

    def by_class(self):
        kind = 2.0 if self.__class__ is Classy else 1.0
        return getattr(self.__class__, "SCALE", 1.0) * self.a * kind

    def by_dict(self):
        return self.__dict__.get("a", 1.0) * SETTING["scale"]

    @functools.cached_property
    def cached(self):
        return np.sin(self.a) * SETTING["scale"]


@dataclasses.dataclass
class Ball:
    r: float
    mass: float = dataclasses.field(init=False)

    def __post_init__(self):
        self.mass = SETTING["scale"] * self.r**3


def through_class_and_dict(x):
    return Classy(x[0]).by_class() + Classy(x[1]).by_dict() + Ball(x[2]).mass


def cached_then_changed(x):
    s = Classy(x[0])
    first = s.cached
    s.a = s.a * 2.0  # the cached value stays, as Python caches it
    return first + s.cached


@pytest.mark.parametrize("function", [through_class_and_dict, cached_then_changed])
def test_class_dict_cached_property_and_init_false_fields_are_pythons(function):
    """self.__class__ was 'type' and self.__dict__ the class's mapping (wrong values); a
    cached_property was computed again on every read (wrong); a field(init=False) set by
    __post_init__ was an internal error. Found by a probe."""
    _agrees_before_and_after(
        function, "reverse", lambda: SETTING.update(scale=0.5), lambda: SETTING.update(scale=2.0)
    )


class Default:
    def __get__(self, obj, owner):
        return 1.0 if obj is None else obj._k


class WithDescriptor:
    k = Default()

    def __init__(self, k):
        self._k = k


def test_a_descriptor_of_the_users_read_through_an_object_is_refused():
    """It was read as from the class (__get__(None, cls)): the class default (wrong)."""

    def through_descriptor(x):
        return WithDescriptor(x[0]).k * x[1]

    with pytest.raises(srcad.UnsupportedSyntax, match="descriptor"):
        srcad.grad(through_descriptor)(X)


def looked_up_by_value(x):
    act = Act(2)  # Act.TANH: the enum's own lookup, run (it was lowered from enum.py)
    return act.gain * np.sum(x**2)


def multiplied_by_the_operator_module(x):
    total = functools.reduce(operator.add, [Vec(x), Vec(np.cos(x)), Vec(x**3)])
    return total.total() + operator.mul(Vec(x**2), 2.0).total()


@pytest.mark.parametrize("function", [looked_up_by_value, multiplied_by_the_operator_module])
def test_enum_lookups_and_the_operator_modules_functions_on_objects(function):
    """Act(2) was refused at a line of enum.py (the standard library's code was lowered as
    the user's); operator.mul of objects said "cannot use a Vec as an array". Found by a
    probe."""
    _agrees_before_and_after(
        function, "reverse", lambda: SETTING.update(scale=0.5), lambda: SETTING.update(scale=2.0)
    )


class Shelf:
    def __init__(self, items):
        self.items = list(items)

    def __setitem__(self, k, value):
        self.items[k] = value * SETTING["scale"]

    def __getitem__(self, k):
        return self.items[k]


def stored_on_a_shelf(x):
    shelf = Shelf([x[0], x[1]])
    shelf[0] = x[2] ** 2
    return shelf[0] * shelf[1] + np.sum(x)


def test_a_users_setitem_is_inlined_and_reads_the_world_on_every_call():
    """shelf[0] = v of a class with its own __setitem__ was refused ("cannot assign into
    a Shelf", found by a probe)."""
    _agrees_before_and_after(
        stored_on_a_shelf,
        "reverse",
        lambda: SETTING.update(scale=0.5),
        lambda: SETTING.update(scale=2.0),
    )


def picks_one_of_two_objects(x):
    first, second = Vec(x[0]), Vec(x[1])
    best = first if first.data > second.data else second
    return best.data**2


def test_choosing_between_two_objects_by_data_says_to_choose_their_values():
    """It named an internal 't' and asked for 'the same structure', which both had."""
    with pytest.raises(srcad.UnsupportedSyntax, match="one Vec object or another") as refused:
        srcad.grad(picks_one_of_two_objects)(X)
    assert "first if first.data > second.data else second" in str(refused.value)
