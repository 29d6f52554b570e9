"""The delivery engine's guarantees, on SQLite and PostgreSQL, with an injected clock:
exactly once per evening, through restarts and crashes, with retries and unsubscribes."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.reminders.dispatcher import Dispatcher, Outcome, TickReport
from bot.reminders.service import ReminderService
from bot.storage.models import Delivery, DeliveryStatus, Status, Subscription

from .conftest import FakeClock

EVENING = 21 * 60  # 21:00 local


class RecordingSender:
    """Stands in for Telegram: records every tip sent, or answers with a scripted outcome."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, str]] = []
        self.script: dict[int, list[Outcome]] = {}
        self.hang_on: set[int] = set()
        self.in_flight = asyncio.Event()

    async def send(self, chat_id, tip, delivery_id, kind) -> Outcome:
        if chat_id in self.hang_on:  # the request is on the wire when the process dies
            self.in_flight.set()
            await asyncio.Event().wait()
        if self.script.get(chat_id):
            return self.script[chat_id].pop(0)
        self.sent.append((chat_id, tip.id, kind))
        return Outcome(message_id=len(self.sent))

    def per_chat(self) -> Counter[int]:
        return Counter(chat for chat, _, _ in self.sent)


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def service(sessions, content, clock) -> ReminderService:
    return ReminderService(sessions, content.tips, clock)


def make_dispatcher(sessions, content, sender, clock, **kwargs) -> Dispatcher:
    return Dispatcher(sessions, content.tips, sender, clock=clock, **kwargs)


async def test_exactly_one_tip_per_evening_across_restarts(sessions, content, service, sender, clock: FakeClock):
    await service.subscribe(1, EVENING, "Europe/Berlin")  # 20:00 UTC in winter
    first = make_dispatcher(sessions, content, sender, clock)
    assert (await first.tick()).sent == 0  # 18:00 UTC: not due yet
    clock.advance(hours=2)
    assert (await first.tick()).sent == 1
    await first.tick()
    restarted = make_dispatcher(sessions, content, sender, clock)  # a new process, same database
    await restarted.tick()
    clock.advance(minutes=30)
    await restarted.tick()
    assert sender.per_chat() == {1: 1}
    clock.advance(days=1)
    await restarted.tick()
    assert sender.per_chat() == {1: 2}  # and the next evening, one more


async def test_missed_reminders_are_sent_within_grace_and_skipped_after(sessions, content, service, sender, clock):
    clock.now = clock.now.replace(hour=17)
    await service.subscribe(1, EVENING, "UTC")
    await service.subscribe(2, EVENING - 180, "UTC")  # 18:00 UTC
    clock.now = clock.now.replace(hour=21, minute=30)  # the bot comes back at 21:30
    report = await make_dispatcher(sessions, content, sender, clock).tick()
    assert sender.per_chat() == {1: 1}  # 30 minutes late: still sent
    assert report.late == 1  # 3.5 hours late: skipped, recorded
    settings = await service.get(2)
    assert settings.next_due_at == clock.now.replace(hour=18, minute=0) + timedelta(days=1)


async def test_down_for_days_sends_nothing_stale_and_resumes_next_evening(sessions, content, service, sender, clock):
    await service.subscribe(1, EVENING, "UTC")
    clock.advance(days=3)
    await make_dispatcher(sessions, content, sender, clock).tick()
    assert sender.sent == []
    assert (await service.get(1)).next_due_at == clock.now.replace(hour=21, minute=0)


async def test_crash_while_sending_never_sends_twice(sessions, content, service, sender, clock):
    await service.subscribe(7, EVENING, "UTC")
    clock.now = clock.now.replace(hour=21)
    sender.hang_on.add(7)
    doomed = asyncio.create_task(make_dispatcher(sessions, content, sender, clock).tick())
    await asyncio.wait_for(sender.in_flight.wait(), 10)
    doomed.cancel()  # the process dies with the request in flight
    with contextlib.suppress(asyncio.CancelledError):
        await doomed
    sender.hang_on.clear()
    restarted = make_dispatcher(sessions, content, sender, clock)
    await restarted.tick()
    clock.advance(minutes=5)
    report = await restarted.tick()
    assert sender.sent == []  # maybe delivered before the crash: never a second one
    assert report.lost_in_crash == 1
    async with sessions() as session:
        [row] = await session.scalars(select(Delivery))
        assert row.status == DeliveryStatus.unknown


async def test_claimed_but_never_sent_is_sent_after_the_lease(sessions, content, service, sender, clock):
    await service.subscribe(8, EVENING, "UTC")
    clock.now = clock.now.replace(hour=21)
    dead = make_dispatcher(sessions, content, sender, clock)
    await dead._claim(clock.now, TickReport())
    # the process dies here: the row is claimed, nothing was sent
    survivor = make_dispatcher(sessions, content, sender, clock)
    await survivor.tick()
    assert sender.sent == []  # the dead owner's lease still runs
    clock.advance(minutes=3)
    await survivor.tick()
    assert sender.per_chat() == {8: 1}


async def test_a_killed_dispatchers_claims_are_taken_over_within_seconds(sessions, content, service, sender, clock):
    chats = range(200, 240)
    for chat in chats:
        await service.subscribe(chat, EVENING, "UTC")
    clock.now = clock.now.replace(hour=21)
    killed = make_dispatcher(sessions, content, sender, clock, concurrency=8)
    await killed._claim(clock.now, TickReport())  # SIGKILL right after claiming
    survivor = make_dispatcher(sessions, content, sender, clock, concurrency=8)
    await survivor.tick()
    assert len(sender.sent) == len(chats) - 16  # only two windows were held; the rest went at once
    clock.advance(seconds=16)
    await survivor.tick()
    assert sender.per_chat() == {chat: 1 for chat in chats}


async def test_rate_limit_and_network_errors_are_retried_with_backoff(sessions, content, service, sender, clock):
    await service.subscribe(3, EVENING, "UTC")
    sender.script[3] = [Outcome(retry_after=5), Outcome(unavailable="network: ConnectError")]
    clock.now = clock.now.replace(hour=21)
    dispatcher = make_dispatcher(sessions, content, sender, clock)
    assert (await dispatcher.tick()).retried == 1
    assert (await dispatcher.tick()).sent == 0  # waiting out the 5 s
    clock.advance(seconds=6)
    assert (await dispatcher.tick()).retried == 1
    clock.advance(seconds=10)
    assert (await dispatcher.tick()).sent == 1
    assert sender.per_chat() == {3: 1}


async def test_persistent_failure_is_recorded_not_dropped(sessions, content, service, sender, clock):
    await service.subscribe(4, EVENING, "UTC")
    sender.script[4] = [Outcome(error="bad request: message is too long")]
    clock.now = clock.now.replace(hour=21)
    report = await make_dispatcher(sessions, content, sender, clock).tick()
    assert report.failed == 1 and report.failures == {"bad request": 1}
    async with sessions() as session:
        [row] = await session.scalars(select(Delivery))
        assert row.status == DeliveryStatus.failed and "too long" in row.error


async def test_blocked_user_is_unsubscribed_with_the_reason(sessions, content, service, sender, clock):
    await service.subscribe(5, EVENING, "UTC")
    sender.script[5] = [Outcome(gone="blocked")]
    clock.now = clock.now.replace(hour=21)
    report = await make_dispatcher(sessions, content, sender, clock).tick()
    assert report.unsubscribed == 1
    settings = await service.get(5)
    assert (settings.status, settings.stop_reason, settings.next_due_at) == (Status.stopped, "blocked", None)


async def test_two_dispatchers_at_once_send_each_reminder_once(sessions, content, service, sender, clock):
    for chat in range(100, 160):
        await service.subscribe(chat, EVENING, "UTC")
    clock.now = clock.now.replace(hour=21)
    one = make_dispatcher(sessions, content, sender, clock, concurrency=4)
    two = make_dispatcher(sessions, content, sender, clock, concurrency=3)
    await asyncio.gather(*(d.tick() for d in (one, two, one, two)), return_exceptions=False)
    await asyncio.gather(one.tick(), two.tick())
    assert sender.per_chat() == {chat: 1 for chat in range(100, 160)}


async def test_snooze_comes_back_once_even_after_a_restart(sessions, content, service, sender, clock):
    await service.subscribe(6, EVENING, "UTC")
    clock.now = clock.now.replace(hour=21)
    await make_dispatcher(sessions, content, sender, clock).tick()
    [delivery] = await service.deliveries(6)
    await service.snooze(6, delivery.id)
    clock.advance(minutes=29)
    restarted = make_dispatcher(sessions, content, sender, clock)
    await restarted.tick()
    assert len(sender.sent) == 1
    clock.advance(minutes=2)
    await restarted.tick()
    await restarted.tick()
    assert [(tip, kind) for _, tip, kind in sender.sent] == [
        (sender.sent[0][1], "evening"),
        (sender.sent[0][1], "snooze"),
    ]


async def test_skip_tonight_cancels_tonight_only(sessions, content, service, sender, clock):
    await service.subscribe(9, EVENING, "UTC")
    await service.skip_tonight(9)
    clock.now = clock.now.replace(hour=21, minute=1)
    dispatcher = make_dispatcher(sessions, content, sender, clock)
    await dispatcher.tick()
    assert sender.sent == []
    clock.advance(days=1)
    await dispatcher.tick()
    assert sender.per_chat() == {9: 1}


async def test_stop_pause_and_resume(sessions, content, service, sender, clock):
    await service.subscribe(10, EVENING, "UTC")
    await service.subscribe(11, EVENING, "UTC")
    await service.stop(10)
    await service.pause(11)
    clock.now = clock.now.replace(hour=21)
    dispatcher = make_dispatcher(sessions, content, sender, clock)
    await dispatcher.tick()
    assert sender.sent == []
    await service.resume(11)
    clock.advance(days=1)
    await dispatcher.tick()
    assert sender.per_chat() == {11: 1}


async def test_tips_rotate_through_the_chosen_measures_without_repeats(sessions, content, service, sender, clock):
    await service.subscribe(12, EVENING, "UTC")
    for measure in [m.id for m in content.tips.measures if m.id not in ("warmth", "stretching")]:
        await service.toggle_measure(12, measure)  # leaves warmth and stretching: 4 tips
    dispatcher = make_dispatcher(sessions, content, sender, clock)
    clock.now = clock.now.replace(hour=21)
    for _ in range(8):
        await dispatcher.tick()
        clock.advance(days=1)
    tips = [tip for _, tip, _ in sender.sent]
    chosen = {t.id for t in content.tips.tips if t.measure in ("warmth", "stretching")}
    assert len(tips) == 8 and set(tips) == chosen
    assert len(set(tips[:4])) == 4 and len(set(tips[4:])) == 4


async def test_dst_change_keeps_local_time_through_the_dispatcher(sessions, content, service, sender, clock):
    clock.now = clock.now.replace(month=3, day=28, hour=12)  # Saturday before summer time in Berlin
    await service.subscribe(13, 21 * 60 + 30, "Europe/Berlin")
    dispatcher = make_dispatcher(sessions, content, sender, clock)
    clock.now = clock.now.replace(hour=20, minute=30)  # 21:30 CET
    await dispatcher.tick()
    clock.now = clock.now.replace(day=29, hour=19, minute=30)  # 21:30 CEST
    await dispatcher.tick()
    assert sender.per_chat() == {13: 2}


async def test_forget_deletes_everything_about_the_chat(sessions, content, service, sender, clock):
    await service.subscribe(14, EVENING, "UTC")
    clock.now = clock.now.replace(hour=21)
    await make_dispatcher(sessions, content, sender, clock).tick()
    await service.forget(14)
    async with sessions() as session:
        assert (await session.get(Subscription, 14)) is None
        assert list(await session.scalars(select(Delivery).where(Delivery.chat_id == 14))) == []


async def test_a_bad_zone_in_the_database_stops_that_chat_only(sessions, content, service, sender, clock):
    await service.subscribe(15, EVENING, "UTC")
    await service.subscribe(16, EVENING, "UTC")
    async with sessions.begin() as session:
        await session.execute(update(Subscription).where(Subscription.chat_id == 15).values(zone="Nowhere/Land"))
    clock.now = clock.now.replace(hour=21)
    await make_dispatcher(sessions, content, sender, clock).tick()
    assert sender.per_chat() == {16: 1}
    assert (await service.get(15)).stop_reason == "bad_zone"


async def test_stopping_between_claim_and_send_sends_nothing(sessions, content, service, sender, clock):
    await service.subscribe(17, EVENING, "UTC")
    clock.now = clock.now.replace(hour=21)
    dispatcher = make_dispatcher(sessions, content, sender, clock)
    await dispatcher._claim(clock.now, TickReport())
    await service.stop(17)  # the user taps Stop a moment after the reminder was claimed
    await dispatcher.tick()
    assert sender.sent == []
