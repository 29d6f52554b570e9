"""The flood limit shared by every process on one database: a user cannot get twice the limit by
landing on two processes, and a database that does not answer never holds a message up."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from bot.flood import SharedFloodGuard, Verdict
from bot.storage.database import create_engine, session_factory

from .conftest import FakeClock, webhook_serving


async def test_two_processes_share_one_limit_one_warning_and_one_pause(database_url, sessions, clock: FakeClock):
    other = create_engine(database_url)  # the second process has its own engine
    # A generous timeout: on a loaded CI machine one SQLite upsert took over the 0.5 s default, the
    # guard fell back to counting alone, and the test measured the fallback instead of the sharing.
    guards = [
        SharedFloodGuard(sessions, limit=20, window=10, pause=30, clock=clock, timeout=10.0),
        SharedFloodGuard(session_factory(other), limit=20, window=10, pause=30, clock=clock, timeout=10.0),
    ]
    try:
        verdicts = []
        for i in range(25):
            verdicts.append(await guards[i % 2].verdict(42))
            clock.advance(seconds=0.1)
        assert verdicts[:20] == [Verdict.allow] * 20
        assert verdicts[20] is Verdict.warn and set(verdicts[21:]) == {Verdict.ignore}
        assert await guards[1].verdict(43) is Verdict.allow  # others are unaffected
        clock.advance(seconds=29)
        assert await guards[0].verdict(42) is Verdict.ignore  # the pause holds on both
        clock.advance(seconds=2)
        assert await guards[1].verdict(42) is Verdict.allow
    finally:
        await other.dispose()


async def test_a_new_window_starts_the_count_again_and_idle_users_are_purged(sessions, clock: FakeClock):
    clock.now = datetime.fromtimestamp(1_800_000_000, clock.now.tzinfo)  # the start of a window
    guard = SharedFloodGuard(sessions, limit=3, window=10, pause=30, clock=clock, timeout=10.0)
    assert [await guard.verdict(42) for _ in range(3)] == [Verdict.allow] * 3
    clock.advance(seconds=10)
    assert [await guard.verdict(42) for _ in range(3)] == [Verdict.allow] * 3
    assert await guard.verdict(42) is Verdict.warn
    clock.advance(seconds=10)
    assert await guard.purge() == 0  # still paused: kept
    clock.advance(seconds=25)
    assert await guard.purge() == 1
    assert await guard.verdict(42) is Verdict.allow


async def test_an_unreachable_database_falls_back_to_counting_in_this_process(clock: FakeClock):
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    guard = SharedFloodGuard(session_factory(engine), limit=5, window=10, clock=clock, timeout=0.5)
    try:
        started = time.monotonic()
        verdicts = [await guard.verdict(42) for _ in range(7)]
        assert time.monotonic() - started < 7 * 0.5 + 1  # never more than the timeout per message
        assert verdicts == [Verdict.allow] * 5 + [Verdict.warn, Verdict.ignore]
    finally:
        await engine.dispose()


async def test_a_flooder_alternating_between_two_webhook_processes_gets_one_slow_down(
    bot_api, content, clock, database_url
):
    if database_url.startswith("sqlite"):
        pytest.skip("several processes share a PostgreSQL database, not an SQLite file")
    async with (
        webhook_serving(bot_api, content, clock, database_url) as first,
        webhook_serving(bot_api, content, clock, database_url) as second,
    ):
        for i in range(25):
            await (first, second)[i % 2].post({"message": bot_api.message(f"is {i} mg too much")})
        await second.post({"message": bot_api.message("what foods have magnesium", chat=bot_api.private_chat(43))})
        replies = await bot_api.wait_for(count=22, timeout=30)
        await first.post({"message": bot_api.message("/help", chat=bot_api.private_chat(44))})
        await bot_api.wait_for(count=23)
    to_42 = [r for r in bot_api.sent() if r["chat_id"] == 42]
    assert len(to_42) == 21 and sum("breather" in r["text"] for r in to_42) == 1
    assert any(r["chat_id"] == 43 and "Pumpkin seeds" in r["text"] for r in replies)
