"""The morning check-in and the weekly summary through the reminder dispatcher, on SQLite and
PostgreSQL with an injected clock: once per morning at the chosen local time, through restarts,
crashes and downtime, and never after it was switched off."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.diary.crypto import Sealer
from bot.diary.schedule import CheckinKind, WeeklyKind
from bot.diary.service import DiaryService
from bot.reminders.dispatcher import Dispatcher, Outcome
from bot.reminders.service import ReminderService
from bot.storage.models import Delivery, DeliveryStatus

MORNING = 7 * 60 + 30


class Recorder:
    """Stands in for Telegram for the diary kinds."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, datetime]] = []
        self.script: list[Outcome] = []
        self.hang = False
        self.in_flight = asyncio.Event()

    async def send(self, delivery: Delivery) -> Outcome:
        if self.hang:
            self.in_flight.set()
            await asyncio.Event().wait()
        if self.script:
            return self.script.pop(0)
        self.sent.append((delivery.chat_id, delivery.kind, delivery.slot_at))
        return Outcome(message_id=len(self.sent))

    def count(self) -> Counter[tuple[int, str]]:
        return Counter((chat, kind) for chat, kind, _ in self.sent)


class NoTips:
    async def send(self, chat_id, tip, delivery_id, kind) -> Outcome:
        raise AssertionError("no evening tips in these tests")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def diary(sessions, content, clock) -> DiaryService:
    return DiaryService(sessions, Sealer.ephemeral(), content.tips, clock)


def dispatcher(sessions, content, clock, recorder, **kwargs) -> Dispatcher:
    kinds = [CheckinKind(recorder.send), WeeklyKind(recorder.send)]
    return Dispatcher(sessions, content.tips, NoTips(), clock=clock, kinds=kinds, **kwargs)


async def test_the_morning_check_in_comes_once_at_the_chosen_local_time_through_a_restart(
    sessions, content, clock, diary, recorder
):
    settings = await diary.set_checkin(42, MORNING, "Europe/Berlin")  # 07:30 CET = 06:30 UTC
    assert settings.checkin_due_at == datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
    first = dispatcher(sessions, content, clock, recorder)
    clock.now = datetime(2026, 11, 26, 6, 29, tzinfo=UTC)
    await first.tick()
    assert recorder.sent == []  # a minute early
    clock.advance(minutes=1)
    await first.tick()
    await first.tick()
    restarted = dispatcher(sessions, content, clock, recorder)  # a new process, the same database
    await restarted.tick()
    clock.advance(hours=3)
    await restarted.tick()
    assert recorder.count() == {(42, "checkin"): 1}
    assert recorder.sent[0][2] == datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
    clock.now = datetime(2026, 11, 27, 6, 31, tzinfo=UTC)
    await restarted.tick()
    assert recorder.count() == {(42, "checkin"): 2}  # and the next morning, one more


async def test_a_check_in_for_a_user_without_evening_reminders(sessions, content, clock, diary, recorder):
    assert await ReminderService(sessions, content.tips, clock).get(42) is None
    await diary.set_checkin(42, MORNING, "UTC")
    clock.now = datetime(2026, 11, 26, 7, 31, tzinfo=UTC)
    report = await dispatcher(sessions, content, clock, recorder).tick()
    assert report.sent == 1 and recorder.count() == {(42, "checkin"): 1}


async def test_crash_while_sending_a_check_in_never_sends_it_twice(sessions, content, clock, diary, recorder):
    await diary.set_checkin(42, MORNING, "UTC")
    clock.now = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
    recorder.hang = True
    doomed = asyncio.create_task(dispatcher(sessions, content, clock, recorder).tick())
    await asyncio.wait_for(recorder.in_flight.wait(), 10)
    doomed.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await doomed
    recorder.hang = False
    restarted = dispatcher(sessions, content, clock, recorder)
    clock.advance(minutes=5)
    report = await restarted.tick()
    assert recorder.sent == [] and report.lost_in_crash == 1


async def test_down_past_the_grace_window_skips_that_morning_and_asks_the_next(
    sessions, content, clock, diary, recorder
):
    await diary.set_checkin(42, MORNING, "UTC")
    clock.now = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)  # back 3.5 hours late
    report = await dispatcher(sessions, content, clock, recorder).tick()
    assert recorder.sent == [] and report.late == 1
    assert (await diary.settings(42)).checkin_due_at == datetime(2026, 11, 27, 7, 30, tzinfo=UTC)


async def test_switched_off_between_claim_and_send_sends_nothing(sessions, content, clock, diary, recorder):
    await diary.set_checkin(42, MORNING, "UTC")
    clock.now = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
    engine = dispatcher(sessions, content, clock, recorder)
    from bot.reminders.dispatcher import TickReport

    await engine._claim(clock.now, TickReport())
    await diary.checkin_off(42)
    await engine.tick()
    assert recorder.sent == []
    async with sessions() as session:
        [row] = await session.scalars(select(Delivery))
    assert row.status == DeliveryStatus.skipped


async def test_two_dispatchers_share_check_ins_and_send_each_once(sessions, content, clock, diary, recorder):
    for chat in range(100, 140):
        await diary.set_checkin(chat, MORNING, "UTC")
    clock.now = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
    one = dispatcher(sessions, content, clock, recorder, concurrency=7)
    two = dispatcher(sessions, content, clock, recorder, concurrency=5)
    await asyncio.gather(one.tick(), two.tick(), one.tick(), two.tick())
    assert recorder.count() == {(chat, "checkin"): 1 for chat in range(100, 140)}


async def test_rate_limited_check_in_is_retried_and_a_blocked_chat_stops_it(sessions, content, clock, diary, recorder):
    await diary.set_checkin(42, MORNING, "UTC")
    clock.now = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
    engine = dispatcher(sessions, content, clock, recorder)
    recorder.script = [Outcome(retry_after=3)]
    assert (await engine.tick()).retried == 1
    clock.advance(seconds=31)
    assert (await engine.tick()).sent == 1
    recorder.script = [Outcome(gone="blocked")]
    clock.advance(days=1)
    assert (await engine.tick()).unsubscribed == 1
    assert (await diary.settings(42)).checkin_minute is None


async def test_the_weekly_summary_comes_once_on_its_day(sessions, content, clock, diary, recorder):
    await diary.set_weekly(42, 6, "UTC")  # Sundays at noon; the clock starts on Wednesday 25 Nov
    engine = dispatcher(sessions, content, clock, recorder)
    for moment in (
        datetime(2026, 11, 29, 11, 59),  # Sunday, a minute early
        datetime(2026, 11, 29, 12, 0, 30),
        datetime(2026, 11, 29, 13, 0),
        datetime(2026, 12, 5, 12, 0),  # Saturday
        datetime(2026, 12, 6, 12, 1),  # the next Sunday
    ):
        clock.now = moment.replace(tzinfo=UTC)
        await engine.tick()
    assert [slot for _, _, slot in recorder.sent] == [
        datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
        datetime(2026, 12, 6, 12, 0, tzinfo=UTC),
    ]
    assert recorder.count() == {(42, "weekly"): 2}
