"""The bot's profile and languages, through real HTTP against the fake Bot API: description,
short description and command menus per scope and language set from content at start-up, only
when they differ; the catalogue per language with English fallback, chosen in /settings."""

from __future__ import annotations

import logging

import pytest
from telegram import Bot

from bot.devtools.fake_bot_api import FakeBotApi
from bot.knowledge.loader import with_locales
from bot.tg.profile import sync_profile

from .conftest import CONTENT_DIR, serving
from .test_telegram import buttons

LOCALES = CONTENT_DIR.parent / "tests" / "data" / "locales"
PROFILE_SETS = ("setMyDescription", "setMyShortDescription", "setMyCommands")


@pytest.fixture(scope="module")
def bilingual(content):
    """The real content with the small test-only German catalogue over its English one."""
    return with_locales(content, LOCALES, CONTENT_DIR / "messages.yaml")


async def test_profile_is_set_from_content_and_only_when_it_changed(bot_api: FakeBotApi, content, clock, tmp_path):
    async with serving(bot_api, content, clock, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"):
        pass
    profile = content.messages.profile
    assert bot_api.descriptions[""] == profile.description.strip()
    assert bot_api.short_descriptions[""] == profile.short_description.strip()
    private = [c["command"] for c in bot_api.commands[("all_private_chats", "")]]
    groups = [c["command"] for c in bot_api.commands[("all_group_chats", "")]]
    assert private[:3] == ["start", "topics", "settings"] and "forget" in private
    assert groups == ["topics", "help", "privacy"]  # a short list in groups: nothing private there
    assert [len(bot_api.sent(m)) for m in PROFILE_SETS] == [1, 1, 2]

    async with Bot(bot_api.token, base_url=bot_api.base_url) as bot:  # what the next start does
        assert await sync_profile(bot, content) == 0  # read, not written again
        assert [len(bot_api.sent(m)) for m in PROFILE_SETS] == [1, 1, 2]
        bot_api.descriptions[""] = "edited by hand in BotFather"
        assert await sync_profile(bot, content) == 1  # only the part that differed
    assert [len(bot_api.sent(m)) for m in PROFILE_SETS] == [2, 1, 2]
    assert bot_api.descriptions[""] == profile.description.strip()


async def test_every_language_gets_its_profile_and_missing_texts_are_reported(
    bot_api: FakeBotApi, bilingual, clock, tmp_path, caplog
):
    assert "settings.diary" in bilingual.locale_gaps["de"] and "welcome" not in bilingual.locale_gaps["de"]
    with caplog.at_level(logging.WARNING, logger="bot.tg.profile"):
        async with serving(bot_api, bilingual, clock, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"):
            pass
    assert "Keine ärztliche Beratung" in bot_api.short_descriptions["de"]
    assert bot_api.descriptions["de"] == bilingual.messages.profile.description.strip()  # English fallback
    german_groups = {c["command"]: c["description"] for c in bot_api.commands[("all_group_chats", "de")]}
    assert german_groups == {"topics": "Alle Themen", "help": "So fragst du mich", "privacy": "What I store"}
    [report] = [r.getMessage() for r in caplog.records if "fall back to English" in r.getMessage()]
    assert report.startswith("language de: ") and "fall back to English: disclaimer," in report  # names, no texts


async def test_the_telegram_language_picks_the_catalogue_and_settings_changes_it(
    bot_api: FakeBotApi, bilingual, clock, tmp_path
):
    german = {"id": 42, "is_bot": False, "first_name": "Jan", "language_code": "de-AT"}
    async with serving(bot_api, bilingual, clock, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}") as application:
        await bot_api.push_text("/start", user=german)
        [welcome] = await bot_api.wait_for()
        assert welcome["text"].startswith("Hallo, Jan!")
        assert "not medical advice" in welcome["text"]  # a text German lacks comes in English
        await bot_api.push_text("/settings", user=german)
        main = (await bot_api.wait_for(count=2))[1]
        assert "Sprache: Deutsch" in main["text"] and "Abendliche Erinnerungen: aus" in main["text"]
        assert ("Sprache 🌐", "g:p:language") in buttons(main)

        await bot_api.push_callback("g:l:en", message_id=900, user=german)
        [page] = await bot_api.wait_for("editMessageText")
        assert "Language</b>: English" in page["text"] and ("English ✓", "g:l:en") in buttons(page)
        assert await application.bot_data["languages"].chosen(42) == "en"  # stored, beats Telegram's
        await bot_api.push_text("/start", user=german)
        assert (await bot_api.wait_for(count=3))[2]["text"].startswith("Hi, Jan!")


async def test_messages_the_bot_sends_on_its_own_follow_the_choice_in_settings(
    bot_api: FakeBotApi, bilingual, clock, tmp_path
):
    async with serving(bot_api, bilingual, clock, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}") as application:
        await bot_api.push_callback("g:l:de", message_id=900)  # an English-speaking app, German chosen
        await bot_api.push_text("/remind 20:00 UTC")
        await bot_api.wait_for()
        clock.advance(hours=2)
        await application.bot_data["dispatcher"].tick()
        tip = (await bot_api.wait_for(count=2))[1]
        assert ("Erledigt ✅", next(d for _, d in buttons(tip) if d.startswith("r:d:"))) in buttons(tip)
        assert ("Stop reminders 🛑", "r:stop") in buttons(tip)  # a label German lacks stays English
