"""Objects of the user's own classes as arguments (a config, a model holding its arrays, a
layer with ``__call__``): each is the tree of its attributes, its methods, properties and
class attributes are read through its class on every call. Each case against central
differences, again after the object or its class changed."""

from __future__ import annotations

import abc
import functools
import logging
import os
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pytest

import srcad
from srcad.pytree import flatten, is_plain_object

RNG = np.random.default_rng(11)


class Config:
    LIMIT = 1.0  # a class attribute: read on every call

    def __init__(self, scale, steps):
        self.scale = scale
        self.steps = steps
        self.act = np.tanh

    @property
    def doubled(self):
        return 2.0 * self.scale

    def apply(self, z):
        return self.act(z) * self.doubled


def configured(w, x, cfg):
    z = x @ w
    for _ in range(cfg.steps):
        z = cfg.apply(z)
    return np.sum(z**2) + cfg.LIMIT * np.sum(w)


def assert_matches_central_differences(gradient, fun, *args, argnums=0):
    got = gradient(*args)
    expected = srcad.numerical_grad(fun, *args, argnums=argnums)
    got_leaves, got_tree = flatten(got)
    expected_leaves, expected_tree = flatten(expected)
    assert got_tree == expected_tree
    for g, e in zip(got_leaves, expected_leaves, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow)])
def test_a_config_object_is_read_on_every_call(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    w, x = RNG.normal(size=3), RNG.normal(size=(4, 3))
    cfg = Config(0.7, 2)
    gradient = srcad.grad(configured, backend=backend)
    kept = dict(vars(Config))
    try:
        changes = [
            lambda: None,
            lambda: setattr(cfg, "scale", 1.3),  # a float attribute: read again
            lambda: setattr(cfg, "act", np.sin),  # a function: compiled again
            lambda: setattr(cfg, "steps", 3),  # an int: compiled again
            lambda: setattr(Config, "LIMIT", -2.0),  # a class attribute
            lambda: setattr(Config, "apply", lambda self, z: np.cos(z) * self.scale),
            lambda: setattr(cfg, "extra", 1.0),  # an attribute more: compiled again
        ]
        for change in changes:
            change()
            assert_matches_central_differences(gradient, configured, w, x, cfg)
            assert gradient(w, x, cfg) is not None  # the fast path, after the first call
            assert_matches_central_differences(gradient, configured, w, x, cfg)
    finally:
        for name in ("LIMIT", "apply"):
            setattr(Config, name, kept[name])


class Dense:
    def __init__(self, m, n):
        self.W = RNG.normal(size=(m, n))
        self.b = RNG.normal(size=n)

    def __call__(self, h):
        return np.tanh(h @ self.W + self.b)


class Network:
    def __init__(self):
        self.layers = [Dense(3, 4), Dense(4, 2)]
        self.decay = 0.1

    def forward(self, h):
        for layer in self.layers:
            h = layer(h)
        return h


def network_loss(model, x):
    penalty = sum(np.sum(layer.W**2) for layer in model.layers)
    return np.sum(model.forward(x) ** 2) + model.decay * penalty


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_the_gradient_of_a_model_object_is_a_model_object(mode):
    model, x = Network(), RNG.normal(size=(5, 3))
    gradient = srcad.grad(network_loss, mode=mode)
    grads = gradient(model, x)
    assert type(grads) is Network and type(grads.layers[1]) is Dense
    assert list(vars(grads)) == ["layers", "decay"]
    assert_matches_central_differences(gradient, network_loss, model, x)
    model.layers[0].W = model.layers[0].W * 2.0  # the arrays it holds, replaced
    assert_matches_central_differences(gradient, network_loss, model, x)


def test_an_object_returned_beside_the_loss_keeps_its_class():
    @dataclass
    class Stats:
        mean: float

    class Pair(NamedTuple):
        total: float
        scaled: np.ndarray

    def loss(w, cfg):
        value = np.sum(w**2) * cfg.scale
        return value, (Stats(np.mean(w)), Pair(np.sum(w), w * cfg.scale))

    w, cfg = RNG.normal(size=3), Config(2.0, 1)
    for mode in ("reverse", "forward"):
        gradient = srcad.value_and_grad(loss, has_aux=True, mode=mode)
        for _ in range(3):  # the first call, then the fast path
            (value, (stats, pair)), grads = gradient(w, cfg)
            assert type(stats) is Stats and np.isclose(stats.mean, np.mean(w))
            assert type(pair) is Pair and np.allclose(pair.scaled, w * 2.0)
            assert np.isclose(value, loss(w, cfg)[0])
            np.testing.assert_allclose(grads, 4.0 * w)


class Summary:
    def __init__(self, peak, mean=0.0):
        self.peak = peak * SUMMARY_SCALE["value"]  # read on every call, not when compiling
        self.mean = mean
        self.count = 1

    def total(self):
        return self.peak + self.mean


SUMMARY_SCALE = {"value": 1.0}


class State:
    def __init__(self, h):
        self.h = h
        self.steps = 0

    def step(self, x):
        self.h = np.tanh(self.h + x * SUMMARY_SCALE["value"])  # a global, read every call
        self.steps += 1


def summarized(w):
    summary = Summary(np.max(w), mean=np.mean(w))
    summary.count += 1
    return np.sum(w**2) + summary.total() * summary.count, summary


def stepped_over_a_range(w):
    state = State(np.zeros(3))
    for _ in range(3):
        state.step(w)
    return np.sum(state.h**2) * state.steps


def stepped_over_elements(w):
    state = State(0.0)
    for x in w:
        state.step(x)
    return state.h * state.steps


def set_in_a_branch_on_data(w):
    state = State(np.zeros(3))
    if np.sum(w) > 0.0:
        state.h = w * 2.0
    else:
        state.h = np.sin(w)
    return np.sum(state.h**2)


def made_in_a_loop(w):
    states = []
    for x in w:
        state = State(x)
        state.step(x * x)
        states.append(state)
    return sum(state.h for state in states)


@pytest.mark.sampled(2)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    "fun",
    [
        stepped_over_a_range,
        stepped_over_elements,
        set_in_a_branch_on_data,
        made_in_a_loop,
    ],
)
def test_objects_made_inside_with_attributes_written_in_loops_and_branches(fun, mode):
    gradient = srcad.grad(fun, mode=mode)
    try:
        for scale in (1.0, 0.4):  # the global the method reads changes
            SUMMARY_SCALE["value"] = scale
            for w in (np.array([0.3, -0.2, 0.5]), np.array([-0.4, -0.6, 0.1])):  # branches
                np.testing.assert_allclose(gradient(w), srcad.numerical_grad(fun, w), rtol=1e-6)
    finally:
        SUMMARY_SCALE["value"] = 1.0


def test_an_object_made_inside_reads_globals_on_every_call_and_keeps_its_class():
    w = np.array([0.3, -0.2, 0.5])
    gradient = srcad.grad(summarized, has_aux=True)
    try:
        for scale in (1.0, 3.0):
            SUMMARY_SCALE["value"] = scale
            grads, summary = gradient(w)
            expected = srcad.numerical_grad(lambda v: summarized(v)[0], w)
            np.testing.assert_allclose(grads, expected, rtol=1e-6)
            assert type(summary) is Summary and vars(summary) == pytest.approx(
                vars(summarized(w)[1])
            )
    finally:
        SUMMARY_SCALE["value"] = 1.0


def test_an_attribute_set_in_one_branch_only_is_refused_with_its_name():
    def added(w):
        state = State(w)
        if np.sum(w) > 0.0:
            state.extra = 1.0
        return np.sum(state.h)

    with pytest.raises(srcad.UnsupportedSyntax, match="'state' gets different items"):
        srcad.grad(added)(np.ones(2))


def test_lists_inside_containers_that_a_branch_on_data_changes_are_joined():
    def nested(w):  # both branches appended to d["items"] once lowered: silently wrong before
        d = {"items": []}
        for x in w:
            if x > 0.0:
                d["items"].append(np.sin(x))
            else:
                d["items"].append(np.cos(x))
        return sum(d["items"]) * len(d["items"])

    def summed(w):  # an internal error before: the loop's trial kept its append
        rows = []
        for x in w:
            row = {"v": x * x}
            rows.append(row)
        return sum(row["v"] for row in rows)

    w = np.array([0.5, -0.3, 0.8])
    for fun in (nested, summed):
        np.testing.assert_allclose(srcad.grad(fun)(w), srcad.numerical_grad(fun, w), rtol=1e-6)


class Counter:
    def __init__(self):
        self.calls = 0
        self.scale = 2.0


def test_writing_an_attribute_of_an_argument_is_refused_at_its_line():
    def counted(w, counter):
        counter.last = np.sum(w)
        return np.sum(w**2) * counter.scale

    with pytest.raises(srcad.UnsupportedSyntax, match=r"test_plain_objects.py:\d+: .*last"):
        srcad.grad(counted)(np.ones(3), Counter())


def test_an_object_that_holds_itself_is_refused_with_what_to_pass():
    class Node:
        def __init__(self, parent=None):
            self.scale = 1.0
            self.parent = parent

    root = Node()
    root.child = Node(root)
    with pytest.raises(TypeError, match="'node' of .* holds itself .* pass the arrays"):
        srcad.grad(lambda w, node: node.scale * np.sum(w))(np.ones(2), root)


def test_an_attribute_srcad_cannot_take_is_named():
    class WithLogger:
        def __init__(self):
            self.log = logging.getLogger("srcad-test")
            self.scale = 1.0

    with pytest.raises(TypeError, match=r"argument 'holder\.log' .* Logger"):
        srcad.grad(lambda w, holder: holder.scale * np.sum(w))(np.ones(2), WithLogger())


DEFAULT = Config(1.0, 1)


def test_identity_of_objects_passed_in_is_refused_and_none_is_known():
    def by_identity(w, cfg):
        return np.sum(w) * (1.0 if cfg is DEFAULT else 2.0)

    def against_none(w, cfg, other=None):
        return np.sum(w) * (1.0 if other is None else other.scale) * cfg.scale

    with pytest.raises(srcad.UnsupportedSyntax, match="same object"):
        srcad.grad(by_identity)(np.ones(2), DEFAULT)
    w, cfg = RNG.normal(size=2), Config(3.0, 1)
    for other in (None, Config(0.5, 1)):
        assert_matches_central_differences(srcad.grad(against_none), against_none, w, cfg, other)

    @dataclass
    class Box:
        value: float

    box = Box(2.0)
    with pytest.raises(srcad.UnsupportedSyntax, match="same object"):  # silently False before
        srcad.grad(lambda w, a, b: np.sum(w) * (1.0 if a is b else a.value))(np.ones(2), box, box)
    with pytest.raises(srcad.UnsupportedSyntax, match="same object"):  # inside an argument
        srcad.grad(lambda w, bs: np.sum(w) * (1.0 if bs[0] is bs[1] else 2.0))(w, [box, box])

    def made_here(w):  # containers the function makes: Python's answer, known
        a, b = [w[0]], [w[1]]
        c = a
        return np.sum(w) * (2.0 if a is b else 1.0) + (3.0 if c is a else 0.0) * w[0]

    assert_matches_central_differences(srcad.grad(made_here), made_here, w)


def test_only_the_users_own_classes_are_trees_of_attributes():
    import fractions

    assert is_plain_object(Config(1.0, 1)) and is_plain_object(Network())
    assert not is_plain_object(np.random.SeedSequence(0))  # an installed package's
    assert not is_plain_object(fractions.Fraction(1, 3))  # the standard library's
    assert not is_plain_object(logging.getLogger("srcad-test"))
    with pytest.raises(TypeError, match="SeedSequence"):
        srcad.grad(lambda w, s: np.sum(w))(np.ones(2), np.random.SeedSequence(0))


class Tracked:
    def __init__(self):
        self.W = RNG.normal(size=3)
        self.losses = []


def tracked_loss(model, x):
    return np.sum(np.tanh(model.W * x))


def test_a_list_that_grows_on_every_call_is_named_when_compiles_pile_up():
    model, x, gradient = Tracked(), RNG.normal(size=3), srcad.grad(tracked_loss, argnums=1)
    with pytest.warns(UserWarning, match=r"16 different argument layouts.*'model\.losses'") as seen:
        for _ in range(20):
            np.testing.assert_allclose(
                gradient(model, x), srcad.numerical_grad(tracked_loss, model, x, argnums=1)
            )
            model.losses.append(float(tracked_loss(model, x)))
    said = [w for w in seen if "layouts" in str(w.message)]
    assert len(said) == 1  # once
    assert os.path.dirname(said[0].filename) == os.path.dirname(__file__), said[0].filename


def test_a_warning_skips_the_functions_srcad_compiles_for_itself():
    """The 'compiled for 16 layouts' warning named '<srcad entry>:6' (the lean __call__ srcad
    compiles for a transformed function), not the user's call."""
    from srcad.runtime import errors

    namespace = {"warnings": warnings, "user_stacklevel": errors.user_stacklevel}
    in_srcad = os.path.join(os.path.dirname(errors.__file__), "warning_here.py")
    source = "def warns():\n    warnings.warn('from srcad', stacklevel=user_stacklevel())\n"
    exec(compile(source, in_srcad, "exec"), namespace)  # a warning of srcad's
    exec(compile("def entry():\n    warns()\n", "<srcad entry>", "exec"), namespace)
    with pytest.warns(UserWarning, match="from srcad") as seen:
        namespace["entry"]()
    assert seen[0].filename == __file__


class Base:
    FACTOR = 2.0

    def __init__(self):
        self.s = 1.5
        self.W = RNG.normal(size=(3, 3))

    def act(self, z):
        return np.tanh(z) * self.s

    @staticmethod
    def squared(z):
        return z**2

    @classmethod
    def factor(cls):
        return cls.FACTOR

    @functools.cached_property
    def symmetric(self):
        return self.W + self.W.T


class Child(Base):
    def act(self, z):
        return super().act(z) + type(self).FACTOR * z


def through_the_class(w, obj):
    return np.sum(obj.act(w) + obj.squared(w)) * obj.factor() + w @ obj.symmetric @ w


def test_super_static_and_class_methods_and_cached_properties_of_an_argument():
    w, obj = RNG.normal(size=3), Child()
    gradient = srcad.grad(through_the_class)
    assert_matches_central_differences(gradient, through_the_class, w, obj)
    Child.FACTOR = -1.0  # read through type(self) and cls on every call
    try:
        assert_matches_central_differences(gradient, through_the_class, w, obj)
    finally:
        del Child.FACTOR
    obj.W = obj.W * 3.0
    assert "symmetric" in vars(obj)  # the plain function cached it: a field now
    assert_matches_central_differences(gradient, through_the_class, w, obj)


class Slotted:
    __slots__ = ("scale",)

    def __init__(self):
        self.scale = 1.0


class Permissive:
    def __init__(self):
        self.scale = 1.0

    def __getattr__(self, name):  # answers anything, __array_namespace__ too
        return 3.0


@pytest.mark.parametrize("obj, why", [(Slotted(), "__slots__"), (Permissive(), "__getattr__")])
def test_objects_srcad_cannot_take_apart_say_why(obj, why):
    with pytest.raises(TypeError, match=f"'obj' .* class {type(obj).__name__}.*{why}"):
        srcad.grad(lambda w, obj: np.sum(w) * obj.scale)(np.ones(2), obj)


class SlottedScale:
    __slots__ = ("scale",)

    def __init__(self, scale):
        self.scale = scale


class ComputedScale:
    def __init__(self, scale):
        self.held = scale

    def __getattr__(self, name):
        return self.held


@pytest.mark.parametrize("cls, why", [(SlottedScale, "__slots__"), (ComputedScale, "__getattr__")])
def test_an_object_srcad_cannot_take_apart_made_from_traced_values_says_why(cls, why):
    """It said "'Dyn' has no derivative rule" (found this session)."""

    def makes_one(w):
        return np.sum(w) * cls(w[0]).scale

    with pytest.raises(srcad.UnsupportedSyntax, match=f"makes an object of {cls.__name__}.*{why}"):
        srcad.grad(makes_one)(np.ones(2))


class ParamDict(dict):
    """A dict of the user's: a dict (its items), not an object of attributes."""


class Marked(np.ndarray):
    """An array subclass of the user's: an array."""


class Abstract(abc.ABC):
    def __init__(self):
        self.w = RNG.normal(size=2)

    @abc.abstractmethod
    def energy(self, x): ...


class Concrete(Abstract):
    def energy(self, x):
        return np.sum(np.sin(self.w * x))


def test_subclasses_of_dict_and_ndarray_stay_containers_and_abc_bases_are_plain():
    params = ParamDict(w=RNG.normal(size=3))
    grads = srcad.grad(lambda p: np.sum(np.tanh(p["w"]) ** 2))(params)
    np.testing.assert_allclose(
        grads["w"], 2 * np.tanh(params["w"]) * (1 - np.tanh(params["w"]) ** 2)
    )
    marked = RNG.normal(size=3).view(Marked)
    np.testing.assert_allclose(srcad.grad(lambda a: np.sum(a**3))(marked), 3 * marked**2)
    model, x = Concrete(), RNG.normal(size=2)
    assert is_plain_object(model) and not is_plain_object(params)
    assert_matches_central_differences(
        srcad.grad(lambda m, x: m.energy(x)), lambda m, x: m.energy(x), model, x
    )


# --- a global model's layers, rearranged by builtins ------------------------------------------
class TanhLayer:
    def __init__(self, W):
        self.W = W

    def __call__(self, h):
        return np.tanh(h @ self.W)


class Stack:
    def __init__(self, *layers):
        self.layers = list(layers)
        self.names = ["first", "second"]


STACK = Stack(TanhLayer(RNG.normal(size=(3, 3))), TanhLayer(RNG.normal(size=(3, 3))))


def through_reversed(x):
    for layer in reversed(STACK.layers):
        x = layer(x)
    return np.sum(x)


def through_zip_and_enumerate(x):
    for k, (name, layer) in enumerate(zip(STACK.names, STACK.layers, strict=True)):
        x = layer(x) * (k + len(name))
    return np.sum(x)


def through_a_dict_and_a_list(x):
    named = dict(zip(STACK.names, STACK.layers, strict=True))
    layers = list(iter(STACK.layers))
    return np.sum(named["second"](layers[0](x)))


@pytest.mark.parametrize(
    "fun", [through_reversed, through_zip_and_enumerate, through_a_dict_and_a_list]
)
def test_layers_rearranged_by_builtins_are_read_on_every_call(fun):
    """reversed(model.layers), zip, enumerate, list, dict gave the layers as they were when
    compiling: a stale gradient once a layer's weights were replaced."""
    x = np.array([0.3, -0.2, 0.8])
    gradient = srcad.grad(fun)
    for _ in range(2):
        np.testing.assert_allclose(gradient(x), srcad.numerical_grad(fun, x), rtol=1e-6)
        STACK.layers[0].W = RNG.normal(size=(3, 3))
