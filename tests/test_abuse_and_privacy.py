"""Hostile and odd input, flood control, admin counts and the user's own data, over real HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.devtools.fake_bot_api import FakeBotApi
from bot.flood import FloodGuard, Verdict

HOSTILE_TEXT = [
    "",
    " ",
    "\n\n\t",
    "x" * 4096,
    "🦵" * 1000,
    "\u200b\u200c\u200d\u2060",
    "\u202eevil\u202c",
    "مرحبا هل المغنيسيوم آمن",
    "<b>bold</b><script>alert(1)</script>",
    "*bold* _it_ [link](http://x) `code`",
    "'; DROP TABLE subscriptions; --",
    "1' OR '1'='1",
    "&lt;&amp;&gt;&",
    "/" * 50,
    "@rls_test_bot",
    "%s%s%s%n",
    "{{7*7}} ${jndi:ldap://x}",
    "\x00\x01\x02",
    "A" * 10 + "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    "😀😃😄😁😆😅🤣😂",
    "?",
    "!!!!!!!!",
    "...",
]
NON_TEXT = {
    "sticker": {
        "file_id": "s",
        "file_unique_id": "s",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    },
    "photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}],
    "voice": {"file_id": "v", "file_unique_id": "v", "duration": 1},
    "video": {"file_id": "v", "file_unique_id": "v", "width": 1, "height": 1, "duration": 1},
    "video_note": {"file_id": "n", "file_unique_id": "n", "length": 1, "duration": 1},
    "audio": {"file_id": "a", "file_unique_id": "a", "duration": 1},
    "document": {"file_id": "d", "file_unique_id": "d"},
    "animation": {"file_id": "g", "file_unique_id": "g", "width": 1, "height": 1, "duration": 1},
    "location": {"latitude": 1.0, "longitude": 2.0},
    "venue": {"location": {"latitude": 1.0, "longitude": 2.0}, "title": "t", "address": "a"},
    "contact": {"phone_number": "+100", "first_name": "X"},
    "dice": {"emoji": "🎲", "value": 3},
    "poll": {
        "id": "1",
        "question": "q",
        "options": [{"text": "a", "voter_count": 0, "persistent_id": "o1"}],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    },
}


async def test_hostile_and_odd_messages_all_get_a_sensible_reply(running_bot, bot_api: FakeBotApi):
    # one sender per message: this test is not about flooding, nor about pacing one chat
    senders = iter(range(1000, 2000))
    non_text_chats = set()
    for text in HOSTILE_TEXT:
        await bot_api.push_text(text, chat=bot_api.private_chat(next(senders)))
    for kind, body in NON_TEXT.items():
        chat = next(senders)
        non_text_chats.add(chat)
        await bot_api.push({"message": bot_api.message(chat=bot_api.private_chat(chat), **{kind: body})})
    replies = await bot_api.wait_for(count=len(HOSTILE_TEXT) + len(NON_TEXT), timeout=30)
    assert len(replies) == len(HOSTILE_TEXT) + len(NON_TEXT)
    assert not any("something went wrong" in r["text"].lower() for r in replies)
    assert all(0 < len(r["text"]) <= 4096 for r in replies)
    assert all("<script>" not in r["text"] for r in replies)
    non_text = [r for r in replies if int(r["chat_id"]) in non_text_chats]  # chats are answered concurrently
    assert len(non_text) == len(NON_TEXT) and all("only read text" in r["text"] for r in non_text)
    await bot_api.push_text("what foods have magnesium")  # and it still works afterwards
    assert "Pumpkin seeds" in (await bot_api.wait_for(count=len(replies) + 1))[-1]["text"]


def test_flood_guard_warns_once_then_ignores_then_forgives():
    now = [0.0]
    guard = FloodGuard(limit=20, window=10, pause=30, clock=lambda: now[0])
    verdicts = []
    for _ in range(25):
        verdicts.append(guard.check(1))
        now[0] += 0.1
    assert verdicts[:20] == [Verdict.allow] * 20
    assert verdicts[20] is Verdict.warn and set(verdicts[21:]) == {Verdict.ignore}
    assert guard.check(2) is Verdict.allow  # other users are unaffected
    now[0] += 31
    assert guard.check(1) is Verdict.allow


async def test_a_flooding_user_gets_one_slow_down_and_others_are_served(running_bot, bot_api):
    # A lower limit than the default 20 per 10 s: replies to one chat go out at about one a
    # second (Telegram's per-chat limit), and updates are handled one at a time, so the other
    # user waits behind the flooder's replies that the guard lets through.
    running_bot.bot_data["flood"] = FloodGuard(limit=5)
    for i in range(10):
        await bot_api.push_text(f"is {i} mg too much")
    await bot_api.push_text("what foods have magnesium", chat=bot_api.private_chat(43), user=bot_api.user(43))
    replies = await bot_api.wait_for(count=7, timeout=30)
    to_42 = [r for r in replies if r["chat_id"] == 42]
    assert len(to_42) == 6 and sum("breather" in r["text"] for r in to_42) == 1
    assert any(r["chat_id"] == 43 and "Pumpkin seeds" in r["text"] for r in replies)


async def test_stats_for_admins_only_and_counts_only(running_bot, bot_api):
    running_bot.bot_data["admins"] = frozenset({7})
    await bot_api.push_text("/remind 21:00 UTC")
    await bot_api.push_text("what foods have magnesium")
    await bot_api.push_text("/stats")  # user 42 is not an admin
    replies = await bot_api.wait_for(count=3)  # chats are handled concurrently: the admin asks after
    assert "rls-bot stats" not in replies[2]["text"] and "/topics" in replies[2]["text"]
    await bot_api.push_text("/stats", chat=bot_api.private_chat(7), user=bot_api.user(7))
    replies = await bot_api.wait_for(count=4)
    stats = replies[3]["text"]
    assert "Reminder users: 1 (active 1" in stats and "topic 1" in stats
    assert "42" not in stats and "Ann" not in stats


async def test_mydata_sends_everything_stored_as_a_file(running_bot, bot_api, clock):
    await bot_api.push_text("/mydata")
    [nothing] = await bot_api.wait_for()
    assert "don't store anything" in nothing["text"]
    await bot_api.push_text("/remind 20:00 Europe/Berlin")
    await bot_api.wait_for(count=2)
    clock.advance(hours=2)
    await running_bot.bot_data["dispatcher"].tick()
    await bot_api.push_text("/mydata")
    [document] = await bot_api.wait_for("sendDocument")
    data = json.loads(document["_files"]["document"])
    assert data["chat_id"] == 42 and data["reminder"]["time_zone"] == "Europe/Berlin"
    assert data["reminder"]["local_time"] == "20:00" and len(data["tips_sent"]) == 1


async def test_health_port_in_polling_mode(bot_api, content, tmp_path, clock):
    from .conftest import serving

    settings_port = {"health_port": 0, "listen_host": "127.0.0.1"}
    async with serving(
        bot_api, content, clock, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}", **settings_port
    ) as application:
        port = application.bot_data["health_port"]
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
            assert (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
            assert "rls_updates_total" in (await client.get(f"http://127.0.0.1:{port}/metrics")).text


@pytest.mark.parametrize("data", ["t:", "s:", "t:" + "x" * 60, "m:extra", "r:m:", "f:maybe", "\u0000"])
async def test_forged_callback_data_never_raises(running_bot, bot_api, data):
    await bot_api.push_callback(data)
    await bot_api.wait_for("answerCallbackQuery")
    replies = await bot_api.wait_for()
    assert "something went wrong" not in replies[0]["text"].lower()
