"""Reminders when Telegram misbehaves, through the real bot over HTTP against the fake Bot API:
a slow answer never becomes a second tip, an outage loses nothing, and what fails says why."""

from __future__ import annotations

import pytest

from bot.devtools.fake_bot_api import FakeBotApi
from bot.reminders.dispatcher import TickReport
from bot.storage.models import DeliveryStatus

from .conftest import FakeClock, serving

EVENING = 21 * 60
CHATS = (501, 502, 503)


@pytest.fixture
async def bot(bot_api: FakeBotApi, content, clock: FakeClock, database_url: str):
    """The bot with a short read timeout for reminder sends, so a slow answer is quick to stage."""
    async with serving(bot_api, content, clock, database_url, reminder_read_timeout_seconds=0.3) as application:
        for chat in CHATS:
            await application.bot_data["reminders"].subscribe(chat, EVENING, "UTC")
        yield application


async def rows(application, chat: int):
    return await application.bot_data["reminders"].deliveries(chat)


async def test_an_answer_slower_than_the_read_timeout_never_brings_a_second_tip(bot, bot_api, clock):
    bot_api.slow_answers = 1.0  # Telegram takes each tip, but answers after the bot stopped waiting
    clock.now = clock.now.replace(hour=21)
    dispatcher = bot.bot_data["dispatcher"]
    report = await dispatcher.tick()
    bot_api.slow_answers = 0
    for minutes in (1, 5, 30, 60):  # the rest of the evening: nothing is sent again
        clock.advance(minutes=minutes)
        await dispatcher.tick()
    assert report.in_doubt == len(CHATS) and report.sent == 0
    assert bot_api.delivered == {chat: 1 for chat in CHATS}
    for chat in CHATS:
        [row] = await rows(bot, chat)
        assert row.status == DeliveryStatus.unknown
        assert "ReadTimeout" in row.error and "not re-sent" in row.error


async def tick_for(dispatcher, clock: FakeClock, seconds: int, step: int = 5) -> TickReport:
    """The dispatcher job's rhythm on the fake clock: a tick every `step` seconds."""
    total = TickReport()
    for _ in range(seconds // step):
        clock.advance(seconds=step)
        total.add(await dispatcher.tick())
    return total


async def test_a_one_minute_outage_as_tips_fall_due_delays_them_and_loses_none(bot, bot_api, clock):
    await bot_api.outage()  # connections refused
    clock.now = clock.now.replace(hour=21)
    dispatcher = bot.bot_data["dispatcher"]
    await dispatcher.tick()
    await tick_for(dispatcher, clock, 60)
    assert bot_api.delivered == {}
    bot_api.end_outage()
    await tick_for(dispatcher, clock, 60)
    assert bot_api.delivered == {chat: 1 for chat in CHATS}
    for chat in CHATS:
        [row] = await rows(bot, chat)
        assert row.status == DeliveryStatus.sent
        assert row.attempts <= 8  # backing off, not knocking every tick (25 ticks)


async def test_server_errors_are_retried_and_the_tip_arrives_once(bot, bot_api, clock):
    bot_api.fail_next["sendMessage"] = len(CHATS) * 2  # two rounds of 500s
    clock.now = clock.now.replace(hour=21)
    dispatcher = bot.bot_data["dispatcher"]
    await dispatcher.tick()
    await tick_for(dispatcher, clock, 30)
    assert bot_api.delivered == {chat: 1 for chat in CHATS}


async def test_an_outage_longer_than_the_grace_window_fails_each_tip_once_with_one_reason(
    bot_api, content, clock, database_url
):
    async with serving(bot_api, content, clock, database_url, reminder_grace_minutes=2) as application:
        for chat in CHATS:
            await application.bot_data["reminders"].subscribe(chat, EVENING, "UTC")
        await bot_api.outage()
        clock.now = clock.now.replace(hour=21)
        dispatcher = application.bot_data["dispatcher"]
        report = await dispatcher.tick()
        report.add(await tick_for(dispatcher, clock, 180, step=10))
        bot_api.end_outage()
        report.add(await tick_for(dispatcher, clock, 60))
        assert bot_api.delivered == {}  # too late for tonight: not sent after the window
        assert report.failures == {"telegram_unavailable": len(CHATS)}
        for chat in CHATS:
            [row] = await rows(application, chat)
            assert row.status == DeliveryStatus.failed
            assert row.error == "telegram_unavailable: until the grace window ended (last: network: ConnectError)"
        clock.now = clock.now.replace(day=clock.now.day + 1, hour=21, minute=0)
        await dispatcher.tick()
        assert bot_api.delivered == {chat: 1 for chat in CHATS}  # the next evening is unaffected
