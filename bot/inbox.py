"""The durable inbox: every update is in the database before Telegram is told it arrived, and
leaves it in the same step that records it handled, so neither a crash nor a stop loses one.

1. Accept. The webhook (before answering 200) and the poller (before the next getUpdates
   confirms the batch) insert each update with its chat. The primary key on update_id makes an
   update Telegram sends again a no-op while it is still waiting.
2. Claim. A process takes the head of each chat that is free: the oldest update of that chat,
   when no other update of the chat holds a live lease. It stamps the row with its owner and a
   lease (FOR UPDATE SKIP LOCKED on PostgreSQL, so several processes share one inbox). A chat's
   next update therefore never starts while any process still handles its previous one; other
   chats go ahead meanwhile. The owner renews its leases while it works; a dead owner's lease
   runs out and any process claims the update again.
3. Finish. Once handled, the row is deleted by its owner. That delete is the record that it
   was handled: there is no separate "done" state to fall out of step with. The same
   transaction claims the chat's next update, if one waits, for the same worker. An update
   whose answer could not reach Telegram at all (no connection) is deferred instead: put back
   with a lease nobody holds, so the chat waits and any process tries it again afterwards.

What can still happen twice (the at-least-once window):
- A process that dies (SIGKILL, crash, power) while a handler runs, before its delete commits:
  that update is handled again by whoever claims it after the lease, so the user may see that
  reply twice. At most the updates in flight in that process; never after SIGTERM, which lets
  work in flight finish first.
- Telegram resending an update after it was handled and deleted: a webhook answer it never
  received, or a polled batch fetched again because the process died between writing it and
  the next getUpdates (one round trip). A resend is only a no-op while the update still waits.
Order holds in the order updates reach the inbox: an older update of a chat that arrives after a
newer one was claimed waits for it, but is not reordered ahead of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.expression import FromClause

from bot.storage.database import rowcount
from bot.storage.models import InboxUpdate, table_of, utcnow

LEASE = timedelta(seconds=30)
INBOX = table_of(InboxUpdate)
HEAD, OLDER, HELD = INBOX.alias("head"), INBOX.alias("older"), INBOX.alias("held")  # built once: aliases cost


@dataclass(frozen=True)
class Incoming:
    """One update as it arrived: its id, the chat whose order it keeps, and Telegram's JSON."""

    update_id: int
    chat_id: int | None
    payload: str


@dataclass(frozen=True)
class Claim:
    update_id: int
    chat_id: int | None
    payload: str
    attempts: int  # 1 the first time; more when an earlier owner died holding it
    received_at: datetime | None = None  # when it entered the inbox


@dataclass(frozen=True)
class Finished:
    ours: bool  # False: the lease ran out and another process took the update over
    next: Claim | None  # the chat's next update, now claimed too


class Inbox:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = LEASE,
        owner: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.lease = lease
        self.owner = owner or uuid.uuid4().hex
        bind = sessions.kw.get("bind")
        self._one_writer = asyncio.Lock() if bind is not None and bind.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A write transaction. SQLite has one writer at a time, and a connection that finds it
        busy sleeps in 1-100 ms steps before trying again: inbox writes take turns here instead."""
        async with self._one_writer or contextlib.nullcontext(), self.sessions.begin() as session:
            yield session

    # -- 1. accept ----------------------------------------------------------------------------

    def _insert(self, session: AsyncSession):
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        return dialect.insert(INBOX)

    async def accept(self, updates: Sequence[Incoming]) -> int:
        """Write updates that are not waiting already; returns how many were new."""
        if not updates:
            return 0
        now = self.clock()
        rows = [
            {"update_id": u.update_id, "chat_id": u.chat_id, "payload": u.payload, "received_at": now, "attempts": 0}
            for u in updates
        ]
        async with self._writing() as session:
            statement = (
                self._insert(session).on_conflict_do_nothing(index_elements=["update_id"]).returning(INBOX.c.update_id)
            )
            return len((await session.execute(statement, rows)).all())  # one cached statement, many rows

    # -- 2. claim -----------------------------------------------------------------------------

    def _free(self, row: FromClause, now: datetime) -> ColumnElement[bool]:
        """Nobody holds it: never claimed, or its owner's lease ran out. Never our own claims:
        those are in flight here, whatever the clock says."""
        return and_(
            or_(row.c.lease_until.is_(None), row.c.lease_until < now),
            or_(row.c.claimed_by.is_(None), row.c.claimed_by != self.owner),
        )

    def _heads(self, session: AsyncSession, now: datetime, limit: int, chat_id: int | None) -> Select:
        """The oldest update of every chat that has nothing in flight (or of one chat), oldest
        first."""
        row, older, held = HEAD, OLDER, HELD
        waits_behind = exists().where(older.c.chat_id == row.c.chat_id, older.c.update_id < row.c.update_id)
        chat_busy = exists().where(
            held.c.chat_id == row.c.chat_id,
            or_(held.c.claimed_by == self.owner, held.c.lease_until >= now),
        )
        query = select(row.c.update_id).where(self._free(row, now), ~waits_behind, ~chat_busy)
        if chat_id is not None:
            query = query.where(row.c.chat_id == chat_id)
        query = query.order_by(row.c.update_id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=row)
        return query

    async def _take(self, session: AsyncSession, now: datetime, limit: int, chat_id: int | None = None) -> list[Claim]:
        rows = await session.execute(
            update(INBOX)
            .where(INBOX.c.update_id.in_(self._heads(session, now, limit, chat_id)), self._free(INBOX, now))
            .values(claimed_by=self.owner, lease_until=now + self.lease, attempts=INBOX.c.attempts + 1)
            .returning(INBOX.c.update_id, INBOX.c.chat_id, INBOX.c.payload, INBOX.c.attempts, INBOX.c.received_at)
        )
        return sorted((Claim(*row) for row in rows.all()), key=lambda c: c.update_id)

    async def claim(self, limit: int) -> list[Claim]:
        """Claim up to `limit` chat heads for this owner, in update order."""
        if limit < 1:
            return []
        async with self._writing() as session:
            return await self._take(session, self.clock(), limit)

    async def renew(self, update_ids: Collection[int]) -> None:
        """Extend the leases of updates still being handled here."""
        if not update_ids:
            return
        async with self._writing() as session:
            await session.execute(
                update(INBOX)
                .where(INBOX.c.claimed_by == self.owner, INBOX.c.update_id.in_(list(update_ids)))
                .values(lease_until=self.clock() + self.lease)
            )

    # -- 3. finish ----------------------------------------------------------------------------

    async def finish(self, claim: Claim, *, take_next: bool = True) -> Finished:
        """Delete a handled update and, in the same transaction, claim the next update of its
        chat if one waits: a chat's updates then flow through one worker, one write each."""
        now = self.clock()
        async with self._writing() as session:
            deleted = await session.execute(
                delete(INBOX).where(INBOX.c.update_id == claim.update_id, INBOX.c.claimed_by == self.owner)
            )
            ours = (rowcount(deleted) or 0) == 1
            following = []
            if ours and take_next and claim.chat_id is not None:  # no chat: nothing comes "next"
                following = await self._take(session, now, 1, claim.chat_id)
        return Finished(ours, following[0] if following else None)

    async def defer(self, claim: Claim, until: datetime) -> bool:
        """Put a claimed update back, untouched by anyone until `until`: its answer could not
        reach Telegram. The chat's later updates wait behind it, and the try does not count as
        an attempt (nothing crashed). False if the claim was no longer ours."""
        async with self._writing() as session:
            moved = await session.execute(
                update(INBOX)
                .where(INBOX.c.update_id == claim.update_id, INBOX.c.claimed_by == self.owner)
                .values(claimed_by=None, lease_until=until, attempts=INBOX.c.attempts - 1)
            )
        return (rowcount(moved) or 0) == 1

    async def release(self) -> int:
        """On a graceful stop: hand this owner's unfinished claims to the next process at once,
        instead of letting them wait out the lease."""
        async with self._writing() as session:
            result = await session.execute(
                update(INBOX).where(INBOX.c.claimed_by == self.owner).values(claimed_by=None, lease_until=None)
            )
        return rowcount(result) or 0

    async def waiting(self) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(INBOX)) or 0)
