"""Evening reminders as a user meets them, through real HTTP against the fake Bot API."""

from __future__ import annotations

import json
import time

import pytest

from bot.devtools.fake_bot_api import BOT_ID, FakeBotApi
from bot.storage.models import Status

from .conftest import FakeClock, serving
from .test_telegram import buttons


@pytest.fixture
async def running_bot(bot_api: FakeBotApi, content, clock: FakeClock, database_url: str):
    """Here the bot runs on SQLite and on PostgreSQL: these tests all touch storage."""
    async with serving(bot_api, content, clock, database_url) as application:
        yield application


def reply_keyboard(params: dict) -> dict:
    markup = params.get("reply_markup")
    return json.loads(markup) if isinstance(markup, str) else (markup or {})


async def tick(application) -> None:
    await application.bot_data["dispatcher"].tick()


async def settings_of(application, chat_id: int = 42):
    return await application.bot_data["reminders"].get(chat_id)


async def test_guided_flow_with_buttons_and_a_typed_city(running_bot, bot_api: FakeBotApi, clock: FakeClock):
    await bot_api.push_text("/remind")
    [ask] = await bot_api.wait_for()
    assert ("21:30", "r:t:1290") in buttons(ask)
    await bot_api.push_callback("r:t:1290")
    ask_zone = (await bot_api.wait_for(count=2))[1]
    keyboard = reply_keyboard(ask_zone)
    assert keyboard["keyboard"][0][0]["request_location"] is True
    await bot_api.push_text("Berln")  # a typo
    confirmed = (await bot_api.wait_for(count=3))[2]
    assert "21:30" in confirmed["text"] and "Berlin" in confirmed["text"]
    assert "today at 21:30" in confirmed["text"]  # 18:00 UTC is 19:00 in Berlin
    assert reply_keyboard(confirmed) == {"remove_keyboard": True}
    settings = await settings_of(running_bot)
    assert (settings.minute, settings.zone, settings.status) == (1290, "Europe/Berlin", Status.active)


async def test_one_message_setup_then_exactly_one_tip_with_its_buttons(running_bot, bot_api, clock: FakeClock):
    await bot_api.push_text("/remind 20:00 UTC")
    [confirmed] = await bot_api.wait_for()
    assert "20:00" in confirmed["text"] and "today at 20:00" in confirmed["text"]
    await tick(running_bot)
    clock.advance(hours=2)  # 20:00 UTC
    await tick(running_bot)
    await tick(running_bot)
    replies = await bot_api.wait_for(count=2)
    assert len(replies) == 2
    tip = replies[1]
    assert tip["text"].startswith("🌙")
    labels = [label for label, _ in buttons(tip)]
    assert labels == ["Done ✅", "Snooze 30 min ⏰", "Skip tonight 🌙", "Stop reminders 🛑"]  # words first


async def test_snooze_done_and_skip_buttons(running_bot, bot_api, clock):
    await bot_api.push_text("/remind 20:00 UTC")
    await bot_api.wait_for()
    clock.advance(hours=2)
    await tick(running_bot)
    tip = (await bot_api.wait_for(count=2))[1]
    actions = dict(buttons(tip))
    await bot_api.push_callback(actions["Snooze 30 min ⏰"])
    snoozed = (await bot_api.wait_for(count=3))[2]
    assert "20:30" in snoozed["text"]
    clock.advance(minutes=31)
    await tick(running_bot)
    again = (await bot_api.wait_for(count=4))[3]
    assert again["text"] == tip["text"]  # the same tip, once more
    await bot_api.push_callback(dict(buttons(again))["Done ✅"])
    assert "Well done" in (await bot_api.wait_for(count=5))[4]["text"]
    await bot_api.push_callback(actions["Skip tonight 🌙"])
    assert "nothing more tonight" in (await bot_api.wait_for(count=6))[5]["text"]


async def test_stop_command_and_free_text_stop_survive_the_next_evening(running_bot, bot_api, clock):
    await bot_api.push_text("/remind 20:00 UTC")
    await bot_api.wait_for()
    await bot_api.push_text("no more reminders please")
    stopped = (await bot_api.wait_for(count=2))[1]
    assert "stopped" in stopped["text"].lower()
    clock.advance(days=1)
    await tick(running_bot)
    await bot_api.push_text("/stop")
    replies = await bot_api.wait_for(count=3)
    assert "stopped" in replies[2]["text"].lower()
    assert all(not r["text"].startswith("🌙") for r in replies)


async def test_free_text_changes_the_time(running_bot, bot_api, clock):
    await bot_api.push_text("/remind 21:00 Europe/Berlin")
    await bot_api.wait_for()
    await bot_api.push_text("nudge me at 10pm instead")
    changed = (await bot_api.wait_for(count=2))[1]
    assert "22:00" in changed["text"] and "Europe/Berlin" in changed["text"]
    assert (await settings_of(running_bot)).minute == 22 * 60


async def test_shared_location_sets_the_zone(running_bot, bot_api, clock):
    await bot_api.push_text("/remind")
    await bot_api.wait_for()
    await bot_api.push_text("9:30 pm")
    await bot_api.wait_for(count=2)
    await bot_api.push({"message": bot_api.message(location={"latitude": 40.71, "longitude": -74.0})})
    confirmed = (await bot_api.wait_for(count=3))[2]
    assert "21:30" in confirmed["text"]
    assert (await settings_of(running_bot)).zone == "America/New_York"


async def test_unknown_place_is_asked_again_and_a_question_mid_flow_is_answered(running_bot, bot_api, clock):
    await bot_api.push_text("/remind 21:30")
    await bot_api.wait_for()
    await bot_api.push_text("xyzzy plugh")
    again = (await bot_api.wait_for(count=2))[1]
    assert "couldn't find that place" in again["text"]
    await bot_api.push_text("what foods have magnesium")
    answer = (await bot_api.wait_for(count=3))[2]
    assert "Pumpkin seeds" in answer["text"]
    assert await settings_of(running_bot) is None


async def test_danger_mid_flow_gets_urgent_care(running_bot, bot_api, clock):
    await bot_api.push_text("/remind")
    await bot_api.wait_for()
    await bot_api.push_text("i can't breathe")
    urgent = (await bot_api.wait_for(count=2))[1]
    assert "emergency number" in urgent["text"]


async def test_blocked_bot_unsubscribes_on_send_and_on_chat_member_update(running_bot, bot_api, clock):
    await bot_api.push_text("/remind 20:00 UTC")
    await bot_api.push_text("/remind 20:00 UTC", chat=bot_api.private_chat(43), user=bot_api.user(43))
    await bot_api.wait_for(count=2)
    bot_api.blocked.add(42)
    clock.advance(hours=2)
    await tick(running_bot)
    first = await settings_of(running_bot, 42)
    assert (first.status, first.stop_reason) == (Status.stopped, "blocked")
    bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "RLS"}
    await bot_api.push(
        {
            "my_chat_member": {
                "chat": bot_api.private_chat(43),
                "from": bot_api.user(43),
                "date": int(time.time()),
                "old_chat_member": {"status": "member", "user": bot_user},
                "new_chat_member": {"status": "kicked", "user": bot_user, "until_date": 0},
            }
        }
    )
    await bot_api.push_text("/privacy", chat=bot_api.private_chat(43), user=bot_api.user(43))
    for _ in range(50):  # a chat's updates are handled in order: /privacy comes after the block update
        if any("Privacy" in m["text"] for m in bot_api.sent()):
            break
        await bot_api.wait_for(count=len(bot_api.sent()) + 1)
    second = await settings_of(running_bot, 43)
    assert (second.status, second.stop_reason) == (Status.stopped, "blocked")


async def test_settings_pause_resume_and_choose_tips(running_bot, bot_api, clock):
    await bot_api.push_text("/remind 21:00 UTC")
    await bot_api.wait_for()
    await bot_api.push_text("/reminders")
    shown = (await bot_api.wait_for(count=2))[1]
    assert "Your evening reminders" in shown["text"] and "on ✅" in shown["text"]
    await bot_api.push_callback("r:pause")
    assert "paused" in (await bot_api.wait_for(count=3))[2]["text"]
    await bot_api.push_callback("r:resume")
    assert "on ✅" in (await bot_api.wait_for(count=4))[3]["text"]
    await bot_api.push_callback("r:tips")
    choose = (await bot_api.wait_for(count=5))[4]
    assert ("Caffeine: on ✅", "r:m:caffeine") in buttons(choose)
    await bot_api.push_callback("r:m:caffeine")
    [edit] = await bot_api.wait_for("editMessageReplyMarkup")
    assert ("Caffeine: off", "r:m:caffeine") in buttons(edit)
    assert "caffeine" not in (await settings_of(running_bot)).measures


async def test_stale_or_forged_reminder_buttons_are_answered_politely(running_bot, bot_api, clock):
    for data in ("r:z:999999", "r:d:abc", "r:nonsense", "r:t:99999"):
        await bot_api.push_callback(data)
    replies = await bot_api.wait_for(count=4)
    assert len(bot_api.sent("answerCallbackQuery")) == 4
    assert all(r["text"] for r in replies)


async def test_reminders_only_in_private_chats(running_bot, bot_api, clock):
    await bot_api.push_text("/remind 21:00 UTC", chat={"id": -5, "type": "group", "title": "g"})
    [reply] = await bot_api.wait_for()
    assert "private chat" in reply["text"]


async def test_forget_asks_first_then_deletes_everything(running_bot, bot_api, clock):
    await bot_api.push_text("/remind 20:00 UTC")
    await bot_api.wait_for()
    clock.advance(hours=2)
    await tick(running_bot)
    await bot_api.push_text("/forget")
    confirm = (await bot_api.wait_for(count=3))[2]
    assert ("Delete everything 🗑", "f:yes") in buttons(confirm)
    assert await settings_of(running_bot) is not None  # nothing deleted before the tap
    await bot_api.push_callback("f:yes")
    done = (await bot_api.wait_for(count=4))[3]
    assert "nothing about you is stored" in done["text"]
    assert await settings_of(running_bot) is None
    assert await running_bot.bot_data["reminders"].deliveries(42) == []
