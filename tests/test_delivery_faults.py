"""Reminders when Telegram misbehaves, through the real bot over HTTP against the fake Bot API:
a slow answer never becomes a second tip, an outage loses nothing, and what fails says why."""

from __future__ import annotations

import pytest

from bot.devtools.fake_bot_api import FakeBotApi
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
