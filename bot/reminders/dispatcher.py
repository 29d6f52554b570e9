"""The delivery engine: claims due reminders from the database and sends each exactly once.

Every few seconds `tick()` runs three steps, one send window at a time:

1. Claim. Due subscriptions (next_due_at or snooze_at in the past) are read in index order,
   row-locked with FOR UPDATE SKIP LOCKED on PostgreSQL so several bot processes share the work,
   and advanced with a compare-and-set UPDATE, in the same transaction that inserts one
   `deliveries` row per (chat, slot, kind). The unique key on that row means a slot can only
   ever be claimed once, whatever happens later. A process claims only two send windows
   ahead and, checked every window, renews its claims every third of a short lease (15 s), so a
   burst spreads over all live processes and a SIGKILLed process's claims free up in seconds.
2. Send. Claimed rows are marked "sending" (committed) just before their HTTP requests go out,
   one window at a time with at most two windows in flight, then "sent" with Telegram's message
   id. A row claimed by a process that died before sending is picked up again once its lease
   expires; a row that died *while* sending is never re-sent (status "unknown"), because two
   reminders in one evening is the worse failure. A send whose fate is in doubt (a timeout or
   a reset after the request went out) is "unknown" too.
3. Settle. RetryAfter and sends that certainly did not reach Telegram (no connection, a 5xx)
   are retried with capped, jittered backoff until the slot's grace window ends, then recorded
   with one reason; a blocked bot or a missing chat unsubscribes the user with the reason;
   everything else is recorded as failed.

Reminders that fall due while the bot is down are still sent if it comes back within the grace
window; older ones are recorded as skipped and the next evening is scheduled.

Other kinds (the diary's morning check-in and weekly summary, see `Kind`) bring their own due
column and message, and go through the same claim, send and settle steps.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, Update, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from bot.knowledge.schema import Tip, Tips
from bot.reminders.rotation import choose_tip
from bot.reminders.schedule import UnknownZone, next_evening_after, next_occurrence
from bot.storage.database import rowcount
from bot.storage.models import Delivery, DeliveryStatus, Status, Subscription, table_of, utcnow

log = logging.getLogger(__name__)

EVENING = "evening"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SNOOZE = "snooze"
UNAVAILABLE = "telegram_unavailable"


@dataclass(frozen=True)
class Outcome:
    """What happened to one send; exactly one of the fields describes it."""

    message_id: int | None = None  # delivered
    retry_after: float | None = None  # Telegram asked us to wait (rate limit): try again then
    unavailable: str | None = None  # certainly not sent (no connection, or a 5xx): try again later
    in_doubt: str | None = None  # maybe delivered (timeout, reset): never sent again
    gone: str | None = None  # the chat can no longer receive messages: unsubscribe
    error: str | None = None  # failed for good


class Sender(Protocol):
    async def send(self, chat_id: int, tip: Tip, delivery_id: int, kind: str) -> Outcome: ...


class Kind(Protocol):
    """A delivery kind besides the evening tip, with its own due column and its own message.
    The dispatcher claims, sends and settles it exactly like an evening (bot.diary.schedule)."""

    name: str

    def due(self, now: datetime, limit: int) -> Select: ...  # rows with a chat_id whose slot has come

    def slot(self, row: Any) -> datetime | None: ...

    def following(self, row: Any, slot: datetime, now: datetime) -> datetime: ...  # may raise UnknownZone

    def advance(self, row: Any, slot: datetime, following: datetime | None) -> Update: ...  # compare-and-set

    def stop(self, chat_id: int) -> Update: ...  # the chat is gone

    def send(self, delivery: Delivery) -> Awaitable[Outcome]: ...  # an async method, or a callable attribute


@dataclass
class TickReport:
    claimed: int = 0
    sent: int = 0
    late: int = 0
    retried: int = 0
    failed: int = 0
    unsubscribed: int = 0
    lost_in_crash: int = 0
    in_doubt: int = 0
    due_query_ms: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)

    def fail(self, reason: str, count: int = 1) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + count

    def add(self, other: TickReport) -> None:
        for name in ("claimed", "sent", "late", "retried", "failed", "unsubscribed", "lost_in_crash", "in_doubt"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.due_query_ms = max(self.due_query_ms, other.due_query_ms)
        for reason, count in other.failures.items():
            self.fail(reason, count)

    @property
    def busy(self) -> bool:
        return bool(self.claimed or self.sent or self.retried or self.failed or self.late or self.in_doubt)


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tips: Tips,
        sender: Sender,
        *,
        clock: Callable[[], datetime] = utcnow,
        grace: timedelta = timedelta(hours=2),
        concurrency: int = 100,
        lease: timedelta = timedelta(seconds=15),
        in_flight: timedelta = timedelta(minutes=2),
        backoff_cap: float = 30.0,
        rng: random.Random | None = None,
        owner: str | None = None,
        kinds: Sequence[Kind] = (),
    ) -> None:
        self.sessions = sessions
        self.tips = tips
        self._tips_by_id = {t.id: t for t in tips.tips}
        self.sender = sender
        self.kinds = {kind.name: kind for kind in kinds}
        self.clock = clock
        self.grace = grace
        self.lease = lease  # unsent claims not renewed for this long are anyone's
        self.in_flight = in_flight  # a "sending" row older than this lost its process (> read timeout)
        self.backoff_cap = backoff_cap  # seconds; retries go on until the slot's grace window ends
        self.random = rng or random.Random()
        self.owner = owner or uuid.uuid4().hex
        self.window = concurrency  # requests sent together; two windows are the most a crash leaves in doubt
        self.ahead = 2 * concurrency  # unsent claims held at most
        self._renewed_at = EPOCH
        self.beat_at: datetime | None = None  # last sign of work: every send window, and every tick's end
        self.unreachable_since: datetime | None = None  # Telegram could not be reached since then

    # -- 1. claim -----------------------------------------------------------------------------

    def _locking(self, session: AsyncSession, statement):
        if session.get_bind().dialect.name == "postgresql":
            return statement.with_for_update(skip_locked=True)
        return statement

    def _due(
        self, session: AsyncSession, column: InstrumentedAttribute[datetime | None], now: datetime, limit: int
    ) -> Select:
        """Active subscriptions whose `column` moment has come, oldest first."""
        query = (
            select(Subscription)
            .where(Subscription.status == Status.active, column <= now)
            .order_by(column)
            .limit(limit)
        )
        return self._locking(session, query)

    async def _claim(self, now: datetime, report: TickReport) -> bool:
        """Renew this process's claims (every third of a lease) and, once less than a window is
        left, top them up to two windows ahead. False only if it looked and nothing was due
        (a due row another process took first still counts: there may be more)."""
        async with self.sessions.begin() as session:
            ours = (Delivery.status == DeliveryStatus.claimed, Delivery.claimed_by == self.owner)
            if now - self._renewed_at >= self.lease / 3:
                await session.execute(
                    update(Delivery).where(*ours).values(claimed_at=now).execution_options(synchronize_session=False)
                )
                self._renewed_at = now
            ready = or_(Delivery.retry_at.is_(None), Delivery.retry_at <= now)
            held = await session.scalar(select(func.count()).select_from(Delivery).where(*ours, ready)) or 0
            room = self.ahead - held
            if held >= self.window:
                return True  # enough in hand; the rest stays due for whoever has room
            started = asyncio.get_running_loop().time()
            rows = list(await session.scalars(self._due(session, Subscription.next_due_at, now, room)))
            report.due_query_ms = max(report.due_query_ms, (asyncio.get_running_loop().time() - started) * 1000)
            for row in rows:
                await self._claim_evening(session, row, now, report)
            snoozes = list(await session.scalars(self._due(session, Subscription.snooze_at, now, room)))
            for row in snoozes:
                await self._claim_snooze(session, row, now, report)
            claimed_kinds = 0
            for kind in self.kinds.values():
                for row in list(await session.scalars(self._locking(session, kind.due(now, room)))):
                    await self._claim_kind(session, kind, row, now, report)
                    claimed_kinds += 1
            return bool(rows or snoozes or claimed_kinds)

    async def _claim_evening(self, session: AsyncSession, row: Subscription, now: datetime, report: TickReport) -> None:
        slot = row.next_due_at
        assert slot is not None
        try:
            following = next_evening_after(slot, row.minute, row.zone)
            late = now - slot > self.grace
            if late or following <= now:  # down for longer than a day: jump to the next evening
                following = next_occurrence(row.minute, row.zone, now)
        except UnknownZone:
            log.error("chat %s has an unknown zone %r; reminders stopped", row.chat_id, row.zone)
            await session.execute(
                update(Subscription)
                .where(Subscription.chat_id == row.chat_id)
                .values(status=Status.stopped, stop_reason="bad_zone", next_due_at=None)
            )
            report.failed += 1
            report.fail("bad_zone")
            return
        values: dict[str, object] = {"next_due_at": following}
        tip_id = ""
        if not late:
            tip, seen = choose_tip(self.tips, row.measure_set(), row.seen(), f"{row.chat_id}:{slot.isoformat()}")
            values["seen_tips"] = ",".join(seen)
            tip_id = tip.id
        moved = await session.execute(
            update(Subscription)
            .where(Subscription.chat_id == row.chat_id, Subscription.next_due_at == slot)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if rowcount(moved) != 1:
            return  # another dispatcher advanced it first
        await self._record(session, self._delivery(row.chat_id, slot, EVENING, tip_id, now), report)

    async def _claim_snooze(self, session: AsyncSession, row: Subscription, now: datetime, report: TickReport) -> None:
        slot = row.snooze_at
        assert slot is not None
        moved = await session.execute(
            update(Subscription)
            .where(Subscription.chat_id == row.chat_id, Subscription.snooze_at == slot)
            .values(snooze_at=None, snooze_tip=None)
            .execution_options(synchronize_session=False)
        )
        if rowcount(moved) != 1:
            return
        tip_id = row.snooze_tip if row.snooze_tip in self._tips_by_id else self.tips.tips[0].id
        await self._record(session, self._delivery(row.chat_id, slot, SNOOZE, tip_id, now), report)

    async def _claim_kind(self, session: AsyncSession, kind: Kind, row: Any, now: datetime, report: TickReport) -> None:
        slot = kind.slot(row)
        assert slot is not None
        try:
            following: datetime | None = kind.following(row, slot, now)
        except UnknownZone:
            log.error("chat %s has an unknown zone; its %s messages stopped", row.chat_id, kind.name)
            following = None
            report.failed += 1
            report.fail("bad_zone")
        moved = await session.execute(kind.advance(row, slot, following).execution_options(synchronize_session=False))
        if rowcount(moved) != 1 or following is None:
            return  # another dispatcher advanced it first, or the zone is unusable
        await self._record(session, self._delivery(row.chat_id, slot, kind.name, "", now), report)

    def _delivery(self, chat_id: int, slot: datetime, kind: str, tip_id: str, now: datetime) -> Delivery:
        """The delivery row for one slot: claimed by this process, or already missed if the slot's
        grace window closed before it could be sent."""
        if now - slot > self.grace:
            status, error = self._missed()
            return Delivery(
                chat_id=chat_id, slot_at=slot, kind=kind, tip_id=tip_id, attempts=0, status=status, error=error
            )
        return Delivery(
            chat_id=chat_id,
            slot_at=slot,
            kind=kind,
            tip_id=tip_id,
            attempts=0,
            status=DeliveryStatus.claimed,
            claimed_by=self.owner,
            claimed_at=now,
        )

    async def _record(self, session: AsyncSession, delivery: Delivery, report: TickReport) -> None:
        session.add(delivery)
        await session.flush()
        if delivery.status == DeliveryStatus.claimed:
            report.claimed += 1
        else:
            self._count_missed(delivery.status, report)

    def _missed(self) -> tuple[str, str]:
        """Status and reason for a reminder whose grace window closed before it could be sent:
        skipped if the bot was down, failed if Telegram could not be reached all that time."""
        if self.unreachable_since is not None:
            since = f"{self.unreachable_since:%H:%M} UTC"
            return DeliveryStatus.failed, f"{UNAVAILABLE}: unreachable since {since}, past the grace window"
        return DeliveryStatus.skipped, "late: the bot was down"

    @staticmethod
    def _count_missed(status: str, report: TickReport) -> None:
        if status == DeliveryStatus.failed:
            report.failed += 1
            report.fail(UNAVAILABLE)
        else:
            report.late += 1

    # -- 2. send ------------------------------------------------------------------------------

    async def _sweep(self, now: datetime, report: TickReport) -> None:
        """Rows left "sending" by a process that died with their requests in flight: in doubt."""
        async with self.sessions.begin() as session:
            lost = await session.execute(
                update(Delivery)
                .where(Delivery.status == DeliveryStatus.sending, Delivery.claimed_at < now - self.in_flight)
                .values(status=DeliveryStatus.unknown, error="the process died while sending")
                .execution_options(synchronize_session=False)
            )
            report.lost_in_crash += rowcount(lost) or 0

    async def _sendable(self, now: datetime, report: TickReport) -> list[Delivery]:
        """One window of claimed rows that are ours, or whose owner's lease ran out; too-late
        ones are skipped."""
        stale = now - self.lease
        async with self.sessions.begin() as session:
            rows = (
                await session.execute(
                    select(Delivery, Subscription.status)
                    .outerjoin(Subscription, Subscription.chat_id == Delivery.chat_id)
                    .where(
                        Delivery.status == DeliveryStatus.claimed,
                        or_(Delivery.retry_at.is_(None), Delivery.retry_at <= now),
                        or_(Delivery.claimed_by == self.owner, Delivery.claimed_at < stale),
                    )
                    .order_by(Delivery.slot_at)
                    .limit(self.window)
                )
            ).all()
            sendable = []
            for delivery, subscription_status in rows:
                if delivery.kind not in self.kinds and subscription_status != Status.active:  # stopped after the claim
                    delivery.status, delivery.error = DeliveryStatus.skipped, f"reminders {subscription_status}"
                elif delivery.attempts == 0 and now - delivery.slot_at > self.grace:
                    delivery.status, delivery.error = self._missed()
                    self._count_missed(delivery.status, report)
                else:
                    sendable.append(delivery)
            return sendable

    async def _mark_sending(self, chunk: list[Delivery]) -> list[Delivery]:
        """Commit 'sending' for one window of rows just before their requests go out, so a crash
        leaves at most the two windows in flight in doubt; rows another dispatcher took meanwhile
        drop out."""
        now = self.clock()
        stale = now - self.lease
        async with self.sessions.begin() as session:
            taken = set(
                await session.scalars(
                    update(Delivery)
                    .where(
                        Delivery.id.in_([d.id for d in chunk]),
                        Delivery.status == DeliveryStatus.claimed,
                        or_(Delivery.claimed_by == self.owner, Delivery.claimed_at < stale),
                    )
                    .values(
                        status=DeliveryStatus.sending,
                        claimed_by=self.owner,
                        claimed_at=now,
                        attempts=Delivery.attempts + 1,
                    )
                    .returning(Delivery.id)
                    .execution_options(synchronize_session=False)
                )
            )
        marked = [d for d in chunk if d.id in taken]
        for delivery in marked:
            delivery.attempts += 1
        return marked

    async def _deliver(self, delivery: Delivery) -> Outcome:
        kind = self.kinds.get(delivery.kind)
        tip = self._tips_by_id.get(delivery.tip_id)
        if tip is None and kind is None:
            return Outcome(error=f"tip {delivery.tip_id!r} no longer exists")
        try:
            if kind is not None:
                return await kind.send(delivery)
            assert tip is not None
            return await self.sender.send(delivery.chat_id, tip, delivery.id, delivery.kind)
        except Exception as exc:  # a sender bug must not lose the row: it is recorded below
            log.exception("sending reminder %s failed unexpectedly", delivery.id)
            return Outcome(error=f"unexpected {type(exc).__name__}")

    # -- 3. settle ----------------------------------------------------------------------------

    def _backoff(self, attempts: int) -> float:
        """Capped exponential backoff with jitter, so retries after an outage do not arrive as one wave."""
        return min(self.backoff_cap, 2.0**attempts) * (0.5 + 0.5 * self.random.random())

    async def _settle(self, results: list[tuple[Delivery, Outcome]], report: TickReport) -> bool:
        """Record every outcome of one window; True if Telegram could not be reached for any of it."""
        sent_at = self.clock()
        delivered = [{"b_id": d.id, "b_message": o.message_id} for d, o in results if o.message_id is not None]
        async with self.sessions.begin() as session:
            if delivered:
                table = table_of(Delivery)
                await session.execute(
                    update(table)
                    .where(table.c.id == bindparam("b_id"))
                    .values(
                        status=DeliveryStatus.sent,
                        message_id=bindparam("b_message"),
                        sent_at=sent_at,
                        retry_at=None,
                        error=None,
                    ),
                    delivered,
                )
                report.sent += len(delivered)
            for delivery, outcome in results:
                if outcome.message_id is None:
                    await self._settle_one(session, sent_at, delivery, outcome, report)
        unreachable = bool(results) and all(o.unavailable is not None for _, o in results)
        if delivered:
            self.unreachable_since = None
        elif unreachable and self.unreachable_since is None:
            self.unreachable_since = sent_at
            log.warning("Telegram cannot be reached; reminders wait and retry until their grace window ends")
        return unreachable

    async def _settle_one(
        self, session: AsyncSession, now: datetime, delivery: Delivery, outcome: Outcome, report: TickReport
    ) -> None:
        row = update(Delivery).where(Delivery.id == delivery.id)
        if outcome.gone is not None:
            await self._unsubscribe(session, delivery, outcome.gone)
            report.unsubscribed += 1
            report.fail(outcome.gone)
        elif outcome.in_doubt is not None:  # maybe delivered: the worse failure is a second one
            await session.execute(row.values(status=DeliveryStatus.unknown, error=outcome.in_doubt[:200]))
            log.warning("reminder %s for chat %s is in doubt: %s", delivery.id, delivery.chat_id, outcome.in_doubt)
            report.in_doubt += 1
        elif outcome.retry_after is not None or outcome.unavailable is not None:
            retry_at = now + timedelta(seconds=max(outcome.retry_after or 0.0, self._backoff(delivery.attempts)))
            deadline = delivery.slot_at + self.grace
            if now < deadline:  # retry, the last time when the grace window closes
                await session.execute(row.values(status=DeliveryStatus.claimed, retry_at=min(retry_at, deadline)))
                report.retried += 1
            else:
                key = "rate_limited" if outcome.unavailable is None else UNAVAILABLE
                last = outcome.unavailable or f"retry after {outcome.retry_after:.0f} s"
                await self._fail(session, delivery, key, f"{key}: until the grace window ended (last: {last})", report)
        else:
            reason = outcome.error or "failed"
            await self._fail(session, delivery, reason.split(":")[0][:40], reason, report)

    async def _unsubscribe(self, session: AsyncSession, delivery: Delivery, reason: str) -> None:
        await session.execute(
            update(Delivery).where(Delivery.id == delivery.id).values(status=DeliveryStatus.failed, error=reason[:200])
        )
        await session.execute(
            update(Subscription)
            .where(Subscription.chat_id == delivery.chat_id)
            .values(status=Status.stopped, stop_reason=reason[:32], next_due_at=None, snooze_at=None, snooze_tip=None)
        )
        for kind in self.kinds.values():  # a chat that cannot receive a tip cannot receive anything
            await session.execute(kind.stop(delivery.chat_id))
        log.info("chat %s unsubscribed: %s", delivery.chat_id, reason)

    async def _fail(self, session: AsyncSession, delivery: Delivery, key: str, reason: str, report: TickReport) -> None:
        await session.execute(
            update(Delivery).where(Delivery.id == delivery.id).values(status=DeliveryStatus.failed, error=reason[:200])
        )
        log.warning("reminder %s for chat %s failed: %s", delivery.id, delivery.chat_id, reason)
        report.failed += 1
        report.fail(key)

    # -- the tick -----------------------------------------------------------------------------

    async def release(self) -> int:
        """On a graceful stop: hand this process's unsent claims to the next process at once,
        instead of letting them wait out the lease."""
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(Delivery)
                .where(Delivery.status == DeliveryStatus.claimed, Delivery.claimed_by == self.owner)
                .values(claimed_by=None, claimed_at=EPOCH)
            )
        return rowcount(result) or 0

    async def lag_seconds(self, now: datetime | None = None) -> float:
        """How late the oldest due reminder is: 0 when the dispatcher keeps up."""
        now = now or self.clock()
        async with self.sessions() as session:
            oldest = await session.scalar(
                select(func.min(Subscription.next_due_at)).where(
                    Subscription.status == Status.active, Subscription.next_due_at <= now
                )
            )
        return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0

    async def subscriber_counts(self) -> dict[str, int]:
        async with self.sessions() as session:
            rows = await session.execute(select(Subscription.status, func.count()).group_by(Subscription.status))
            return {status: count for status, count in rows.all()}

    async def _send_window(self, window: list[Delivery], report: TickReport) -> bool:
        """Send one window at once and settle it; True if Telegram could not be reached."""
        outcomes = await asyncio.gather(*(self._deliver(d) for d in window))
        return await self._settle(list(zip(window, outcomes, strict=True)), report)

    async def tick(
        self,
        now: datetime | None = None,
        *,
        max_rounds: int = 10_000,
        keep_going: Callable[[], bool] | None = None,
    ) -> TickReport:
        """Claim, send and settle, a window per round, until nothing more is due (bounded by
        max_rounds). The next window is marked and queued while the last one is still in
        flight, so the rate limiter always has work and latency costs no throughput.

        `now` pins the time for every round (tests); by default each round reads the clock,
        so a long burst keeps leases and timestamps current."""
        fixed = now
        report = TickReport()
        flying: asyncio.Task[bool] | None = None
        unreachable = False
        await self._sweep(fixed or self.clock(), report)
        try:
            for _ in range(max_rounds):
                if keep_going is not None and not keep_going():
                    break  # shutting down: leave the rest claimed for the next process
                now = fixed or self.clock()
                self.beat_at = self.clock()  # a long burst is work, not a hang
                more = await self._claim(now, report)
                window = await self._mark_sending(await self._sendable(now, report))
                launched = asyncio.create_task(self._send_window(window, report)) if window else None
                if flying is not None:
                    unreachable = await flying  # at most two windows in flight
                flying = launched
                if unreachable:
                    break  # Telegram cannot be reached: the rest waits for the next tick
                if not (more or window):
                    break
            if flying is not None:
                await flying
        except BaseException:
            if flying is not None:
                flying.cancel()  # the process is going: what is in flight stays "sending", never sent twice
            raise
        self.beat_at = fixed or self.clock()
        if report.busy:
            log.info(
                "reminders: sent %d, retried %d, failed %d, unsubscribed %d, late %d",
                report.sent,
                report.retried,
                report.failed,
                report.unsubscribed,
                report.late,
            )
        return report
