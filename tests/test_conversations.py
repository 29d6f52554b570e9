"""Conversation state in the database (chat_state): what any process, or a restarted one, reads
back; expiry on the injected clock; and the per-chat question context for follow-ups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from bot.conversations import (
    FORGET,
    LAST_QUESTION,
    REMIND,
    ChatStates,
    ForgetRequest,
    RemindDraft,
    RemindStep,
)
from bot.storage.database import create_engine, session_factory
from bot.storage.models import ChatState


async def test_a_step_written_by_one_process_is_read_by_another(database_url, sessions, clock):
    first = ChatStates(sessions, clock)
    other_engine = create_engine(database_url)  # a second process: its own engine and pool
    second = ChatStates(session_factory(other_engine), clock)
    try:
        await first.put(42, REMIND, RemindDraft(step=RemindStep.ask_zone, minute=1290))
        assert await second.get(42, REMIND) == RemindDraft(step=RemindStep.ask_zone, minute=1290)
        await second.put(42, REMIND, RemindDraft(step=RemindStep.ask_time))  # replaces, never conflicts
        assert await first.get(42, REMIND) == RemindDraft(step=RemindStep.ask_time)
        assert await first.get(43, REMIND) is None
    finally:
        await other_engine.dispose()


async def test_state_expires_and_each_write_restarts_the_clock(sessions, clock):
    states = ChatStates(sessions, clock)
    await states.put(42, REMIND, RemindDraft(step=RemindStep.ask_time))
    clock.advance(minutes=14)
    await states.put(42, REMIND, RemindDraft(step=RemindStep.ask_zone, minute=600))
    clock.advance(minutes=14)
    assert (await states.get(42, REMIND)).minute == 600  # 28 minutes after the first write
    clock.advance(minutes=1, seconds=1)
    assert await states.get(42, REMIND) is None


async def test_clear_one_slot_or_everything_of_one_chat(sessions, clock):
    states = ChatStates(sessions, clock)
    for chat in (42, 43):
        await states.put(chat, REMIND, RemindDraft(step=RemindStep.ask_time))
        await states.put(chat, FORGET, ForgetRequest(asked_at=clock()))
        await states.remember_question(chat, "is 400 mg too much", "doses")
    await states.clear(42, REMIND)
    assert await states.get(42, REMIND) is None and await states.get(42, FORGET) is not None
    await states.clear(42)
    assert await states.export(42) == []
    assert [row["key"] for row in await states.export(43)] == ["forget", "last_question", "remind"]


async def test_a_row_that_no_longer_fits_its_model_reads_as_absent(sessions, clock):
    async with sessions.begin() as session:
        await session.execute(
            insert(ChatState).values(
                chat_id=42,
                key="remind",
                value={"step": "ask_colour", "minute": 99999},
                expires_at=clock() + timedelta(hours=1),
                updated_at=clock(),
            )
        )
    assert await ChatStates(sessions, clock).get(42, REMIND) is None


async def test_purge_deletes_only_what_has_expired(sessions, clock):
    states = ChatStates(sessions, clock)
    await states.put(42, FORGET, ForgetRequest(asked_at=clock()))  # 10 minutes
    await states.put(42, REMIND, RemindDraft(step=RemindStep.ask_time))  # 15 minutes
    clock.advance(minutes=12)
    assert await states.purge_expired() == 1
    assert [row["key"] for row in await states.export(42)] == ["remind"]


async def test_last_question_context_round_trips_with_topic_and_time(sessions, clock):
    states = ChatStates(sessions, clock)
    assert await states.last_question(42) is None
    asked = clock()
    await states.remember_question(42, "is 400 mg too much?", "doses")
    clock.advance(minutes=5)
    await states.remember_question(43, "x" * 5000, None)
    last = await states.last_question(42)
    assert (last.text, last.topic, last.asked_at) == ("is 400 mg too much?", "doses", asked)
    assert len((await states.last_question(43)).text) == 4096
    clock.advance(seconds=LAST_QUESTION.ttl.total_seconds())
    assert await states.last_question(42) is None  # kept no longer than its time to live


async def test_a_value_of_the_wrong_kind_is_refused(sessions, clock):
    with pytest.raises(TypeError):
        await ChatStates(sessions, clock).put(42, REMIND, ForgetRequest(asked_at=clock()))
