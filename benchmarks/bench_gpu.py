"""Benchmark: the MLP gradient and a training epoch on CuPy arrays (a GPU) against NumPy.

The loss is the one ``srcad.train`` writes (a 784-256-256-10 tanh MLP, softmax cross-entropy
and an L2 penalty); srcad compiles it once and runs its generated gradient on CuPy arrays
through the array-API variant (``srcad.arrayapi``). The script checks that the GPU gradient
equals the NumPy one (float64: 1e-10 relative; float32: 1e-3), then times

- one value-and-gradient at batch 128 and 4096 (the minimum of several runs, the GPU
  synchronized before the clock stops: ``cupy.cuda.Device().synchronize()``);
- one epoch of minibatch SGD (batch 128) over 60 000 rows, the data resident on the device.

Needs a GPU and ``pip install -e ".[gpu]"`` (CuPy for CUDA 12, array-api-compat); without
CuPy it says so and exits. ``--library array_api_strict`` runs the same on the CPU through
array_api_strict, to check the script where there is no GPU (its times mean nothing).

    python benchmarks/bench_gpu.py                 # float32 and float64, on the GPU
    python benchmarks/bench_gpu.py --dtype float32
"""

from __future__ import annotations

import argparse
import importlib
import time

import numpy as np

import srcad
from srcad.train.mlp import init_params, make_loss

SIZES = (784, 256, 256, 10)
LAM = 1e-4
ROWS = 60_000
TOLERANCES = {"float64": 1e-10, "float32": 1e-3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", default="cupy", help="cupy (default) or array_api_strict")
    parser.add_argument("--dtype", choices=("float32", "float64"), action="append")
    parser.add_argument("--rows", type=int, default=ROWS, help="rows in the training epoch")
    options = parser.parse_args()
    try:
        xp = importlib.import_module(options.library)
    except ImportError:
        print(f"{options.library} is not installed: this benchmark needs a GPU and CuPy")
        print('(pip install -e ".[gpu]"); skipped.')
        return
    device = Device(xp)
    loss = make_loss(len(SIZES) - 1)
    for dtype in options.dtype or ["float32", "float64"]:
        print(f"\n{dtype}, {'-'.join(map(str, SIZES))} tanh MLP, on {device.name}")
        for batch in (128, 4096):
            compare_gradient(loss, xp, device, dtype, batch)
        compare_epoch(loss, xp, device, dtype, options.rows)


class Device:
    """Moving arrays to the library and back, and waiting for its work to finish."""

    def __init__(self, xp):
        self.xp = xp
        self.is_cupy = xp.__name__ == "cupy"
        self.name = "the GPU (CuPy)" if self.is_cupy else f"the CPU ({xp.__name__})"

    def put(self, tree):
        if isinstance(tree, list):
            return [tuple(self.xp.asarray(a) for a in layer) for layer in tree]
        return self.xp.asarray(tree)

    def get(self, a) -> np.ndarray:
        return self.xp.asnumpy(a) if self.is_cupy else np.asarray(a)

    def synchronize(self) -> None:
        if self.is_cupy:
            self.xp.cuda.Device().synchronize()


def data(rows: int, dtype: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, SIZES[0])).astype(dtype)
    y = np.eye(SIZES[-1], dtype=dtype)[rng.integers(0, SIZES[-1], rows)]
    return x, y


def best_time(run, synchronize, repeat: int = 7) -> float:
    """The fastest of ``repeat`` runs after a warm-up, in seconds."""
    run()
    synchronize()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def compare_gradient(loss, xp, device: Device, dtype: str, batch: int) -> None:
    """Check the device gradient against NumPy's, then time both."""
    params = init_params(SIZES, dtype=np.dtype(dtype).type)
    x, y = data(batch, dtype)
    value_and_grad = srcad.value_and_grad(loss)
    value, grads = value_and_grad(params, x, y, LAM)
    params_d, x_d, y_d = device.put(params), device.put(x), device.put(y)
    value_d, grads_d = value_and_grad(params_d, x_d, y_d, LAM)
    worst = max(
        float(np.max(np.abs(device.get(gd) - g)) / (np.max(np.abs(g)) or 1.0))
        for layer_d, layer in zip(grads_d, grads, strict=True)
        for gd, g in zip(layer_d, layer, strict=True)
    )
    assert worst <= TOLERANCES[dtype], f"gradients differ: relative {worst:.2e}"
    assert abs(float(value_d) - value) <= TOLERANCES[dtype] * max(1.0, abs(value))
    cpu = best_time(lambda: value_and_grad(params, x, y, LAM), lambda: None)
    gpu = best_time(lambda: value_and_grad(params_d, x_d, y_d, LAM), device.synchronize)
    print(
        f"  value_and_grad, batch {batch:5d}: NumPy {cpu * 1e3:8.2f} ms   "
        f"{device.xp.__name__} {gpu * 1e3:8.2f} ms   ({cpu / gpu:5.1f}x)   "
        f"max relative difference {worst:.1e}"
    )


def epoch(value_and_grad, params, x, y, batch: int, lr: float = 0.05) -> float:
    """One pass of minibatch SGD over the rows (in order); returns the last loss."""
    value = 0.0
    for start in range(0, x.shape[0] - batch + 1, batch):
        value, grads = value_and_grad(
            params, x[start : start + batch, ...], y[start : start + batch, ...], LAM
        )
        params[:] = [
            (W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads, strict=True)
        ]
    return float(value)


def compare_epoch(loss, xp, device: Device, dtype: str, rows: int, batch: int = 128) -> None:
    """One training epoch on NumPy and on the device, from the same start."""
    x, y = data(rows, dtype, seed=1)
    x_d, y_d = device.put(x), device.put(y)  # the data stays on the device
    value_and_grad = srcad.value_and_grad(loss)
    times, finals = [], []
    for put, xs, ys, sync in (
        (list, x, y, lambda: None),
        (device.put, x_d, y_d, device.synchronize),
    ):
        params = put(init_params(SIZES, dtype=np.dtype(dtype).type))
        epoch(value_and_grad, params, xs[: 2 * batch, ...], ys[: 2 * batch, ...], batch)  # warm-up
        sync()
        start = time.perf_counter()
        finals.append(epoch(value_and_grad, params, xs, ys, batch))
        sync()
        times.append(time.perf_counter() - start)
    print(
        f"  epoch of {rows} rows, batch {batch}: NumPy {times[0]:.2f} s   "
        f"{device.xp.__name__} {times[1]:.2f} s   ({times[0] / times[1]:.1f}x)   "
        f"final loss {finals[0]:.6f} vs {finals[1]:.6f}"
    )


if __name__ == "__main__":
    main()
