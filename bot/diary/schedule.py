"""When the diary's own messages are due: the morning check-in (every local day at the chosen
minute) and the weekly summary (on the chosen weekday at noon local time).

Both are delivery kinds of the reminder dispatcher (bot.reminders.dispatcher.Kind): each has a
due column on diary_profiles that the dispatcher claims with the same compare-and-set and
unique deliveries row as an evening tip, so each is sent exactly once and survives restarts.
This module holds only what differs per kind: which rows are due, the next slot, and how to
move the schedule on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import Select, Update, select, update
from sqlalchemy.orm import InstrumentedAttribute

from bot.reminders.dispatcher import Outcome
from bot.reminders.schedule import next_occurrence, resolve_zone
from bot.storage.models import Delivery, DiaryProfile

CHECKIN = "checkin"
WEEKLY = "weekly"
WEEKLY_MINUTE = 12 * 60  # the weekly summary comes at noon, after the morning check-in
Send = Callable[[Delivery], Awaitable[Outcome]]


def next_checkin(minute: int, zone: str, after: datetime) -> datetime:
    return next_occurrence(minute, zone, after)


def next_weekly(day: int, zone: str, after: datetime) -> datetime:
    """The first noon on weekday `day` (0 = Monday) strictly after `after`, local time."""
    moment = after
    for _ in range(8):
        moment = next_occurrence(WEEKLY_MINUTE, zone, moment)
        if moment.astimezone(resolve_zone(zone)).weekday() == day:
            return moment
    raise AssertionError("unreachable: every weekday comes within a week")


class _ProfileKind:
    """A kind whose schedule is one due column of diary_profiles (and a setting beside it)."""

    name: str
    due_at: str  # the due column of diary_profiles
    setting: str  # the column that switches the kind on; cleared with the due column

    def column(self) -> InstrumentedAttribute[datetime | None]:
        # a method, not a property: mypy reads a property whose value is a descriptor through the
        # descriptor's __get__, i.e. as the column's Python value (datetime | None)
        return getattr(DiaryProfile, self.due_at)

    def __init__(self, send: Send) -> None:
        self.send = send

    def due(self, now: datetime, limit: int) -> Select:
        return select(DiaryProfile).where(self.column() <= now).order_by(self.column()).limit(limit)

    def slot(self, row: DiaryProfile) -> datetime | None:
        return getattr(row, self.due_at)

    def following(self, row: DiaryProfile, slot: datetime, now: datetime) -> datetime:
        raise NotImplementedError

    def advance(self, row: DiaryProfile, slot: datetime, following: datetime | None) -> Update:
        """Compare-and-set: move the slot on only if no other dispatcher did; None switches off."""
        moved = update(DiaryProfile).where(DiaryProfile.chat_id == row.chat_id, self.column() == slot)
        if following is None:
            return moved.values({self.due_at: None, self.setting: None})
        return moved.values({self.due_at: following})

    def stop(self, chat_id: int) -> Update:
        """The chat can no longer receive messages."""
        return (
            update(DiaryProfile).where(DiaryProfile.chat_id == chat_id).values({self.due_at: None, self.setting: None})
        )


class CheckinKind(_ProfileKind):
    """The morning check-in: every local day at the chosen minute."""

    name = CHECKIN
    due_at = "checkin_due_at"
    setting = "checkin_minute"

    def following(self, row: DiaryProfile, slot: datetime, now: datetime) -> datetime:
        assert row.checkin_minute is not None
        return next_checkin(row.checkin_minute, row.zone or "UTC", max(slot, now))


class WeeklyKind(_ProfileKind):
    """The weekly summary: noon on the chosen weekday."""

    name = WEEKLY
    due_at = "weekly_due_at"
    setting = "weekly_day"

    def following(self, row: DiaryProfile, slot: datetime, now: datetime) -> datetime:
        assert row.weekly_day is not None
        return next_weekly(row.weekly_day, row.zone or "UTC", max(slot, now))
