"""`rls-bot run` as a real process, talking HTTP to a fake Bot API server: the done-when check."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from bot.devtools.fake_bot_api import FakeBotApi

from .conftest import ROOT
from .test_telegram import buttons


async def test_a_user_talks_to_the_real_bot_process(bot_api: FakeBotApi, tmp_path):
    env = {**os.environ, "BOT_TOKEN": bot_api.token, "TELEGRAM_API_URL": bot_api.base_url, "DATA_DIR": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await bot_api.wait_for("setMyCommands", timeout=30)
        await bot_api.push_text("/start")
        [welcome] = await bot_api.wait_for("sendMessage", timeout=10)
        assert ("Foods with magnesium", "t:foods") in buttons(welcome)

        await bot_api.push_text("what foods have magnesium")
        answer = (await bot_api.wait_for("sendMessage", count=2))[1]
        assert "Pumpkin seeds" in answer["text"]

        await bot_api.push_callback("t:doses")
        pressed = (await bot_api.wait_for("sendMessage", count=3))[2]
        assert "350 mg" in pressed["text"]
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 15)
    assert process.returncode == 0, (await process.stderr.read()).decode()[-2000:]
