"""`rls-bot run` as real processes against the fake Bot API: updates Telegram was told about
survive SIGKILL, updates arriving after SIGTERM are refused so Telegram sends them again, two
processes on one PostgreSQL keep a chat's order, and one unreadable update cannot deafen polling."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from bot.devtools.fake_bot_api import ANSWERS, FakeBotApi
from bot.web import SECRET_HEADER

from .conftest import ROOT, reset_postgres
from .test_update_order import button
from .test_webhook import SECRET, update

pytestmark = pytest.mark.usefixtures("models_cached")  # processes load, never train, the models

LEASE_PASSED = "60"  # seconds added to a restarted bot's clock: its predecessor's leases are over


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_bot(
    bot_api: FakeBotApi, log: Path, *, port: int | None = None, **env: str
) -> asyncio.subprocess.Process:
    """`python -m bot run`: in webhook mode when a port is given, else long polling."""
    settings = {"BOT_TOKEN": bot_api.token, "TELEGRAM_API_URL": bot_api.base_url, **env}
    if port is not None:
        settings |= {
            "WEBHOOK_URL": "https://bot.example.org/hook",
            "WEBHOOK_SECRET": SECRET,
            "LISTEN_HOST": "127.0.0.1",
            "PORT": str(port),
        }
    with log.open("ab") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env={**os.environ, **settings}, cwd=ROOT, stderr=stderr
        )


async def listening(port: int, process: asyncio.subprocess.Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline and process.returncode is None:
            try:
                await client.get(f"http://127.0.0.1:{port}/healthz")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)  # the process is still starting
    raise AssertionError(f"nothing listening on {port}")


async def post(client: httpx.AsyncClient, port: int, body: dict) -> int:
    response = await client.post(f"http://127.0.0.1:{port}/hook", json=body, headers={SECRET_HEADER: SECRET})
    return response.status_code


async def stop(process: asyncio.subprocess.Process, log: Path) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0, log.read_text()[-3000:]


async def inbox_empty(database: Path, timeout: float = 30) -> None:
    """Until every update has been handled and removed: nothing more can be answered after this."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with closing(sqlite3.connect(database)) as connection:
            if connection.execute("SELECT count(*) FROM inbox").fetchone() == (0,):
                return
        await asyncio.sleep(0.05)  # polling the bot's state, which no event announces
    raise AssertionError("updates are still waiting in the inbox")


async def test_sigkill_after_acknowledged_updates_answers_all_after_restart_none_twice(
    bot_api: FakeBotApi, tmp_path: Path
):
    port, log, chats = free_port(), tmp_path / "bot.log", range(1000, 1040)
    first = await start_bot(bot_api, log, port=port, DATA_DIR=str(tmp_path))
    try:
        await bot_api.wait_for("setWebhook", timeout=60)
        await listening(port, first)
        bot_api.latency = 5.0  # the bot's answers are still on their way when it dies
        async with httpx.AsyncClient() as client:
            for n, chat in enumerate(chats):
                assert await post(client, port, update("what foods have magnesium", 100 + n, chat)) == 200
            for n, chat in list(enumerate(chats))[::8]:  # Telegram resends a few it did not hear 200 for
                assert await post(client, port, update("what foods have magnesium", 100 + n, chat)) == 200
        assert bot_api.sent() == []
    finally:
        first.kill()  # SIGKILL, with every update acknowledged and none answered
        await first.wait()
    await bot_api.wait_until(lambda: bot_api.arrived == len(bot_api.calls) + bot_api.dropped, timeout=30)
    bot_api.latency = 0.0

    second = await start_bot(bot_api, log, port=port, DATA_DIR=str(tmp_path), CLOCK_OFFSET_SECONDS=LEASE_PASSED)
    try:
        await bot_api.wait_for(count=len(chats), timeout=60)
        await inbox_empty(tmp_path / "rls-bot.db")
    finally:
        await stop(second, log)
    assert bot_api.delivered == dict.fromkeys(chats, 1)
    assert all("Foods with magnesium" in m["text"] for m in bot_api.sent())


async def test_sigterm_refuses_late_webhook_requests_with_503_and_a_resend_is_answered(
    bot_api: FakeBotApi, tmp_path: Path
):
    port, log = free_port(), tmp_path / "bot.log"
    first = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
        env={
            **os.environ,
            "BOT_TOKEN": bot_api.token,
            "TELEGRAM_API_URL": bot_api.base_url,
            "DATA_DIR": str(tmp_path),
            "WEBHOOK_URL": "https://bot.example.org/hook",
            "WEBHOOK_SECRET": SECRET,
            "LISTEN_HOST": "127.0.0.1",
            "PORT": str(port),
        },
    )
    late = [update("is 400 mg too much", 201 + n, 501 + n) for n in range(6)]
    try:
        await bot_api.wait_for("setWebhook", timeout=60)
        await listening(port, first)
        bot_api.latency = 1.0  # the first answer is still in flight when SIGTERM comes
        async with httpx.AsyncClient() as proxy:  # one keep-alive connection, like a reverse proxy's
            assert await post(proxy, port, update("what foods have magnesium", 200, 500)) == 200
            await bot_api.wait_until(lambda: any(c.params.get("chat_id") == 500 for c in bot_api.started))

            body = json.dumps(late[0]).encode()  # a request whose body is still arriving at SIGTERM
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            head = (
                f"POST /hook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n{SECRET_HEADER}: {SECRET}\r\n"
            )
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body[:10])
            await writer.drain()
            first.send_signal(signal.SIGTERM)
            while b"stopping" not in (line := await asyncio.wait_for(first.stderr.readline(), 30)):
                assert line, "the bot exited without stopping gracefully"
            writer.write(body[10:])
            await writer.drain()
            slow = await asyncio.wait_for(reader.readline(), 10)
            writer.close()

            statuses = []
            for body in late[1:]:  # the proxy keeps forwarding updates on its open connection
                try:
                    statuses.append(await post(proxy, port, body))
                except httpx.TransportError:
                    statuses.append(None)  # or finds it closed: Telegram retries either way
        rest = await first.stderr.read()
        await asyncio.wait_for(first.wait(), 30)
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    assert first.returncode == 0, rest.decode()[-3000:]
    assert slow.startswith(b"HTTP/1.1 503")
    assert 200 not in statuses  # nothing acknowledged that this process would not handle
    assert [m["chat_id"] for m in bot_api.sent()] == [500]  # the one in flight was answered before exiting

    bot_api.latency = 0.0
    second = await start_bot(bot_api, log, port=port, DATA_DIR=str(tmp_path))
    try:
        await bot_api.wait_for("setWebhook", count=2, timeout=60)
        await listening(port, second)
        async with httpx.AsyncClient() as telegram:  # Telegram sends again what got no 200
            assert [await post(telegram, port, body) for body in late] == [200] * len(late)
        await bot_api.wait_for(count=1 + len(late), timeout=30)
        await inbox_empty(tmp_path / "rls-bot.db")
    finally:
        await stop(second, log)
    assert bot_api.delivered == dict.fromkeys([500, *range(501, 507)], 1)


async def test_two_processes_on_one_postgresql_take_a_chats_updates_in_order(bot_api: FakeBotApi, tmp_path: Path):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests run in .ci/run)")
    await reset_postgres(url)
    ports, log = (free_port(), free_port()), tmp_path / "bots.log"
    processes = []
    try:
        for port in ports:  # one after the other: the first one creates the tables
            processes.append(await start_bot(bot_api, log, port=port, DATABASE_URL=url))
            await listening(port, processes[-1])
        a, b = ports
        bot_api.latency = 0.5
        async with httpx.AsyncClient() as balancer:  # a load balancer spreading one chat over both
            before = len(bot_api.started)
            assert await post(balancer, a, button("t:doses", 301, 600)) == 200  # the slow kind, on A
            await bot_api.wait_until(lambda: len(bot_api.started) > before)
            assert await post(balancer, b, update("what foods have magnesium", 302, 600)) == 200  # B meanwhile
            assert await post(balancer, a, button("t:symptoms", 303, 600)) == 200
            assert await post(balancer, b, update("does coffee make rls worse", 304, 600)) == 200
            burst = await bot_api.wait_for(ANSWERS, count=4, timeout=30)  # a pressed button edits its message
            for n, port in enumerate((b, a)):  # then at a human pace, each message to the other process
                await handled_by(balancer, ports, total=4 + n)  # once the last is done, not just answered
                assert await post(balancer, port, update("my chest hurts badly", 305 + n, 600)) == 200
                await bot_api.wait_for(ANSWERS, count=5 + n, timeout=30)
            handled = await handled_by(balancer, ports, total=6)
    finally:
        for process in processes:
            await stop(process, log)
    assert [m["text"].split("\n")[0] for m in burst] == [
        "<b>How much magnesium</b>",
        "<b>Foods with magnesium</b>",
        "<b>How RLS feels</b>",
        "<b>Caffeine, alcohol, smoking</b>",
    ]
    assert sum(handled) == 6 and min(handled) >= 1  # both processes did some of the chat's work


async def handled_by(client: httpx.AsyncClient, ports: tuple[int, ...], total: int) -> list[int]:
    """rls_inbox_handled_total of each process, once they add up to `total` (a reply is sent a
    moment before its update is removed from the inbox and counted)."""
    deadline = time.monotonic() + 10
    while True:
        counts = []
        for port in ports:
            scraped = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            [line] = [line for line in scraped.splitlines() if line.startswith("rls_inbox_handled_total ")]
            counts.append(int(float(line.split()[1])))
        if sum(counts) >= total or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.05)  # polling the processes' counters, which no event announces


async def test_an_update_ptb_cannot_read_does_not_deafen_polling_and_its_payload_is_never_logged(
    bot_api: FakeBotApi, tmp_path: Path
):
    health, log = free_port(), tmp_path / "bot.log"
    process = await start_bot(bot_api, log, DATA_DIR=str(tmp_path), LOG_LEVEL="DEBUG", HEALTH_PORT=str(health))
    try:
        await bot_api.wait_for("deleteWebhook", timeout=60)
        chat = {"id": 42, "type": "private", "first_name": "Zebulon"}
        unreadable = bot_api.message("my secret symptom", chat=chat, user={"id": 42, "first_name": "Zebulon"})
        await bot_api.push({"message": unreadable})  # "from" lacks is_bot, which PTB requires
        await bot_api.push_text("what foods have magnesium")
        await bot_api.push_text("is 400 mg too much", chat=bot_api.private_chat(43), user=bot_api.user(43))
        answers = await bot_api.wait_for(count=2, timeout=30)
        await listening(health, process)
        async with httpx.AsyncClient() as client:
            scraped = (await client.get(f"http://127.0.0.1:{health}/metrics")).text
    finally:
        await stop(process, log)
    assert sorted(m["chat_id"] for m in answers) == [42, 43]
    assert 'rls_updates_unparsable_total{source="polling"} 1.0' in scraped
    logged = log.read_text()
    assert "skipped update 1: python-telegram-bot cannot read it" in logged
    for private in ("Zebulon", "secret symptom", "what foods", "400 mg", bot_api.token):
        assert private not in logged, private
