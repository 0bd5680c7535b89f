"""The generated-code directory as a cache that can be trusted (``srcad.runtime.store``,
``srcad.runtime.disk``): capped in size, cleared by ``srcad cache clear``, reused by a later
process only when everything the compile depended on is unchanged, and safe under threads.

Every test points ``SRCAD_GENERATED_DIR`` at a directory of its own.
"""

from __future__ import annotations

import importlib.util
import json
import linecache
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from source_files import module_from_source, rewrite

import srcad
import srcad.pipeline
from srcad.cli import main
from srcad.runtime import cache, describe, generated_dir, store
from srcad.runtime.store import TAG_NAME, write_file


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("SRCAD_GENERATED_DIR", str(directory))
    monkeypatch.setenv("SRCAD_CACHE_LOG", "1")
    cache.clear()  # a compile an earlier test left in memory would write nothing here
    return directory


def _srcad_files(directory) -> list:
    return sorted(p.name for p in directory.iterdir() if p.suffix in (".py", ".json", ".npz"))


# --- the cap ------------------------------------------------------------------------------
def test_the_cap_evicts_the_least_recently_used_files(cache_dir, monkeypatch):
    monkeypatch.setenv("SRCAD_CACHE_MAX_FILES", "10")
    for k in range(10):
        write_file(cache_dir / f"old_{k}.py", f"x = {k}\n")
        os.utime(cache_dir / f"old_{k}.py", (1000.0 + k, 1000.0 + k))
    os.utime(cache_dir / "old_0.py")  # reused just now: kept longest
    write_file(cache_dir / "new.py", "x = 'new'\n")
    kept = _srcad_files(cache_dir)
    assert len(kept) <= 9  # trimmed to 90% of the cap
    assert "new.py" in kept and "old_0.py" in kept
    assert "old_1.py" not in kept and "old_2.py" not in kept


def test_compiling_many_functions_stays_under_the_cap(cache_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SRCAD_CACHE_MAX_FILES", "8")
    source = "import numpy as np\n" + "".join(
        f"\n\ndef f{k}(x):\n    return np.sum(np.sin(x) * {k + 1}.0)\n" for k in range(12)
    )
    m = module_from_source(source, tmp_path, "many")
    x = np.arange(3.0)
    for k in range(12):
        fun = getattr(m, f"f{k}")
        np.testing.assert_allclose(srcad.grad(fun)(x), (k + 1) * np.cos(x))
        assert len(_srcad_files(cache_dir)) <= 8
    assert (cache_dir / TAG_NAME).exists()


def test_cache_info_and_clear(cache_dir, capsys):
    srcad.grad(lambda_free_square)(3.0)
    assert _srcad_files(cache_dir)
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert str(cache_dir) in out and "files: " in out and "MB" in out
    assert main(["cache", "clear"]) == 0
    assert "removed" in capsys.readouterr().out
    assert _srcad_files(cache_dir) == []
    g = srcad.grad(lambda_free_square)
    assert g(3.0) == 6.0  # a loaded function keeps working
    code = g.last.fn.__code__
    assert not os.path.exists(code.co_filename)  # evicted, yet tracebacks still show it:
    assert linecache.getline(code.co_filename, code.co_firstlineno).startswith("def ")


@pytest.mark.slow
def test_srcad_cache_clear_from_the_command_line(cache_dir):
    write_file(cache_dir / "some_module_0123456789.py", "x = 1\n")
    environment = {**os.environ, "SRCAD_GENERATED_DIR": str(cache_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "srcad", "cache", "clear"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert _srcad_files(cache_dir) == []


def test_numbas_cache_of_a_variant_goes_with_its_module(cache_dir, monkeypatch):
    """numba's .nbi/.nbc files in __pycache__ were outside both caps: 40 shapes of a
    numba-backed gradient left 80 of them (11 MB) under a cap of 30 files."""
    monkeypatch.setenv("SRCAD_CACHE_MAX_FILES", "10")
    compiled = cache_dir / "__pycache__"
    for k in range(6):
        write_file(cache_dir / f"loss_grad_numba_{k}.py", f"x = {k}\n")
        compiled.mkdir(exist_ok=True)
        for suffix in (".nbi", ".1.nbc"):
            (compiled / f"loss_grad_numba_{k}.loss_grad_unchecked-10.py311{suffix}").write_text("n")
        for path in [cache_dir / f"loss_grad_numba_{k}.py", *compiled.glob(f"*_{k}.*")]:
            os.utime(path, (1000.0 + k, 1000.0 + k))
    write_file(cache_dir / "newest.py", "x = 'new'\n")
    store._counts.clear()  # as a later process, which counts the directory again
    write_file(cache_dir / "newest_again.py", "x = 'new'\n")
    kept_numba = sorted(p.name.split(".")[0] for p in compiled.iterdir())
    kept_modules = sorted(p.stem for p in cache_dir.glob("loss_grad_numba_*.py"))
    assert sorted(set(kept_numba)) == kept_modules  # each module with its numba cache
    assert len(_srcad_files(cache_dir)) + len(kept_numba) <= 10
    assert main(["cache", "clear"]) == 0
    assert list(compiled.iterdir()) == []


def test_writes_list_the_directory_only_when_the_count_nears_the_cap(cache_dir, monkeypatch):
    monkeypatch.setenv("SRCAD_CACHE_MAX_FILES", "50")
    listings = []
    real_listdir = os.listdir
    monkeypatch.setattr(store.os, "listdir", lambda d: listings.append(d) or real_listdir(d))
    for k in range(120):
        write_file(cache_dir / f"entry_{k}.py", f"x = {k}\n")
    assert len(_srcad_files(cache_dir)) <= 50
    listings = [d for d in listings if str(d) == str(cache_dir)][:-1]  # not _srcad_files's
    # listed at the first write and when the count reached the cap (50, then 45 + 5 ...),
    # not at each of the 120 writes (a directory of 2,000 files takes ~0.5 ms to list)
    assert 2 <= len(listings) <= 20


def test_files_another_process_wrote_are_counted_within_seconds(cache_dir, monkeypatch):
    monkeypatch.setenv("SRCAD_CACHE_MAX_FILES", "10")
    write_file(cache_dir / "mine.py", "x = 0\n")
    for k in range(12):  # another process's files: this one's count does not include them
        (cache_dir / f"theirs_{k}.py").write_text(f"x = {k}\n")
        os.utime(cache_dir / f"theirs_{k}.py", (1000.0 + k, 1000.0 + k))
    write_file(cache_dir / "mine_again.py", "x = 1\n")  # may not see them yet
    clock = time.monotonic() + store.RECOUNT_INTERVAL_S
    monkeypatch.setattr(store.time, "monotonic", lambda: clock)
    write_file(cache_dir / "mine_later.py", "x = 2\n")
    kept = _srcad_files(cache_dir)
    assert len(kept) <= 9 and "mine_later.py" in kept and "theirs_0.py" not in kept


def test_a_directory_srcad_does_not_own_is_never_trimmed_or_cleared(tmp_path, monkeypatch):
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "notes.py").write_text("keep me\n")
    monkeypatch.setenv("SRCAD_GENERATED_DIR", str(mine))
    monkeypatch.setenv("SRCAD_CACHE_MAX_FILES", "1")
    srcad.grad(lambda_free_square)(2.0)
    assert not (mine / TAG_NAME).exists()
    assert main(["cache", "clear"]) == 1
    assert (mine / "notes.py").read_text() == "keep me\n"


def lambda_free_square(x):
    return x * x


# --- reuse within a process (the in-memory cache forgotten) ---------------------------------
SOLVED_MODULE = textwrap.dedent("""
    import numpy as np
    from scipy.integrate import odeint


    def decay(y, t, rate):
        return -rate * y**3


    def solved(rate, y0):
        return np.sum(odeint(decay, y0, np.linspace(0.0, 1.0, 4), args=(rate,)) ** 2)


    def plain(x):
        return np.sum(np.sin(x) * x)
    """)


def test_a_user_rule_keeps_the_process_off_the_disk_and_odeint_does_not(cache_dir, tmp_path, capfd):
    """A rule of the user's may change any later compile, so a process that registered one
    shares none; the primitive srcad makes for ``odeint`` is no such rule: other compiles
    are still shared, and the one calling it is not stored (its solver lives only here)."""
    m = module_from_source(SOLVED_MODULE, tmp_path, "solved")
    x = np.array([0.4, -1.2])
    rate, y0 = np.array(0.7), np.array([1.0, 0.5])
    expected = srcad.numerical_grad(m.solved, rate, y0)
    np.testing.assert_allclose(srcad.grad(m.solved)(rate, y0), expected, rtol=1e-5)
    srcad.grad(m.plain)(x)
    cache.clear()
    np.testing.assert_allclose(srcad.grad(m.solved)(rate, y0), expected, rtol=1e-5)
    np.testing.assert_allclose(srcad.grad(m.plain)(x), srcad.numerical_grad(m.plain, x))
    log = capfd.readouterr().err
    assert "not stored: solved: odeint_decay is a function srcad made" in log
    reused = [line for line in log.splitlines() if "cache: reused" in line]
    assert any(".plain_grad" in line for line in reused), log
    assert not any(".solved_grad" in line for line in reused), log
    srcad.defvjp(m.decay, lambda g, out, y, t, r: (g, None, None))  # removed by conftest
    cache.clear()
    np.testing.assert_allclose(srcad.grad(m.plain)(x), srcad.numerical_grad(m.plain, x))
    assert "reused" not in capfd.readouterr().err


def test_a_compile_is_reused_from_disk_and_checks_the_world(cache_dir, tmp_path, capfd):
    m = module_from_source(HELPERS_MODULE, tmp_path, "reuse")
    x = np.array([0.3, -0.2, 0.5])
    expected = srcad.grad(m.loss)(x)
    cache.clear()
    g = srcad.grad(m.loss)
    assert np.array_equal(g(x), expected)
    assert "reused" in capfd.readouterr().err
    assert g.last.graph.outputs[0].aval == g.last.out_avals[0]  # derived again on demand
    cache.clear()
    m.act = m.other_act  # a redefined helper: the stored compile does not hold
    np.testing.assert_allclose(srcad.grad(m.loss)(x), srcad.numerical_grad(m.loss, x), rtol=1e-6)
    assert "act is not what it was" in capfd.readouterr().err


def test_a_class_attribute_changed_outside_the_class_statement_is_seen(
    cache_dir, tmp_path, monkeypatch, capfd
):
    source = textwrap.dedent("""
        import numpy as np


        class Config:
            N = 2

            def act(v):
                return np.tanh(v)


        def loss(x):
            return np.sum(Config.act(x)) * Config.N
        """)
    (tmp_path / "classes_module.py").write_text(source)
    spec = importlib.util.spec_from_file_location("classes_module", tmp_path / "classes_module.py")
    m = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "classes_module", m)  # inspect finds a class's source so
    spec.loader.exec_module(m)
    x = np.array([0.3, -0.1])
    srcad.grad(m.loss)(x)
    cache.clear()
    srcad.grad(m.loss)(x)
    assert "reused" in capfd.readouterr().err
    cache.clear()
    m.Config.N = 5  # as module-level code in a later process might do
    np.testing.assert_allclose(srcad.grad(m.loss)(x), srcad.numerical_grad(m.loss, x), rtol=1e-6)
    assert "not reused" in capfd.readouterr().err


def test_a_class_and_a_function_edited_in_their_file_are_described_anew(tmp_path, monkeypatch):
    source = textwrap.dedent("""
        class Config:
            N = 2


        def helper(v):
            return v * 2.0
        """)
    m = module_from_source(source, tmp_path, "edited")
    monkeypatch.setitem(sys.modules, m.__name__, m)  # inspect finds a class's source so
    before = (describe.fingerprint(m.Config), describe.fingerprint(m.helper))
    assert (describe.fingerprint(m.Config), describe.fingerprint(m.helper)) == before
    rewrite(m.__file__, source.replace("N = 2", "N = 2  # edited").replace("2.0", "3.0"))
    after = (describe.fingerprint(m.Config), describe.fingerprint(m.helper))
    assert after[0] != before[0] and after[1] != before[1]
    assert "# edited" in describe._source(m.Config) and "3.0" in describe._source(m.helper)


def test_a_helpers_closure_and_defaults_are_described_and_checked(cache_dir, tmp_path, capfd):
    source = textwrap.dedent("""
        import numpy as np

        SLOPE = 0.1


        def make_act(power):
            def act(v, slope=SLOPE):
                return np.tanh(v) ** power + slope * v

            return act


        act = make_act(2)


        def loss(x):
            return np.sum(act(x))
        """)
    m = module_from_source(source, tmp_path, "closures")
    x = np.array([0.3, -0.1])
    expected = srcad.grad(m.loss)(x)
    cache.clear()
    np.testing.assert_array_equal(srcad.grad(m.loss)(x), expected)
    assert "reused" in capfd.readouterr().err
    cache.clear()
    m.act = m.make_act(3)  # the same function, another int in its closure cell
    np.testing.assert_allclose(srcad.grad(m.loss)(x), srcad.numerical_grad(m.loss, x), rtol=1e-6)
    assert "a value fixed when compiling is different now" in capfd.readouterr().err


def test_a_reused_gradient_can_be_differentiated_again(cache_dir):
    def cube(x):
        return x * x * x

    assert srcad.grad(cube)(2.0) == pytest.approx(12.0)
    cache.clear()
    assert srcad.grad(srcad.grad(cube))(2.0) == pytest.approx(12.0)  # inner one from disk
    assert srcad.hessian(cube)(np.array(2.0)) == pytest.approx(12.0)


def test_a_reused_gradient_with_a_loop_is_differentiated_again_with_its_loops(cache_dir, capfd):
    """The gradient read back keeps its loops (tapes as arrays): a gradient from disk is
    compiled again for that code, when a further derivative asks for it."""

    def series(x):
        total = term = x[0]
        for i in range(300):
            term = -term * x[1] / (i + 1.0)
            total = total + term
        return total

    x = np.array([0.7, 0.4])
    gradient = srcad.grad(series)
    gradient(x)
    cache.clear()
    second = srcad.grad(lambda v: srcad.grad(series)(v)[0])
    expected = srcad.numerical_grad(lambda v: gradient(v)[0], x)
    np.testing.assert_allclose(second(x), expected, rtol=1e-6, atol=1e-9)
    assert "reused" in capfd.readouterr().err
    assert len(srcad.source(second).splitlines()) < 200  # the loops kept: not 300 steps


def test_a_reused_vjp_knows_whether_it_draws_without_compiling_again(cache_dir, monkeypatch):
    def smooth(x):
        return np.sin(x) * 2.0

    def noisy(x):
        return x * np.random.normal(size=3)

    x = np.array([0.1, 0.2, 0.3])
    for fun in (smooth, noisy):
        srcad.vjp(fun, x)  # compiled and stored
    cache.clear()
    derived = []
    real_derive = srcad.pipeline._derive_graph
    monkeypatch.setattr(
        srcad.pipeline, "_derive_graph", lambda *a: derived.append(a) or real_derive(*a)
    )
    _, pull = srcad.vjp(smooth, x)  # from disk: no draws recorded, the graph is not made
    np.testing.assert_allclose(pull(np.ones(3))[0], 2.0 * np.cos(x))
    assert not derived
    for seed in (0, 3):  # from disk with draws: the pullback reuses the forward run's draw
        np.random.seed(seed)
        draw = np.random.normal(size=3)
        np.random.seed(seed)
        out, pull = srcad.vjp(noisy, x)
        np.testing.assert_allclose(out, x * draw)
        np.testing.assert_allclose(pull(np.ones(3))[0], draw)
    assert derived


def test_a_vanished_file_is_a_miss(cache_dir):
    def f(x):
        return np.sum(np.exp(x))

    x = np.arange(3.0)
    srcad.grad(f)(x)
    cache.clear()
    for path in cache_dir.glob("*.py"):
        path.unlink()  # another process evicted it
    np.testing.assert_allclose(srcad.grad(f)(x), np.exp(x))


# --- a second process -----------------------------------------------------------------------
HELPERS_MODULE = textwrap.dedent("""
    import numpy as np

    K = 3
    SCALE = 0.5
    W0 = np.ones((4, 3))


    def act(v):
        return np.tanh(v)


    def other_act(v):
        return np.sin(v)


    def loss(x):
        return np.sum(act(x) ** 2) + SCALE * np.sum(x**2) + K * np.sum(W0 @ x)
    """)

MLP_MODULE = textwrap.dedent("""
    import numpy as np

    LAM = 1e-3
    N_LAYERS = 2


    def act(v):
        return np.tanh(v)


    def mlp_loss(params, x, y):
        h = x
        for k in range(N_LAYERS):
            h = act(h @ params[2 * k] + params[2 * k + 1])
        penalty = 0.0
        for w in params:
            penalty = penalty + np.sum(w**2)
        return np.mean((h @ params[-1] - y) ** 2) + LAM * penalty
    """)
PENALTY_LINE = "return np.mean((h @ params[-1] - y) ** 2) + LAM * penalty\n"  # the last line

SCRIPT = """
import json, sys, time
sys.path.insert(0, ".")
import numpy as np
import srcad, srcad.pipeline
import mlp

lowered = []
original = srcad.pipeline.lower_function
srcad.pipeline.lower_function = lambda *a: lowered.append(1) or original(*a)
rng = np.random.default_rng(0)
params = [rng.normal(size=s) for s in [(8, 32), (32,), (32, 32), (32,), (32, 1)]]
x, y = rng.normal(size=(64, 8)), rng.normal(size=(64, 1))
start = time.perf_counter()
grads = srcad.grad(mlp.mlp_loss)(params, x, y)
seconds = time.perf_counter() - start
numerical = srcad.numerical_grad(mlp.mlp_loss, params, x, y)
print(json.dumps({
    "lowered": len(lowered),
    "seconds": seconds,
    "grads": [g.tolist() for g in grads],
    "numerical": [g.tolist() for g in numerical],
}))
"""


def _run(tmp_path, cache_dir, script: str = SCRIPT, **settings: str) -> tuple[dict, str]:
    """``script`` run by another Python process in ``tmp_path``, with the cache in
    ``cache_dir`` and the environment variables ``settings``: what its last line prints
    (JSON), and its log."""
    environment = {
        **os.environ,
        "SRCAD_GENERATED_DIR": str(cache_dir),
        "SRCAD_CACHE_LOG": "1",
        **settings,
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1]), result.stderr


def _assert_close(grads, numerical):
    for g, n in zip(grads, numerical, strict=True):
        np.testing.assert_allclose(g, n, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # a second Python process
def test_a_second_process_reuses_the_compile(tmp_path, cache_dir):
    (tmp_path / "mlp.py").write_text(MLP_MODULE)
    first, log = _run(tmp_path, cache_dir)
    assert first["lowered"] >= 1 and "stored" in log
    second, log = _run(tmp_path, cache_dir)
    assert second["lowered"] == 0, log  # loaded from disk: nothing lowered or differentiated
    assert "reused" in log and "stored" not in log
    for a, b in zip(first["grads"], second["grads"], strict=True):
        np.testing.assert_array_equal(a, b)
    _assert_close(second["grads"], second["numerical"])
    print(f"MLP loss: first compile {first['seconds']:.3f} s, reused {second['seconds']:.3f} s")


@pytest.mark.slow  # a second Python process each
@pytest.mark.parametrize(
    ("before", "after", "is_reused"),
    [
        ("return np.tanh(v)", "return np.sin(v)", False),  # the helper's source
        ("N_LAYERS = 2", "N_LAYERS = 1", False),  # an int fixed when compiling
        ("LAM = 1e-3", "LAM = 0.5", True),  # a float is read on every call
        (PENALTY_LINE, PENALTY_LINE + "\n\ndef range(n):\n    return [0]\n", False),  # a builtin
    ],
    ids=["helper", "int", "float", "shadowed-builtin"],
)
def test_a_second_process_checks_what_the_compile_relied_on(
    tmp_path, cache_dir, before, after, is_reused
):
    (tmp_path / "mlp.py").write_text(MLP_MODULE)
    _run(tmp_path, cache_dir)
    rewrite(tmp_path / "mlp.py", MLP_MODULE.replace(before, after))
    second, log = _run(tmp_path, cache_dir)
    assert (second["lowered"] == 0) == is_reused, log
    _assert_close(second["grads"], second["numerical"])  # the gradient of the code as it is now


# --- threads --------------------------------------------------------------------------------
@pytest.mark.slow
def test_two_threads_compiling_at_once_get_one_compile(cache_dir, monkeypatch):
    def loss(w):
        return np.sum(np.tanh(w) ** 2)

    lowered = []
    original = srcad.pipeline.lower_function

    def slow_lower(*args):
        lowered.append(threading.current_thread().name)
        time.sleep(0.2)  # both threads are inside the compile at once
        return original(*args)

    monkeypatch.setattr(srcad.pipeline, "lower_function", slow_lower)
    monkeypatch.setenv("SRCAD_CACHE_REUSE", "0")
    w = np.array([0.1, -0.4, 0.7])
    gradients = [srcad.grad(loss), srcad.grad(loss)]
    results: dict = {}
    barrier = threading.Barrier(2)

    def work(k: int) -> None:
        barrier.wait()
        results[k] = gradients[k](w)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(lowered) == 1
    assert gradients[0].last is gradients[1].last
    for k in range(2):
        np.testing.assert_allclose(results[k], 2 * np.tanh(w) * (1 - np.tanh(w) ** 2))


def test_generated_files_go_to_the_configured_directory(cache_dir):
    assert generated_dir() == cache_dir


@pytest.mark.slow
def test_a_process_that_replaced_a_numpy_function_compiles_afresh(cache_dir, tmp_path):
    """A process that set np.tanh = np.sin before compiling reused the compile another
    process stored: the generated code called sin with tanh's rule (a wrong gradient)."""
    (tmp_path / "tanh_loss.py").write_text(
        "import numpy as np\n\n\ndef loss(x):\n    return np.sum(np.tanh(x))\n"
    )
    script = textwrap.dedent("""
        import sys
        import numpy as np
        import srcad
        import tanh_loss
        if sys.argv[1] == "patched":
            np.tanh = np.sin
        x = np.array([0.3, 0.7, 1.1])
        value, gradient = srcad.value_and_grad(tanh_loss.loss)(x)
        print(value - tanh_loss.loss(x), np.max(np.abs(gradient - np.cos(x) if sys.argv[1] == "patched" else gradient - (1 - np.tanh(x) ** 2))))
        """)
    (tmp_path / "run_loss.py").write_text(script)
    environment = {
        **os.environ,
        "SRCAD_GENERATED_DIR": str(cache_dir),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
    }
    for mode in ("plain", "patched"):
        result = subprocess.run(
            [sys.executable, str(tmp_path / "run_loss.py"), mode],
            capture_output=True,
            text=True,
            env=environment,
            cwd=tmp_path,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        value_error, gradient_error = map(float, result.stdout.split())
        assert value_error == 0.0 and gradient_error < 1e-12, (mode, result.stdout)


# --- the in-memory cache -----------------------------------------------------------------
def squared_error(w, X, y):
    return np.mean((X @ w - y) ** 2)


def test_a_new_function_on_every_step_keeps_only_the_last_ones_alive():
    """A training loop that differentiates a new partial or lambda of each minibatch kept
    every batch alive: the cache held each function through its compile's guard."""
    import functools
    import gc
    import weakref

    rng = np.random.default_rng(0)
    w, batches = np.zeros(5), []
    for step in range(3 * cache.MAX_FUNCTIONS):
        X, y = rng.normal(size=(8, 5)), rng.normal(size=8)
        batches.append(weakref.ref(X))
        made = (
            functools.partial(squared_error, X=X, y=y)
            if step % 2
            else (lambda w, X=X, y=y: squared_error(w, X, y))
        )
        gradient = srcad.grad(made)(w)
        if step < 2:
            np.testing.assert_allclose(gradient, 2.0 * X.T @ (X @ w - y) / 8, rtol=1e-12)
    del made, X, y
    gc.collect()
    alive = sum(ref() is not None for ref in batches)
    assert alive <= cache.MAX_FUNCTIONS, alive


def test_a_generated_dir_given_with_a_tilde_is_in_the_home_folder(monkeypatch, tmp_path):
    """``SRCAD_GENERATED_DIR="~/srcad-gen"`` made a folder named '~' in the working
    directory (found by a probe)."""
    from srcad.runtime.store import generated_dir

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SRCAD_GENERATED_DIR", "~/srcad-gen")
    assert generated_dir() == tmp_path / "srcad-gen"


HASHED_MODULE = """
import numpy as np

def over_a_set(x):
    s = 0.0
    for i, k in enumerate({"alpha", "beta", "gamma", "delta"}):
        s += x[i] * len(k) ** 2
    return s

def by_a_hash(x):
    return x[hash("layer1") % 4] ** 2
"""

HASHED_SCRIPT = """
import json, numpy as np, srcad, hashed
x = np.array([1.0, 2.0, 3.0, 4.0])
rows = []
for fn in (hashed.over_a_set, hashed.by_a_hash):
    value, grad = srcad.value_and_grad(fn)(x)
    rows.append([value, fn(x), grad.tolist(), srcad.numerical_grad(fn, x).tolist()])
print(json.dumps(rows))
"""


@pytest.mark.slow  # three Python processes
def test_a_compile_that_hashes_strings_is_not_reused_by_a_process_hashing_otherwise(
    tmp_path, cache_dir
):
    """Python salts str hashes per process: the order of a set of strings made in the
    function and hash("layer1") came from the first process's compile in the next ones
    (a stale value and gradient), and the set's order differed from Python's even in one
    process (set([...]) against the literal's frozenset). Found by a probe."""
    (tmp_path / "hashed.py").write_text(HASHED_MODULE)
    logs = []
    for seed in ("1", "2", "3"):
        rows, log = _run(tmp_path, cache_dir, HASHED_SCRIPT, PYTHONHASHSEED=seed)
        for value, plain, grad, central in rows:
            assert value == plain
            np.testing.assert_allclose(grad, central, rtol=1e-6, atol=1e-9)
        logs.append(log)
    assert "not stored" in logs[0] and "reused" not in "".join(logs)
