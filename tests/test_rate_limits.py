"""Telegram's rate limits for the whole bot, as users meet them, over real HTTP against the fake
Bot API: a reply is not stuck behind the evening's reminders, one flooded chat does not hold up
the others, and several processes on one database keep to one SEND_RATE together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import insert
from telegram.error import RetryAfter
from telegram.ext import Application

from bot.config import Settings
from bot.devtools.fake_bot_api import FakeBotApi
from bot.storage.database import create_engine, upgrade
from bot.storage.models import Subscription
from bot.tg.app import build_application, share_send_rate
from bot.tg.limiter import Lane

from .conftest import CONTENT_DIR, FakeClock, serving, subscription


async def fill_due(database_url: str, chats: range, due: datetime) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    rows = [subscription(chat, due) for chat in chats]
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


@asynccontextmanager
async def process(bot_api: FakeBotApi, content, clock: FakeClock, database_url: str) -> AsyncIterator[Application]:
    """One bot process without polling (two would take each other's updates)."""
    settings = Settings(
        bot_token=bot_api.token,
        telegram_api_url=bot_api.base_url,
        content_dir=CONTENT_DIR,
        database_url=database_url,
        dispatch_interval_seconds=0,
        send_rate=20,
    )
    application = build_application(settings, content, clock=clock)
    async with application:
        await application.post_init(application)
        yield application
        await application.post_shutdown(application)


async def test_two_processes_on_one_database_keep_to_one_send_rate(
    bot_api: FakeBotApi, content, clock: FakeClock, database_url: str
):
    bot_api.rate_limit = 20  # what Telegram allows the bot as a whole
    chats = range(5000, 5080)
    clock.now = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
    await fill_due(database_url, chats, clock.now)
    async with (
        process(bot_api, content, clock, database_url) as one,
        process(bot_api, content, clock, database_url) as two,
    ):
        for application in (one, two, one):  # each beats; each sees the other
            await share_send_rate(application, 20)
        assert one.bot_data["limiter"].rate == two.bot_data["limiter"].rate == 10
        first, second = await asyncio.gather(one.bot_data["dispatcher"].tick(), two.bot_data["dispatcher"].tick())
    assert bot_api.too_many == 0
    assert bot_api.delivered == {chat: 1 for chat in chats}
    assert first.sent > 10 and second.sent > 10  # the burst was shared, not taken by one


async def test_429s_for_several_chats_at_once_slow_everyone_down_for_a_while(running_bot: Application, bot_api):
    running_bot.bot_data["limiter"].set_rate(20)  # a slot every 50 ms
    bot = running_bot.bot
    for chat in (1, 2, 3):
        bot_api.flood_chat(chat, retry_after=1)
    refused = await asyncio.gather(
        *(bot.send_message(chat, "tip", rate_limit_args=Lane.reminder) for chat in (1, 2, 3)),
        return_exceptions=True,
    )
    assert all(isinstance(r, RetryAfter) for r in refused)  # Telegram is over its limit for the bot
    chats = range(10, 20)
    await asyncio.gather(*(bot.send_message(chat, "reply") for chat in chats))
    arrivals = sorted(bot_api.received_at[chat] for chat in chats)
    assert arrivals[-1] - arrivals[0] >= 0.8  # half the pace: 100 ms apart, not 50


async def test_one_private_chat_is_paced_as_telegram_asks_and_never_refused(running_bot: Application, bot_api):
    from bot.tg.limiter import PRIVATE_CHAT

    running_bot.bot_data["limiter"].private_chat = PRIVATE_CHAT  # the pace `rls-bot run` keeps
    bot_api.per_chat_limits = True  # Telegram's 429 beyond about one message a second
    for n in range(5):
        await bot_api.push_text(f"/mydata {n}")
    replies = await bot_api.wait_for(count=5)
    assert len(replies) == 5 and bot_api.too_many_by_chat.get(42, 0) == 0
