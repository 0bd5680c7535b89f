"""Real Python (issue 11): comprehensions, generator expressions, generator functions and
starred forms, each against central differences of the plain function, in reverse mode
(``grad``, ``value_and_grad``) and forward mode, and again after the world outside the
function changed (a global's values, then its shape: the comprehension's length)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from source_files import module_from_source

import srcad

RNG = np.random.default_rng(11)
X = RNG.normal(size=5)
H = RNG.normal(size=4)
WS = [RNG.normal(size=(3, 4)) for _ in range(3)]


def _check_everywhere(fun, *args, argnums=0):
    """Reverse, value-and-gradient and forward mode against central differences."""
    srcad.check_grad(fun, *args, argnums=argnums)
    value, grads = srcad.value_and_grad(fun, argnums=argnums)(*args)
    assert value == pytest.approx(fun(*args))
    forward = srcad.grad(fun, argnums=argnums, mode="forward")(*args)
    expected = srcad.numerical_grad(fun, *args, argnums=argnums)
    for got in (grads, forward):
        _assert_close(got, expected)


def _assert_close(got, expected):
    got_leaves, expected_leaves = _leaves(got), _leaves(expected)
    assert len(got_leaves) == len(expected_leaves)
    for g, e in zip(got_leaves, expected_leaves, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-8)


def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in _leaves(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def _names(cases) -> list[str]:
    """Test ids: the functions' names."""
    return [fun.__name__ for fun, _ in cases]


def _body(transformed) -> str:
    """The generated function that computes (after the one checking the layout)."""
    return srcad.source(transformed).split("_unchecked(")[-1]


# --- comprehensions and generator expressions ----------------------------------------------
def summed_list(x):
    return sum([x[i] * x[i] for i in range(3)])


def neighbours(x):
    return sum(x[i] * x[i + 1] for i in range(len(x) - 1))


def squared_norms(params):
    norms = {k: np.sum(v**2) for k, v in params.items()}
    return norms["W"] + 0.5 * norms["b"]


def stacked_layers(h, Ws):
    return np.sum(np.stack([np.tanh(W @ h) for W in Ws]) ** 2)


def inner(a, b):
    return np.sum(a * b)


def zipped(As, Bs):
    return sum([inner(a, b) for a, b in zip(As, Bs, strict=True)])


def even_terms(x):
    return sum(x[i] ** 2 for i in range(len(x)) if i % 2 == 0)


def positive_part(x):
    return sum(v for v in x if v > 0.0)


def nested(x):
    outer = [[x[i] * x[j] for j in range(2)] for i in range(3)]
    pairs = [a * b for a in x[:2] for b in x[2:] if b is not a]
    return np.sum(np.array(outer)) + sum(pairs)


def by_shape(x):
    sizes = {v.shape[0] for v in [x, x, x[:2]]}
    return np.sum(x) * len(sizes)


def count_from_shapes(x):
    n = sum(len(v) for v in [x, x[:2]])
    return np.sum(np.ones(n) * np.sum(x))


def enumerated(x):
    return sum(i * v for i, v in enumerate(x)) + np.mean(np.array([i * v for i, v in enumerate(x)]))


def rows(A):
    return sum(np.sum(row**2) for row in A)


def extremes(x):
    return max(abs(v) for v in x) + min([x[0], x[1] * 2.0])


def listed(x):
    return np.sum([v * 2.0 for v in x]) + np.mean([np.sin(v) for v in x])


COMPREHENSIONS = [
    (summed_list, (X,)),
    (neighbours, (X,)),
    (squared_norms, ({"W": WS[0], "b": H},)),
    (stacked_layers, (H, WS)),
    (zipped, (WS[:2], WS[1:])),
    (even_terms, (X,)),
    (positive_part, (X,)),
    (nested, (X,)),
    (by_shape, (X,)),
    (count_from_shapes, (X,)),
    (enumerated, (X,)),
    (rows, (WS[0],)),
    (extremes, (X,)),
    (listed, (X,)),
]


@pytest.mark.sampled(2)
@pytest.mark.parametrize(("fun", "args"), COMPREHENSIONS, ids=_names(COMPREHENSIONS))
def test_a_comprehension_matches_central_differences(fun, args):
    _check_everywhere(fun, *args)


def test_the_gradient_of_a_list_of_weights_through_a_comprehension():
    _check_everywhere(stacked_layers, H, WS, argnums=1)
    _check_everywhere(zipped, WS[:2], WS[1:], argnums=(0, 1))


def test_a_sum_over_a_range_stays_a_loop_with_the_users_names():
    g = srcad.grad(neighbours)
    g(X)
    body = _body(g)
    assert "for i in range(4):" in body
    assert "total = total + " in body
    assert "x[3]" not in body  # one loop body, not four copies


@pytest.mark.slow
def test_a_sum_assigned_to_a_name_accumulates_under_that_name(tmp_path):
    m = module_from_source(
        textwrap.dedent("""
            import numpy as np

            def energy(x):
                loss = sum(x[i] ** 2 for i in range(len(x)))
                return loss * 2.0
            """),
        tmp_path,
        "named_sum",
    )
    g = srcad.grad(m.energy)
    _assert_close(g(X), srcad.numerical_grad(m.energy, X))
    assert "loss = loss + " in _body(g)


def test_a_list_comprehension_is_unrolled_with_the_loop_variables_names():
    g = srcad.grad(stacked_layers)
    g(H, WS)
    body = _body(g)
    assert "W = Ws[0]" in body and "tanh_Wh" in body
    assert "    for " not in body  # no loop statement: three copies of the element


# --- scoping --------------------------------------------------------------------------------
def loop_variable_does_not_leak(x):
    i = 3
    firsts = [x[i] for i in range(2)]
    return firsts[0] * firsts[1] + x[i]


def shadows_its_iterable(x):
    x = [x, x * 2.0]
    return sum(np.sum(x) for x in x)


def reads_after(x):
    ys = [x[i] for i in range(2)]
    return ys[0] + i  # noqa: F821 - Python raises NameError here too


def in_a_lambda(x):
    norm = lambda v: sum(vi**2 for vi in v)  # noqa: E731
    return norm(x) + norm(x[:2])


def in_a_nested_def(x):
    w = x * 2.0

    def weighted(v):
        return sum([v[i] * w[i] for i in range(len(v))])

    return weighted(x)


def with_a_closure():
    c = np.linspace(1.0, 2.0, 5)

    def closure(x):
        return sum(c[i] * x[i] ** 2 for i in range(len(x)))

    return closure


def recurrent(x, w):
    h = x
    for _ in range(3):
        h = np.tanh(sum(w[k] * h[k] for k in range(len(h)))) * h
    return np.sum(h)


def while_condition(x):
    y = x
    while sum(v for v in [np.sum(y**2)]) < 50.0:
        y = y * 2.0
    return np.sum(y)


SCOPES = [
    (loop_variable_does_not_leak, (X,)),
    (shadows_its_iterable, (X,)),
    (in_a_lambda, (X,)),
    (in_a_nested_def, (X,)),
    (with_a_closure(), (X,)),
    (recurrent, (X, X[::-1].copy())),
    (while_condition, (X,)),
]


@pytest.mark.sampled(2)
@pytest.mark.parametrize(("fun", "args"), SCOPES, ids=_names(SCOPES))
def test_a_comprehension_sees_its_scope_as_python_does(fun, args):
    _check_everywhere(fun, *args)


def test_a_comprehension_variable_is_not_defined_after_it():
    with pytest.raises(srcad.SrcadError, match="name 'i' is not defined"):
        srcad.grad(reads_after)(X)


# --- generator functions --------------------------------------------------------------------
def squares(v):
    for i in range(3):
        yield v[i] ** 2


def some_and_last(v):
    yield from (v[i] for i in range(2))
    if v.shape[0] > 3:
        yield v[3]
        return
    yield v[0]


def consumed_by_sum(x):
    return sum(squares(x)) + np.sum(np.array(list(squares(x))))


def consumed_by_a_loop(x):
    s = 0.0
    for v in squares(x):
        s = s + np.sin(v)
    return s + sum(some_and_last(x))


def nested_generator(x):
    def halves(v):
        for item in v:
            yield item / 2.0

    return sum(halves(x)) * np.prod(np.stack(list(halves(x[:2]))))


@pytest.mark.parametrize(
    "fun", [consumed_by_sum, consumed_by_a_loop, nested_generator], ids=lambda f: f.__name__
)
def test_a_generator_function_matches_central_differences(fun):
    _check_everywhere(fun, X)


def sends(v):
    received = yield v  # <- here
    yield received


def uses_sends(x):
    return sum(sends(x))


def a_generator(x):
    yield np.sum(x)  # <- here


def test_differentiating_a_generator_itself_or_sending_values_is_refused():
    with pytest.raises(srcad.UnsupportedSyntax, match="generator function") as info:
        srcad.grad(a_generator)(X)
    assert f":{a_generator.__code__.co_firstlineno + 1}:" in str(info.value)
    with pytest.raises(srcad.UnsupportedSyntax, match="value of a 'yield'") as info:
        srcad.grad(uses_sends)(X)
    assert f":{sends.__code__.co_firstlineno + 1}:" in str(info.value)


SKIPPED = {"row": 1}  # a global the filters below read: changed between calls


def rows_but_one(W):
    kept = [W[i] for i in range(W.shape[0]) if i != SKIPPED["row"]]
    return np.sum(np.stack(kept) ** 2)


def pairs_but_the_diagonal(W):
    total = 0.0
    for j in range(3):  # the filter reads this loop's counter too
        others = [W[i] * (j + 1.0) for i in range(3) if i != j and i != SKIPPED["row"]]
        total = total + np.sum(np.sin(np.stack(others)))
    return total


def even_rows_by_key(W):
    rows = {i: W[i] for i in range(3) if i % 2 == 0}
    return sum(np.sum(row**3) for row in rows.values())


@pytest.mark.slow
@pytest.mark.parametrize("fun", [rows_but_one, pairs_but_the_diagonal, even_rows_by_key])
def test_a_filter_on_values_known_when_compiling_keeps_those_items(fun):
    """A filter on the loop's counter (over a range) was refused as one on data."""
    W = RNG.normal(size=(3, 4))
    try:
        for row in (1, 2, 0):  # the global the filter reads changes between calls
            SKIPPED["row"] = row
            _check_everywhere(fun, W)
    finally:
        SKIPPED["row"] = 1


def filtered_by_data(x):
    return np.sum(np.array([v for v in x if v > 0.0]))


def resumed(x):
    return next(squares(x))


def rows_filtered_by_data(W):
    kept = [W[i] for i in range(3) if W[i, 0] > 0.0]  # the loop unrolls; still data
    return np.sum(np.stack(kept))


def test_a_list_filtered_by_data_and_a_resumed_generator_are_refused():
    for fun, x in ((filtered_by_data, X), (rows_filtered_by_data, WS[0])):
        with pytest.raises(srcad.UnsupportedSyntax, match="filter of .* depends on data") as info:
            srcad.grad(fun)(x)
        assert info.value.line == fun.__code__.co_firstlineno + 1
    with pytest.raises(srcad.UnsupportedSyntax, match="'next' cannot resume it"):
        srcad.grad(resumed)(X)


def set_of_data(x):
    return len({v for v in x}) * np.sum(x)


def test_a_set_of_values_computed_from_data_is_refused():
    with pytest.raises(srcad.UnsupportedSyntax, match="set of values computed from data"):
        srcad.grad(set_of_data)(X)


# --- starred forms ----------------------------------------------------------------------------
def loss_with_args(w, *args):
    return sum(np.sum((w * a) ** 2) for a in args) + np.sum(w**2)


def loss_with_kwargs(w, **kwargs):
    return np.sum(kwargs["scale"] * w**2) + kwargs.get("bias", 0.0)


def keyword_only(w, *data, scale=1.0, **options):
    return scale * np.sum(w * data[0]) + np.sum(options.get("shift", 0.0) * w)


def test_star_args_bind_and_argnums_counts_positions_of_the_call():
    a, b = X + 1.0, X - 1.0
    _check_everywhere(loss_with_args, X, a, b)
    _check_everywhere(loss_with_args, X, a, b, argnums=1)  # the first of *args, as in JAX
    _check_everywhere(loss_with_args, X, a, b, argnums=(0, 2))
    _check_everywhere(loss_with_args, X)  # nothing in *args
    assert srcad.grad(loss_with_args, argnums=1)(X, a, b).shape == X.shape


def test_star_star_kwargs_bind_and_are_read_on_every_call():
    g = srcad.grad(loss_with_kwargs)
    np.testing.assert_allclose(g(X, scale=2.0), 4.0 * X)
    np.testing.assert_allclose(g(X, scale=3.0, bias=1.0), 6.0 * X)
    forward = srcad.grad(loss_with_kwargs, mode="forward")(X, scale=2.0)
    np.testing.assert_allclose(forward, 4.0 * X)
    value, grads = srcad.value_and_grad(keyword_only)(X, X**2, scale=2.0, shift=0.5)
    assert value == pytest.approx(keyword_only(X, X**2, scale=2.0, shift=0.5))
    np.testing.assert_allclose(grads, 2.0 * X**2 + 0.5)


def spread_calls(x):
    xs = (x, x * 2.0)
    opts = {"b": x**2}
    return inner(*xs) + inner(x, **opts) + inner(*[x], **{"b": x})


def helper_with_star(*vs, scale=1.0):
    return scale * sum(np.sum(v) for v in vs)


def calls_helper_with_star(x):
    return helper_with_star(x, x**2, scale=3.0) + helper_with_star(*[x, np.sin(x)])


def star_in_displays(x):
    ones = np.ones((*x.shape, 2))
    values = [*x[:2], 3.0]
    merged = {**{"a": x}, "b": x * 2.0}
    return np.sum(ones * x[..., None]) + sum(values) + np.sum(merged["a"] * merged["b"])


def unzipped(x):
    pairs = [(x[0], x[1]), (x[2], x[3]), (x[4], x[0])]
    firsts, seconds = zip(*pairs)  # noqa: B905 - as users write it
    return sum(firsts) * sum(seconds)


def starred_target(x):
    first, *rest = x
    *init, last = list(x)
    return first * np.sum(np.array(rest)) + last * sum(init)


def unpacked_rows(A):
    top, bottom = A[:2]
    return np.sum(top * bottom)


STARRED = [
    (spread_calls, (X,)),
    (calls_helper_with_star, (X,)),
    (star_in_displays, (X,)),
    (unzipped, (X,)),
    (starred_target, (X,)),
    (unpacked_rows, (WS[0],)),
]


@pytest.mark.sampled(2)
@pytest.mark.parametrize(("fun", "args"), STARRED, ids=_names(STARRED))
def test_a_starred_form_matches_central_differences(fun, args):
    _check_everywhere(fun, *args)


def noisy(x):
    noise = np.random.randn(*x.shape)
    return np.sum(x * noise)


def test_a_random_draw_with_a_starred_shape_is_the_plain_functions_draw():
    np.random.seed(3)
    value, grads = srcad.value_and_grad(noisy)(X)
    np.random.seed(3)
    expected = np.random.randn(*X.shape)
    np.testing.assert_allclose(grads, expected)
    assert value == pytest.approx(np.sum(X * expected))


def spread_an_outside_object(x):
    return inner(*OBJECT)  # <- here


class _Pair:
    def __iter__(self):
        return iter([X, X])


OBJECT = _Pair()


def test_unpacking_an_object_from_outside_is_refused():
    with pytest.raises(srcad.UnsupportedSyntax, match="unpacks an object from outside"):
        srcad.grad(spread_an_outside_object)(X)


# --- the world changes between calls ----------------------------------------------------------
WORLD = """
import numpy as np

SCALE = 2.0
C = np.array([1.0, 2.0, 3.0])
WEIGHTS = [np.ones(3), np.full(3, 0.5)]


def weighted(x):
    return sum(SCALE * C[i] * x[i] ** 2 for i in range(len(C)))


def layers(x):
    return np.sum(np.stack([np.tanh(W * x) for W in WEIGHTS]))


def per_key(params):
    return sum(np.sum(C * v) ** 2 for v in params.values())


OPTS = {"b": np.array([1.0, 2.0, 3.0])}


def inner(a, b):
    return np.sum(a * b)


def scaled(v):
    for item in v:
        yield SCALE * item


def spread(x, *extra):
    return inner(x, **OPTS) + sum(np.sum(e * x) for e in extra) + sum(scaled(x))


def walrus_items(x):
    kept = [z for i in range(len(C)) if (z := SCALE * C[i] * x[i]) is not None]
    pairs = [(y := np.sin(v), y * v) for v in x[:2]]
    return np.sum(np.stack(kept) ** 2) + sum(a * b for a, b in pairs)
"""


def _world(tmp_path):
    return module_from_source(textwrap.dedent(WORLD), tmp_path, "comprehension_world")


def test_a_global_read_in_a_comprehension_is_read_again(tmp_path):
    m = _world(tmp_path)
    x = np.array([0.5, -1.0, 2.0, 1.5])
    for transform in (srcad.grad, lambda f: srcad.grad(f, mode="forward")):
        m.SCALE, m.C = 2.0, np.array([1.0, 2.0, 3.0])
        g = transform(m.weighted)
        _assert_close(g(x), srcad.numerical_grad(m.weighted, x))
        m.SCALE = -1.5
        m.C = np.array([3.0, -1.0, 0.5])
        _assert_close(g(x), srcad.numerical_grad(m.weighted, x))


def test_a_walrus_in_a_comprehension_binds_each_item_and_reads_the_world_again(tmp_path):
    m = _world(tmp_path)
    x = np.array([0.5, -1.0, 2.0, 1.5])
    m.SCALE, m.C = 2.0, np.array([1.0, 2.0, 3.0])
    for mode in ("reverse", "forward"):
        g = srcad.grad(m.walrus_items, mode=mode)
        _assert_close(g(x), srcad.numerical_grad(m.walrus_items, x))
        m.SCALE, m.C = -1.5, np.array([3.0, -1.0, 0.5])
        _assert_close(g(x), srcad.numerical_grad(m.walrus_items, x))
        m.SCALE, m.C = 2.0, np.array([1.0, 2.0, 3.0])


def test_a_walrus_in_a_comprehension_whose_name_the_function_reads_is_refused():
    def leaks(x):
        squares = [y for v in x if (y := v**2) > 0.0]
        return np.sum(np.stack(squares)) + y  # Python's y: the last item

    with pytest.raises(srcad.UnsupportedSyntax, match=":="):
        srcad.grad(leaks)(np.array([1.0, 2.0]))


def test_a_global_of_another_length_recompiles_the_comprehension(tmp_path):
    m = _world(tmp_path)
    x = np.array([0.5, -1.0, 2.0, 1.5])
    g = srcad.value_and_grad(m.weighted)
    g(x)
    assert "range(3)" in srcad.source(g)
    m.C = np.array([1.0, 2.0])
    value, grads = g(x)
    assert value == pytest.approx(m.weighted(x))
    _assert_close(grads, srcad.numerical_grad(m.weighted, x))
    assert "range(2)" in srcad.source(g)


def test_a_global_list_read_in_a_comprehension_is_read_again(tmp_path):
    m = _world(tmp_path)
    x = np.array([0.5, -1.0, 2.0])
    g = srcad.grad(m.layers)
    _assert_close(g(x), srcad.numerical_grad(m.layers, x))
    m.WEIGHTS[1] = np.array([2.0, -1.0, 0.25])
    _assert_close(g(x), srcad.numerical_grad(m.layers, x))
    m.WEIGHTS = [np.ones(3)] * 3  # another length: compiled again
    _assert_close(g(x), srcad.numerical_grad(m.layers, x))


def test_a_dict_comprehension_over_arguments_after_the_world_changed(tmp_path):
    m = _world(tmp_path)
    params = {"a": np.array([0.5, 1.0, -2.0]), "b": np.array([1.5, 0.25, 1.0])}
    g = srcad.grad(m.per_key)
    _assert_close(g(params), srcad.numerical_grad(m.per_key, params))
    m.C = np.array([-1.0, 0.5, 2.0])
    _assert_close(g(params), srcad.numerical_grad(m.per_key, params))


def test_an_argument_of_another_length_recompiles_the_comprehension():
    g = srcad.grad(neighbours)
    short, long = X[:3].copy(), np.concatenate([X, X])
    _assert_close(g(short), srcad.numerical_grad(neighbours, short))
    assert "range(2)" in srcad.source(g)
    _assert_close(g(long), srcad.numerical_grad(neighbours, long))
    assert "range(9)" in srcad.source(g)
    forward = srcad.grad(neighbours, mode="forward")
    _assert_close(forward(short), srcad.numerical_grad(neighbours, short))
    _assert_close(forward(long), srcad.numerical_grad(neighbours, long))


def test_starred_forms_and_a_generator_read_the_world_again(tmp_path):
    m = _world(tmp_path)
    x, e = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.5, -0.5])
    for transform in (srcad.grad, lambda f: srcad.grad(f, mode="forward")):
        m.SCALE, m.OPTS = 2.0, {"b": np.array([1.0, 2.0, 3.0])}
        g = transform(m.spread)
        _assert_close(g(x, e), srcad.numerical_grad(m.spread, x, e))
        m.OPTS["b"] = np.array([-2.0, 0.5, 4.0])
        m.SCALE = 0.25
        _assert_close(g(x, e), srcad.numerical_grad(m.spread, x, e))
        m.OPTS = {"b": 3.0}  # a float now: compiled again
        _assert_close(g(x, e, e), srcad.numerical_grad(m.spread, x, e, e))
