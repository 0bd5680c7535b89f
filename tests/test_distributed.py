"""srcad on Dask: gradients over arrays chunked by rows, data-parallel fit, sweeps.

A 2-worker LocalCluster in this process (threads: no process start-up); the chunked
gradients must equal NumPy's to 1e-10 in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import srcad

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

from srcad.distributed import ChunkedLossError  # noqa: E402
from srcad.train import MLP, fit, make_optimizer, sweep  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def logistic_loss(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def squared_error(w, b, X, y):
    residual = X @ w + b - y
    return np.sum(residual**2)


def centred(w, X, y):
    z = X @ w
    return np.mean((z - np.mean(z)) ** 2)


def per_length(w, X, y):
    return np.sum((X @ w - y) ** 2) / len(X)


def draws(w, X, y):
    noise = np.random.normal(size=w.shape)
    return np.mean(X @ (w + noise) - y)


def _data(rows=1000, features=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    y = (rng.random(rows) > 0.5).astype(float)
    w = rng.normal(size=features)
    return w, X, y


def _chunked(*arrays, rows=300):
    return [da.from_array(a, chunks=(rows, *a.shape[1:])) for a in arrays]


@pytest.mark.slow
def test_logistic_gradient_over_chunks_equals_numpy(client):
    w, X, y = _data()
    Xd, yd = _chunked(X, y)
    value, grad = srcad.value_and_grad(logistic_loss)(w, Xd, yd)
    expected_value, expected_grad = srcad.value_and_grad(logistic_loss)(w, X, y)
    assert type(grad) is np.ndarray and grad.shape == w.shape
    np.testing.assert_allclose(grad, expected_grad, rtol=0, atol=1e-10)
    assert abs(value - expected_value) < 1e-10
    np.testing.assert_allclose(srcad.grad(logistic_loss)(w, Xd, yd), expected_grad, atol=1e-10)


def test_sum_loss_with_two_parameters_and_uneven_chunks(client):
    w, X, y = _data(rows=777)
    Xd = da.from_array(X, chunks=(100, 5))
    yd = da.from_array(y, chunks=250)  # rechunked to X's rows
    grads = srcad.grad(squared_error, argnums=(0, 1))(w, 0.5, Xd, yd)
    expected = srcad.grad(squared_error, argnums=(0, 1))(w, 0.5, X, y)
    np.testing.assert_allclose(grads[0], expected[0], rtol=0, atol=1e-10)
    assert type(grads[1]) is float and abs(grads[1] - expected[1]) < 1e-10


def test_mlp_loss_over_chunks_equals_numpy(client):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(900, 6)), rng.normal(size=(900, 3))
    model = MLP([6, 8, 3], loss="mse", lam=1e-3)
    params = model.init(0)
    Xd, yd = _chunked(X, y, rows=200)
    value, grads = srcad.value_and_grad(model.loss_fn)(params, Xd, yd, 1e-3)
    expected_value, expected = srcad.value_and_grad(model.loss_fn)(params, X, y, 1e-3)
    assert abs(value - expected_value) < 1e-10
    for layer, expected_layer in zip(grads, expected, strict=True):
        for g, e in zip(layer, expected_layer, strict=True):
            assert type(g) is np.ndarray and g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=0, atol=1e-10)


def test_a_second_call_sees_new_data_and_parameters(client):
    w, X, y = _data()
    gradient = srcad.grad(logistic_loss)
    first = gradient(w, *_chunked(X, y))
    w2, X2, y2 = _data(seed=5)
    second = gradient(w2, *_chunked(X2, y2))
    np.testing.assert_allclose(second, srcad.grad(logistic_loss)(w2, X2, y2), atol=1e-10)
    assert np.abs(second - first).max() > 1e-3


def test_without_a_client_the_default_scheduler_runs_the_chunks():
    import dask

    w, X, y = _data(rows=500)
    with dask.config.set(scheduler="threads"):
        grad = srcad.grad(logistic_loss)(w, *_chunked(X, y, rows=128))
    np.testing.assert_allclose(grad, srcad.grad(logistic_loss)(w, X, y), atol=1e-10)


@pytest.mark.parametrize(
    "loss, words",
    [
        (centred, "combines values of different rows"),
        (per_length, "depends on the number of rows"),
        (draws, "draws random numbers"),
    ],
)
def test_a_loss_of_another_form_is_refused_at_its_line(client, loss, words):
    w, X, y = _data(rows=100)
    with pytest.raises(ChunkedLossError) as caught:
        srcad.grad(loss)(w, *_chunked(X, y, rows=40))
    message = str(caught.value)
    assert words in message and "np.mean" in message
    assert caught.value.file == __file__ and caught.value.line is not None


def negative_log_likelihood(w, X, y):
    z = X @ w
    return -np.mean(y * z - np.logaddexp(0.0, z)) + 0.01 * np.sum(w**2)


def halved_squares(w, X, y):
    return 0.5 * np.sum((X @ w - y) ** 2) / 2.0


def test_a_reduction_scaled_or_negated_after_it_splits_over_chunks(client):
    """``-np.mean(...)``, ``0.5 * np.sum(...)``, ``np.sum(...) / 2``: refused as combining
    rows (only a bare reduction, or a term added to a mean, was recognised)."""
    w, X, y = _data(rows=200)
    for loss in (negative_log_likelihood, halved_squares):
        value, grad = srcad.value_and_grad(loss)(w, *_chunked(X, y, rows=64))
        expected_value, expected = srcad.value_and_grad(loss)(w, X, y)
        assert value == pytest.approx(expected_value, rel=1e-12)
        np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-12)


def test_differentiating_the_data_is_refused(client):
    w, X, y = _data(rows=100)
    with pytest.raises(TypeError, match="is a Dask array and is differentiated"):
        srcad.grad(logistic_loss, argnums=1)(w, *_chunked(X, y, rows=40))


def _classification(rows=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)[:, None]
    return x, y


@pytest.mark.slow
def test_fit_with_a_client_gives_the_parameters_of_one_process(client):
    x, y = _classification()
    model = MLP([4, 6, 1], loss="logistic", lam=1e-4)
    options = dict(epochs=3, batch_size=32, seed=3, progress=False)
    alone = fit(model, x, y, optimizer=make_optimizer("adam", 1e-2), **options)
    split = fit(model, x, y, optimizer=make_optimizer("adam", 1e-2), client=client, **options)
    for layer, other in zip(alone.params, split.params, strict=True):
        for a, b in zip(layer, other, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-8)
    assert split.history.objective == pytest.approx(alone.history.objective, abs=1e-8)


def test_a_sweep_of_four_runs_returns_four_histories_and_the_best(client):
    x, y = _classification(rows=200)
    runs = [
        {"seed": seed, "optimizer": make_optimizer("adam", lr)}
        for seed in (0, 1)
        for lr in (1e-3, 3e-2)
    ]
    result = sweep(MLP([4, 5, 1], loss="logistic"), x, y, runs, client=client, epochs=2)
    assert len(result.histories) == 4 and all(h.epochs == 2 for h in result.histories)
    losses = [h.best_val_loss for h in result.histories]
    assert result.best == int(np.argmin(losses))
    assert isinstance(result.model, MLP) and result.model.sizes == (4, 5, 1)
    alone = fit(
        MLP([4, 5, 1], loss="logistic"), x, y, epochs=2, progress=False, **runs[result.best]
    )
    for layer, other in zip(alone.params, result.params, strict=True):
        np.testing.assert_allclose(layer[0], other[0], atol=1e-12)
