"""Writes outside the function (``srcad.lower.outside_writes``): a global call counter
(``global calls; calls += 1``), a closure's (``nonlocal``), an object's attributes
(``self.calls += 1``, ``self.last_loss = float(loss)``, ``model.theta = theta``) and a dict's
items (``STATE["total"] += loss``).

Checked: every transformation writes what the plain function writes, once per call (also
those that run the code several times: jacfwd, hessian, a vjp pullback); gradients agree
with central differences; after the world changed (another object under the global name, a
global the loss reads) the next call writes there and differentiates the new loss; an
argument's array is stored itself and a computed one as a copy; a place both written and
read is refused at its line; writes into an argument's object are still refused.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from transformations import TRANSFORMATIONS, assert_gradient

import srcad

X = np.array([0.3, 1.6, -0.4, 2.1])
calls = 0
STATE: dict = {"total": 0.0}
SCALE = 1.5


def counted(w):
    global calls
    calls += 1
    loss = SCALE * np.sum(np.sin(w) * w)
    STATE["total"] += loss
    return loss


def _written(call) -> tuple[int, float]:
    """The calls counted and the total added while ``call()`` runs."""
    global calls
    calls, STATE["total"] = 0, 0.0
    call()
    return calls, STATE["total"]


@pytest.mark.parametrize("name", sorted(TRANSFORMATIONS))
def test_each_transformation_writes_once_per_call_what_the_plain_function_does(name):
    transformation = TRANSFORMATIONS[name]
    for x in (X, 2.0 * X):
        got: list = []
        written = _written(lambda x=x, got=got: got.append(transformation(counted, x)))
        plain = _written(lambda x=x: counted(x))
        assert written[0] == plain[0] == 1
        assert written[1] == pytest.approx(plain[1], rel=1e-12)
        if name != "hessian":
            assert_gradient(counted, x, got[0])


def test_the_generated_code_reads_the_global_it_writes_on_every_call(monkeypatch):
    gradient = srcad.grad(counted)
    _written(lambda: gradient(X))
    monkeypatch.setattr(sys.modules[__name__], "SCALE", -2.0)  # the world changed
    state: dict = {"total": 10.0}
    monkeypatch.setattr(sys.modules[__name__], "STATE", state)
    global calls
    calls = 5
    got = gradient(X)
    assert calls == 6 and state["total"] == pytest.approx(10.0 - 2.0 * np.sum(np.sin(X) * X))
    assert_gradient(counted, X, got)
    source = srcad.source(gradient)
    assert 'once_per_call(update_item, test_outside_writes_globals, "calls", "+=", 1)' in source


def makes_a_global(w):
    global MADE_HERE
    MADE_HERE = float(np.sum(w))
    return np.sum(w**2)


def test_a_global_assigned_is_made_when_the_module_has_none():
    sys.modules[__name__].__dict__.pop("MADE_HERE", None)
    got = srcad.grad(makes_a_global)(X)
    assert sys.modules[__name__].MADE_HERE == pytest.approx(np.sum(X))
    np.testing.assert_allclose(got, 2 * X)


def test_a_closures_counter():
    def make():
        count = 0

        def loss(w):
            nonlocal count
            count += 1
            return np.sum(np.cos(w))

        return loss, lambda: count

    loss, count = make()
    gradient = srcad.grad(loss)
    for _ in range(3):
        assert_gradient(loss, X, gradient(X))
    assert count() == 3 + 2 * X.size * 3  # central differences call the plain function
    for transformation in (srcad.hessian, srcad.jacfwd):  # hessian: the cell read again
        before = count()
        transformation(loss)(X)
        assert count() == before + 1


class Model:
    def __init__(self, scale):
        self.scale = scale
        self.calls = 0
        self.last_loss = None
        self.theta = None
        self.features = None

    def loss(self, theta):
        self.calls += 1
        self.theta = theta  # the caller's array, as Python keeps it
        features = np.tanh(theta)
        self.features = features  # computed here: a copy
        value = self.scale * np.sum(features * theta)
        self.last_loss = float(value)
        return value


MODEL = Model(2.0)


def through_the_global_model(theta):
    return MODEL.loss(theta) + 1.0


def test_an_objects_attributes_are_written_on_every_call(monkeypatch):
    gradient = srcad.grad(through_the_global_model)
    theta = X.copy()
    got = gradient(theta)
    assert MODEL.calls == 1 and MODEL.theta is theta
    assert MODEL.last_loss == pytest.approx(2.0 * np.sum(np.tanh(X) * X))
    np.testing.assert_allclose(MODEL.features, np.tanh(X), rtol=1e-15)
    assert_gradient(lambda t: Model(2.0).loss(t), X, got)
    other = Model(-1.0)
    monkeypatch.setattr(sys.modules[__name__], "MODEL", other)  # another object now
    got = gradient(theta)
    assert other.calls == 1 and other.last_loss == pytest.approx(-np.sum(np.tanh(X) * X))
    assert_gradient(lambda t: Model(-1.0).loss(t), X, got)


def test_a_bound_method_writes_its_own_object():
    model = Model(0.5)
    gradient = srcad.value_and_grad(model.loss)
    for k in range(3):
        value, _ = gradient(X + k)
        assert model.last_loss == pytest.approx(value)
    assert model.calls == 3
    for name in ("jacfwd", "hessian"):
        model.calls = 0
        TRANSFORMATIONS[name](model.loss, X)
        assert model.calls == 1


class Reads:
    def __init__(self):
        self.calls = 0

    def before(self, w):
        if self.calls > 3:
            return np.sum(w)
        self.calls += 1
        return np.sum(w**2)

    def after(self, w):
        self.calls += 1
        return np.sum(w**2) * self.calls


@pytest.mark.parametrize("case", ["before", "after"])
def test_a_place_written_and_read_is_refused_at_its_line(case):
    """Read before its write, or read after a ``+=`` (see test_outside_written_then_read
    for a place read after a plain write: the value written)."""
    fun = getattr(Reads(), case)
    with pytest.raises(srcad.UnsupportedSyntax, match="written here .* and also read"):
        srcad.grad(fun)(X)


def test_an_arguments_object_is_still_refused():
    def writes_argument(w, model):
        model.calls += 1
        return np.sum(w**2)

    with pytest.raises(srcad.UnsupportedSyntax, match="writes an attribute of an object passed"):
        srcad.grad(writes_argument)(X, Model(1.0))


def test_numba_falls_back_saying_why():
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = _written(lambda: srcad.grad(counted, backend="numba")(X))
    assert written[0] == 1 and written[1] == pytest.approx(_written(lambda: counted(X))[1])
    messages = [str(w.message) for w in caught if w.category is NumbaFallbackWarning]
    assert messages and "outside the function" in messages[0]


class Counter:
    def __init__(self):
        self.n = 0


COUNTER = Counter()
LIMIT = 40


def counts_in_loops(w):
    global calls
    x = w
    for _ in range(LIMIT):  # a loop srcad keeps a loop
        x = np.tanh(x) * 1.1
        COUNTER.n += 1
    while np.sum(x) > 0.1:  # as many times as the data says
        x = x * 0.5
        calls += 1
    return np.sum(x * x)


def test_counts_in_loops_follow_the_plain_function():
    global calls
    for x in (X, 3.0 * X):
        COUNTER.n, calls = 0, 0
        got = srcad.grad(counts_in_loops)(x)
        counted_here = (COUNTER.n, calls)
        COUNTER.n, calls = 0, 0
        counts_in_loops(x)
        assert counted_here == (COUNTER.n, calls) and calls > 0
        assert_gradient(counts_in_loops, x, got)


# --- reads of a written place through another path (found by a probe) ---------------------
class Holder:
    def __init__(self, inner):
        self.inner = inner


class Counted:
    count = 0  # a class attribute

    def __init__(self):
        self.scale = 1.5
        self._lr = 0.1
        self.calls = 0

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = value


THING = Counted()
HOLDER = Holder(THING)
ALIASED_STATE = {"total": 0.0}


def class_attribute_through_an_instance(w):
    Counted.count += 1
    return np.sum(w**2) * (THING.count + 1)


def through_its_dict(w):
    THING.calls += 1
    return np.sum(w**2) * THING.__dict__["calls"]


def a_new_key_then_the_length(w):
    ALIASED_STATE["last"] = float(np.sum(w))
    return np.sum(w**2) * len(ALIASED_STATE)


def into_an_array_read_elsewhere(w):
    THING.acc += w
    return np.sum(ACC * w)


THING.acc = np.zeros(4)
ACC = THING.acc


@pytest.mark.parametrize(
    "fun",
    [
        class_attribute_through_an_instance,
        through_its_dict,
        a_new_key_then_the_length,
        into_an_array_read_elsewhere,
    ],
)
def test_a_written_place_read_through_another_path_is_refused(fun):
    before = (THING.scale, Counted.count, THING.calls, dict(ALIASED_STATE), THING.acc.copy())
    refused = "written here .* and also read|which srcad would run once when compiling"
    with pytest.raises(srcad.UnsupportedSyntax, match=refused):
        srcad.grad(fun)(X)
    after = (THING.scale, Counted.count, THING.calls, dict(ALIASED_STATE), THING.acc.copy())
    assert repr(after) == repr(before)  # refused when compiling: nothing written


def through_a_property(w):
    THING.lr = 0.5  # the setter may change anything (here THING._lr)
    return np.sum(w**2) * THING._lr


def test_a_property_is_not_written():
    with pytest.raises(srcad.UnsupportedSyntax, match="writes an attribute of an object"):
        srcad.grad(through_a_property)(X)


class Slotted:
    __slots__ = ("calls",)

    def __init__(self):
        self.calls = 0


SLOTTED = Slotted()
FIRST, SECOND = 0, 0.0


def unpacked_and_chained(w):
    global FIRST, SECOND
    FIRST, SECOND = 1, float(np.sum(w))
    THING.x = THING.y = float(np.sum(w * w))
    SLOTTED.calls += 1
    return np.sum(w**2)


def test_slots_unpacked_and_chained_writes():
    global FIRST, SECOND
    SLOTTED.calls = 0
    got = srcad.grad(unpacked_and_chained)(X)
    assert (FIRST, SECOND, SLOTTED.calls) == (1, pytest.approx(np.sum(X)), 1)
    assert THING.x == THING.y == pytest.approx(np.sum(X * X))
    np.testing.assert_allclose(got, 2 * X)


# --- what the function keeps outside and changes afterwards ---------------------------------
class Made:
    def __init__(self, x):
        self.x = x


def changes_a_kept_array(w):
    x = w * 2.0
    STATE["kept"] = x
    x += 1.0
    return np.sum(x)


def changes_a_kept_list(w):
    row = [np.sum(w)]
    STATE["kept"] = row
    row.append(np.sum(w**2))
    return np.sum(w)


def changes_a_kept_object(w):
    made = Made(np.sum(w))
    STATE["kept"] = made
    made.x = np.sum(w**2)
    return np.sum(w)


def keeps_an_iterator(w):
    STATE["kept"] = zip(w, w * 2.0, strict=True)
    return np.sum(w)


@pytest.mark.parametrize(
    "fun", [changes_a_kept_array, changes_a_kept_list, changes_a_kept_object, keeps_an_iterator]
)
def test_what_is_kept_outside_and_changed_afterwards_or_not_data_is_refused(fun):
    with pytest.raises(srcad.UnsupportedSyntax, match="keeps .* outside the function"):
        srcad.grad(fun)(X)
    assert "kept" not in STATE


# --- an argument that is, or holds, what the function changes ---------------------------------
def appends_and_reads_an_argument(w, seen):
    history_of_writes.append(float(np.sum(w)))
    return np.sum(w**2) * (1 + len(seen))


history_of_writes: list = []


def counts_and_reads_an_argument(w, model):
    COUNTED.calls += 1
    return np.sum(w**2) * (model.calls + 1)


COUNTED = Counted()


def test_an_argument_holding_a_changed_object_raises_on_that_call():
    """srcad reads arguments when the call begins; Python reads them after the change."""
    gradient = srcad.grad(appends_and_reads_an_argument)
    got = gradient(X, [1.0, 2.0])  # another list: fine
    np.testing.assert_allclose(got, 2 * X * 3)
    with pytest.raises(ValueError, match="argument 'seen' is, or holds, a list that the function"):
        gradient(X, history_of_writes)
    with pytest.raises(ValueError, match="argument 'seen'"):
        gradient(X, [history_of_writes])  # held by the argument
    counting = srcad.grad(counts_and_reads_an_argument)
    np.testing.assert_allclose(counting(X, Counted()), 2 * X)
    with pytest.raises(ValueError, match=r"argument 'model' .* \('COUNTED.calls' at .*py:\d+\)"):
        counting(X, COUNTED)
    history_of_writes.clear()


# --- found by a second probe ----------------------------------------------------------------
class WithProperty:
    def __init__(self):
        self._p = 1.0
        self.n = 0.0

    @property
    def p(self):
        return self._p


HELD = WithProperty()
NCALLS = [0]


def written_then_read_through_a_property(w):
    HELD._p = 3.0
    return np.sum(w**2) * HELD.p


def written_then_read_through_getattribute(w):
    HELD.n = 5.0
    return np.sum(w**2) * HELD.__getattribute__("n")


@pytest.mark.parametrize(
    "fun", [written_then_read_through_a_property, written_then_read_through_getattribute]
)
def test_reads_that_run_the_class_code_meet_the_write(fun):
    with pytest.raises(srcad.UnsupportedSyntax, match="written here .* and also read"):
        srcad.grad(fun)(X)


def reads_its_globals_through_the_function(w):
    global calls
    calls += 1
    return np.sum(w**2) * reads_its_globals_through_the_function.__globals__["SCALE"]


def test_a_functions_globals_are_refused_as_a_namespace():
    """Read when compiling, a global changed later would be stale (also without writes)."""
    with pytest.raises(srcad.UnsupportedSyntax, match="reads a namespace"):
        srcad.grad(reads_its_globals_through_the_function)(X)


class Ticker:
    def __init__(self):
        self.count = 0

    def tick(self, value):
        self.count += 1
        self.last = float(value)


TICKER = Ticker()


def ticks_and_counts(w):
    loss = np.sum(w**2)
    TICKER.tick(loss)  # a method of an outside object, called for what it writes
    NCALLS[0] += 1  # the counter idiom of a one-item list
    return loss


def test_a_method_writing_its_object_and_a_list_item_counter():
    TICKER.count, NCALLS[0] = 0, 0
    for transformation in (srcad.grad, srcad.jacfwd, srcad.hessian):
        got = transformation(ticks_and_counts)(X)
    assert (TICKER.count, NCALLS[0]) == (3, 3) and TICKER.last == pytest.approx(np.sum(X**2))
    np.testing.assert_allclose(got, 2 * np.eye(4))


# --- updates spelled with the binary operator: calls = calls + 1 ----------------------------
class Totals:
    def __init__(self):
        self.n = 0
        self.total = 0.0
        self.acc = np.zeros(4)


TOTALS = Totals()
SPELLED = {"k": 1}


def updates_spelled_out(w):
    global calls
    calls = calls + 1
    loss = np.sum(np.sin(w) * w)
    TOTALS.n = TOTALS.n + 1
    TOTALS.total = TOTALS.total + 2.0 * loss
    TOTALS.acc = TOTALS.acc + w  # a new array, as Python's + makes
    SPELLED["k"] = SPELLED["k"] * 3
    return loss


def test_updates_spelled_with_the_binary_operator():
    global calls
    calls, TOTALS.n, TOTALS.total, SPELLED["k"] = 0, 0, 0.0, 1
    acc = TOTALS.acc = np.zeros(4)
    for transformation in (srcad.grad, srcad.jacfwd, srcad.hessian):
        got = transformation(updates_spelled_out)(X)
    loss = np.sum(np.sin(X) * X)
    assert (calls, TOTALS.n, SPELLED["k"]) == (3, 3, 27)
    assert TOTALS.total == pytest.approx(6.0 * loss)
    np.testing.assert_allclose(TOTALS.acc, 3 * X)
    assert not acc.any()  # not changed in place
    assert got.shape == (4, 4)
    assert_gradient(updates_spelled_out, X, srcad.grad(updates_spelled_out)(X))


def reads_the_place_in_the_other_operand(w):
    TOTALS.n = TOTALS.n + TOTALS.n
    return np.sum(w**2)


def test_an_update_whose_other_operand_reads_the_place_is_refused():
    with pytest.raises(srcad.UnsupportedSyntax, match="written here .* and also read"):
        srcad.grad(reads_the_place_in_the_other_operand)(X)


# --- found by a third probe -----------------------------------------------------------------
NAMES = ["start"]


def updates_with_the_place_on_the_right(w):
    loss = np.sum(w**2)
    TOTALS.total = 2.0 * loss + TOTALS.total
    NAMES[0] = "x" + NAMES[0]  # not commutative: the new value first
    return loss


def test_updates_with_the_place_on_the_right():
    TOTALS.total, NAMES[0] = 1.0, "start"
    for transformation in (srcad.grad, srcad.hessian):
        transformation(updates_with_the_place_on_the_right)(X)
    assert TOTALS.total == pytest.approx(1.0 + 4.0 * np.sum(X**2)) and NAMES[0] == "xxstart"


def appends_and_reads_a_nested_argument(w, box):
    history_of_writes.append(1.0)
    return np.sum(w**2) * (1 + len(box[0][0][0][0][0]))


def test_an_argument_holding_a_changed_object_at_any_depth_raises():
    nested = [[[[[history_of_writes]]]]]
    with pytest.raises(ValueError, match="argument 'box'"):
        srcad.grad(appends_and_reads_a_nested_argument)(X, nested)
    history_of_writes.clear()


CONFIG = {"step": 0, "lr": 0.5}


def counts_steps_and_reads_the_rate(w):
    CONFIG["step"] += 1  # one item written, another read: the dict is read key by key
    return CONFIG["lr"] * np.sum(w**2)


def test_a_dict_with_an_item_written_and_another_read():
    CONFIG.update(step=0, lr=0.5)
    gradient = srcad.grad(counts_steps_and_reads_the_rate)
    np.testing.assert_allclose(gradient(X), X)
    CONFIG["lr"] = 2.0  # the world changed
    np.testing.assert_allclose(gradient(X), 4.0 * X)
    assert CONFIG["step"] == 2


TALLY: dict = {"train": 0.0, "valid": 0.0, "scale": 0.5}


def tallied(w, split):
    TALLY[split] += 1.0
    return TALLY["scale"] * np.sum(np.sin(w) * w)


def tallied_in_a_loop(w):
    for split in ["train", "valid"]:
        TALLY[split] += 1.0
    return TALLY["scale"] * np.sum(w**3)


def tallied_and_read(w, split):
    TALLY[split] += 1.0
    return np.sum(w) * TALLY["train"]


def test_an_item_written_under_a_key_known_when_compiling():
    TALLY.update(train=0.0, valid=0.0, scale=0.5)
    gradient = srcad.grad(tallied)
    got = gradient(X, "train")
    assert (TALLY["train"], TALLY["valid"]) == (1.0, 0.0)
    gradient(X, "valid")  # another key: compiled for it
    assert (TALLY["train"], TALLY["valid"]) == (1.0, 1.0)
    assert_gradient(lambda w: tallied(w, "train"), X, got)
    TALLY["scale"] = 2.0  # the world changed
    assert_gradient(lambda w: tallied(w, "valid"), X, gradient(X, "valid"))
    TALLY.update(train=0.0, valid=0.0)
    got = srcad.grad(tallied_in_a_loop)(X)
    assert (TALLY["train"], TALLY["valid"]) == (1.0, 1.0)
    assert_gradient(tallied_in_a_loop, X, got)


def test_an_item_written_under_a_key_and_read_under_the_same_is_refused():
    with pytest.raises(srcad.UnsupportedSyntax, match="is written here"):
        srcad.grad(tallied_and_read)(X, "train")
    srcad.grad(tallied_and_read)(X, "valid")  # another item read: fine


@pytest.mark.parametrize("name", ["hessian", "jacfwd"])
def test_a_dict_with_an_item_written_and_another_read_differentiated_twice(name):
    """The generated gradient, lowered again, writes its item as the function did."""
    CONFIG.update(step=0, lr=0.5)
    twice = {
        "hessian": srcad.hessian(counts_steps_and_reads_the_rate),
        "jacfwd": srcad.jacfwd(srcad.grad(counts_steps_and_reads_the_rate)),
    }[name]
    first = twice(X)
    CONFIG["lr"] = 2.0  # the world changed
    second = twice(X)
    expected = srcad.numerical_grad(lambda v: srcad.grad(counts_steps_and_reads_the_rate)(v)[0], X)
    np.testing.assert_allclose(second[0], expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(second, 4.0 * first)


SPLITS: dict = {"train_n": 0, "valid_n": 0, ("train", "loss"): 0.0, "scale": 0.5}


def tallied_under_made_keys(w, split):
    SPLITS[f"{split}_n"] += 1
    loss = SPLITS["scale"] * np.sum(w**2)
    SPLITS[split, "loss"] = float(loss)
    return loss


def test_an_item_written_under_an_f_string_or_a_tuple_of_known_names():
    SPLITS.update(train_n=0, valid_n=0, scale=0.5)  # as another test of them may leave them
    gradient = srcad.grad(tallied_under_made_keys)
    got = gradient(X, "train")
    assert SPLITS["train_n"] == 1 and SPLITS["valid_n"] == 0
    assert SPLITS["train", "loss"] == pytest.approx(0.5 * np.sum(X**2), rel=1e-12)
    assert_gradient(lambda w: tallied_under_made_keys(w, "train"), X, got)
    SPLITS["scale"] = 3.0  # the world changed
    got = gradient(2.0 * X, "train")
    assert SPLITS["train", "loss"] == pytest.approx(3.0 * np.sum(4.0 * X**2), rel=1e-12)
    assert_gradient(lambda w: tallied_under_made_keys(w, "train"), 2.0 * X, got)


SPLIT = "train"


def tallied_under_a_global_key(w):
    SPLITS[f"{SPLIT}_n"] += 1
    return SPLITS["scale"] * np.sum(np.cos(w))


def test_an_item_written_under_a_key_read_from_a_global():
    global SPLIT
    SPLITS.update(train_n=0, valid_n=0, scale=0.5)
    gradient = srcad.grad(tallied_under_a_global_key)
    got = gradient(X)
    assert (SPLITS["train_n"], SPLITS["valid_n"]) == (1, 0)
    assert_gradient(tallied_under_a_global_key, X, got)
    SPLIT = "valid"  # the world changed: the key is checked on every call
    try:
        SPLITS.update(train_n=0, valid_n=0)
        gradient(X)
        assert (SPLITS["train_n"], SPLITS["valid_n"]) == (0, 1)
    finally:
        SPLIT = "train"


NESTED: dict = {"a": {"seen": 0.0}, "b": {"seen": 0.0}}


def noted_in_nested_dicts(w):
    for name in ["a", "b"]:  # the key a name bound by the loop, not yet when the body starts
        NESTED[name]["seen"] = float(np.sum(w))
    return np.sum(w**3)


def test_items_of_nested_dicts_under_a_loops_keys():
    got = srcad.grad(noted_in_nested_dicts)(X)
    assert NESTED["a"]["seen"] == NESTED["b"]["seen"] == pytest.approx(np.sum(X))
    assert_gradient(noted_in_nested_dicts, X, got)


# --- writes spelled as calls: setattr, __setitem__, operator.setitem, obj.__dict__[k] ----------
class Record:
    pass


RECORD = Record()
RECORD.weights = np.array([1.0, 2.0])
LOG: dict = {"weights": np.array([1.0, 2.0])}


def logged_by_calls(w):
    loss = SCALE * np.sum(w**3)
    LOG.__setitem__("last", loss)
    setattr(RECORD, "last", loss)  # noqa: B010 - the call form is what is tested
    RECORD.__dict__["twice"] = loss * 2.0
    return loss


def test_writes_spelled_as_calls_are_the_writes_they_make():
    """``LOG.__setitem__("last", loss)`` wrote into srcad's copy of the dict only;
    ``RECORD.__dict__["w"] = w`` was lost (the plain function's next line read the old
    weights: a wrong value and a zero gradient); ``setattr`` was 'no derivative rule'."""
    global SCALE
    w = np.array([3.0, -1.0])
    gradient = srcad.value_and_grad(logged_by_calls)
    for scale in (1.5, -0.5):  # a global the loss reads, changed between calls
        SCALE = scale
        try:
            value, grad = gradient(w)
            assert value == pytest.approx(scale * 26.0)
            assert LOG["last"] == RECORD.last == pytest.approx(value)
            assert RECORD.twice == pytest.approx(2.0 * value)
            np.testing.assert_allclose(grad, srcad.numerical_grad(logged_by_calls, w), rtol=1e-7)
        finally:
            SCALE = 1.5


class Settings:
    def __init__(self, **options):
        for name, value in options.items():
            setattr(self, name, value)
        object.__setattr__(self, "ready", True)


def configured_by_setattr(w):
    settings = Settings(scale=SCALE, weights=w)
    settings.__setattr__("shift", 0.5)
    return np.sum((settings.weights + settings.shift) ** 3) * settings.scale


def test_setattr_on_an_object_made_in_the_function_sets_its_attributes():
    """A common configuration class: ``setattr(self, name, value)`` in a loop over keyword
    arguments (it was 'setattr has no derivative rule')."""
    global SCALE
    w = np.array([0.3, -1.2])
    for mode in ("reverse", "forward"):
        gradient = srcad.grad(configured_by_setattr, mode=mode)
        for scale in (1.5, 3.0):
            SCALE = scale
            try:
                expected = srcad.numerical_grad(configured_by_setattr, w)
                np.testing.assert_allclose(gradient(w), expected, rtol=1e-7)
            finally:
                SCALE = 1.5
