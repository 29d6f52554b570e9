"""The Telegram experience, through real HTTP against a fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import json

from bot.devtools.fake_bot_api import BOT_ID, FakeBotApi


def buttons(params: dict) -> list[tuple[str, str]]:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not markup:
        return []
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def test_start_registers_commands_and_welcomes_with_topic_menu(running_bot, bot_api: FakeBotApi):
    commands = bot_api.sent("setMyCommands")[0]["commands"]
    assert {c["command"] for c in commands} >= {"start", "help", "topics", "privacy"}

    await bot_api.push_text("/start")
    [welcome] = await bot_api.wait_for("sendMessage")
    assert "restless legs" in welcome["text"].lower()
    assert "not medical advice" in welcome["text"]
    assert welcome["parse_mode"] == "HTML"
    labels = dict(buttons(welcome))
    assert "Foods with magnesium" in labels and labels["Foods with magnesium"] == "t:foods"
    assert all(len(data.encode()) <= 64 for _, data in buttons(welcome))


async def test_free_text_question_gets_the_right_answer_with_sources_button(running_bot, bot_api):
    await bot_api.push_text("what foods have magnesium")
    [answer] = await bot_api.wait_for("sendMessage")
    assert "Pumpkin seeds" in answer["text"]
    assert ("Sources 📚", "s:foods") in buttons(answer)  # words first, for screen readers
    assert "Evidence:" in answer["text"]  # the evidence level is shown under the answer


async def test_pressing_a_topic_button_shows_that_topic_in_the_same_message(running_bot, bot_api):
    await bot_api.push_callback("t:iron", message_id=300)
    [answer] = await bot_api.wait_for("editMessageText")
    assert "ferritin" in answer["text"].lower() and answer["message_id"] == 300
    assert len(bot_api.sent("answerCallbackQuery")) == 1
    assert bot_api.sent("sendMessage") == []


async def test_sources_button_lists_links_and_evidence_level(running_bot, bot_api):
    await bot_api.push_callback("s:magnesium-rls")
    [sources] = await bot_api.wait_for("editMessageText")
    assert "Evidence: limited" in sources["text"]
    assert '<a href="https://doi.org/10.1016/j.smrv.2019.101218">' in sources["text"]


async def test_browsing_topics_sources_back_and_menu_edits_one_message(running_bot, bot_api):
    await bot_api.push_text("/topics")
    [menu] = await bot_api.wait_for()
    assert len(buttons(menu)) > 20  # the whole menu, on /topics
    taps = ["t:foods", "s:foods", "t:foods", "m"]
    for count, data in enumerate(taps, 1):
        await bot_api.push_callback(data, message_id=301)
        await bot_api.wait_for("editMessageText", count=count)
    topic, sources, back, menu_again = bot_api.sent("editMessageText")
    assert ("Sources 📚", "s:foods") in buttons(topic)
    assert ("Back to Foods with magnesium ↩", "t:foods") in buttons(sources)
    assert back["text"] == topic["text"] and len(buttons(menu_again)) == len(buttons(menu))
    assert {e["message_id"] for e in bot_api.sent("editMessageText")} == {301}
    assert len(bot_api.sent("sendMessage")) == 1  # only /topics' own message


async def test_greetings_and_refusals_offer_a_few_topics_not_the_whole_menu(running_bot, bot_api):
    await bot_api.push_text("hello")
    await bot_api.push_callback("t:no-such-topic")
    greeting, stale = await bot_api.wait_for(count=2)
    for reply in (greeting, stale):
        assert 2 <= len(buttons(reply)) <= 4 and buttons(reply)[-1] == ("Topics ☰", "m")


async def test_start_with_a_topic_payload_opens_that_topic_after_the_welcome(running_bot, bot_api):
    await bot_api.push_text("/start iron")
    welcome, topic = await bot_api.wait_for(count=2)
    assert "not medical advice" in welcome["text"] and buttons(welcome) == []
    assert "ferritin" in topic["text"].lower() and ("Sources 📚", "s:iron") in buttons(topic)


async def test_start_with_an_unknown_payload_is_ignored_politely(running_bot, bot_api):
    await bot_api.push_text("/start <b>nope</b>")
    await bot_api.push_text("/start " + "x" * 64)
    replies = await bot_api.wait_for(count=2)
    for reply in replies:
        assert "not medical advice" in reply["text"] and "topic I don't know" in reply["text"]
        assert "nope" not in reply["text"] and "xxx" not in reply["text"]  # the payload is never echoed
        assert len(buttons(reply)) > 20  # the whole menu instead
    assert bot_api.sent("sendMessage")[2:] == []


async def test_forged_or_stale_button_data_gets_the_menu_not_an_error(running_bot, bot_api):
    await bot_api.push_callback("t:no-such-topic")
    await bot_api.push_callback("x" * 64)
    replies = await bot_api.wait_for("sendMessage", count=2)
    assert all("out of date" in r["text"] for r in replies)
    assert len(bot_api.sent("answerCallbackQuery")) == 2


async def test_emergency_message_gets_urgent_advice_and_nothing_else(running_bot, bot_api):
    await bot_api.push_text("can't catch my breath after doubling my magnesium")
    [reply] = await bot_api.wait_for("sendMessage")
    assert reply["text"].startswith("🚨")
    assert "emergency number" in reply["text"]
    assert buttons(reply) == []


async def test_off_topic_message_is_declined_with_a_safety_line_and_a_way_to_the_topics(running_bot, bot_api):
    await bot_api.push_text("lentil soup recipe")
    [reply] = await bot_api.wait_for("sendMessage")
    assert "can't help with that" in reply["text"]
    assert "emergency number" in reply["text"]
    assert buttons(reply) == [("Topics ☰", "m")]  # a short way to the menu, not 43 buttons


async def test_sticker_photo_and_voice_get_a_polite_text_only_reply(running_bot, bot_api):
    sticker = {
        "file_id": "s1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    await bot_api.push({"message": bot_api.message(sticker=sticker)})
    await bot_api.push({"message": bot_api.message(voice={"file_id": "v", "file_unique_id": "v", "duration": 2})})
    await bot_api.push({"message": bot_api.message(location={"latitude": 52.5, "longitude": 13.4})})
    replies = await bot_api.wait_for("sendMessage", count=3)
    assert all("only read text" in r["text"] for r in replies)


async def test_edited_message_is_not_answered_twice(running_bot, bot_api):
    original = bot_api.message("what foods have magnesium")
    await bot_api.push({"message": original})
    await bot_api.wait_for("sendMessage")
    await bot_api.push({"edited_message": {**original, "text": "what foods have iron", "edit_date": 1}})
    await bot_api.push_text("thanks")  # a later message proves the edit was processed and skipped
    replies = await bot_api.wait_for("sendMessage", count=2)
    assert len(replies) == 2 and "welcome" in replies[1]["text"].lower()


async def test_html_in_user_text_and_names_is_escaped(running_bot, bot_api):
    await bot_api.push_text("/start", user={"id": 42, "is_bot": False, "first_name": "<b>Eve</b>&"})
    [welcome] = await bot_api.wait_for("sendMessage")
    assert "&lt;b&gt;Eve&lt;/b&gt;&amp;" in welcome["text"]


async def test_wall_of_text_gets_one_reply_under_the_limit(running_bot, bot_api):
    wall = ("my legs crawl at night and i have to get up and walk. " * 80)[:4000]
    await bot_api.push_text(wall)
    [reply] = await bot_api.wait_for("sendMessage")
    assert len(reply["text"]) <= 4096
    assert "long message" in reply["text"]


async def test_group_chat_answers_mentions_and_replies_only(running_bot, bot_api):
    group = {"id": -100, "type": "supergroup", "title": "RLS friends"}
    await bot_api.push_text("what foods have magnesium", chat=group)
    await bot_api.push_text("@rls_test_bot what foods have magnesium", chat=group)
    bot_message = {
        "message_id": 5,
        "date": 1,
        "chat": group,
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "RLS"},
        "text": "hi",
    }
    await bot_api.push_text("is 400 mg too much", chat=group, reply_to_message=bot_message)
    replies = await bot_api.wait_for("sendMessage", count=2)
    await bot_api.push_text("/topics@rls_test_bot", chat=group)
    replies = await bot_api.wait_for("sendMessage", count=3)
    assert "Pumpkin seeds" in replies[0]["text"]
    assert "350 mg" in replies[1]["text"]
    assert "Pick a topic" in replies[2]["text"]
    assert all(r["chat_id"] == -100 for r in replies)


async def test_failed_send_is_reported_to_the_user_not_swallowed(running_bot, bot_api):
    bot_api.fail_next["sendMessage"] = 1  # 500 from the server; the rate limiter does not retry it
    await bot_api.push_text("what foods have magnesium")
    replies = await bot_api.wait_for("sendMessage", count=2)
    assert "something went wrong" in replies[-1]["text"].lower()


async def test_privacy_says_what_is_stored_and_how_to_delete(running_bot, bot_api):
    await bot_api.push_text("/privacy")
    [reply] = await bot_api.wait_for("sendMessage")
    assert "Reminders" in reply["text"] and "/forget" in reply["text"] and "/mydata" in reply["text"]
    assert "kept while reminders exist" in reply["text"]  # how long


async def test_unknown_command_gets_help(running_bot, bot_api):
    await bot_api.push_text("/frobnicate")
    [reply] = await bot_api.wait_for("sendMessage")
    assert "/topics" in reply["text"]


async def test_short_follow_ups_are_read_with_the_previous_question(running_bot, bot_api, clock):
    """The chain stays in the database, so any process can read the next message with it."""
    await bot_api.push_text("is magnesium glycinate any good")
    await bot_api.wait_for(count=1)
    await bot_api.push_text("and citrate?")
    await bot_api.wait_for(count=2)
    await bot_api.push_text("how many mg of that a day?")
    replies = await bot_api.wait_for(count=3)
    titles = [r["text"].split("\n")[0] for r in replies]
    assert titles == ["<b>Types of magnesium</b>", "<b>Types of magnesium</b>", "<b>How much magnesium</b>"]
    await bot_api.push_text("does a hot bath help")
    await bot_api.wait_for(count=4)
    await bot_api.push_text("how hot")
    assert "Easing an attack" in (await bot_api.wait_for(count=5))[4]["text"]
    clock.advance(hours=2)  # long after, the same fragment is read on its own: nothing to go on
    await bot_api.push_text("how hot")
    assert "can't help" in (await bot_api.wait_for(count=6))[5]["text"]


async def test_a_long_reply_is_split_at_paragraphs_with_the_buttons_under_the_last_piece(running_bot, bot_api):
    from bot.replies import Button, Reply
    from bot.tg.handlers import send_to
    from bot.understanding import Intent

    paragraphs = [f"<b>Part {n}</b> " + "restless legs " * 100 for n in range(6)]  # ~1,400 characters each
    reply = Reply(Intent.topic, "\n\n".join(paragraphs), None, ((Button("Topics ☰", "m"),),))
    await send_to(running_bot.bot, 42, reply)
    pieces = bot_api.sent("sendMessage")
    assert len(pieces) == 3 and all(len(p["text"]) <= 4096 for p in pieces)
    assert all(p["text"].startswith("<b>Part ") and p["text"].endswith("legs ") for p in pieces)  # whole paragraphs
    assert [buttons(p) for p in pieces] == [[], [], [("Topics ☰", "m")]]


async def test_a_button_under_urgent_care_advice_never_edits_it_away(running_bot, bot_api, content):
    from bot.replies import to_plain

    urgent = to_plain(content.safety.rules[0].reply)  # the advice as Telegram shows it, tags gone
    await bot_api.push_callback("s:magnesium-rls", text=f"{urgent}\n\nIf nothing like that is happening now...")
    [sources] = await bot_api.wait_for()
    assert "Evidence: limited" in sources["text"]
    assert bot_api.sent("editMessageText") == []  # the advice stays in the chat; the sources come below
