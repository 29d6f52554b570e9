"""Multi-step conversations over real HTTP, with their state in the database: split across two
bot processes behind one URL, across a restart, and kept out of group chats."""

from __future__ import annotations

import logging

import pytest

from bot.devtools.fake_bot_api import FakeBotApi
from bot.storage.models import Status

from .conftest import FakeClock, serving, webhook_serving
from .test_telegram import buttons

GROUP = {"id": -100, "type": "supergroup", "title": "RLS friends"}


INLINE_TOAST = "Open a private chat with me to use this button."  # content/messages.yaml, notices
PRIVATE_ONLY_TOAST = "This works only in a private chat with me."


def message(bot_api: FakeBotApi, text: str | None = None, **kwargs) -> dict:
    return {"message": bot_api.message(text, **kwargs)}


def press(bot_api: FakeBotApi, data: str | None, **kwargs) -> dict:
    return {"callback_query": bot_api.callback_query(data, **kwargs)}


async def settings_of(application, chat_id: int = 42):
    return await application.bot_data["reminders"].get(chat_id)


async def test_remind_flow_completes_when_each_step_reaches_the_other_process(
    bot_api: FakeBotApi, content, clock: FakeClock, database_url: str
):
    async with (
        webhook_serving(bot_api, content, clock, database_url) as first,
        webhook_serving(bot_api, content, clock, database_url) as second,
    ):
        await first.post(message(bot_api, "/remind"))
        [ask_time] = await bot_api.wait_for()
        assert ("21:30", "r:t:1290") in buttons(ask_time)
        await second.post(press(bot_api, "r:t:1290"))
        ask_zone = (await bot_api.wait_for(count=2))[1]
        assert "time zone" in ask_zone["text"]
        await first.post(message(bot_api, "Berln"))
        confirmed = (await bot_api.wait_for(count=3))[2]
        assert "21:30" in confirmed["text"] and "Berlin" in confirmed["text"]

        chat = bot_api.private_chat(43)  # typed time, then a shared location, the other way round
        await second.post(message(bot_api, "/remind", chat=chat))
        await bot_api.wait_for(count=4)
        await first.post(message(bot_api, "9:30 pm", chat=chat))
        await bot_api.wait_for(count=5)
        await second.post(message(bot_api, chat=chat, location={"latitude": 40.71, "longitude": -74.0}))
        done = (await bot_api.wait_for(count=6))[5]
        assert "21:30" in done["text"]
        for application, chat_id, zone in ((second.application, 42, "Europe/Berlin"), (first.application, 43, None)):
            settings = await settings_of(application, chat_id)
            assert settings.minute == 1290 and settings.status == Status.active
            assert zone is None or settings.zone == zone
        assert (await settings_of(first.application, 43)).zone == "America/New_York"


async def test_a_restart_in_the_middle_of_the_flow_loses_nothing(bot_api, content, clock, database_url):
    async with webhook_serving(bot_api, content, clock, database_url) as before:
        await before.post(message(bot_api, "/remind"))
        await bot_api.wait_for()
        await before.post(press(bot_api, "r:t:1290"))
        await bot_api.wait_for(count=2)
    async with webhook_serving(bot_api, content, clock, database_url) as after:  # a new process
        await after.post(message(bot_api, "Berlin"))
        confirmed = (await bot_api.wait_for(count=3))[2]
        assert "Reminders are on" in confirmed["text"] and "Berlin" in confirmed["text"]
        assert (await settings_of(after.application)).zone == "Europe/Berlin"


async def test_a_flow_left_for_longer_than_its_time_to_live_is_over(bot_api, content, clock, database_url):
    async with serving(bot_api, content, clock, database_url):
        await bot_api.push_text("/remind")
        await bot_api.wait_for()
        clock.advance(minutes=16)
        await bot_api.push_text("21:30")  # no longer an answer: an ordinary message
        reply = (await bot_api.wait_for(count=2))[1]
        assert "time zone" not in reply["text"]


async def test_forget_is_asked_on_one_process_and_confirmed_on_the_other(bot_api, content, clock, database_url):
    async with (
        webhook_serving(bot_api, content, clock, database_url) as first,
        webhook_serving(bot_api, content, clock, database_url) as second,
    ):
        await first.post(message(bot_api, "/remind 21:00 UTC"))
        await bot_api.wait_for()
        await second.post(message(bot_api, "/forget"))
        confirm = (await bot_api.wait_for(count=2))[1]
        assert ("Delete everything 🗑", "f:yes") in buttons(confirm)
        await first.post(press(bot_api, "f:yes"))
        done = (await bot_api.wait_for(count=3))[2]
        assert "nothing about you is stored" in done["text"]
        assert await settings_of(second.application) is None


async def test_delete_button_without_a_fresh_forget_deletes_nothing(bot_api, content, clock, database_url):
    async with serving(bot_api, content, clock, database_url) as application:
        await bot_api.push_text("/remind 21:00 UTC")
        await bot_api.wait_for()
        await bot_api.push_callback("f:yes")  # hand-made, or from a message long ago
        first = (await bot_api.wait_for(count=2))[1]
        await bot_api.push_text("/forget")
        await bot_api.wait_for(count=3)
        clock.advance(minutes=11)
        await bot_api.push_callback("f:yes")
        late = (await bot_api.wait_for(count=4))[3]
        assert "nothing was deleted" in first["text"] and "nothing was deleted" in late["text"]
        assert await settings_of(application) is not None


# -- groups ---------------------------------------------------------------------------------------


async def test_groups_cannot_subscribe_or_forget_and_taps_get_a_toast(bot_api, content, clock, database_url):
    async with serving(bot_api, content, clock, database_url) as application:
        await application.bot_data["reminders"].subscribe(-100, 1260, "UTC")  # as an older version allowed
        member = bot_api.user(77, "Bob")
        for data in ("r:t:1290", "r:time", "r:zone", "r:show", "r:pause", "r:stop", "r:d:1", "f:yes", "f:no", "r:x"):
            await bot_api.push_callback(data, chat=GROUP, user=member)
        await bot_api.push_text("/forget", chat=GROUP, user=member)
        await bot_api.push_text("/remind 21:00 UTC", chat=GROUP, user=member)
        await bot_api.push_text("/stop", chat=GROUP, user=member)
        await bot_api.push_text("/mydata", chat=GROUP, user=member)
        replies = await bot_api.wait_for(count=4)
        toasts = await bot_api.wait_for("answerCallbackQuery", count=10)
        assert [t.get("text") for t in toasts] == [PRIVATE_ONLY_TOAST] * 10
        assert all("private chat" in r["text"] for r in replies)
        assert all(not buttons(r) for r in replies)  # no "Delete everything" in a group
        settings = await settings_of(application, -100)
        assert (settings.minute, settings.status) == (1260, Status.active)  # nothing changed or deleted
        await bot_api.push_text("/help")  # a later private message proves the group ones were all handled
        await bot_api.wait_for(count=5)
        assert len(bot_api.sent()) == 5


async def test_group_chatter_never_enters_a_flow(bot_api, content, clock, database_url):
    async with serving(bot_api, content, clock, database_url):
        member = bot_api.user(77, "Bob")
        await bot_api.push_callback("r:time", chat=GROUP, user=member)
        for chatter in ("see you at 9", "21:30 works for me", "remind me at 9pm to call mum", "Berlin"):
            await bot_api.push_text(chatter, chat=GROUP, user=member)
        await bot_api.push_text("@rls_test_bot remind me at 9pm", chat=GROUP, user=member)
        [reply] = await bot_api.wait_for()
        assert "private chat" in reply["text"]
        await bot_api.push_text("/help")
        await bot_api.wait_for(count=2)
        assert len(bot_api.sent()) == 2  # nothing said to the chatter
        assert not any("couldn't read that" in m["text"] for m in bot_api.sent())


async def test_answer_buttons_still_work_in_groups(bot_api, content, clock, database_url):
    async with serving(bot_api, content, clock, database_url):
        await bot_api.push_callback("t:iron", chat=GROUP, user=bot_api.user(77))
        [answer] = await bot_api.wait_for("editMessageText")  # the group's menu message shows the topic
        assert "ferritin" in answer["text"].lower() and answer["chat_id"] == -100


# -- forged, huge, missing and inline callbacks ---------------------------------------------------


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    caplog.set_level(logging.WARNING)
    return caplog.records


async def test_forged_huge_and_missing_button_data_is_answered_politely(running_bot, bot_api: FakeBotApi, errors):
    forged = [
        "r:d:9223372036854775808",  # 2**63
        "r:z:18446744073709551616",  # 2**64
        "r:k:" + "9" * 60,
        "r:t:" + "1" * 60,
        "r:m:" + "a" * 60,
        "t:" + "x" * 62,
        None,  # no data at all
        "",
    ]
    for data in forged:
        await bot_api.push_callback(data)
    replies = await bot_api.wait_for(count=len(forged))
    answered = await bot_api.wait_for("answerCallbackQuery", count=len(forged))
    assert len(answered) == len(forged)
    assert not any("something went wrong" in r["text"].lower() for r in replies)
    assert [r.levelname for r in errors if r.levelno >= logging.ERROR] == []


async def test_inline_message_buttons_get_a_toast_and_nothing_else(running_bot, bot_api, errors):
    for data in ("f:yes", "r:pause", "r:d:5", "t:iron", "m", None):
        await bot_api.push_callback(data, inline=True)
    toasts = await bot_api.wait_for("answerCallbackQuery", count=6)
    assert [t.get("text") for t in toasts] == [INLINE_TOAST] * 6
    await bot_api.push_text("/help")
    await bot_api.wait_for()
    assert len(bot_api.sent()) == 1
    assert [r.levelname for r in errors if r.levelno >= logging.ERROR] == []
