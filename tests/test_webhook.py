"""Webhook mode through real HTTP: Telegram's secret is checked before anything is processed."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from telegram.ext import Application

from bot import logs
from bot.config import Settings
from bot.devtools.fake_bot_api import FakeBotApi
from bot.metrics import REGISTRY
from bot.tg.app import build_application, serve_webhook
from bot.web import MAX_UPDATE_BYTES, SECRET_HEADER

from .conftest import CONTENT_DIR

pytestmark = pytest.mark.usefixtures("models_cached")  # processes load, never train, the models

SECRET = "s3cret-Token_for-tests"


@asynccontextmanager
async def webhook_serving(
    bot_api: FakeBotApi, content, tmp_path, clock, **overrides: object
) -> AsyncIterator[tuple[str, Application]]:
    """The bot in webhook mode in this process, as `rls-bot run` serves it (serve_webhook)."""
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
        **overrides,
    )
    application = build_application(settings, content, clock=clock)
    stop, listening = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve_webhook(application, settings, stop, listening))
    await asyncio.wait_for(listening.wait(), 30)
    try:
        yield f"http://127.0.0.1:{application.bot_data['web_port']}", application
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def webhook_bot(bot_api: FakeBotApi, content, tmp_path, clock) -> AsyncIterator[tuple[str, Application]]:
    async with webhook_serving(bot_api, content, tmp_path, clock) as served:
        yield served


def update(text: str, update_id: int = 1, chat_id: int = 42) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 10,
            "date": 1,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ann"},
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

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure("INFO", "json")
    logging.getLogger("bot.test").info("answered %s", "topic")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    root.handlers[:], root.level = handlers, level  # not a handler on capsys's stream, closed after this test
    assert json.loads(line)["message"] == "answered topic"


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


# -- hardening: what an attacker or a broken client can cost ---------------------------------


def refused(reason: str) -> float:
    return REGISTRY.get_sample_value("rls_webhook_refused_total", {"reason": reason}) or 0.0


def request_head(secret: str | None = SECRET, **headers: object) -> bytes:
    lines = ["POST /hook/abc HTTP/1.1", "Host: bot.example.org", "Content-Type: application/json"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if secret is not None:
        lines.append(f"{SECRET_HEADER}: {secret}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def connect(application: Application) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", application.bot_data["web_port"])


async def test_the_secret_and_the_size_are_checked_before_any_of_the_body_is_read(webhook_bot):
    _, application = webhook_bot
    nearly_two_mib = 1_900_000  # what 400 clients each held open to take the process to 953 MB
    answers = []
    for secret in ("guess", SECRET):
        reader, writer = await connect(application)
        writer.write(request_head(secret, Content_Length=nearly_two_mib))  # and not a byte of body
        await writer.drain()
        answers.append(await asyncio.wait_for(reader.readline(), 5))  # answered on the headers alone
        writer.close()
    assert answers[0].startswith(b"HTTP/1.1 403") and answers[1].startswith(b"HTTP/1.1 413")


async def test_a_chunked_body_over_the_cap_is_refused_and_never_handled(webhook_bot, bot_api):
    base, application = webhook_bot
    before = refused("too_large")
    big = json.dumps(update("what foods have magnesium " + "x" * 300_000, 50)).encode()  # under the old 2 MiB
    reader, writer = await connect(application)
    status = b""
    with contextlib.suppress(ConnectionError):
        writer.write(request_head(Transfer_Encoding="chunked"))
        for start in range(0, len(big), 32 * 1024):
            piece = big[start : start + 32 * 1024]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert status in (b"", b"HTTP/1.1 413 Request Entity Too Large\r\n")  # 413, or cut off while sending
    assert refused("too_large") == before + 1
    async with httpx.AsyncClient() as client:
        after = await client.post(
            f"{base}/hook/abc", json=update("is 400 mg too much", 51), headers={SECRET_HEADER: SECRET}
        )
    assert after.status_code == 200
    [answer] = await bot_api.wait_for()  # the big one was never handled: the next answer is this one's
    assert "How much magnesium" in answer["text"]


async def test_a_body_that_stops_arriving_is_cut_off_after_the_body_timeout(bot_api, content, tmp_path, clock):
    async with webhook_serving(bot_api, content, tmp_path, clock, webhook_body_timeout_seconds=0.5) as served:
        _, application = served
        before = refused("incomplete")
        reader, writer = await connect(application)
        writer.write(request_head(Content_Length=1000) + b'{"update_id": 60, "message": ')
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # hung up on, nothing answered
        writer.close()
    assert refused("incomplete") == before + 1
    assert bot_api.sent() == []


async def test_connections_beyond_the_cap_are_closed_at_once(bot_api, content, tmp_path, clock):
    async with webhook_serving(bot_api, content, tmp_path, clock, webhook_max_connections=3) as served:
        _, application = served
        before = refused("connections")
        idle = [await connect(application) for _ in range(3)]
        reader, refused_one = await connect(application)  # the kernel accepts it; the bot closes it
        assert await asyncio.wait_for(reader.read(), 5) == b""
        assert refused("connections") == before + 1
        still_served_reader, still_served = idle[0]  # the connections already open keep working
        still_served.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n")
        assert (await asyncio.wait_for(still_served_reader.readline(), 5)).startswith(b"HTTP/1.1 200")
        for _, connection in [*idle, (None, refused_one)]:
            connection.close()


async def test_refusals_are_counted_in_metrics_instead_of_logged(webhook_bot, caplog):
    base, _ = webhook_bot
    before = {reason: refused(reason) for reason in ("forbidden", "malformed", "too_large")}
    with caplog.at_level(logging.INFO):
        async with httpx.AsyncClient() as client:
            for _ in range(3):
                await client.post(f"{base}/hook/abc", json=update("hi"), headers={SECRET_HEADER: "guess"})
                await client.post(f"{base}/hook/abc", content=b"{not json", headers={SECRET_HEADER: SECRET})
                await client.post(
                    f"{base}/hook/abc", content=b"x" * (MAX_UPDATE_BYTES + 1), headers={SECRET_HEADER: SECRET}
                )
            scraped = (await client.get(f"{base}/metrics")).text
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert {reason: refused(reason) - before[reason] for reason in before} == {
        "forbidden": 3,
        "malformed": 3,
        "too_large": 3,
    }
    assert 'rls_webhook_refused_total{reason="forbidden"}' in scraped


async def test_an_update_ptb_cannot_read_is_acknowledged_and_the_next_is_answered(webhook_bot, bot_api):
    base, _ = webhook_bot
    unreadable = update("my secret symptom", 70)
    del unreadable["message"]["from"]["is_bot"]  # a field PTB requires, as a newer Bot API might drop
    before = REGISTRY.get_sample_value("rls_updates_unparsable_total", {"source": "webhook"}) or 0.0
    written = io.StringIO()
    logs.configure("DEBUG", "plain", written)  # the log as `rls-bot run` writes it at DEBUG
    try:
        async with httpx.AsyncClient() as client:
            skipped = await client.post(f"{base}/hook/abc", json=unreadable, headers={SECRET_HEADER: SECRET})
            after = await client.post(
                f"{base}/hook/abc", json=update("is 400 mg too much", 71), headers={SECRET_HEADER: SECRET}
            )
        [answer] = await bot_api.wait_for()
    finally:
        logs.configure("WARNING", "plain")
    assert (skipped.status_code, after.status_code) == (200, 200)  # else Telegram would resend it forever
    assert "How much magnesium" in answer["text"]
    assert REGISTRY.get_sample_value("rls_updates_unparsable_total", {"source": "webhook"}) == before + 1
    assert "DEBUG" in written.getvalue()  # it did log, at every level
    assert "secret symptom" not in written.getvalue() and "Ann" not in written.getvalue()


async def test_an_update_sent_again_while_it_waits_is_answered_once(webhook_bot, bot_api):
    base, _ = webhook_bot
    bot_api.latency = 0.5  # the first copy is still being answered when Telegram resends it
    async with httpx.AsyncClient() as client:
        calls_before = len(bot_api.started)
        first = await client.post(
            f"{base}/hook/abc", json=update("is 400 mg too much", 80), headers={SECRET_HEADER: SECRET}
        )
        await bot_api.wait_until(lambda: len(bot_api.started) > calls_before)
        again = await client.post(
            f"{base}/hook/abc", json=update("is 400 mg too much", 80), headers={SECRET_HEADER: SECRET}
        )
        last = await client.post(
            f"{base}/hook/abc", json=update("what foods have magnesium", 81), headers={SECRET_HEADER: SECRET}
        )
    assert (first.status_code, again.status_code, last.status_code) == (200, 200, 200)
    replies = await bot_api.wait_for(count=2)  # the chat's order: a second copy would come before this
    assert ["How much magnesium" in replies[0]["text"], "Foods with magnesium" in replies[1]["text"]] == [True, True]
