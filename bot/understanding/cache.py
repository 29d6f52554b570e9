"""Where built artefacts (trained models, the neighbours, the word-frequency table) are kept
between starts, and the one way they are loaded or built: a damaged file is rebuilt, not fatal."""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

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
    with _exclusive(path):
        return _load_or_build(path, load, build)


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold a lock beside `path` (none where the cache cannot be written or flock is missing)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: each process builds its own, as before
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 - held across the yield
    except OSError:
        yield
        return
    with handle:
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("waiting for another process to build %s", path.name)
                fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError as exc:  # a file system without locks (some network mounts): build unlocked
            log.warning("cannot lock the cache (%s); building without the lock", exc.strerror)
        yield  # closing the file releases the lock


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
