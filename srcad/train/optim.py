"""Optimizers and learning-rate schedules: vectorised NumPy updates, in place.

``optimizer.step(params, grads)`` changes the parameter arrays themselves (never rebinding
them), so whoever holds ``params`` sees the new values. Parameters and gradients are trees of
the same structure: a list of ``(W, b)`` pairs, a dict, or any nesting of lists, tuples and
dicts of float arrays. Each optimizer keeps its state, plus one scratch array per parameter so
that a step allocates nothing.

The formulas, with ``g`` the gradient and ``lr`` the current learning rate:

    sgd        p -= lr g
    momentum   v = mu v + g;            p -= lr v              (nesterov: p -= lr (g + mu v))
    rmsprop    s = rho s + (1-rho) g^2; p -= lr g / (sqrt(s) + eps)
    adagrad    s = s + g^2;             p -= lr g / (sqrt(s) + eps)
    adadelta   s = rho s + (1-rho) g^2; d = sqrt(u + eps) / sqrt(s + eps) g;
               u = rho u + (1-rho) d^2; p -= lr d
    adam       m = b1 m + (1-b1) g;     v = b2 v + (1-b2) g^2;  t = step number
               p -= lr m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1-b1^t), v_hat = v / (1-b2^t)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


# --- options, checked where they are given ----------------------------------------------------
def is_real_number(value: object) -> bool:
    """A real number: a Python or NumPy int or float, not a bool (nor text)."""
    numbers = (int, float, np.integer, np.floating)
    return isinstance(value, numbers) and not isinstance(value, (bool, np.bool_))


def _decay_rate(owner: str, name: str, value: object) -> float:
    """``value`` as a decay rate, from 0 up to (not including) 1; a ValueError otherwise."""
    if not (is_real_number(value) and 0.0 <= value < 1.0):  # type: ignore[operator]
        raise ValueError(
            f"{owner}'s {name} is a decay rate from 0 up to (not including) 1, not {value!r}"
        )
    return float(value)


def _positive(owner: str, name: str, value: object) -> float:
    """``value`` as a positive finite number; a ValueError otherwise."""
    if not (is_real_number(value) and 0.0 < value < math.inf):  # type: ignore[operator]
        raise ValueError(f"{owner}'s {name} must be a positive number, not {value!r}")
    return float(value)


# --- schedules -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Constant:
    """The base learning rate throughout."""

    def __call__(self, base: float, epoch: int, epochs: int) -> float:
        return base


@dataclass(frozen=True)
class StepDecay:
    """Multiply the rate by ``factor`` every ``every`` epochs."""

    every: int = 10
    factor: float = 0.5

    def __post_init__(self) -> None:
        every_is_int = isinstance(self.every, (int, np.integer)) and is_real_number(self.every)
        if not (every_is_int and self.every >= 1):
            raise ValueError(
                f"StepDecay's every is a number of epochs, 1 or more, not {self.every!r}"
            )
        _positive("StepDecay", "factor", self.factor)

    def __call__(self, base: float, epoch: int, epochs: int) -> float:
        return base * self.factor ** (epoch // self.every)


@dataclass(frozen=True)
class Cosine:
    """Half a cosine from ``base`` down to ``base * floor`` over the run."""

    floor: float = 0.0

    def __post_init__(self) -> None:
        if not (is_real_number(self.floor) and 0.0 <= self.floor <= 1.0):
            raise ValueError(
                f"Cosine's floor is a fraction of the rate, 0 to 1, not {self.floor!r}"
            )

    def __call__(self, base: float, epoch: int, epochs: int) -> float:
        fraction = epoch / max(epochs, 1)
        return base * (self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * fraction)))


SCHEDULES = {"constant": Constant, "step": StepDecay, "cosine": Cosine}


# --- optimizers ----------------------------------------------------------------------------
class Optimizer:
    """Base class: state per parameter array, created on the first step."""

    n_buffers = 0  # state arrays per parameter, not counting the scratch array
    default_lr = 0.01

    def __init__(self, lr: float | None = None, schedule: object = None):
        # "numba": steps that have a compiled loop (Adam's) run it; fit(backend=...) sets it
        self.backend = "numpy"
        if lr is not None and not is_real_number(lr):
            raise ValueError(
                f"{type(self).__name__}'s learning rate must be a positive number, not {lr!r}"
            )
        self.base_lr = self.default_lr if lr is None else float(lr)
        if not np.isfinite(self.base_lr) or self.base_lr <= 0.0:
            raise ValueError(
                f"{type(self).__name__}'s learning rate must be a positive number, not {lr!r}"
            )
        self.lr = self.base_lr
        self.schedule = _schedule(type(self).__name__, schedule)
        self.steps = 0
        self.state: list[tuple[np.ndarray, ...]] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.base_lr:g}, schedule={self.schedule})"

    def reset(self) -> None:
        """Forget all state, as for a fresh run."""
        self.steps = 0
        self.state = []
        self.lr = self.base_lr

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """Set the learning rate that the schedule gives for ``epoch`` (counting from 0)."""
        self.lr = self.schedule(self.base_lr, epoch, epochs)

    def step(self, params: object, grads: object) -> None:
        """Update every parameter array in place from its gradient."""
        pairs = paired_leaves(params, grads)
        if not self.state:
            self.state = [
                tuple(np.zeros_like(p) for _ in range(self.n_buffers + 1)) for p, _ in pairs
            ]
        self.steps += 1
        for (p, g), state in zip(pairs, self.state, strict=True):
            self.update(p, g, *state)

    def update(self, p: np.ndarray, g: np.ndarray, *state: np.ndarray) -> None:
        raise NotImplementedError


def _schedule(owner: str, schedule: object) -> Callable:
    """A schedule: as given (a function of the base rate, the epoch and the epochs), or by
    its name in ``SCHEDULES`` (``"cosine"``), or the constant rate for None."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise ValueError(
                f"{owner}'s schedule {schedule!r} is not one of {sorted(SCHEDULES)}; or give "
                "a schedule object (StepDecay(every=10, factor=0.5))"
            )
        return SCHEDULES[schedule]()
    if not callable(schedule):
        raise TypeError(
            f"{owner}'s schedule is a function of (base rate, epoch, epochs) or one of "
            f"{sorted(SCHEDULES)}, not {type(schedule).__name__} {schedule!r:.40}"
        )
    return schedule


class SGD(Optimizer):
    default_lr = 0.1

    def update(self, p, g, scratch):
        np.multiply(g, self.lr, out=scratch)
        p -= scratch


class Momentum(Optimizer):
    """Heavy-ball momentum (``nesterov=True``: look ahead along the velocity)."""

    n_buffers = 1
    default_lr = 0.05

    def __init__(self, lr=None, schedule=None, mu: float = 0.9, nesterov: bool = False):
        super().__init__(lr, schedule)
        self.mu = _decay_rate("Momentum", "mu", mu)
        self.nesterov = nesterov

    def update(self, p, g, velocity, scratch):
        velocity *= self.mu
        velocity += g
        if self.nesterov:
            np.multiply(velocity, self.mu, out=scratch)
            scratch += g
            scratch *= self.lr
        else:
            np.multiply(velocity, self.lr, out=scratch)
        p -= scratch


class RMSProp(Optimizer):
    n_buffers = 1
    default_lr = 1e-3

    def __init__(self, lr=None, schedule=None, rho: float = 0.9, eps: float = 1e-8):
        super().__init__(lr, schedule)
        self.rho = _decay_rate("RMSProp", "rho", rho)
        self.eps = _positive("RMSProp", "eps", eps)

    def update(self, p, g, mean_square, scratch):
        np.multiply(g, g, out=scratch)
        scratch *= 1 - self.rho
        mean_square *= self.rho
        mean_square += scratch
        _scaled_step(p, g, mean_square, scratch, self.lr, self.eps)


class AdaGrad(Optimizer):
    n_buffers = 1
    default_lr = 0.05

    def __init__(self, lr=None, schedule=None, eps: float = 1e-8):
        super().__init__(lr, schedule)
        self.eps = _positive("AdaGrad", "eps", eps)

    def update(self, p, g, sum_square, scratch):
        np.multiply(g, g, out=scratch)
        sum_square += scratch
        _scaled_step(p, g, sum_square, scratch, self.lr, self.eps)


def _scaled_step(p, g, square, scratch, lr, eps):
    """p -= lr * g / (sqrt(square) + eps), through ``scratch``."""
    np.sqrt(square, out=scratch)
    scratch += eps
    np.divide(g, scratch, out=scratch)
    scratch *= lr
    p -= scratch


class Adadelta(Optimizer):
    """ADADELTA (Zeiler 2012): step sizes in the units of the parameters; ``lr`` scales them."""

    n_buffers = 2
    default_lr = 1.0

    def __init__(self, lr=None, schedule=None, rho: float = 0.95, eps: float = 1e-6):
        super().__init__(lr, schedule)
        self.rho = _decay_rate("Adadelta", "rho", rho)
        self.eps = _positive("Adadelta", "eps", eps)

    def update(self, p, g, mean_square, mean_delta, scratch):
        rho, eps = self.rho, self.eps
        np.multiply(g, g, out=scratch)
        scratch *= 1 - rho
        mean_square *= rho
        mean_square += scratch
        # scratch = sqrt(mean_delta + eps) / sqrt(mean_square + eps) * g
        np.add(mean_delta, eps, out=scratch)
        scratch /= mean_square + eps
        np.sqrt(scratch, out=scratch)
        scratch *= g
        mean_delta *= rho
        mean_delta += (1 - rho) * scratch * scratch
        scratch *= self.lr
        p -= scratch


class Adam(Optimizer):
    """Adam (Kingma and Ba). The moments are kept divided by their decay so far, m = decay1 *
    m_kept and v = decay2 * v_kept, so that a step adds to them without scaling them down
    first: seven passes over each parameter instead of nine. When a decay falls below
    ``RESCALE_BELOW`` the kept moments are scaled back and the decays start again from 1."""

    n_buffers = 2
    default_lr = 1e-3
    RESCALE_BELOW = 2.0**-20

    def __init__(self, lr=None, schedule=None, beta1: float = 0.9, beta2: float = 0.999, eps=1e-8):
        super().__init__(lr, schedule)
        self.beta1 = _decay_rate("Adam", "beta1", beta1)
        self.beta2 = _decay_rate("Adam", "beta2", beta2)
        self.eps = _positive("Adam", "eps", eps)
        self._decay1 = self._decay2 = 1.0
        self._compiled: Callable | None = None  # the compiled step, for backend "numba"

    def reset(self) -> None:
        super().reset()
        self._decay1 = self._decay2 = 1.0

    def step(self, params: object, grads: object) -> None:
        if not self.state:
            self._decay1 = self._decay2 = 1.0
        b1, b2 = self.beta1, self.beta2
        self._decay1 *= b1
        self._decay2 *= b2
        self._added1 = (1 - b1) / self._decay1
        self._added2 = (1 - b2) / self._decay2
        # Both bias corrections folded in (t counts steps from 1):
        # lr m_hat / (sqrt(v_hat) + eps) = rate m_kept / (sqrt(v_kept) + eps_kept), with
        # rate = lr sqrt(1 - b2^t) decay1 / ((1 - b1^t) sqrt(decay2)) and
        # eps_kept = eps sqrt(1 - b2^t) / sqrt(decay2).
        t = self.steps + 1
        root = math.sqrt(1 - b2**t) / math.sqrt(self._decay2)
        self._rate = self.lr * root * self._decay1 / (1 - b1**t)
        self._eps = self.eps * root
        self._compiled = _compiled_adam_step() if self.backend == "numba" else None
        super().step(params, grads)
        if min(self._decay1, self._decay2) < self.RESCALE_BELOW:
            for m, v, _ in self.state:
                m *= self._decay1
                v *= self._decay2
            self._decay1 = self._decay2 = 1.0

    def update(self, p, g, m, v, scratch):
        if self._compiled is not None and _flat_alike(p, g, m, v):
            flat = [a.reshape(-1) for a in (p, g, m, v)]
            scalars = (self._added1, self._added2, self._eps, self._rate)
            self._compiled(*flat, *map(p.dtype.type, scalars))  # float32 math on float32
            return
        add_scaled(m, self._added1, g, scratch)
        np.multiply(g, g, out=scratch)
        add_scaled(v, self._added2, scratch, scratch)
        np.sqrt(v, out=scratch)
        scratch += self._eps
        np.divide(m, scratch, out=scratch)
        add_scaled(p, -self._rate, scratch, scratch)


@functools.cache
def _compiled_adam_step() -> Callable:
    """``srcad.train.compiled.adam_step``, imported once (it imports numba: only when asked)."""
    from srcad.train.compiled import adam_step

    return adam_step


def _flat_alike(*arrays: np.ndarray) -> bool:
    """Whether the arrays are C-contiguous float arrays of one shape and dtype (each one's
    ``reshape(-1)`` a view the compiled step can write through)."""
    first = arrays[0]
    return first.dtype.kind == "f" and all(
        a.dtype == first.dtype and a.shape == first.shape and a.flags.c_contiguous for a in arrays
    )


def add_scaled(y: np.ndarray, a: float, x: np.ndarray, scratch: np.ndarray) -> None:
    """``y += a * x`` in place: one pass with BLAS axpy (SciPy) where both are contiguous
    float arrays of one dtype (Adam's step on a 784x256 float32 layer: 0.8x the time of
    NumPy's two), else through ``scratch`` (which may be ``x`` itself)."""
    axpy = _AXPY.get(y.dtype.char) if _load_axpy() else None
    same = x.dtype == y.dtype and x.shape == y.shape
    if axpy is not None and same and y.flags.c_contiguous and x.flags.c_contiguous:
        axpy(x.reshape(-1), y.reshape(-1), a=a)
        return
    np.multiply(x, a, out=scratch)
    y += scratch


_AXPY: dict[str, object] = {}
_AXPY_LOADED: list[bool] = []  # whether SciPy's BLAS was found, once looked for


def _load_axpy() -> bool:
    if not _AXPY_LOADED:
        try:
            from scipy.linalg import blas
        except ImportError:
            _AXPY_LOADED.append(False)
            return False
        _AXPY.update({"f": blas.saxpy, "d": blas.daxpy})
        _AXPY_LOADED.append(True)
    return _AXPY_LOADED[0]


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Momentum,
    "rmsprop": RMSProp,
    "adagrad": AdaGrad,
    "adadelta": Adadelta,
    "adam": Adam,
}


def make_optimizer(
    name: str, lr: float | None = None, schedule: str = "constant", **options
) -> Optimizer:
    """An optimizer by name (``sgd``, ``momentum``, ``nesterov``, ``rmsprop``, ...)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    if name == "nesterov":
        options["nesterov"] = True
    return OPTIMIZERS[name](lr, schedule, **options)  # a schedule by name or as an object


def paired_leaves(params: object, grads: object) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(parameter, gradient)`` array pairs of two trees with the same structure."""
    if isinstance(params, dict):
        return [pair for key in params for pair in paired_leaves(params[key], grads[key])]
    if isinstance(params, (list, tuple)):
        if len(params) != len(grads):
            raise ValueError(f"{len(params)} parameters but {len(grads)} gradients")
        return [pair for p, g in zip(params, grads, strict=True) for pair in paired_leaves(p, g)]
    if not isinstance(params, np.ndarray):
        raise TypeError(
            f"parameters must be NumPy arrays to be updated in place, got {type(params).__name__}"
        )
    return [(params, grads)]
