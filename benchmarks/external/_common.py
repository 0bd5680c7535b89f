"""Shared machinery of the external-test harnesses (autograd_tests.py, tangent_tests.py).

Nothing here is imported by srcad or by its test suite. The harnesses read another project's
tests at run time from a local copy of its repository, run each test in a worker process of
their own (so that a hang or a crash costs one test, not the run), and classify every outcome:

- ``passed``: the derivatives match central differences;
- ``wrong``: srcad returned a derivative, but a wrong one (value, shape, dtype or structure);
- ``refused``: srcad raised one of its own errors on purpose (``SrcadError``,
  ``UnsupportedSyntax``, ``NoDerivativeRule``, a ``TypeError``/``ValueError`` of its API);
- ``crashed``: any other exception, ``srcad.InternalError`` included (a bug in srcad);
- ``timeout``: one check ran past its time limit (the worker is then replaced);
- ``skipped``: not counted (for autograd: complex-valued arguments).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

OUTCOMES = ("passed", "wrong", "refused", "crashed", "timeout")
FAILURES = ("wrong", "refused", "crashed", "timeout")


# --- reading another project's repository -----------------------------------------------------
def repo_commit(repo: Path) -> str:
    """The commit a git directory (bare or not) is at; '' for a plain folder."""
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return result.stdout.strip()


def extract(repo: Path, paths: Iterable[str], dest: Path) -> None:
    """Copy ``paths`` (files or folders) of ``repo`` into ``dest``, keeping their layout.

    ``repo`` is either a checkout (the files are read from the work tree) or a git directory
    without a work tree, such as a mirror (``git archive HEAD``)."""
    paths = list(paths)
    if all((repo / p).exists() for p in paths):
        for p in paths:
            source, target = repo / p, dest / p
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)
        return
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", "HEAD", "--", *paths],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        raise SystemExit(
            f"cannot read {paths} from {repo}: neither a checkout with these files nor a git "
            f"directory ({detail.decode(errors='replace').strip() or error})"
        ) from None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")


# --- trees of values (pytrees as the tests use them) -----------------------------------------
def is_leaf(x: object) -> bool:
    return not isinstance(x, (tuple, list, dict))


def leaves(x: object) -> Iterator[object]:
    if isinstance(x, dict):
        for k in x:
            yield from leaves(x[k])
    elif isinstance(x, (tuple, list)):
        for v in x:
            yield from leaves(v)
    else:
        yield x


def tree_map(fn: Callable, *trees: object) -> object:
    """``fn`` applied leaf by leaf; containers keep the first tree's types and keys."""
    first = trees[0]
    if isinstance(first, dict):
        return {k: tree_map(fn, *(t[k] for t in trees)) for k in first}  # type: ignore[index]
    if isinstance(first, (tuple, list)):
        items = [tree_map(fn, *parts) for parts in zip(*trees, strict=True)]  # type: ignore
        if hasattr(first, "_fields"):  # NamedTuple
            return type(first)(*items)
        return type(first)(items)
    return fn(*trees)


def is_float_leaf(x: object) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, float):
        return True
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype.kind == "f"
    return False


def is_complex_leaf(x: object) -> bool:
    if isinstance(x, complex):
        return True
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype.kind == "c"
    return False


def has_complex(*trees: object) -> bool:
    return any(is_complex_leaf(v) for t in trees for v in leaves(t))


def randn_like(x: object) -> object:
    """Random normal values shaped like ``x`` (floats stay floats, arrays arrays); other
    leaves (ints, strings) are left as they are."""

    def one(v: object) -> object:
        if isinstance(v, float):
            return float(np.random.randn())
        if isinstance(v, np.ndarray) and v.dtype.kind == "f":
            return np.asarray(np.random.randn(*v.shape)).astype(v.dtype)
        if isinstance(v, np.generic) and v.dtype.kind == "f":
            return v.dtype.type(np.random.randn())
        return v

    return tree_map(one, x)


def axpy(a: float, x: object, y: object) -> object:
    """``a * x + y`` on the float leaves of ``y``; other leaves of ``y`` unchanged."""

    def one(xv: object, yv: object) -> object:
        if not is_float_leaf(yv):
            return yv
        out = a * np.asarray(xv, dtype=np.float64) + np.asarray(yv, dtype=np.float64)
        if isinstance(yv, float):
            return float(out)
        return np.asarray(out).astype(np.asarray(yv).dtype)

    return tree_map(one, x, y)


def tree_sub_scale(a: object, b: object, scale: float) -> object:
    """``(a - b) * scale`` leaf by leaf, as float64 arrays (non-float leaves give 0)."""

    def one(av: object, bv: object) -> object:
        aa, bb = np.asarray(av), np.asarray(bv)
        if aa.dtype.kind not in "fc" and bb.dtype.kind not in "fc":
            return np.zeros(aa.shape)
        return (aa.astype(np.float64) - bb.astype(np.float64)) * scale

    return tree_map(one, a, b)


def inner(a: object, b: object) -> float:
    """The real inner product of two trees of the same structure (sum over all leaves)."""
    total = 0.0
    for av, bv in zip(leaves(a), leaves(b), strict=True):
        aa, bb = np.asarray(av), np.asarray(bv)
        if aa.dtype.kind not in "fc" or bb.dtype.kind not in "fc":
            continue
        total += float(np.sum(aa.astype(np.float64) * bb.astype(np.float64)))
    return total


def space(x: object) -> object:
    """What autograd's ``vspace`` compares: container types and keys, and each leaf's shape
    and dtype (a Python float is a float64 scalar)."""
    if isinstance(x, dict):
        return ("dict", tuple((k, space(v)) for k, v in x.items()))
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, tuple(space(v) for v in x))
    if isinstance(x, float):
        return ((), "float64")
    if isinstance(x, (np.ndarray, np.generic)):
        return (tuple(x.shape), x.dtype.name)
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return ((), "int")
    return (type(x).__name__,)


def describe_space(s: object) -> str:
    if isinstance(s, tuple) and len(s) == 2 and isinstance(s[1], str):
        shape, dtype = s
        return f"{dtype}[{','.join(map(str, shape))}]"
    if isinstance(s, tuple) and s and s[0] in ("tuple", "list"):
        inside = ", ".join(describe_space(c) for c in s[1])
        return f"{s[0]}({inside})"
    if isinstance(s, tuple) and s and s[0] == "dict":
        return "dict(" + ", ".join(f"{k}: {describe_space(v)}" for k, v in s[1]) + ")"
    return str(s)


def describe_value(x: object, limit: int = 60) -> str:
    """A short description of an argument: floats and small constants by value, arrays by
    dtype and shape."""
    if isinstance(x, float):
        return repr(x)
    if isinstance(x, (np.ndarray, np.generic)):
        kind = {"f": "f", "c": "c", "i": "i", "u": "u", "b": "bool"}.get(x.dtype.kind, "?")
        bits = "" if kind == "bool" else str(x.dtype.itemsize * 8)
        return f"{kind}{bits}[{','.join(map(str, x.shape))}]"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {describe_value(v)}" for k, v in x.items()) + "}"
    if isinstance(x, (tuple, list)):
        inside = ", ".join(describe_value(v) for v in x)
        text = f"({inside},)" if isinstance(x, tuple) and len(x) == 1 else f"({inside})"
        return text if isinstance(x, tuple) else f"[{inside}]"
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- outcomes -----------------------------------------------------------------------------------
class CheckTimeout(BaseException):
    """Raised by the alarm when one check runs too long (a BaseException, so that no
    ``except Exception`` on the way swallows it)."""


class WrongDerivative(AssertionError):
    """A derivative that srcad returned, found wrong by a check."""


@contextlib.contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise ``CheckTimeout`` in this (main) thread after ``seconds``."""

    def ring(signum: int, frame: object) -> None:
        raise CheckTimeout(f"ran past {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def first_line(text: str, limit: int = 400) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _origin(error: BaseException) -> str:
    """Where an unexpected exception was raised: srcad's own code, srcad's generated code,
    or elsewhere (numpy, the test)."""
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        name = frame.filename.replace("\\", "/")
        if "/srcad/" in name and "/site-packages/numpy/" not in name:
            return "in srcad's code"
        if "srcad" in name and ("/.cache/" in name or "generated" in name):
            return "in generated code"
    return ""


def classify(error: BaseException) -> tuple[str, str]:
    """(outcome, message) of an exception raised while checking."""
    if isinstance(error, CheckTimeout):
        return "timeout", f"timeout: {error}"
    kind = type(error)
    module = getattr(kind, "__module__", "") or ""
    name = kind.__name__
    message = first_line(str(error))
    if isinstance(error, AssertionError):
        return "wrong", message or f"{name} (an assertion of the test failed)"
    if module.startswith("srcad"):
        if name == "InternalError":
            return "crashed", f"InternalError: {message}"
        return "refused", f"{name}: {message}"
    where = _origin(error)
    suffix = f" [{where}]" if where else ""
    return "crashed", f"{name}: {message}{suffix}"


_LOCATION = re.compile(r"(?:[A-Za-z]:)?[^\s:'\"]*\.py:\d+:\s*")
_PATH = re.compile(r"(?:/[^\s/'\")]+)+/?")
_COMPILING = re.compile(r"while compiling [^\s(]+")
_WRAPPER = re.compile(r"\b(?:grad_inner_wrt|inner_wrt|vjp_wrt|jvp_wrt|wrt)_\w+")
_NUMBER = re.compile(r"(?<![A-Za-z_])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def group_key(message: str) -> str:
    """A failure message with what varies from one test to the next (file, line, paths,
    numbers, the function being compiled, srcad's standard advice) taken out."""
    text = _LOCATION.sub("", message)
    for cut in ("; rewrite it with", ". This is a bug in srcad", "; please report", ". Until it"):
        text = text.split(cut)[0]
    text = _PATH.sub("<path>", text)
    text = _COMPILING.sub("while compiling <fn>", text)
    text = _WRAPPER.sub("<fn>", text)
    text = re.sub(r"\b(analytic|numeric|got|expected|with arg)\b.*", r"\1 ...", text)
    text = _NUMBER.sub("N", text)
    return text.strip()


# --- worker processes ---------------------------------------------------------------------------
class Protocol:
    """The worker's side: JSON lines on a private copy of stdout (fd 1 is sent to stderr,
    so that what tests print cannot corrupt the protocol)."""

    def __init__(self) -> None:
        self.out = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def send(self, message: dict) -> None:
        self.out.write(json.dumps(message, default=str) + "\n")
        self.out.flush()

    def beat(self, label: str) -> None:
        self.send({"event": "beat", "label": label})

    def requests(self) -> Iterator[dict]:
        for line in sys.stdin:
            if line.strip():
                yield json.loads(line)


class Worker:
    """One worker process, seen from the parent."""

    def __init__(self, command: list[str], env: dict, log_dir: Path, index: int) -> None:
        self.log = log_dir / f"worker-{index}-{time.monotonic_ns()}.log"
        self.stderr = open(self.log, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.lines.put(json.loads(line))
            except json.JSONDecodeError:
                continue
        self.lines.put(None)  # end of output: the worker exited

    def send(self, message: dict) -> bool:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def tail(self, lines: int = 3) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # our own child, by its handle
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
        self.stderr.close()


@dataclass
class Pool:
    """Runs requests through ``jobs`` workers; a worker that stays silent for ``silence``
    seconds (no heartbeat) is killed and replaced, and its request counts as a timeout."""

    command: list[str]
    env: dict
    jobs: int
    silence: float
    log_dir: Path
    on_result: Callable[[dict], None] | None = None
    results: list = field(default_factory=list)

    def run(self, requests: list[dict]) -> list[dict]:
        todo: queue.Queue = queue.Queue()
        for r in requests:
            todo.put(r)
        lock = threading.Lock()
        threads = [
            threading.Thread(target=self._serve, args=(i, todo, lock))
            for i in range(max(1, self.jobs))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return self.results

    def _serve(self, index: int, todo: queue.Queue, lock: threading.Lock) -> None:
        worker: Worker | None = None
        while True:
            try:
                request = todo.get_nowait()
            except queue.Empty:
                break
            if worker is None or worker.proc.poll() is not None:
                if worker is not None:
                    worker.stop()
                worker = Worker(self.command, self.env, self.log_dir, index)
            result = self._one(worker, request)
            if result.pop("_restart", False):
                worker.stop()
                worker = None
            with lock:
                self.results.append(result)
                if self.on_result is not None:
                    self.on_result(result)
        if worker is not None:
            worker.send({"cmd": "exit"})
            worker.stop()

    def _one(self, worker: Worker, request: dict) -> dict:
        start = time.monotonic()
        label = ""
        if not worker.send(request):
            return self._lost(worker, request, start, "could not send the request")
        while True:
            try:
                message = worker.lines.get(timeout=self.silence)
            except queue.Empty:
                worker.stop()
                return {
                    **request,
                    "status": "timeout",
                    "message": f"timeout: no progress for {self.silence:g} s"
                    + (f" (in {label})" if label else ""),
                    "seconds": round(time.monotonic() - start, 2),
                    "checks": [],
                    "_restart": True,
                }
            if message is None:
                return self._lost(worker, request, start, f"last check: {label}" if label else "")
            if message.get("event") == "beat":
                label = message.get("label", "")
                continue
            if message.get("event") == "done":
                result = message["result"]
                result.setdefault("seconds", round(time.monotonic() - start, 2))
                return result

    def _lost(self, worker: Worker, request: dict, start: float, where: str) -> dict:
        with contextlib.suppress(Exception):
            worker.proc.wait(timeout=5)
        code = worker.proc.returncode
        detail = worker.tail()
        return {
            **request,
            "status": "crashed",
            "message": f"worker process died (exit code {code}){'; ' + where if where else ''}"
            + (f": {detail}" if detail else ""),
            "seconds": round(time.monotonic() - start, 2),
            "checks": [],
            "_restart": True,
        }


def worker_env(srcad_path: str | None, generated_dir: Path, extra_paths: list[Path]) -> dict:
    env = dict(os.environ)
    paths = [str(p) for p in extra_paths]
    if srcad_path:
        paths.append(str(Path(srcad_path).resolve()))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["SRCAD_GENERATED_DIR"] = str(generated_dir)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    env["PYTHONWARNINGS"] = "ignore"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def temp_root(keep: bool, prefix: str) -> tuple[Path, Callable[[], None]]:
    root = Path(tempfile.mkdtemp(prefix=prefix))

    def cleanup() -> None:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)

    return root, cleanup


# --- reports ------------------------------------------------------------------------------------
def groups(records: Iterable[dict], label_key: str) -> list[dict]:
    """Failures grouped by (outcome, normalized message), largest first."""
    found: dict[tuple[str, str], dict] = {}
    for r in records:
        if r["status"] not in FAILURES:
            continue
        key = (r["status"], group_key(r.get("message", "")))
        g = found.setdefault(key, {"status": key[0], "key": key[1], "count": 0, "examples": []})
        g["count"] += 1
        if len(g["examples"]) < 3:
            g["examples"].append({"where": r[label_key], "message": r.get("message", "")})
    return sorted(found.values(), key=lambda g: (-g["count"], g["status"], g["key"]))


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for row in rows:
        out.append("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
    return "\n".join(out)


def md_table(rows: list[list[str]], header: list[str]) -> str:
    def cell(x: object) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return "\n".join(out)


def counts(records: Iterable[dict]) -> Counter:
    return Counter(r["status"] for r in records)


def outcome_row(name: str, records: list[dict], counted: Callable[[dict], bool]) -> list[str]:
    c = counts(r for r in records if counted(r))
    total = sum(c[o] for o in OUTCOMES)
    return [name, f"{c['passed']}/{total}", *(str(c[o]) for o in FAILURES), str(c["skipped"])]


OUTCOME_HEADER = ["", "passed", "wrong", "refused", "crashed", "timeout", "skipped"]


def print_groups(title: str, found: list[dict], top: int) -> None:
    print(f"\n{title}")
    if not found:
        print("  (none)")
        return
    for g in found[:top]:
        example = g["examples"][0]
        print(f"  {g['count']:4d}  {g['status']:8s} {g['key'][:150]}")
        print(f"        e.g. {example['where']}: {first_line(example['message'], 220)}")
    if len(found) > top:
        rest = sum(g["count"] for g in found[top:])
        print(f"  ... {len(found) - top} more groups ({rest} failures); see the report")


def md_groups(found: list[dict], unit: str) -> str:
    rows = [
        [
            str(g["count"]),
            g["status"],
            g["key"][:200],
            g["examples"][0]["where"],
            first_line(g["examples"][0]["message"], 300),
        ]
        for g in found
    ]
    return md_table(rows, [unit, "outcome", "group", "example", "example message"])


def write_reports(out: Path, data: dict, markdown: str) -> list[Path]:
    """``out`` gets the JSON; the markdown goes next to it (``.md``)."""
    out = Path(out)
    if out.suffix.lower() == ".md":
        md_path, json_path = out, out.with_suffix(".json")
    else:
        json_path = out if out.suffix else out.with_suffix(".json")
        md_path = json_path.with_suffix(".md")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=1, default=str) + "\n")
    md_path.write_text(markdown)
    return [json_path, md_path]


def fmt_seconds(s: float) -> str:
    return f"{s:.0f} s" if s >= 10 or s == 0 else f"{s:.1f} s"


def add_report_options(parser: argparse.ArgumentParser, *, top: int, unit: str) -> None:
    """The options every harness takes: where the report goes, how many failure groups to
    print, keeping the temporary folder, one line per ``unit``, and the hidden worker mode."""
    parser.add_argument(
        "--out", type=Path, default=None, help="write the report here as JSON, and as .md beside it"
    )
    parser.add_argument("--top", type=int, default=top, help=f"failure groups to print ({top})")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary folder")
    parser.add_argument("-v", "--verbose", action="store_true", help=f"one line per {unit}")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
