"""Inline mode through real HTTP against the fake Bot API: "@bot magnesium foods" in any chat
is answered with answerInlineQuery, from the same understanding as a private question."""

from __future__ import annotations

import json

from bot.devtools.fake_bot_api import FakeBotApi


def results(params: dict) -> list[dict]:
    found = params["results"]
    return json.loads(found) if isinstance(found, str) else found


async def test_a_question_offers_matching_topics_with_sources_and_the_disclaimer(running_bot, bot_api: FakeBotApi):
    await bot_api.push_inline_query("magnesium foods")
    [answer] = await bot_api.wait_for("answerInlineQuery")
    offered = results(answer)
    assert offered[0]["id"] == "foods" and offered[0]["title"] == "Foods with magnesium"
    text = offered[0]["input_message_content"]["message_text"]
    assert "Pumpkin seeds" in text and "Evidence:" in text
    assert 'Sources for "Foods with magnesium"' in text and '<a href="https://' in text
    assert "not medical advice" in text  # the shared message carries the disclaimer
    [[button]] = offered[0]["reply_markup"]["inline_keyboard"]
    assert button == {"text": "More in the bot ↗", "url": "https://t.me/rls_test_bot?start=foods"}  # a deep link
    assert bot_api.sent("sendMessage") == []


async def test_a_danger_query_offers_only_the_urgent_care_text(running_bot, bot_api):
    await bot_api.push_inline_query("cant catch my breath after doubling my magnesium")
    [answer] = await bot_api.wait_for("answerInlineQuery")
    [only] = results(answer)
    assert only["id"] == "urgent" and only["title"] == "Urgent: get help now 🚨"  # words first
    assert only["input_message_content"]["message_text"].startswith("🚨") and "reply_markup" not in only


async def test_an_off_topic_query_offers_nothing_but_a_way_to_the_private_chat(running_bot, bot_api):
    await bot_api.push_inline_query("lentil soup recipe")
    await bot_api.push_inline_query("")
    off_topic, empty = await bot_api.wait_for("answerInlineQuery", count=2)
    assert results(off_topic) == []
    assert off_topic["button"] == {"text": "Ask me in a private chat", "start_parameter": "inline"}
    assert len(results(empty)) == 8 and results(empty)[0]["id"] == "about-rls"  # browsing: the menu's first
