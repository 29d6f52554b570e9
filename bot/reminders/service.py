"""What a user can do with their reminders, as plain operations over the database.

Every method takes the chat id and reads the time from the injected clock, so the Telegram
handlers, the command line and the tests all drive the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.knowledge.schema import Tips
from bot.reminders.schedule import local_date, next_evening_after, next_occurrence
from bot.storage.models import (
    ChatPreference,
    ChatState,
    Delivery,
    DeliveryStatus,
    FloodCount,
    Status,
    Subscription,
    utcnow,
)

SNOOZE = timedelta(minutes=30)
SNOOZE_WINDOW = timedelta(hours=8)  # a Snooze button older than this is from another evening


@dataclass(frozen=True)
class ReminderSettings:
    chat_id: int
    minute: int
    zone: str
    status: str
    measures: frozenset[str]
    next_due_at: datetime | None
    snooze_at: datetime | None
    stop_reason: str | None

    @property
    def active(self) -> bool:
        return self.status == Status.active


def _view(row: Subscription) -> ReminderSettings:
    return ReminderSettings(
        row.chat_id,
        row.minute,
        row.zone,
        row.status,
        row.measure_set(),
        row.next_due_at,
        row.snooze_at,
        row.stop_reason,
    )


class ReminderService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], tips: Tips, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.sessions = sessions
        self.tips = tips
        self.clock = clock

    async def get(self, chat_id: int) -> ReminderSettings | None:
        async with self.sessions() as session:
            row = await session.get(Subscription, chat_id)
            return _view(row) if row else None

    async def subscribe(self, chat_id: int, minute: int, zone: str) -> ReminderSettings:
        """Switch reminders on (again) at `minute` local time in `zone`."""
        now = self.clock()
        async with self.sessions.begin() as session:
            row = await session.get(Subscription, chat_id, with_for_update=True)
            if row is None:
                row = Subscription(chat_id=chat_id, minute=minute, zone=zone, measures="", seen_tips="")
                session.add(row)
            row.minute, row.zone, row.status, row.stop_reason = minute, zone, Status.active, None
            row.next_due_at = next_occurrence(minute, zone, now)
            await session.flush()
            return _view(row)

    async def _change(self, chat_id: int, change: Callable[[Subscription, datetime], None]) -> ReminderSettings | None:
        now = self.clock()
        async with self.sessions.begin() as session:
            row = await session.get(Subscription, chat_id, with_for_update=True)
            if row is None:
                return None
            change(row, now)
            await session.flush()
            return _view(row)

    async def set_time(self, chat_id: int, minute: int) -> ReminderSettings | None:
        def change(row: Subscription, now: datetime) -> None:
            row.minute = minute
            if row.status == Status.active:
                row.next_due_at = next_occurrence(minute, row.zone, now)

        return await self._change(chat_id, change)

    async def set_zone(self, chat_id: int, zone: str) -> ReminderSettings | None:
        def change(row: Subscription, now: datetime) -> None:
            row.zone = zone
            if row.status == Status.active:
                row.next_due_at = next_occurrence(row.minute, zone, now)

        return await self._change(chat_id, change)

    async def pause(self, chat_id: int) -> ReminderSettings | None:
        def change(row: Subscription, now: datetime) -> None:
            if row.status == Status.active:
                row.status, row.next_due_at, row.snooze_at, row.snooze_tip = Status.paused, None, None, None

        return await self._change(chat_id, change)

    async def resume(self, chat_id: int) -> ReminderSettings | None:
        def change(row: Subscription, now: datetime) -> None:
            row.status, row.stop_reason = Status.active, None
            row.next_due_at = next_occurrence(row.minute, row.zone, now)

        return await self._change(chat_id, change)

    async def stop(self, chat_id: int, reason: str = "user") -> ReminderSettings | None:
        """No more reminders; the settings stay so that switching back on is one tap."""

        def change(row: Subscription, now: datetime) -> None:
            row.status, row.stop_reason = Status.stopped, reason
            row.next_due_at, row.snooze_at, row.snooze_tip = None, None, None

        return await self._change(chat_id, change)

    async def toggle_measure(self, chat_id: int, measure: str) -> ReminderSettings | None:
        known = [m.id for m in self.tips.measures]
        if measure not in known:
            return await self.get(chat_id)

        def change(row: Subscription, now: datetime) -> None:
            current = set(row.measure_set() or known)
            current.symmetric_difference_update({measure})
            if not current:  # at least one measure stays on
                return
            row.measures = "" if current == set(known) else ",".join(m for m in known if m in current)

        return await self._change(chat_id, change)

    async def skip_tonight(self, chat_id: int) -> ReminderSettings | None:
        """Nothing more this evening: cancel a snooze, and tonight's reminder if still ahead."""

        def change(row: Subscription, now: datetime) -> None:
            row.snooze_at = row.snooze_tip = None
            due = row.next_due_at
            if row.status == Status.active and due and local_date(due, row.zone) == local_date(now, row.zone):
                row.next_due_at = next_evening_after(due, row.minute, row.zone)

        return await self._change(chat_id, change)

    async def _delivery(self, session: AsyncSession, chat_id: int, delivery_id: int) -> Delivery | None:
        delivery = await session.get(Delivery, delivery_id)
        return delivery if delivery and delivery.chat_id == chat_id else None

    async def snooze(self, chat_id: int, delivery_id: int) -> datetime | None:
        """Send this tip again in 30 minutes; survives restarts because it lives in the database."""
        now = self.clock()
        async with self.sessions.begin() as session:
            delivery = await self._delivery(session, chat_id, delivery_id)
            row = await session.get(Subscription, chat_id, with_for_update=True)
            if delivery is None or row is None or row.status != Status.active:
                return None
            if now - delivery.slot_at > SNOOZE_WINDOW:
                return None
            row.snooze_at, row.snooze_tip = now + SNOOZE, delivery.tip_id
            delivery.outcome = "snoozed"
            return row.snooze_at

    async def record_outcome(self, chat_id: int, delivery_id: int, outcome: str) -> bool:
        async with self.sessions.begin() as session:
            delivery = await self._delivery(session, chat_id, delivery_id)
            if delivery is None:
                return False
            delivery.outcome = outcome
            return True

    async def forget(self, chat_id: int) -> None:
        """Delete everything stored about the chat, in one transaction: its reminder and the
        tips sent, what it was in the middle of, and (a private chat's id is its user's id)
        its flood counter and its language choice."""
        async with self.sessions.begin() as session:
            await session.execute(delete(Delivery).where(Delivery.chat_id == chat_id))
            await session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
            await session.execute(delete(ChatState).where(ChatState.chat_id == chat_id))
            await session.execute(delete(FloodCount).where(FloodCount.user_id == chat_id))
            await session.execute(delete(ChatPreference).where(ChatPreference.chat_id == chat_id))

    async def status_counts(self) -> dict[str, int]:
        """Subscriptions per status, for /stats."""
        async with self.sessions() as session:
            rows = await session.execute(select(Subscription.status, func.count()).group_by(Subscription.status))
            return {status: count for status, count in rows.all()}

    async def delivery_counts(self, since: datetime) -> dict[str, int]:
        """Deliveries per status for evenings from `since` on, for /stats."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(Delivery.status, func.count()).where(Delivery.slot_at >= since).group_by(Delivery.status)
            )
            return {status: count for status, count in rows.all()}

    async def deliveries(self, chat_id: int) -> list[Delivery]:
        async with self.sessions() as session:
            result = await session.scalars(select(Delivery).where(Delivery.chat_id == chat_id).order_by(Delivery.id))
            return list(result)


def is_sent(status: str) -> bool:
    return status in (DeliveryStatus.sent, DeliveryStatus.unknown)
