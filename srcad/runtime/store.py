"""Runtime: the generated-code directory on disk, kept small and safe to share.

Comes in: files that srcad writes (generated modules, cache entries, bug reproductions).
Goes out: the same files, written atomically into ``generated_dir()``, with the directory
kept under a size cap.

- Every write goes to a temporary file in the same directory, then ``os.replace``: a
  reader (this process or another) sees the old file, the new file or no file, never half
  a file.
- After a write, when the directory holds more than ``SRCAD_CACHE_MAX_FILES`` files (default
  2000) or ``SRCAD_CACHE_MAX_MB`` megabytes (default 50), the least recently used files are
  removed (by modification time: a file is touched whenever it is reused) until it is back
  under 90% of both. A process counts the files it writes and lists the directory again
  when its count reaches the cap, or when the last listing is 10 seconds old (to see what
  other processes wrote: the cap is a bound kept within seconds, not at every instant);
  their sizes, which take a ``stat`` each, are summed at most every 30 seconds. The files of
  one entry (``name.py``, ``name.json``, ``name.npz``, and numba's cache of a numba variant
  in ``__pycache__``) go together, and count towards both caps.
- Removing a file never breaks a running process: a loaded module's source also lives in
  ``linecache``, and readers treat a file that vanished as a cache miss.
- srcad removes files only from a directory it owns: the default ``~/.cache/srcad``, or one
  that was empty when srcad first wrote to it. Such a directory holds a ``CACHEDIR.TAG``
  (which also tells backup tools to skip it); a ``$SRCAD_GENERATED_DIR`` pointing at a
  directory with other files in it is written to but never trimmed or cleared.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_FILES = 2000
DEFAULT_MAX_MB = 50.0
TRIM_TO = 0.9  # of each limit, so that a full directory is not trimmed on every write
SUFFIXES = (".py", ".json", ".npz")  # what srcad writes; nothing else is removed
NUMBA_CACHE_DIR = "__pycache__"  # where numba caches the variants it compiled ...
NUMBA_SUFFIXES = (".nbi", ".nbc")  # ... removed with their module
SIZE_CHECK_INTERVAL_S = 30.0
RECOUNT_INTERVAL_S = 10.0  # listing a directory of 2,000 files takes ~0.5 ms a write
SIZE_MARKER = ".size-checked"
STALE_TEMPORARY_S = 3600.0  # a temporary file this old belongs to a writer that died
TAG_NAME = "CACHEDIR.TAG"
TAG_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by srcad (generated gradient code).\n"
    "# See https://bford.info/cachedir/ and `srcad cache info`.\n"
)


def generated_dir() -> Path:
    """Where generated modules are written."""
    configured = os.environ.get("SRCAD_GENERATED_DIR")
    if configured:  # "~/srcad-gen": the home folder, as a shell would read it
        return Path(configured).expanduser()
    return _default_dir()


def _default_dir() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache_home) / "srcad"


def limits() -> tuple[int, int]:
    """The cap as ``(files, bytes)``, from ``SRCAD_CACHE_MAX_FILES`` and ``SRCAD_CACHE_MAX_MB``."""
    files = _number("SRCAD_CACHE_MAX_FILES", DEFAULT_MAX_FILES)
    megabytes = _number("SRCAD_CACHE_MAX_MB", DEFAULT_MAX_MB)
    return int(files), int(megabytes * 1024 * 1024)


def _number(variable: str, default: float) -> float:
    try:
        value = float(os.environ.get(variable, default))
    except ValueError:
        return default
    return value if value >= 0 else default


# --- writing and reading --------------------------------------------------------------------
def write_file(path: Path, data: bytes | str, trim: bool = True) -> bool:
    """Write ``data`` to ``path`` atomically (an unchanged file is only touched); then keep
    the directory under its cap. False when the directory cannot be written."""
    content = data.encode() if isinstance(data, str) else data
    try:
        if path.exists() and path.stat().st_size == len(content) and path.read_bytes() == content:
            touch(path)
            return True
        _prepare(path.parent)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError:
        return False  # a read-only location: linecache still serves generated source
    if trim:
        trim_directory(path.parent)
    return True


def read_file(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist (another process may have just
    evicted it) or cannot be read."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def touch(path: Path) -> None:
    """Mark ``path`` as just used, so that eviction keeps it longest."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _prepare(directory: Path) -> None:
    """Create the directory; tag it as srcad's when srcad is the first to write there."""
    is_new = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    tag = directory / TAG_NAME
    if tag.exists():
        return
    if is_new or directory == _default_dir() or not any(directory.iterdir()):
        with contextlib.suppress(OSError):
            tag.write_text(TAG_TEXT)


def is_owned(directory: Path) -> bool:
    """Whether srcad may remove files from ``directory`` (it holds srcad's tag)."""
    return (directory / TAG_NAME).exists()


# --- the cap ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Group:
    """The files of one entry (same name, different suffixes), as eviction sees them."""

    paths: tuple[Path, ...]
    size: int
    last_used: float


def trim_directory(directory: Path) -> int:
    """Remove least recently used files until ``directory`` is under the cap; returns how
    many files were removed. Does nothing to a directory srcad does not own."""
    if not is_owned(directory):
        return 0
    max_files, max_bytes = limits()
    if not _over_file_cap(directory, max_files) and not _size_check_due(directory):
        return 0
    groups = _groups(directory)
    files = sum(len(g.paths) for g in groups)
    size = sum(g.size for g in groups)
    if files <= max_files and size <= max_bytes:
        return 0
    removed = 0
    for group in sorted(groups, key=lambda g: g.last_used):
        if files <= max_files * TRIM_TO and size <= max_bytes * TRIM_TO:
            break
        for path in group.paths:
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        files -= len(group.paths)
        size -= group.size
    _counts[directory] = _Count(files, time.monotonic())
    return removed


@dataclass
class _Count:
    """This process's count of a directory's files: listed at ``listed_at``
    (``time.monotonic``), plus the files it wrote since."""

    files: int
    listed_at: float


_counts: dict[Path, _Count] = {}


def _over_file_cap(directory: Path, max_files: int) -> bool:
    """Whether ``directory`` holds more than ``max_files`` files, a file having just been
    written to it: listed again only when this process's count reaches the cap or is
    ``RECOUNT_INTERVAL_S`` old (a rewritten file is counted as new: the count errs high)."""
    now = time.monotonic()
    known = _counts.get(directory)
    if known and known.files < max_files and now - known.listed_at < RECOUNT_INTERVAL_S:
        known.files += 1
        return False
    try:  # counting names is cheap; reading every file's size is not (~8 us a file)
        files = sum(1 for name in os.listdir(directory) if name.endswith(SUFFIXES))
    except OSError:
        return False
    with contextlib.suppress(OSError):  # numba's caches of the variants count too
        files += sum(
            1 for n in os.listdir(directory / NUMBA_CACHE_DIR) if n.endswith(NUMBA_SUFFIXES)
        )
    _counts[directory] = _Count(files, now)
    return files > max_files


def _size_check_due(directory: Path) -> bool:
    """Whether the directory's size should be measured now (at most every
    ``SIZE_CHECK_INTERVAL_S``, shared by all processes through a marker file's time)."""
    marker = directory / SIZE_MARKER
    try:
        if time.time() - marker.stat().st_mtime < SIZE_CHECK_INTERVAL_S:
            return False
        touch(marker)
    except FileNotFoundError:
        with contextlib.suppress(OSError):
            marker.write_bytes(b"")
    except OSError:
        return False
    return True


def _groups(directory: Path) -> list[_Group]:
    """srcad's files in ``directory``, grouped by entry; stale temporary files are removed."""
    found: dict[str, list] = {}
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        try:
            stat = entry.stat()
        except OSError:
            continue  # removed meanwhile
        if name.endswith(".tmp"):
            if now - stat.st_mtime > STALE_TEMPORARY_S:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            continue
        base, suffix = os.path.splitext(name)
        if suffix in SUFFIXES:
            found.setdefault(base, []).append((Path(entry.path), stat.st_size, stat.st_mtime))
    _add_compiled_caches(directory, found)
    return [
        _Group(
            tuple(p for p, _, _ in files), sum(s for _, s, _ in files), max(t for *_, t in files)
        )
        for files in found.values()
    ]


def _add_compiled_caches(directory: Path, found: dict[str, list]) -> None:
    """numba's cache files of the numba variants (``__pycache__/<module>.<function>-<line>
    .py311.nbi``, ``.nbc``), in the group of their module (on their own where it is gone)."""
    try:
        entries = list(os.scandir(directory / NUMBA_CACHE_DIR))
    except OSError:
        return
    for entry in entries:
        if not entry.name.endswith(NUMBA_SUFFIXES):
            continue
        try:
            stat = entry.stat()
        except OSError:
            continue
        owners = [base for base in found if entry.name.startswith(base + ".")]
        base = max(owners, key=len) if owners else entry.name.split(".", 1)[0]
        found.setdefault(base, []).append((Path(entry.path), stat.st_size, stat.st_mtime))


# --- srcad cache info / clear ---------------------------------------------------------------
@dataclass(frozen=True)
class CacheInfo:
    """What ``srcad cache info`` prints."""

    path: Path
    files: int
    size: int
    is_owned: bool
    max_files: int
    max_bytes: int


def cache_info() -> CacheInfo:
    directory = generated_dir()
    groups = _groups(directory) if directory.exists() else []
    files = sum(len(g.paths) for g in groups)
    size = sum(g.size for g in groups)
    return CacheInfo(directory, files, size, is_owned(directory), *limits())


def clear_cache() -> int:
    """Remove every file srcad wrote to the generated-code directory; returns how many.
    A directory srcad does not own is left alone (returns -1)."""
    directory = generated_dir()
    if not directory.exists():
        return 0
    if not is_owned(directory):
        return -1
    removed = 0
    for group in _groups(directory):
        for path in group.paths:
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    _counts.pop(directory, None)
    return removed
