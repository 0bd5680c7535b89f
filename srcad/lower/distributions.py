"""scipy.stats's frozen distributions in differentiated code: ``stats.norm(mu, sigma)``
(its parameters constants or values from data) and its methods, ``.logpdf(x)``, become the
distribution's own functions with the parameters given by name, which have rules:

Before:  stats.gamma(2.0, scale=theta).logpdf(x)
After:   stats.gamma.logpdf(x, a=2.0, scale=theta)

A frozen distribution made outside the function (a global ``PRIOR = stats.norm(0, 1)``) is
taken apart the same way; its identity is fixed (the guard checks it on every call) and its
parameters (``PRIOR.args``, ``PRIOR.kwds``) are read on every call.
SciPy is never imported here: a distribution is recognised by its classes' names.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, cast

from srcad.lower.objects import Partial
from srcad.lower.world import Outside, World

FROZEN_CLASSES = ("rv_continuous_frozen", "rv_discrete_frozen", "rv_frozen")


class Frozen:
    """A distribution called with its parameters in the lowered function; its methods
    are the distribution's, with the parameters given by name."""

    def __init__(self, dist: object, args: tuple, kwds: dict):
        self.dist, self.args, self.kwds = dist, args, kwds

    def __getattr__(self, name: str) -> Partial:
        if name.startswith("__"):
            raise AttributeError(name)
        return Partial(getattr(self.dist, name), (), _named(self.dist, self.args, self.kwds))


def is_distribution(function: Any) -> bool:
    """A scipy.stats distribution (``stats.norm``), whose call freezes it."""
    kind: type = type(function)
    return _is_distribution_class(kind)


@functools.cache
def _is_distribution_class(kind: type) -> bool:
    names = [cls.__name__ for cls in kind.__mro__]
    is_multivariate_normal = kind.__name__ == "multivariate_normal_gen"  # its methods' rules
    is_family = "rv_generic" in names or is_multivariate_normal
    return is_family and kind.__module__.startswith("scipy.stats")


def frozen_method(world: World, function: object) -> Partial | None:
    """``stats.norm(0, 1).logpdf`` of a frozen distribution SciPy made (in the function, on
    constants, or outside it), as the distribution's function with named parameters."""
    method = function.value if isinstance(function, Outside) else function
    owner: Any = getattr(method, "__self__", None)
    if type(owner).__name__ not in FROZEN_CLASSES or not hasattr(owner, "dist"):
        return None
    args, kwds = tuple(owner.args), dict(owner.kwds)
    if isinstance(function, Outside) and function.owner is not None:
        world.fix(owner, function.owner.path)  # the frozen object (a method is new per read)
        # its parameters, read on every call: ``PRIOR.kwds["scale"] = 0.5`` changes them
        args = tuple(cast(tuple, world.attribute(function.owner, "args")))
        kwds = dict(cast(dict, world.attribute(function.owner, "kwds")))
    dist = _published(owner.dist)
    named = _named(dist, args, kwds)
    return Partial(getattr(dist, getattr(method, "__name__", "")), (), named)


def _published(dist: Any) -> Any:
    """The distribution as scipy.stats publishes it (``stats.norm``), whose methods have
    rules: SciPy freezes a copy of it."""
    stats = sys.modules.get("scipy.stats")
    published = getattr(stats, getattr(dist, "name", ""), None)
    return published if type(published) is type(dist) else dist


def _named(dist: object, args: tuple, kwds: dict) -> dict[str, object]:
    """The parameters by name: the shapes (``a``, ``b``), then ``loc`` and ``scale`` (no
    ``scale`` for a discrete distribution), as SciPy takes them positionally."""
    if type(dist).__name__ == "multivariate_normal_gen":
        return {**dict(zip(("mean", "cov"), args, strict=False)), **kwds}
    shapes = [name.strip() for name in (getattr(dist, "shapes", None) or "").split(",")]
    names = [name for name in shapes if name] + ["loc"]
    if not hasattr(dist, "pmf"):
        names.append("scale")
    if len(args) > len(names):
        raise TypeError(f"{type(dist).__name__} takes at most {len(names)} parameters")
    return {**dict(zip(names, args, strict=False)), **kwds}
