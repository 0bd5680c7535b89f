"""What runs on a worker: srcad's gradient of the user's loss on one chunk of rows, and the sum
of partial results.

Part of ``srcad.distributed``. ``ChunkGradient`` travels to the workers (it pickles as the
user's function and the options) and compiles there, once per process and signature: the
first chunk a worker sees compiles (or loads from srcad's disk cache), the others reuse it.
``chunk_partial`` runs it on one chunk and weighs the result; ``add_partials`` adds partial
``(value, gradient)`` pairs leaf by leaf (the nodes of the reduction tree).

    chunk 0: (v0, g0) = value_and_grad(loss)(w, X0, y0)  -> (v0 * n0/N, g0 * n0/N)  for "mean"
    total:   (v0', g0') + (v1', g1') + ...               in a tree of ``add_partials``
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from srcad.distributed.sources import FunctionSources
from srcad.pytree import flatten, unflatten


class ChunkGradient:
    """``value_and_grad(fun, argnums, mode=mode)`` built by ``make`` where it is first called.

    ``make`` is the class of the transformed function the user called (it takes ``fun,
    argnums, has_aux, mode, returns_value``). Instances with the same ``key`` (a hash of the
    pickled function and options) share one compiled function per process.
    """

    def __init__(self, make: Callable, fun: Callable, argnums: int | tuple, mode: str):
        self.make = make
        self.fun = fun
        self.argnums = argnums
        self.mode = mode
        import cloudpickle  # installed with Dask, which is what calls for this class

        self.key = hashlib.sha256(cloudpickle.dumps((make, fun, argnums, mode))).hexdigest()
        self.sources = FunctionSources.of(fun)

    def __call__(self, *args: object) -> tuple:
        return _compiled_for(self)(*args)


# A worker process runs many calls' chunks: its compiled gradients are kept between calls, by
# the content of the function and options, so a training loop compiles once per worker. Each
# call still goes through the transformed function's guard (signature and world checks).
_CACHE_SIZE = 32
_COMPILED: OrderedDict[str, Callable] = OrderedDict()
_LOCK = threading.Lock()


def _compiled_for(gradient: ChunkGradient) -> Callable:
    with _LOCK:
        compiled = _COMPILED.get(gradient.key)
        if compiled is None:
            gradient.sources.restore(gradient.fun)
            compiled = gradient.make(
                gradient.fun,
                gradient.argnums,
                has_aux=False,
                mode=gradient.mode,
                returns_value=True,
            )
            _COMPILED[gradient.key] = compiled
            while len(_COMPILED) > _CACHE_SIZE:
                _COMPILED.popitem(last=False)
        return compiled


def chunk_partial(
    gradient: ChunkGradient,
    params: dict[str, object],
    names: tuple[str, ...],
    weight: float,
    *chunks: object,
) -> tuple:
    """``(weight * value, weight * gradient)`` of the loss on one chunk: the arguments in
    order ``names``, the data ones (``chunks``, in order) where ``params`` has no value."""
    data = iter(chunks)
    args = [params[name] if name in params else next(data) for name in names]
    value, grads = gradient(*args)
    if weight == 1.0:
        return value, grads
    leaves, treedef = flatten(grads)
    return value * weight, unflatten(treedef, [leaf * weight for leaf in leaves])


def add_partials(*partials: tuple) -> tuple:
    """The sum of ``(value, gradient)`` pairs, gradient leaf by leaf."""
    value, grads = partials[0]
    leaves, treedef = flatten(grads)
    for other_value, other_grads in partials[1:]:
        value = value + other_value
        leaves = [a + b for a, b in zip(leaves, flatten(other_grads)[0], strict=True)]
    return value, unflatten(treedef, leaves)
