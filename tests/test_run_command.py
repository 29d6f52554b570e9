"""`rls-bot run` as a real process, talking HTTP to a fake Bot API server: the done-when check."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from bot.devtools.fake_bot_api import FakeBotApi

from .conftest import ROOT
from .test_telegram import buttons

pytestmark = pytest.mark.usefixtures("models_cached")  # processes load, never train, the models


async def test_a_user_talks_to_the_real_bot_process(bot_api: FakeBotApi, tmp_path):
    process = await _start_bot(bot_api, tmp_path, 0, stderr=asyncio.subprocess.PIPE)
    try:
        await bot_api.wait_for("getMyDescription", timeout=30)
        await bot_api.push_text("/start")
        [welcome] = await bot_api.wait_for("sendMessage", timeout=10)
        assert ("Foods with magnesium", "t:foods") in buttons(welcome)

        await bot_api.push_text("what foods have magnesium")
        answer = (await bot_api.wait_for("sendMessage", count=2))[1]
        assert "Pumpkin seeds" in answer["text"]

        await bot_api.push_callback("t:doses")
        [pressed] = await bot_api.wait_for("editMessageText")  # the pressed message shows the topic
        assert "350 mg" in pressed["text"]
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 15)
    assert process.returncode == 0, (await process.stderr.read()).decode()[-2000:]


async def _start_bot(
    bot_api: FakeBotApi, data_dir, clock_offset: float, stderr: int = asyncio.subprocess.DEVNULL
) -> asyncio.subprocess.Process:
    """`python -m bot run` against the fake Bot API, its clock shifted by `clock_offset` seconds."""
    env = {
        **os.environ,
        "BOT_TOKEN": bot_api.token,
        "TELEGRAM_API_URL": bot_api.base_url,
        "DATA_DIR": str(data_dir),
        "DISPATCH_INTERVAL_SECONDS": "0.2",
        "CLOCK_OFFSET_SECONDS": str(clock_offset),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=stderr
    )


async def _all_handled(data_dir, timeout: float = 10.0) -> None:
    """Until the bot has finished every update it got, and removed it from the inbox. A SIGKILL
    before that makes the next process handle it again (bot/inbox.py): not this test's subject."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with closing(sqlite3.connect(data_dir / "rls-bot.db")) as database:
            if database.execute("SELECT count(*) FROM inbox").fetchone() == (0,):
                return
        await asyncio.sleep(0.02)  # polling the bot's state, which no event announces
    raise AssertionError("the bot never finished its updates")


async def _kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await asyncio.wait_for(process.wait(), 15)


async def test_sigkill_before_the_minute_still_delivers_exactly_one_tip(bot_api: FakeBotApi, tmp_path):
    """The issue's check: /remind HH:MM UTC two minutes ahead; kill -9; restart; exactly one tip.
    Restarts run with their clock moved forward instead of waiting for real minutes to pass."""
    due = (datetime.now(UTC) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    first = await _start_bot(bot_api, tmp_path, 0)
    try:
        await bot_api.wait_for("getMyDescription", timeout=30)
        await bot_api.push_text(f"/remind {due:%H:%M} UTC")
        [confirmed] = await bot_api.wait_for(timeout=15)
        assert f"{due:%H:%M}" in confirmed["text"] and "UTC" in confirmed["text"]
        await _all_handled(tmp_path)
    finally:
        await _kill(first)  # SIGKILL, before the minute comes

    past_due = (due - datetime.now(UTC)).total_seconds() + 30
    second = await _start_bot(bot_api, tmp_path, past_due)
    try:
        tip = (await bot_api.wait_for(count=2, timeout=30))[1]
        assert tip["text"].startswith("🌙")
        assert [label for label, _ in buttons(tip)] == [
            "Done ✅",
            "Snooze 30 min ⏰",
            "Skip tonight 🌙",
            "Stop reminders 🛑",
        ]
    finally:
        await _kill(second)  # and once more, right after sending

    third = await _start_bot(bot_api, tmp_path, past_due + 60)
    try:
        await bot_api.wait_for("getMyDescription", count=3, timeout=30)
        await bot_api.push_text("/reminders")
        settings = (await bot_api.wait_for(count=3, timeout=15))[2]
        assert "tomorrow at" in settings["text"]
    finally:
        await _kill(third)
    tips = [m for m in bot_api.sent() if m["text"].startswith("🌙")]
    assert len(tips) == 1


async def test_sigkill_before_the_morning_check_in_still_asks_exactly_once(bot_api: FakeBotApi, tmp_path):
    """The diary's done-when check, as a real process: /morning HH:MM UTC two minutes ahead;
    kill -9; restart (clock moved past the minute); exactly one check-in question, whose
    button records that night after yet another restart."""
    due = (datetime.now(UTC) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    first = await _start_bot(bot_api, tmp_path, 0)
    try:
        await bot_api.wait_for("getMyDescription", timeout=30)
        await bot_api.push_text(f"/morning {due:%H:%M} UTC")
        [confirmed] = await bot_api.wait_for(timeout=15)
        assert f"{due:%H:%M}" in confirmed["text"] and "UTC" in confirmed["text"]
        await _all_handled(tmp_path)
    finally:
        await _kill(first)

    past_due = (due - datetime.now(UTC)).total_seconds() + 30
    second = await _start_bot(bot_api, tmp_path, past_due)
    try:
        question = (await bot_api.wait_for(count=2, timeout=30))[1]
        assert question["text"].startswith("🌙 <b>Night of")
    finally:
        await _kill(second)

    third = await _start_bot(bot_api, tmp_path, past_due + 60)
    try:
        await bot_api.wait_for("getMyDescription", count=3, timeout=30)
        score = next(data for label, data in buttons(question) if label == "3")
        await bot_api.push_callback(score)
        [edited] = await bot_api.wait_for("editMessageText", timeout=15)
        assert "3 out of 10" in edited["text"]  # the entry was sealed and read back across processes
    finally:
        await _kill(third)
    assert len([m for m in bot_api.sent() if "Night of" in m["text"]]) == 1
