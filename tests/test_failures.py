"""When things fail: what users get, and what the logs hold (no message text, no names; one
traceback per kind of failure, not one per second), over real HTTP against the fake Bot API."""

from __future__ import annotations

import asyncio
import io
import logging
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError
from telegram.error import NetworkError, TimedOut

from bot import logs
from bot.devtools.fake_bot_api import FakeBotApi
from bot.logs import Throttle

from .conftest import serving

SECRET_NAME = "Zoë\ud800Quietwater"  # a lone surrogate: valid in JSON, not encodable as UTF-8


@pytest.fixture(params=["plain", "json"])
def bot_log(request: pytest.FixtureRequest):
    """The bot's own log output, configured as `rls-bot run` configures it; call it to read."""
    stream = io.StringIO()
    logs.configure("INFO", request.param, stream)
    yield stream.getvalue
    logs.configure("WARNING", "plain")


async def test_a_name_that_cannot_be_encoded_still_gets_its_welcome(running_bot, bot_api: FakeBotApi, bot_log):
    await bot_api.push_text("/start", user=bot_api.user(42, SECRET_NAME))
    [welcome] = await bot_api.wait_for()
    assert "Zoë\ufffdQuietwater" in welcome["text"]  # replaced, not a failed send
    assert "something went wrong" not in welcome["text"].lower()
    assert "Quietwater" not in bot_log()


async def test_a_network_error_that_quotes_the_outgoing_text_is_logged_without_it(running_bot, bot_api, bot_log):
    welcome = running_bot.bot_data["responder"].welcome_reply(SECRET_NAME).html
    with pytest.raises(NetworkError) as raised:  # PTB's own error for text it cannot encode
        await running_bot.bot.send_message(42, welcome)
    assert "Quietwater" in str(raised.value) and "not medical advice" in str(raised.value)  # it quotes the text
    await running_bot.process_error(None, raised.value)
    written = bot_log()
    assert "NetworkError" in written and "(message withheld)" in written and "Traceback" in written
    assert "Quietwater" not in written and "not medical advice" not in written  # the log does not


async def test_debug_logging_still_holds_no_message_text(running_bot, bot_api):
    stream = io.StringIO()
    logs.configure("DEBUG", "plain", stream)
    try:
        await bot_api.push_text("my very private question about magnesium doses")
        await bot_api.wait_for()
        written = stream.getvalue()
    finally:
        logs.configure("WARNING", "plain")
    assert "private question" not in written and "Ann" not in written


def full_disk() -> OperationalError:
    return OperationalError("INSERT INTO deliveries ...", {}, sqlite3.OperationalError("database or disk is full"))


def traceback_kind(record: logging.LogRecord) -> str | None:
    """The exception a record's traceback ends in (the redaction filter keeps it as text)."""
    if record.exc_info:
        return type(record.exc_info[1]).__name__
    if record.exc_text:
        return record.exc_text.splitlines()[-1].split()[0].rsplit(".", 1)[-1]
    return None


async def test_the_same_failure_every_second_is_one_traceback_not_sixty(running_bot, caplog):
    now = [0.0]
    running_bot.bot_data["errors"] = Throttle(every=300, clock=lambda: now[0])
    caplog.set_level(logging.ERROR, logger="bot")
    for _second in range(60):
        await running_bot.process_error(None, full_disk())
        now[0] += 1
    await running_bot.process_error(None, TimedOut())  # another kind of failure is not held back
    tracebacks = [r for r in caplog.records if traceback_kind(r)]
    assert [traceback_kind(r) for r in tracebacks] == ["OperationalError", "TimedOut"]

    now[0] += 300
    await running_bot.process_error(None, full_disk())
    last = [r for r in caplog.records if traceback_kind(r)][-1]
    assert "59 more like it" in last.getMessage()


async def test_a_locked_sqlite_database_does_not_stall_questions(bot_api, content, clock, tmp_path):
    path = tmp_path / "locked.db"
    async with serving(bot_api, content, clock, f"sqlite+aiosqlite:///{path}"):
        blocker = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        # another writer holds the lock (a backup, a stuck process); taken off the event loop, which
        # must stay free to finish the bot's own transaction first
        await asyncio.to_thread(blocker.execute, "BEGIN IMMEDIATE")
        try:
            await bot_api.push_text("/remind 21:00 UTC")  # a write: gives up within seconds
            await bot_api.push_text("what foods have magnesium")  # a question: needs no write
            await bot_api.push_text("/remind", chat=bot_api.private_chat(43))
            replies = await bot_api.wait_for(count=3)  # all while the lock is still held
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert "try again" in replies[0]["text"]
        assert "Pumpkin seeds" in replies[1]["text"]
        assert "try again" in replies[2]["text"]  # even a flow's first step is a write
        await bot_api.push_text("/remind 21:00 UTC")
        assert "Reminders are on" in (await bot_api.wait_for(count=4))[3]["text"]
