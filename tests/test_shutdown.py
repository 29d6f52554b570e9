"""SIGTERM during a reminder burst: the process stops taking work, finishes what is in flight,
exits 0, and the next process delivers the rest: every reminder exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from bot.devtools.fake_bot_api import FakeBotApi
from bot.storage.database import create_engine, upgrade
from bot.storage.models import Subscription

from .conftest import ROOT, subscription

pytestmark = pytest.mark.usefixtures("models_cached")  # processes load, never train, the models

CHATS = 120


async def _fill_due(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    now = datetime.now(UTC)
    rows = [
        {**subscription(chat, now - timedelta(seconds=5)), "created_at": now, "updated_at": now}
        for chat in range(1000, 1000 + CHATS)
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(Subscription), rows)
    await engine.dispose()


async def _start(bot_api: FakeBotApi, database_url: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "BOT_TOKEN": bot_api.token,
        "TELEGRAM_API_URL": bot_api.base_url,
        "DATABASE_URL": database_url,
        "DISPATCH_INTERVAL_SECONDS": "0.2",
        "SEND_RATE": "30",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_sigterm_mid_burst_loses_and_duplicates_nothing(bot_api: FakeBotApi, tmp_path):
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'burst.db'}"
    await _fill_due(database_url)
    first = await _start(bot_api, database_url)
    await bot_api.wait_for(count=20, timeout=60)  # the burst is under way (30 per second)
    first.send_signal(signal.SIGTERM)
    await asyncio.wait_for(first.wait(), 20)
    assert first.returncode == 0, (await first.stderr.read()).decode()[-2000:]
    delivered_by_first = sum(bot_api.delivered.values())
    assert delivered_by_first < CHATS  # it really stopped mid-burst

    second = await _start(bot_api, database_url)
    try:
        await bot_api.wait_for(count=CHATS, timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 20)
    assert bot_api.delivered == {chat: 1 for chat in range(1000, 1000 + CHATS)}
