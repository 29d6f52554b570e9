"""Where built artefacts (trained models, the neighbours, the word-frequency table) are kept
between starts, and the one way they are loaded or built: a damaged file is rebuilt, not fatal."""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol, TypeVar

log = logging.getLogger(__name__)
# What a damaged or truncated cache file raises on loading (numpy reads .npz files as zip archives)
CACHE_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def default_cache_dir() -> Path:
    """RLS_BOT_CACHE, else $XDG_CACHE_HOME/rls-bot, else ~/.cache/rls-bot."""
    if os.environ.get("RLS_BOT_CACHE"):
        return Path(os.environ["RLS_BOT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rls-bot"


class _Stored(Protocol):
    def save(self, path: Path) -> None: ...


_T = TypeVar("_T", bound=_Stored)


def cached(path: Path | None, load: Callable[[Path], _T], build: Callable[[], _T]) -> _T:
    """`load(path)` if the cache holds it, else `build()` and store it. A damaged cache file is
    rebuilt, not fatal; a read-only cache only costs the next start a rebuild. Processes starting
    together (bot workers after a content edit, test workers in a clean clone) build it once: the
    others wait for the first and load what it stored, instead of each training on a shared CPU."""
    if path is None:
        return _load_or_build(path, load, build)
    with _exclusive(path, wait=True):
        return _load_or_build(path, load, build)


class Job(NamedTuple):
    """One cached artefact to load or build."""

    path: Path | None
    load: Callable[[Path], Any]
    build: Callable[[], Any]


def cached_all(jobs: dict[str, Job]) -> dict[str, Any]:
    """`cached` for several artefacts, in the order given unless another process is building one:
    then this one builds the next instead and waits only when nothing else is left. Two processes
    starting together (test workers in a clean clone) train different models side by side."""
    done: dict[str, Any] = {}
    pending = list(jobs)
    while pending:
        for name in pending:
            path, load, build = jobs[name]
            if path is None:
                done[name] = _load_or_build(path, load, build)
                break
            with _exclusive(path, wait=False) as held:
                if held:
                    done[name] = _load_or_build(path, load, build)
                    break
        else:  # every one left is being built elsewhere: wait for the first
            name = pending[0]
            done[name] = cached(jobs[name].path, jobs[name].load, jobs[name].build)
        pending.remove(name)
    return done


@contextmanager
def _exclusive(path: Path, wait: bool) -> Iterator[bool]:
    """Hold a lock beside `path`; yields False only when another process holds it and `wait` is
    False. Where the cache cannot be written or flock is missing, nothing is locked (True)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: each process builds its own, as before
        yield True
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 - held across the yield
    except OSError:
        yield True
        return
    with handle:  # closing the file releases the lock
        yield _lock(handle, path, wait, fcntl)


def _lock(handle: IO[str], path: Path, wait: bool, fcntl: Any) -> bool:
    """Take the lock on `handle`: False if another process holds it and `wait` is False."""
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                return False
            log.info("waiting for another process to build %s", path.name)
            fcntl.flock(handle, fcntl.LOCK_EX)
    except OSError as exc:  # a file system without locks (some network mounts): build unlocked
        log.warning("cannot lock the cache (%s); building without the lock", exc.strerror)
    return True


def files_digest(root: Path, prefix: str = "", suffixes: frozenset[str] | None = None, digest: Any = None) -> Any:
    """A running sha256 (`digest`, or a new one) of every file under `root` (or those with one of
    `suffixes`), each named by `prefix` and its path inside `root`: what a cache stamp or the
    evaluation snapshot says it was made from."""
    digest = digest if digest is not None else hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file() and (suffixes is None or p.suffix in suffixes)):
        digest.update(f"{prefix}{file.relative_to(root).as_posix()}\n".encode())
        digest.update(file.read_bytes())
    return digest


def _load_or_build(path: Path | None, load: Callable[[Path], _T], build: Callable[[], _T]) -> _T:
    if path is not None and path.exists():
        try:
            return load(path)
        except CACHE_ERRORS as exc:
            log.warning("cache file %s unreadable (%s); rebuilding", path.name, type(exc).__name__)
    built = build()
    if path is not None:
        try:
            built.save(path)
        except OSError as exc:
            log.warning("could not write the cache (%s); it will be rebuilt next start", exc.strerror)
    return built
