"""Test settings: the IR verifier runs after every pass, generated code goes to a temp dir,
numba optimises less, Python caches bytecode; every test starts from the same state whatever ran before it on its
worker (its random data seeded from its id, no rule of the user's left by another test), and
``--reverse-order`` runs the suite backwards to check that."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("SRCAD_VERIFY", "1")
os.environ.setdefault("SRCAD_GENERATED_DIR", tempfile.mkdtemp(prefix="srcad-tests-"))
# numba's compiles are most of the suite's time: LLVM's level 0 compiles the numba tests in
# three quarters of level 1's time (146 s against 188 s on 2 cores), 1 in 0.8 of the default
# 3's, and all compute the same values but for the order in which fastmath sums add (set
# NUMBA_OPT=3 to test at users' level; the benchmarks, and benchmarks/numba_corpus.py's
# agreement with NumPy to 1e-12, run at numba's default). What numba caches on disk is
# named for the level (srcad.backends.numba_backend), or not cached below the default (the
# compiled Adam step), so that a later benchmark never loads code compiled at this level.
os.environ.setdefault("NUMBA_OPT", "0")
# Python's bytecode caches on, as on a machine left at its defaults, for this process (and
# the processes tests start), whatever PYTHONDONTWRITEBYTECODE says: without them each
# process compiles srcad from source (0.5 s of a 1 s import) and pytest rewrites every test
# module again (3 to 6 s of each worker's collection). The caches go to __pycache__ folders,
# which git ignores.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.path.insert(0, str(Path(__file__).parent))


# --- no exception other than SrcadError (or the documented TypeError/ValueError about
# arguments) may leave a transformation anywhere in the suite -------------------------------
import functools  # noqa: E402

import pytest  # noqa: E402

import srcad  # noqa: E402
from srcad.api.grad import Transformed  # noqa: E402
from srcad.api.transforms import _Jacobian  # noqa: E402

ALLOWED = (srcad.SrcadError, TypeError, ValueError)
_escaped: list[str] = []


def _watched(fun):
    @functools.wraps(fun)
    def call(*args, **kwargs):
        try:
            return fun(*args, **kwargs)
        except ALLOWED as error:
            tb = error.__traceback__
            if tb is not None and tb.tb_frame.f_code is call.__code__:
                error.__traceback__ = tb.tb_next  # this watch is no frame of the user's
            raise
        except Exception as error:
            _escaped.append(f"{type(error).__name__}: {error}")
            raise

    return call


Transformed.__call__ = _watched(Transformed.__call__)
_Jacobian.__call__ = _watched(_Jacobian.__call__)
for _name in ("vjp", "jvp", "hvp"):
    setattr(srcad, _name, _watched(getattr(srcad, _name)))


@pytest.fixture(autouse=True)
def no_unexpected_exception_leaves_srcad():
    """Fails the test when a transformation let another exception escape (even if the test
    caught it)."""
    _escaped.clear()
    yield
    escaped, _escaped[:] = list(_escaped), []
    assert not escaped, f"an exception other than SrcadError left srcad: {escaped[0]}"


# --- a rule of the user's own registered by one test is gone before the next ---------------
from user_rules import remove_user_rules  # noqa: E402

from srcad.ir.prims import CALLABLES, PRIMS  # noqa: E402


@pytest.fixture(autouse=True)
def no_user_rule_left_behind():
    """A rule a test registers (directly, or in a file ``srcad check`` runs) is removed after
    it: a process with rules of the user's own keeps its compiles off the shared disk cache,
    so a rule left behind would change what a later test on the same worker sees."""
    before, callables = frozenset(PRIMS), dict(CALLABLES)
    yield
    remove_user_rules(keep=before, callables=callables)


# --- the same random data for a test whatever ran before it on its worker -------------------
import zlib  # noqa: E402

import numpy as np  # noqa: E402


@pytest.fixture(autouse=True)
def same_draws_in_any_order(request, monkeypatch):
    """A test module's ``RNG`` and NumPy's global generator start each test from a seed of
    the test's own id: which tests ran before it on its worker (pytest-xdist shares them out
    differently from run to run) cannot change its data."""
    seed = zlib.crc32(request.node.nodeid.encode())
    module = getattr(request, "module", None)
    if isinstance(getattr(module, "RNG", None), np.random.Generator):
        monkeypatch.setattr(module, "RNG", np.random.default_rng(seed))
    np.random.seed(seed)


# --- `pytest --reverse-order`: the suite in reverse, to find tests that lean on earlier ones --
def pytest_addoption(parser):
    parser.addoption(
        "--reverse-order",
        action="store_true",
        help="run the tests in reverse order (each must pass whatever ran before it)",
    )


@pytest.hookimpl(tryfirst=True)  # before ``-m "not slow"`` deselects
def pytest_collection_modifyitems(config, items):
    _mark_unsampled_slow(items)
    if config.getoption("--reverse-order"):
        items.reverse()


def _mark_unsampled_slow(items):
    """``@pytest.mark.sampled(n)``: the fast loop runs ``n`` of a test's parameter sets,
    spread evenly from the first to the last; the others are marked ``slow`` (the whole
    suite runs them all)."""
    by_function: dict = {}
    for item in items:
        if item.get_closest_marker("sampled") is not None:
            by_function.setdefault((item.path, item.originalname), []).append(item)
    for group in by_function.values():
        wanted = group[0].get_closest_marker("sampled").args[0]
        last = len(group) - 1
        kept = {round(k * last / (wanted - 1)) for k in range(wanted)} if wanted > 1 else {0}
        for index, item in enumerate(group):
            if index not in kept:
                item.add_marker(pytest.mark.slow)


# --- the end of a run ---------------------------------------------------------------------
import gc  # noqa: E402


def pytest_sessionfinish(session, exitstatus):
    """The objects the run leaves are frozen before pytest's last cycle collections (five
    full passes, to report exceptions raised in ``__del__``: 0.75 s of each worker's run,
    over the compiles that every test's caches still hold)."""
    gc.freeze()
