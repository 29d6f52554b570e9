"""Per-user flood control: far more messages than a person types gets one polite warning and
a short pause; everyone else is unaffected. On an injected clock.

`FloodGuard` counts in this process's memory: right for one process (SQLite), and with no
database on the path of a message. `SharedFloodGuard` counts in the database, so the limit holds
across every process behind one webhook URL (PostgreSQL); if the database does not answer within
a fraction of a second, this process's own count decides, so flood control never holds a message up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from time import monotonic

from sqlalchemy import case, delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.logs import Throttle
from bot.storage.database import insert_for, rowcount
from bot.storage.models import FloodCount, utcnow

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    allow = "allow"
    warn = "warn"  # the first message over the limit: say "slow down" once
    ignore = "ignore"


class FloodGuard:
    def __init__(
        self,
        limit: int = 20,
        window: float = 10.0,
        pause: float = 30.0,
        clock: Callable[[], float] = monotonic,
        max_users: int = 100_000,
    ) -> None:
        self.limit, self.window, self.pause, self.clock = limit, window, pause, clock
        self.max_users = max_users
        self._recent: dict[int, deque[float]] = {}
        self._paused_until: dict[int, float] = {}

    async def verdict(self, user_id: int) -> Verdict:
        return self.check(user_id)

    def check(self, user_id: int) -> Verdict:
        now = self.clock()
        until = self._paused_until.get(user_id)
        if until is not None:
            if now < until:
                return Verdict.ignore
            del self._paused_until[user_id]
        recent = self._recent.setdefault(user_id, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        recent.append(now)
        if len(recent) > self.limit:
            recent.clear()
            self._paused_until[user_id] = now + self.pause
            return Verdict.warn
        if len(self._recent) > self.max_users:
            self._forget_idle(now)
        return Verdict.allow

    def _forget_idle(self, now: float) -> None:
        for user_id in [u for u, times in self._recent.items() if not times or times[-1] <= now - self.window]:
            del self._recent[user_id]


class SharedFloodGuard:
    """The same limit, counted in `flood_counts` by every process.

    One upsert per message counts it in a fixed window (seconds since the epoch // window), so a
    burst across a window boundary can reach up to twice the limit before the pause begins; the
    pause itself is shared exactly. The row lock taken by the upsert makes "first over the
    limit" true for one message only, whichever process it reached."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        limit: int = 20,
        window: float = 10.0,
        pause: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
        timeout: float = 0.5,
        fallback: FloodGuard | None = None,
    ) -> None:
        self.sessions = sessions
        self.limit, self.window, self.pause, self.clock, self.timeout = limit, window, pause, clock, timeout
        self.fallback = fallback or FloodGuard(limit, window, pause)
        self._complaints = Throttle(every=300.0)

    async def verdict(self, user_id: int) -> Verdict:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._count(user_id)
        except Exception as exc:  # any database trouble: this process decides alone
            if self._complaints.admit(type(exc).__name__) is not None:
                log.warning("shared flood count unavailable (%s); counting in this process", type(exc).__name__)
            return self.fallback.check(user_id)

    async def _count(self, user_id: int) -> Verdict:
        now = self.clock()
        window = int(now.timestamp() // self.window)
        paused = FloodCount.paused_until > now
        async with self.sessions.begin() as session:
            counted = (
                insert_for(session, FloodCount)
                .values(user_id=user_id, window_index=window, hits=1, paused_until=None)
                .on_conflict_do_update(
                    index_elements=["user_id"],
                    set_={  # while paused nothing is counted; a new window starts from one
                        "hits": case(
                            (paused, FloodCount.hits), (FloodCount.window_index == window, FloodCount.hits + 1), else_=1
                        ),
                        "window_index": case((paused, FloodCount.window_index), else_=window),
                    },
                )
                .returning(FloodCount.hits, FloodCount.paused_until)
            )
            hits, paused_until = (await session.execute(counted)).one()
            if paused_until is not None and paused_until > now:
                return Verdict.ignore
            if hits <= self.limit:
                return Verdict.allow
            started = await session.execute(
                update(FloodCount)
                .where(FloodCount.user_id == user_id, or_(FloodCount.paused_until.is_(None), ~paused))
                .values(paused_until=now + timedelta(seconds=self.pause), hits=0)
            )
            return Verdict.warn if rowcount(started) else Verdict.ignore

    async def purge(self) -> int:
        """Forget users whose window and pause are both over: their next message starts at one."""
        now = self.clock()
        current = int(now.timestamp() // self.window)
        async with self.sessions.begin() as session:
            result = await session.execute(
                delete(FloodCount).where(
                    FloodCount.window_index < current,
                    or_(FloodCount.paused_until.is_(None), FloodCount.paused_until <= now),
                )
            )
            return rowcount(result) or 0
