"""What `rls-bot run` writes to its log, as an operator reads it: never what users said or who they
are, never the token, at any level; and an outage is a few WARNING lines, not pages of tracebacks."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys

import pytest

from bot import logs
from bot.devtools.fake_bot_api import FakeBotApi

from .conftest import ROOT

pytestmark = pytest.mark.usefixtures("models_cached")  # processes load, never train, the models

TOKEN = "987654321:PRIVATE-token_never_in_any_log_0123"
ZELDA = {"id": 4242, "is_bot": False, "first_name": "Zelda", "last_name": "Quackenbush", "username": "zq_hidden_user"}
CHAT = {"id": 4242, "type": "private", "first_name": "Zelda", "last_name": "Quackenbush", "username": "zq_hidden_user"}
PHONE = "+15550123987"
LATITUDE, LONGITUDE = 52.5163, 13.3777


async def _start(bot_api: FakeBotApi, tmp_path, level: str, token: str = TOKEN) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": bot_api.base_url,
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": level,
        "DISPATCH_INTERVAL_SECONDS": "0.5",
    }
    quiet, pipe = asyncio.subprocess.DEVNULL, asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=ROOT, stdout=quiet, stderr=pipe
    )


async def _stop(process: asyncio.subprocess.Process) -> str:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
    await asyncio.wait_for(process.wait(), 20)
    log = (await process.stderr.read()).decode()
    assert process.returncode == 0, log[-3000:]
    return log


async def _say(bot_api: FakeBotApi, count: int, **message) -> dict:
    await bot_api.push({"message": bot_api.message(chat=CHAT, user=ZELDA, **message)})
    return (await bot_api.wait_for(count=count, timeout=30))[-1]


async def test_debug_logs_of_a_whole_conversation_hold_nothing_private(bot_api: FakeBotApi, tmp_path):
    process = await _start(bot_api, tmp_path, "DEBUG")
    try:
        await bot_api.wait_for("getMyDescription", timeout=60)
        await _say(bot_api, 1, text="/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}])
        answer = await _say(bot_api, 2, text="my xylophone legs crawl at night, what foods have magnesium")
        assert "Pumpkin seeds" in answer["text"]
        await _say(bot_api, 3, text="/remind", entities=[{"type": "bot_command", "offset": 0, "length": 7}])
        await _say(bot_api, 4, text="21:30")
        confirmed = await _say(bot_api, 5, location={"latitude": LATITUDE, "longitude": LONGITUDE})
        assert "Europe/Berlin" in confirmed["text"]
        await _say(bot_api, 6, contact={"phone_number": PHONE, "first_name": "Zelda", "user_id": 4242})
        bot_api.fail_next["sendMessage"] = 1  # the error path logs too: the answer fails, then the apology goes
        await _say(bot_api, 8, text="xylophone again: is 400 mg too much")
    finally:
        log = await _stop(process)

    assert "Calling Bot API endpoint `sendMessage`" in log  # DEBUG was on
    assert "HTTP Request: POST" in log  # httpx too
    assert "update 7 failed: NetworkError" in log  # and the failure was logged
    for private in [
        "xylophone",  # what the user wrote
        "Pumpkin",  # what the bot answered them
        "Zelda",
        "Quackenbush",
        "zq_hidden_user",
        "5550123987",
        "52.51",
        "13.37",
        TOKEN,
        TOKEN.split(":")[1],  # the secret half alone
        TOKEN.replace(":", "%3A"),
    ]:
        assert private not in log, f"{private!r} is in the log"


async def test_an_outage_while_polling_is_one_warning_per_retry_with_the_delay(bot_api: FakeBotApi, tmp_path):
    process = await _start(bot_api, tmp_path, "INFO")
    try:
        await bot_api.push_text("hi")
        await bot_api.wait_for(timeout=60)  # polling
        await bot_api.outage(3.0)  # refused connections for three seconds, then Telegram is back
        await bot_api.wait_until(lambda: not bot_api.down, timeout=10)
        await bot_api.push_text("hi")
        await bot_api.wait_for(count=2, timeout=30)  # and the bot answers again
    finally:
        log = await _stop(process)

    lines = log.splitlines()
    warnings = [line for line in lines if "getUpdates" in line]
    assert len(warnings) >= 2, log[-3000:]
    assert all(" WARNING bot.tg.polling: Bot API getUpdates failed (NetworkError" in line for line in warnings)
    assert "retrying in 0.5 s" in warnings[0] and "retrying in 1.0 s" in warnings[1]
    assert "Traceback" not in log and "update None failed" not in log and " ERROR " not in log


def test_json_lines_carry_a_redacted_traceback(capsys):
    logs.configure("DEBUG", "json", secrets=[TOKEN])
    try:
        text = f"hello {ZELDA['first_name']}"
        try:
            raise ValueError(f"could not send {text!r} to {TOKEN}")  # as NetworkError repeats the request
        except ValueError:
            logging.getLogger("telegram.ext.Application").exception("Processing update %s", {"text": text})
    finally:
        logs.configure("WARNING", "plain")
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry["message"] == "Processing update <dict, 1 items>"
    assert entry["error"].startswith("Traceback") and entry["error"].endswith("ValueError (message withheld)")
    assert "Zelda" not in json.dumps(entry) and TOKEN not in json.dumps(entry)
