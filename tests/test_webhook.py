"""Webhook mode through real HTTP: Telegram's secret is checked before anything is processed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.config import Settings
from bot.devtools.fake_bot_api import FakeBotApi
from bot.tg.app import build_application, serve_webhook
from bot.web import MAX_UPDATE_BYTES, SECRET_HEADER

from .conftest import CONTENT_DIR

SECRET = "s3cret-Token_for-tests"


@pytest.fixture
async def webhook_bot(bot_api: FakeBotApi, content, tmp_path, clock) -> AsyncIterator[tuple[str, object]]:
    settings = Settings(
        bot_token=bot_api.token,
        telegram_api_url=bot_api.base_url,
        content_dir=CONTENT_DIR,
        data_dir=tmp_path,
        dispatch_interval_seconds=0,
        webhook_url="https://bot.example.org/hook/abc",
        webhook_secret=SECRET,
        listen_host="127.0.0.1",
        port=0,
    )
    application = build_application(settings, content, clock=clock)
    stop, listening = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve_webhook(application, settings, stop, listening))
    await asyncio.wait_for(listening.wait(), 30)
    yield f"http://127.0.0.1:{application.bot_data['web_port']}", application
    stop.set()
    await asyncio.wait_for(task, 30)


def update(text: str, update_id: int = 1) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 10,
            "date": 1,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
            "text": text,
        },
    }


async def test_webhook_is_registered_with_the_secret_and_keeps_pending_updates(webhook_bot, bot_api):
    [call] = bot_api.sent("setWebhook")
    assert call["url"] == "https://bot.example.org/hook/abc"
    assert call["secret_token"] == SECRET
    assert call.get("drop_pending_updates") in (None, False)


async def test_right_secret_is_answered_wrong_or_missing_is_refused(webhook_bot, bot_api):
    base, _ = webhook_bot
    async with httpx.AsyncClient() as client:
        wrong = await client.post(
            f"{base}/hook/abc", json=update("what foods have magnesium"), headers={SECRET_HEADER: "guess"}
        )
        missing = await client.post(f"{base}/hook/abc", json=update("what foods have magnesium"))
        right = await client.post(
            f"{base}/hook/abc", json=update("what foods have magnesium", 2), headers={SECRET_HEADER: SECRET}
        )
    assert (wrong.status_code, missing.status_code, right.status_code) == (403, 403, 200)
    [answer] = await bot_api.wait_for()
    assert "Pumpkin seeds" in answer["text"]  # only the authenticated update was processed


async def test_malformed_and_oversized_bodies_are_refused_and_the_server_stays_up(webhook_bot, bot_api):
    base, _ = webhook_bot
    headers = {SECRET_HEADER: SECRET}
    async with httpx.AsyncClient() as client:
        broken = await client.post(f"{base}/hook/abc", content=b"{not json", headers=headers)
        not_object = await client.post(f"{base}/hook/abc", content=b"[1, 2]", headers=headers)
        huge = await client.post(f"{base}/hook/abc", content=b"x" * (MAX_UPDATE_BYTES + 1), headers=headers)
        alive = await client.get(f"{base}/healthz")
        after = await client.post(f"{base}/hook/abc", json=update("hi", 3), headers=headers)
    assert (broken.status_code, not_object.status_code, huge.status_code) == (400, 400, 413)
    assert alive.status_code == 200 and after.status_code == 200
    await bot_api.wait_for()


async def test_health_readiness_and_metrics_on_the_same_server(webhook_bot, bot_api):
    base, _ = webhook_bot
    async with httpx.AsyncClient() as client:
        await client.post(f"{base}/hook/abc", json=update("my chest hurts badly", 4), headers={SECRET_HEADER: SECRET})
        await bot_api.wait_for()
        health = await client.get(f"{base}/healthz")
        ready = await client.get(f"{base}/readyz")
        scraped = (await client.get(f"{base}/metrics")).text
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    assert 'rls_updates_total{type="message"}' in scraped
    assert 'rls_answers_total{intent="emergency",topic="-"}' in scraped
    assert 'rls_emergency_replies_total{rule="breathing-chest-heart"}' in scraped
    assert "rls_bot_api_request_seconds_bucket" in scraped
    assert "hurts" not in scraped and "badly" not in scraped  # counts, never message text


async def test_webhook_mode_refuses_to_start_without_a_secret(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "BOT_TOKEN": "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "WEBHOOK_URL": "https://x.example/h",
            "DATA_DIR": str(tmp_path),
            "PATH": "",
        },
    )
    assert result.returncode == 2 and "WEBHOOK_SECRET is required" in result.stderr


def test_json_logs_have_no_message_text(capsys):
    import logging

    from bot import logs

    logs.configure("INFO", "json")
    logging.getLogger("bot.test").info("answered %s", "topic")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert json.loads(line)["message"] == "answered topic"
    logs.configure("WARNING", "plain")


async def test_sigterm_in_webhook_mode_finishes_and_exits_zero(bot_api: FakeBotApi, tmp_path):
    import os
    import signal
    import socket
    import sys

    from .conftest import ROOT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "BOT_TOKEN": bot_api.token,
        "TELEGRAM_API_URL": bot_api.base_url,
        "DATA_DIR": str(tmp_path),
        "WEBHOOK_URL": "https://bot.example.org/hook",
        "WEBHOOK_SECRET": SECRET,
        "LISTEN_HOST": "127.0.0.1",
        "PORT": str(port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=ROOT, stderr=asyncio.subprocess.PIPE
    )
    try:
        await bot_api.wait_for("setWebhook", timeout=30)
        async with httpx.AsyncClient() as client:
            for _attempt in range(100):  # the server listens right after setWebhook
                try:
                    await client.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            response = await client.post(
                f"http://127.0.0.1:{port}/hook", json=update("is 400 mg too much", 9), headers={SECRET_HEADER: SECRET}
            )
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)  # right away: the update may still be in flight
        await asyncio.wait_for(process.wait(), 20)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, (await process.stderr.read()).decode()[-2000:]
    [answer] = bot_api.sent()
    assert "350 mg" in answer["text"]  # the in-flight update was answered before exiting
