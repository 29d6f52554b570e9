"""What a user can do with their diary, as plain operations over the database.

Every value about health (score, onset, measures, ferritin, medicines) is sealed with the
Sealer before it is written and opened after it is read; dates, zones and schedule times stay
in the clear so the database can enforce one entry per night, find due check-ins and delete
old data. Every method takes the chat id and reads the time from the injected clock, like
ReminderService, so handlers and tests drive the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.diary.analysis import OnsetShift, onset_shift
from bot.diary.crypto import Sealer
from bot.diary.medicines import Medicines
from bot.diary.nights import Night, night_of, nights_between, parse_onset
from bot.diary.schedule import CHECKIN, WEEKLY, next_checkin, next_weekly
from bot.knowledge.schema import Tips
from bot.reminders.schedule import resolve_zone
from bot.storage.database import rowcount
from bot.storage.models import (
    Delivery,
    DeliveryStatus,
    DiaryEntry,
    DiaryProfile,
    FerritinResult,
    Subscription,
    utcnow,
)

SHIFT_LOOKBACK = 56  # nights read to look for onset moving earlier
DEFAULT_ZONE = "UTC"
LATE_TIP_HOUR = 6  # an evening tip sent before this local hour counts for the evening before
_Sealed = TypeVar("_Sealed", DiaryEntry, FerritinResult)  # the models with a sealed column


@dataclass(frozen=True)
class DiarySettings:
    chat_id: int
    zone: str | None
    checkin_minute: int | None
    checkin_due_at: datetime | None
    weekly_day: int | None
    weekly_due_at: datetime | None


@dataclass(frozen=True)
class Ferritin:
    tested_on: date
    ng_ml: float


def _view(row: DiaryProfile) -> DiarySettings:
    return DiarySettings(
        row.chat_id, row.zone, row.checkin_minute, row.checkin_due_at, row.weekly_day, row.weekly_due_at
    )


class DiaryService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sealer: Sealer,
        tips: Tips,
        clock: Callable[[], datetime] = utcnow,
        *,
        retention_days: int = 400,
    ) -> None:
        self.sessions = sessions
        self.sealer = sealer
        self.clock = clock
        self.retention = timedelta(days=retention_days)
        self._measure_of_tip = {t.id: t.measure for t in tips.tips}
        self.measures = [m.id for m in tips.measures]

    # -- zone and nights --------------------------------------------------------------------

    async def zone(self, chat_id: int) -> str:
        """The diary's zone, else the evening reminders' zone, else UTC."""
        async with self.sessions() as session:
            return await self._zone(session, chat_id)

    async def _zone(self, session: AsyncSession, chat_id: int) -> str:
        profile = await session.get(DiaryProfile, chat_id)
        if profile is not None and profile.zone:
            return profile.zone
        reminder = await session.get(Subscription, chat_id)
        return reminder.zone if reminder is not None else DEFAULT_ZONE

    async def known_zone(self, chat_id: int) -> str | None:
        """The zone if the user ever told it (here or for reminders), else None."""
        async with self.sessions() as session:
            profile = await session.get(DiaryProfile, chat_id)
            if profile is not None and profile.zone:
                return profile.zone
            reminder = await session.get(Subscription, chat_id)
            return reminder.zone if reminder is not None else None

    async def tonight(self, chat_id: int) -> date:
        """The night a check-in made now is about."""
        return night_of(self.clock(), await self.zone(chat_id))

    # -- entries ----------------------------------------------------------------------------

    def _open_entry(self, row: DiaryEntry) -> dict[str, Any]:
        value = self.sealer.open(row.chat_id, row.sealed)
        return value if isinstance(value, dict) else {}

    async def _change_entry(self, chat_id: int, night: date, change: Callable[[dict[str, Any]], None]) -> Night:
        """Create or update the night's entry under a row lock; a lost race to create it retries."""
        for attempt in range(2):
            try:
                async with self.sessions.begin() as session:
                    row = await session.scalar(
                        select(DiaryEntry)
                        .where(DiaryEntry.chat_id == chat_id, DiaryEntry.night == night)
                        .with_for_update()
                    )
                    value = self._open_entry(row) if row is not None else {}
                    change(value)
                    sealed = self.sealer.seal(chat_id, value)
                    if row is None:
                        session.add(DiaryEntry(chat_id=chat_id, night=night, sealed=sealed))
                    else:
                        row.sealed = sealed
                break
            except IntegrityError:  # another tap created the night first: apply on top of it
                if attempt:
                    raise
        return await self.night(chat_id, night)

    async def set_score(self, chat_id: int, night: date, score: int) -> Night:
        if not 0 <= score <= 10:
            raise ValueError("a score is 0 to 10")
        return await self._change_entry(chat_id, night, lambda v: v.update(score=score))

    async def set_onset(self, chat_id: int, night: date, code: str) -> Night:
        onset = parse_onset(code)
        if onset is None:
            raise ValueError("unknown onset")
        return await self._change_entry(chat_id, night, lambda v: v.update(onset=onset.value))

    async def toggle_measure(self, chat_id: int, night: date, measure: str) -> Night:
        if measure not in self.measures:
            return await self.night(chat_id, night)

        def change(value: dict[str, Any]) -> None:
            chosen = set(value.get("measures") or [])
            chosen.symmetric_difference_update({measure})
            value["measures"] = [m for m in self.measures if m in chosen]

        return await self._change_entry(chat_id, night, change)

    async def night(self, chat_id: int, night: date) -> Night:
        [found] = await self.nights(chat_id, night, night)
        return found

    async def nights(self, chat_id: int, first: date, last: date) -> list[Night]:
        """Every night from first to last, oldest first; nights never noted are empty."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(DiaryEntry).where(
                    DiaryEntry.chat_id == chat_id, DiaryEntry.night >= first, DiaryEntry.night <= last
                )
            )
            values = {row.night: self._open_entry(row) for row in rows}
            from_tips = await self._tips_done(session, chat_id, first, last)
        found = []
        for day in nights_between(first, last):
            value = values.get(day, {})
            score = value.get("score")
            tips = frozenset(from_tips.get(day, ()))
            found.append(
                Night(
                    day,
                    score if isinstance(score, int) else None,
                    parse_onset(value["onset"]) if value.get("onset") else None,
                    frozenset(value.get("measures") or ()) | tips,
                    tips,
                )
            )
        return found

    async def recent(self, chat_id: int, count: int) -> list[Night]:
        """The last `count` nights up to the one a check-in now would be about."""
        last = await self.tonight(chat_id)
        return await self.nights(chat_id, last - timedelta(days=count - 1), last)

    async def _tips_done(self, session: AsyncSession, chat_id: int, first: date, last: date) -> dict[date, set[str]]:
        """Measures of the evening tips the user marked Done, by the night they were sent on."""
        reminder = await session.get(Subscription, chat_id)
        if reminder is None:
            return {}
        zone = resolve_zone(reminder.zone)
        start = datetime.combine(first - timedelta(days=1), datetime.min.time(), zone)
        end = datetime.combine(last + timedelta(days=2), datetime.min.time(), zone)
        rows = await session.execute(
            select(Delivery.slot_at, Delivery.tip_id).where(
                Delivery.chat_id == chat_id,
                Delivery.outcome == "done",
                Delivery.slot_at >= start,
                Delivery.slot_at < end,
            )
        )
        done: dict[date, set[str]] = {}
        for slot, tip_id in rows.all():
            local = slot.astimezone(zone)  # a tip sent after midnight belongs to the evening before
            day = local.date() - timedelta(days=1) if local.hour < LATE_TIP_HOUR else local.date()
            measure = self._measure_of_tip.get(tip_id)
            if measure and first <= day <= last:
                done.setdefault(day, set()).add(measure)
        return done

    # -- ferritin and medicines -------------------------------------------------------------

    async def add_ferritin(self, chat_id: int, ng_ml: float, tested_on: date) -> Ferritin:
        async with self.sessions.begin() as session:
            sealed = self.sealer.seal(chat_id, {"ng_ml": ng_ml})
            session.add(FerritinResult(chat_id=chat_id, tested_on=tested_on, sealed=sealed))
        return Ferritin(tested_on, ng_ml)

    async def ferritin(self, chat_id: int) -> list[Ferritin]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(FerritinResult)
                .where(FerritinResult.chat_id == chat_id)
                .order_by(FerritinResult.tested_on, FerritinResult.id)
            )
            return [Ferritin(r.tested_on, float(self.sealer.open(chat_id, r.sealed)["ng_ml"])) for r in rows]

    async def delete_last_ferritin(self, chat_id: int) -> bool:
        async with self.sessions.begin() as session:
            last = await session.scalar(
                select(FerritinResult.id)
                .where(FerritinResult.chat_id == chat_id)
                .order_by(FerritinResult.id.desc())
                .limit(1)
            )
            if last is None:
                return False
            await session.execute(delete(FerritinResult).where(FerritinResult.id == last))
            return True

    async def medicines(self, chat_id: int) -> Medicines:
        async with self.sessions() as session:
            profile = await session.get(DiaryProfile, chat_id)
            if profile is None or profile.medicines is None:
                return Medicines()
            return Medicines.from_json(self.sealer.open(chat_id, profile.medicines))

    async def set_medicines(self, chat_id: int, medicines: Medicines) -> Medicines:
        now = self.clock()

        def change(row: DiaryProfile) -> None:
            row.medicines = None if medicines.empty else self.sealer.seal(chat_id, medicines.to_json())
            row.medicines_at = None if medicines.empty else now

        await self._change_profile(chat_id, change)
        return medicines

    # -- the morning check-in and weekly summary --------------------------------------------

    async def settings(self, chat_id: int) -> DiarySettings | None:
        async with self.sessions() as session:
            row = await session.get(DiaryProfile, chat_id)
            return _view(row) if row else None

    async def _change_profile(self, chat_id: int, change: Callable[[DiaryProfile], None]) -> DiarySettings:
        for attempt in range(2):
            try:
                async with self.sessions.begin() as session:
                    row = await session.get(DiaryProfile, chat_id, with_for_update=True)
                    if row is None:
                        row = DiaryProfile(chat_id=chat_id)
                        session.add(row)
                    change(row)
                    await session.flush()
                    return _view(row)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def set_checkin(self, chat_id: int, minute: int, zone: str | None = None) -> DiarySettings:
        """Ask every morning at `minute` local time (in `zone`, or the zone already known)."""
        now = self.clock()
        chosen = zone or await self.zone(chat_id)

        def change(row: DiaryProfile) -> None:
            row.zone, row.checkin_minute = chosen, minute
            row.checkin_due_at = next_checkin(minute, chosen, now)
            if row.weekly_day is not None:
                row.weekly_due_at = next_weekly(row.weekly_day, chosen, now)

        return await self._change_profile(chat_id, change)

    async def set_weekly(self, chat_id: int, day: int, zone: str | None = None) -> DiarySettings:
        if not 0 <= day <= 6:
            raise ValueError("a weekday is 0 (Monday) to 6")
        now = self.clock()
        chosen = zone or await self.zone(chat_id)

        def change(row: DiaryProfile) -> None:
            row.zone, row.weekly_day = chosen, day
            row.weekly_due_at = next_weekly(day, chosen, now)

        return await self._change_profile(chat_id, change)

    async def checkin_off(self, chat_id: int) -> DiarySettings:
        return await self._switch_off(chat_id, CHECKIN)

    async def weekly_off(self, chat_id: int) -> DiarySettings:
        return await self._switch_off(chat_id, WEEKLY)

    async def _switch_off(self, chat_id: int, kind: str) -> DiarySettings:
        """Off, and a message already claimed but not yet sent is skipped, not sent."""

        def change(row: DiaryProfile) -> None:
            if kind == CHECKIN:
                row.checkin_minute = row.checkin_due_at = None
            else:
                row.weekly_day = row.weekly_due_at = None

        settings = await self._change_profile(chat_id, change)
        async with self.sessions.begin() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.chat_id == chat_id, Delivery.kind == kind, Delivery.status == DeliveryStatus.claimed)
                .values(status=DeliveryStatus.skipped, error="switched off")
            )
        return settings

    # -- augmentation: said once ------------------------------------------------------------

    async def current_shift(self, chat_id: int) -> OnsetShift | None:
        """Onset moving earlier with a dopamine medicine noted, for the report (every time)."""
        if not (await self.medicines(chat_id)).dopamine:
            return None
        nights = await self.recent(chat_id, SHIFT_LOOKBACK)
        return onset_shift(nights, nights[-1].night)

    async def augmentation_notice(self, chat_id: int) -> OnsetShift | None:
        """The onset shift to mention, the first time it appears for a user on a dopamine
        medicine; None otherwise, and None every time after it was said once."""
        if not (await self.medicines(chat_id)).dopamine:
            return None
        async with self.sessions() as session:
            profile = await session.get(DiaryProfile, chat_id)
            if profile is None or profile.augmentation_noted_at is not None:
                return None
        nights = await self.recent(chat_id, SHIFT_LOOKBACK)
        shift = onset_shift(nights, nights[-1].night)
        if shift is None:
            return None
        async with self.sessions.begin() as session:
            said = await session.execute(
                update(DiaryProfile)
                .where(DiaryProfile.chat_id == chat_id, DiaryProfile.augmentation_noted_at.is_(None))
                .values(augmentation_noted_at=self.clock())
            )
        return shift if rowcount(said) == 1 else None

    # -- privacy ----------------------------------------------------------------------------

    async def has_data(self, chat_id: int) -> bool:
        async with self.sessions() as session:
            for model in (DiaryProfile, DiaryEntry, FerritinResult):
                if await session.scalar(select(model.chat_id).where(model.chat_id == chat_id).limit(1)) is not None:
                    return True
        return False

    async def export(self, chat_id: int) -> dict[str, Any]:
        """Everything the diary holds about the chat, decrypted, for /mydata."""
        settings = await self.settings(chat_id)
        async with self.sessions() as session:
            rows = list(
                await session.scalars(
                    select(DiaryEntry).where(DiaryEntry.chat_id == chat_id).order_by(DiaryEntry.night)
                )
            )
            entries = [{"night": r.night.isoformat(), **self._open_entry(r)} for r in rows]
        return {
            "time_zone": settings.zone if settings else None,
            "morning_check_in": _minute(settings.checkin_minute) if settings else None,
            "weekly_summary_day": settings.weekly_day if settings else None,
            "entries": entries,
            "ferritin_ng_ml": [
                {"tested_on": f.tested_on.isoformat(), "value": f.ng_ml} for f in await self.ferritin(chat_id)
            ],
            "medicines": (await self.medicines(chat_id)).to_json(),
            "augmentation_note_shown": await self._augmentation_shown(chat_id),
            "retention_days": self.retention.days,
        }

    async def _augmentation_shown(self, chat_id: int) -> bool:
        async with self.sessions() as session:
            profile = await session.get(DiaryProfile, chat_id)
            return profile is not None and profile.augmentation_noted_at is not None

    async def forget(self, chat_id: int) -> None:
        async with self.sessions.begin() as session:
            for model in (DiaryEntry, FerritinResult, DiaryProfile):
                await session.execute(delete(model).where(model.chat_id == chat_id))
            await session.execute(
                delete(Delivery).where(Delivery.chat_id == chat_id, Delivery.kind.in_((CHECKIN, WEEKLY)))
            )

    async def purge(self) -> int:
        """Delete diary data older than the retention period; returns the rows deleted or cleared."""
        now = self.clock()
        cutoff = (now - self.retention).date()
        async with self.sessions.begin() as session:
            entries = await session.execute(delete(DiaryEntry).where(DiaryEntry.night < cutoff))
            ferritin = await session.execute(delete(FerritinResult).where(FerritinResult.tested_on < cutoff))
            medicines = await session.execute(
                update(DiaryProfile)
                .where(DiaryProfile.medicines_at < now - self.retention)
                .values(medicines=None, medicines_at=None)
            )
        return (rowcount(entries) or 0) + (rowcount(ferritin) or 0) + (rowcount(medicines) or 0)

    async def rekey(self) -> int:
        """Re-seal every diary value with the newest key, so older keys can be retired."""
        async with self.sessions.begin() as session:
            count = await self._reseal(session, DiaryEntry) + await self._reseal(session, FerritinResult)
            for profile in await session.scalars(select(DiaryProfile).where(DiaryProfile.medicines.is_not(None))):
                profile.medicines = self.sealer.rotate(profile.medicines or "")
                count += 1
        return count

    async def _reseal(self, session: AsyncSession, model: type[_Sealed]) -> int:
        count = 0
        for row in await session.scalars(select(model).with_for_update()):
            row.sealed = self.sealer.rotate(row.sealed)
            count += 1
        return count


def _minute(minute: int | None) -> str | None:
    return None if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"
