"""/settings as a user meets it, through real HTTP against the fake Bot API: one message whose
buttons edit it in place, over the same reminder and diary services as /remind and /morning."""

from __future__ import annotations

from bot.devtools.fake_bot_api import FakeBotApi
from bot.storage.models import Status

from .test_telegram import buttons

GROUP = {"id": -100, "type": "group", "title": "Friends"}


async def press(bot_api: FakeBotApi, data: str, edits: int) -> dict:
    """Tap a button under message 900 and return the edit it makes (the `edits`-th so far)."""
    await bot_api.push_callback(data, message_id=900)
    return (await bot_api.wait_for("editMessageText", count=edits))[edits - 1]


async def test_settings_is_one_message_every_button_edits_in_place(running_bot, bot_api: FakeBotApi):
    await bot_api.push_text("/settings")
    [main] = await bot_api.wait_for()
    assert "Evening reminders: off" in main["text"] and "Language: English" in main["text"]
    assert [label for label, _ in buttons(main)] == ["Reminders ⏰", "Diary 📓", "Language 🌐", "Privacy 🔒"]

    page = await press(bot_api, "g:p:reminders", 1)
    assert ("21:30", "g:t:1290") in buttons(page) and ("Change zone 🌍", "g:zone") in buttons(page)
    await running_bot.bot_data["diary"].set_weekly(42, 6, "Europe/Berlin")  # a zone known from the diary
    page = await press(bot_api, "g:t:1290", 2)  # reminders on, in the zone already known
    assert "on, 21:30 (Europe/Berlin)" in page["text"]
    assert ("Warm bath: on ✅", "g:m:warmth") in buttons(page)
    page = await press(bot_api, "g:m:warmth", 3)
    assert ("Warm bath: off", "g:m:warmth") in buttons(page)
    page = await press(bot_api, "g:pause", 4)
    assert "paused, 21:30" in page["text"] and ("Resume ▶️", "g:pause") in buttons(page)
    reminder = await running_bot.bot_data["reminders"].get(42)
    assert reminder.status == Status.paused and "warmth" not in reminder.measures

    page = await press(bot_api, "g:p:diary", 5)
    assert ("07:30", "g:am:450") in buttons(page) and ("Sun", "g:w:6") in buttons(page)
    page = await press(bot_api, "g:am:450", 6)
    assert "Morning check-in: on, 07:30 (Europe/Berlin)" in page["text"]
    page = await press(bot_api, "g:woff", 7)
    assert "Weekly summary: off" in page["text"]
    diary = await running_bot.bot_data["diary"].settings(42)
    assert (diary.checkin_minute, diary.weekly_day) == (450, None)

    main = await press(bot_api, "g", 8)
    assert "Morning check-in: on, 07:30" in main["text"] and "Evening reminders: paused" in main["text"]
    assert all(e["message_id"] == 900 for e in bot_api.sent("editMessageText"))
    assert len(bot_api.sent("sendMessage")) == 1  # nothing but the first message was sent
    assert len(bot_api.sent("answerCallbackQuery")) == 8


async def test_privacy_buttons_lead_to_the_mydata_and_forget_flows(running_bot, bot_api):
    page = await press(bot_api, "g:p:privacy", 1)
    assert [data for _, data in buttons(page)] == ["g:data", "g:forget", "g"]
    await bot_api.push_callback("g:data", message_id=900)
    [nothing] = await bot_api.wait_for()
    assert "don't store anything" in nothing["text"]
    await bot_api.push_callback("g:forget", message_id=900)
    confirm = (await bot_api.wait_for(count=2))[1]
    assert [data for _, data in buttons(confirm)] == ["f:yes", "f:no"]  # /forget's own confirmation


async def test_a_time_without_a_known_zone_asks_for_it_like_remind(running_bot, bot_api):
    await bot_api.push_callback("g:t:1290", message_id=900)
    [ask] = await bot_api.wait_for()
    assert "time zone" in ask["text"]
    await bot_api.push_text("Berlin")
    confirmed = (await bot_api.wait_for(count=2))[1]
    assert "21:30" in confirmed["text"] and "Berlin" in confirmed["text"]


async def test_settings_stays_out_of_groups(running_bot, bot_api):
    await bot_api.push_text("/settings", chat=GROUP)
    await bot_api.push_callback("g:p:reminders", chat=GROUP)
    [pointer] = await bot_api.wait_for()
    assert "private chat" in pointer["text"]
    await bot_api.wait_for("answerCallbackQuery")
    assert "private chat" in bot_api.sent("answerCallbackQuery")[0]["text"]
    assert bot_api.sent("editMessageText") == []
