"""The bot processes sharing one database, and how many of them are alive right now.

SEND_RATE is Telegram's limit for the bot, not for one process: three processes each sending at
30/s drew hundreds of 429s. Each process beats its own row in `processes` every few seconds and
paces itself at SEND_RATE divided by the processes that beat within the last TTL. A process
that is SIGKILLed drops out after TTL; one that stops cleanly leaves at once.

Why divide rather than share one token bucket in the database: a shared bucket costs a database
round trip before every message (an interactive reply would wait on the database, and stall if
it is slow), and a hot row that every process locks 30 times a second. Division costs one write
per process every few seconds and keeps replies independent of the database. What it gives up,
an idle process's unused share, is small because the dispatcher claims only a little work ahead,
so a burst spreads over every live process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.database import rowcount
from bot.storage.models import Process, utcnow

BEAT_SECONDS = 3.0  # how often a live process beats
TTL = timedelta(seconds=10)  # no beat for this long: the process is gone (three missed beats)
FORGET_AFTER = timedelta(hours=1)  # rows of long-dead processes are deleted


class Processes:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        owner: str,
        clock: Callable[[], datetime] = utcnow,
        *,
        ttl: timedelta = TTL,
    ) -> None:
        self.sessions = sessions
        self.owner = owner
        self.clock = clock
        self.ttl = ttl

    async def beat(self) -> int:
        """Record that this process is alive; return how many processes are (itself included).
        Raises the database's error if the write fails: readiness reports it."""
        now = self.clock()
        async with self.sessions.begin() as session:
            moved = await session.execute(update(Process).where(Process.id == self.owner).values(beat_at=now))
            if rowcount(moved) == 0:
                await session.execute(insert(Process).values(id=self.owner, beat_at=now))
            await session.execute(delete(Process).where(Process.beat_at < now - FORGET_AFTER))
            live = await session.scalar(select(func.count()).where(Process.beat_at >= now - self.ttl))
        return max(1, live or 0)

    async def leave(self) -> None:
        """On a clean stop: the others take over this process's share at their next beat."""
        async with self.sessions.begin() as session:
            await session.execute(delete(Process).where(Process.id == self.owner))
