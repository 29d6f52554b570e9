"""The fake Bot API's injected faults behave like the real failures they stand for."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
import pytest

from bot.devtools.fake_bot_api import FakeBotApi

from .conftest import ROOT


def send(api: FakeBotApi, client: httpx.AsyncClient, chat_id: int = 42, token: str | None = None):
    url = f"{api.base_url}{token or api.token}/sendMessage"
    return client.post(url, json={"chat_id": chat_id, "text": "hi"})


async def test_any_token_is_accepted_unless_one_is_required(bot_api: FakeBotApi):
    async with httpx.AsyncClient() as client:
        assert (await send(bot_api, client, token="1:other")).status_code == 200
        bot_api.require_token = True
        assert (await send(bot_api, client, token="1:other")).status_code == 401
        assert (await send(bot_api, client)).status_code == 200


async def test_latency_delays_every_answer(bot_api: FakeBotApi):
    bot_api.latency = 0.2
    async with httpx.AsyncClient() as client:
        started = time.perf_counter()
        await client.post(f"{bot_api.base_url}{bot_api.token}/getMe")
        assert time.perf_counter() - started >= 0.2


async def test_an_outage_refuses_connections_on_the_same_port_until_it_ends(bot_api: FakeBotApi):
    async with httpx.AsyncClient() as client:
        assert (await send(bot_api, client)).status_code == 200
        await bot_api.outage()
        with pytest.raises(httpx.ConnectError):
            await send(bot_api, client)
        bot_api.end_outage()
        assert (await send(bot_api, client)).status_code == 200
        await bot_api.outage(0)  # a timed outage ends by itself
        await bot_api.wait_until(lambda: not bot_api.down)
        assert (await send(bot_api, client)).status_code == 200
    assert bot_api.delivered == {42: 3}


async def test_a_request_caught_in_flight_by_an_outage_is_never_processed(bot_api: FakeBotApi):
    bot_api.latency = 0.5
    async with httpx.AsyncClient() as client:
        request = asyncio.create_task(send(bot_api, client))
        await bot_api.wait_until(lambda: bot_api.arrived == 1)  # on its way in
        await bot_api.outage()
        with pytest.raises(httpx.TransportError):
            await request
        bot_api.end_outage()
        bot_api.latency = 0
        assert (await send(bot_api, client)).status_code == 200
        await bot_api.wait_until(lambda: bot_api.dropped == 1)
    assert bot_api.delivered == {42: 1}


async def test_slow_answers_time_out_a_client_although_the_message_arrived(bot_api: FakeBotApi):
    bot_api.slow_answers = 0.5
    async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=0.1)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await send(bot_api, client)
    assert bot_api.delivered == {42: 1}


async def test_fail_next_answers_500_then_recovers(bot_api: FakeBotApi):
    bot_api.fail_next["sendMessage"] = 2
    async with httpx.AsyncClient() as client:
        codes = [(await send(bot_api, client)).status_code for _ in range(3)]
    assert codes == [500, 500, 200] and bot_api.server_errors == 2


async def test_flood_for_one_chat_answers_429_to_that_chat_only(bot_api: FakeBotApi):
    bot_api.flood_chat(42, retry_after=5)
    async with httpx.AsyncClient() as client:
        refused = await send(bot_api, client, 42)
        other = await send(bot_api, client, 43)
    assert refused.status_code == 429 and refused.json()["parameters"]["retry_after"] == 5
    assert other.status_code == 200 and bot_api.delivered == {43: 1}


async def test_per_chat_limits_like_telegram(bot_api: FakeBotApi):
    bot_api.per_chat_limits = True
    async with httpx.AsyncClient() as client:
        private = [(await send(bot_api, client, 42)).status_code for _ in range(4)]
        group = [(await send(bot_api, client, -100)).status_code for _ in range(21)]
        other = (await send(bot_api, client, 43)).status_code
    assert private == [200, 200, 200, 429]  # a short burst, then about one a second
    assert group[:20] == [200] * 20 and group[20] == 429  # 20 a minute in a group
    assert other == 200


async def test_the_command_line_server_takes_faults_and_prints_its_address():
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.devtools.fake_bot_api", "--port", "0", "--latency", "0.05", "--token", "1:x"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        assert "only this token" in line and "(token 1:x;" in line
        base = line.split()[4]
        root = base.removesuffix("/bot")
        async with httpx.AsyncClient() as client:
            assert (await client.post(f"{base}2:y/getMe")).status_code == 401
            assert (await client.post(f"{base}1:x/sendMessage", json={"chat_id": 5, "text": "a"})).status_code == 200
            await client.post(f"{root}/faults", json={"fail_next": {"sendMessage": 1}})
            assert (await client.post(f"{base}1:x/sendMessage", json={"chat_id": 5, "text": "a"})).status_code == 500
            stats = (await client.get(f"{root}/stats")).json()
            assert stats["delivered"] == {"5": 1} and stats["http_5xx"] == 1
            await client.post(f"{root}/faults", json={"outage": 30})
            with pytest.raises(httpx.ConnectError):
                await client.get(f"{root}/stats")
    finally:
        server.terminate()
        server.wait(10)
