"""What /readyz checks: can this process do its work right now, and if not, what is wrong.

- database: it answers, and it takes a write. The write is this process's heartbeat row, because
  a database can keep answering reads while refusing writes (a read-only failover target, a full
  disk), and then no reminder could be claimed. For SQLite, the file the bot has open must still
  be the file at its path: deleted or replaced, SQLite goes on writing into an orphaned inode
  that the next process will never see, and every read and write still succeeds.
- dispatcher: it showed signs of work recently. It beats every send window, so a long reminder
  burst is not mistaken for a stuck dispatcher.

Each check answers "ok" (or "disabled") or a short reason; the reasons are the JSON of /readyz.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.reminders.processes import Processes

PROBE_SECONDS = 2.0  # a database slower than this to answer is not ready


@dataclass(frozen=True)
class DatabaseFile:
    """The SQLite file as it was when the bot opened it (device and inode)."""

    path: Path
    device: int
    inode: int

    @classmethod
    def of(cls, url: str) -> DatabaseFile | None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
            return None
        path = Path(parsed.database).resolve()
        stat = path.stat()
        return cls(path, stat.st_dev, stat.st_ino)

    def problem(self) -> str | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return "database file deleted"
        if (stat.st_dev, stat.st_ino) != (self.device, self.inode):
            return "database file replaced"
        return None


def describe_write_failure(exc: BaseException) -> str:
    """Name what a failed write means, from SQLite's error name or PostgreSQL's SQLSTATE."""
    cause = getattr(exc, "orig", None) or exc
    name = getattr(cause, "sqlite_errorname", None) or ""
    state = getattr(cause, "sqlstate", None) or ""
    if name.startswith("SQLITE_READONLY") or state == "25006":
        return "read-only"
    if name == "SQLITE_FULL" or state == "53100":
        return "disk full"
    return f"write failed: {type(cause).__name__}"


class Readiness:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        processes: Processes,
        *,
        database_file: DatabaseFile | None = None,
        dispatcher_beat: Callable[[], datetime | None] | None = None,
        clock: Callable[[], datetime],
        stale_after: float = 60.0,
    ) -> None:
        self.sessions = sessions
        self.processes = processes
        self.database_file = database_file
        self.dispatcher_beat = dispatcher_beat  # None: no dispatcher in this process
        self.clock = clock
        self.stale_after = stale_after

    async def check(self) -> tuple[bool, dict[str, str]]:
        checks = {"database": await self._database(), "dispatcher": self._dispatcher()}
        return all(v in ("ok", "disabled") for v in checks.values()), checks

    async def _database(self) -> str:
        if self.database_file is not None and (problem := self.database_file.problem()):
            return problem
        try:
            async with asyncio.timeout(PROBE_SECONDS), self.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means not ready; the reason is reported, not raised
            return f"unreachable: {type(exc).__name__}"
        try:
            async with asyncio.timeout(PROBE_SECONDS):
                await self.processes.beat()
        except Exception as exc:
            return describe_write_failure(exc)
        return "ok"

    def _dispatcher(self) -> str:
        if self.dispatcher_beat is None:
            return "disabled"
        beat = self.dispatcher_beat()
        if beat is None:
            return "last beat never"
        age = (self.clock() - beat).total_seconds()
        return "ok" if age <= self.stale_after else f"last beat {age:.0f} s ago"
