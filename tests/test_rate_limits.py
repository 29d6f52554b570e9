"""Telegram's rate limits for the whole bot, as users meet them, over real HTTP against the fake
Bot API: a reply is not stuck behind the evening's reminders, and one flooded chat does not hold
up the others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import insert
from telegram.ext import Application

from bot.devtools.fake_bot_api import FakeBotApi
from bot.storage.database import create_engine, upgrade
from bot.storage.models import Status, Subscription
from bot.tg.limiter import Lane

from .conftest import FakeClock, serving


async def fill_due(database_url: str, chats: range, due: datetime) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    rows = [
        {
            "chat_id": chat,
            "minute": 21 * 60,
            "zone": "UTC",
            "status": Status.active,
            "measures": "",
            "seen_tips": "",
            "next_due_at": due,
            "created_at": due,
            "updated_at": due,
        }
        for chat in chats
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(Subscription), rows)
    await engine.dispose()


def reminder_chats(bot_api: FakeBotApi, chats: range) -> list[int]:
    return [int(p["chat_id"]) for p in bot_api.sent() if int(p["chat_id"]) in chats]


async def test_a_question_asked_mid_burst_is_answered_before_the_rest_of_the_burst(
    bot_api: FakeBotApi, content, clock: FakeClock, tmp_path
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    chats = range(2000, 2040)
    clock.now = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
    await fill_due(url, chats, clock.now)
    async with serving(bot_api, content, clock, url, send_rate=10) as application:
        burst = asyncio.create_task(application.bot_data["dispatcher"].tick())
        await bot_api.wait_until(lambda: len(reminder_chats(bot_api, chats)) >= 8)
        before = len(reminder_chats(bot_api, chats))
        await bot_api.push_text("what foods have magnesium")
        await bot_api.wait_until(lambda: any(p["chat_id"] == 42 for p in bot_api.sent()))
        await burst
    order = [int(p["chat_id"]) for p in bot_api.sent()]
    reply_at = order.index(42)
    assert reply_at - before <= 4  # the reminders already waiting did not go first
    assert len(order) - reply_at - 1 >= 20  # most of the burst was still to come
    assert sorted(reminder_chats(bot_api, chats)) == list(chats)  # and it all arrived, once


async def test_a_429_for_one_chat_does_not_delay_another_chats_reply(running_bot: Application, bot_api):
    bot_api.flood_chat(42, retry_after=2)
    bot = running_bot.bot
    loop = asyncio.get_running_loop()
    first = asyncio.create_task(bot.send_message(42, "answer for a flooded chat"))
    await bot_api.wait_until(lambda: bot_api.too_many_by_chat.get(42, 0) >= 1)
    started = loop.time()
    await bot.send_message(43, "answer for someone else")
    assert loop.time() - started < 1.0  # not held up by the other chat's pause
    assert 42 not in bot_api.delivered
    await first  # retried once its own pause is over
    assert bot_api.delivered == {43: 1, 42: 1}


async def test_reminders_keep_a_share_while_replies_keep_coming(running_bot: Application, bot_api):
    running_bot.bot_data["limiter"].set_rate(50)
    bot = running_bot.bot
    replies = [bot.send_message(3000 + i, "reply") for i in range(30)]
    reminders = [bot.send_message(4000 + i, "tip", rate_limit_args=Lane.reminder) for i in range(5)]
    await asyncio.gather(*replies, *reminders)
    order = [int(p["chat_id"]) for p in bot_api.sent()]
    first_reminder = next(i for i, chat in enumerate(order) if chat >= 4000)
    assert first_reminder <= 4  # at least one slot in five, though replies never stopped
