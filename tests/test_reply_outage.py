"""A question acknowledged while the Bot API cannot be reached is answered once it is back: the
update goes back to the inbox instead of being deleted unanswered (found by benchmarks/chaos.py,
where every question acknowledged during an outage of tens of seconds went unanswered)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy import select

from bot.devtools.fake_bot_api import FakeBotApi
from bot.storage.models import InboxUpdate
from bot.tg import app, pipeline
from bot.web import SECRET_HEADER

from .test_webhook import SECRET, update, webhook_serving


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait for the bot to reach a state (not for time to pass: the clock is the test's)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "the bot never reached the expected state"
        await asyncio.sleep(0.02)  # looking again at the bot's state


async def test_questions_acknowledged_during_an_outage_are_answered_in_order_once_it_ends(
    bot_api: FakeBotApi, content, tmp_path, clock
):
    async with webhook_serving(bot_api, content, tmp_path, clock) as (base, application):
        inbox = application.bot_data["inbox"]

        async def deferred() -> bool:
            """The first question was tried and put back for later; the second waits behind it."""
            async with inbox.sessions() as session:
                query = select(InboxUpdate.update_id, InboxUpdate.claimed_by, InboxUpdate.lease_until)
                rows = {row.update_id: row for row in await session.execute(query)}
            if set(rows) != {1, 2}:
                return False
            first, second = rows[1], rows[2]
            put_back = first.claimed_by is None and first.lease_until is not None and first.lease_until > clock()
            return put_back and second.lease_until is None

        await bot_api.outage()  # connections refused: no answer can reach Telegram
        async with httpx.AsyncClient() as client:
            for n, text in enumerate(["what foods have magnesium", "does coffee make rls worse"], start=1):
                response = await client.post(f"{base}/hook/abc", json=update(text, n), headers={SECRET_HEADER: SECRET})
                assert response.status_code == 200  # acknowledged: Telegram will not send it again
        await until(deferred)
        bot_api.end_outage()
        assert bot_api.sent() == []  # nothing retried before its time, and no "sorry" either

        clock.advance(seconds=60)
        application.bot_data["pipeline"].wake()
        replies = await bot_api.wait_for(count=2)
        await until(lambda: inbox_empty(inbox))

    assert [r["text"].split("\n")[0] for r in replies] == [
        "<b>Foods with magnesium</b>",
        "<b>Caffeine, alcohol, smoking</b>",
    ]
    assert len(bot_api.sent()) == 2  # each answered once


async def inbox_empty(inbox) -> bool:
    return await inbox.waiting() == 0


async def test_an_update_cut_off_by_sigterm_after_its_answer_went_out_is_not_handled_again(
    bot_api: FakeBotApi, content, tmp_path, clock, monkeypatch
):
    """SIGTERM gives work in flight SHUTDOWN_SECONDS; an update still running then (its answer
    accepted by Telegram, the reply late) was handed to the next process and answered twice."""
    monkeypatch.setattr(app, "SHUTDOWN_SECONDS", 0.2)  # instead of waiting out 10 s
    async with webhook_serving(bot_api, content, tmp_path, clock) as (base, application):
        inbox = application.bot_data["inbox"]
        bot_api.slow_answers = 5.0  # the message is accepted; the answer to the bot comes late
        async with httpx.AsyncClient() as client:
            body = update("what foods have magnesium", 1)
            response = await client.post(f"{base}/hook/abc", json=body, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
        await bot_api.wait_for(count=1)  # the answer reached Telegram; the bot still waits for the reply
    # stopped (SIGTERM's path): the update must not be left for the next process to answer again
    assert await inbox.waiting() == 0
    assert len(bot_api.sent()) == 1


async def test_a_reply_whose_connection_an_outage_drops_unanswered_is_sent_again_once_it_ends(
    bot_api: FakeBotApi, content, tmp_path, clock
):
    """An outage that begins while the answer is on its way drops the connection before Telegram
    looked at it (httpx: ReadError / RemoteProtocolError, not a timeout): the update was deleted
    unanswered. It is now tried again, like a refused connection."""
    async with webhook_serving(bot_api, content, tmp_path, clock) as (base, application):
        inbox = application.bot_data["inbox"]
        bot_api.latency = 5.0  # the fake holds the request before looking at it...
        async with httpx.AsyncClient() as client:
            body = update("what foods have magnesium", 1)
            response = await client.post(f"{base}/hook/abc", json=body, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
        await bot_api.wait_until(lambda: any(c.method == "sendMessage" for c in bot_api.started))
        await bot_api.outage()  # ...and the outage drops it unprocessed
        await until(lambda: put_back(inbox, clock))
        bot_api.latency = 0.0
        bot_api.end_outage()
        assert bot_api.sent() == []

        clock.advance(seconds=60)
        application.bot_data["pipeline"].wake()
        [reply] = await bot_api.wait_for(count=1)
        await until(lambda: inbox_empty(inbox))
    assert reply["text"].startswith("<b>Foods with magnesium</b>")
    assert len(bot_api.sent()) == 1


async def put_back(inbox, clock) -> bool:
    async with inbox.sessions() as session:
        rows = (await session.execute(select(InboxUpdate.claimed_by, InboxUpdate.lease_until))).all()
    if len(rows) != 1:
        return False
    [(owner, lease_until)] = rows
    return owner is None and lease_until is not None and lease_until > clock()


async def test_a_slow_inbox_write_is_waited_for_in_webhook_mode_not_refused(
    bot_api: FakeBotApi, content, tmp_path, clock, monkeypatch
):
    """The webhook gave the inbox write 1.5 s, then cancelled it and answered 503; under load the
    cancelled write had committed anyway (benchmarks/chaos.py), so the update was answered, and
    answered again when Telegram sent it once more. The webhook now waits for the write."""
    monkeypatch.setattr(pipeline, "INBOX_WRITE_SECONDS", 0.0)  # every write is "slow" for the budget
    async with webhook_serving(bot_api, content, tmp_path, clock) as (base, _):
        async with httpx.AsyncClient() as client:
            body = update("what foods have magnesium", 1)
            response = await client.post(f"{base}/hook/abc", json=body, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200  # stored, so acknowledged: Telegram will not resend it
        [reply] = await bot_api.wait_for(count=1)
    assert reply["text"].startswith("<b>Foods with magnesium</b>")
