"""The callback-data codec: every button the bot sends reads back as itself, and anything else a
client can send (forged, oversized, old, missing) reads as Stale instead of raising."""

from __future__ import annotations

import pytest

from bot import callbacks as cb
from bot.reminders.replies import ReminderReplies
from bot.replies import SHOW_MENU, show_sources, show_topic


def diary_replies(content) -> list:
    from datetime import date

    from bot.diary.medicines import Medicines
    from bot.diary.nights import Night, Onset
    from bot.diary.replies import DiaryReplies

    texts = DiaryReplies(content)
    night = Night(date(2026, 11, 25), 4, Onset.nine_to_midnight, frozenset({"warmth", "mind"}), frozenset({"mind"}))
    return [
        texts.ask_score(night),
        texts.ask_onset(night),
        texts.ask_measures(night),
        texts.saved(night, offer_morning=True),
        texts.morning_pick("UTC"),
        texts.weekly_pick("UTC"),
        texts.empty(),
        texts.meds_ask(Medicines(frozenset({"dopamine"}))),
    ]


def settings_pages(content, *reminders) -> list:
    from bot.diary.service import DiarySettings
    from bot.settings_view import SettingsReplies

    pages = SettingsReplies(content, content.messages)
    diary = DiarySettings(1, "UTC", 450, None, 6, None)
    return [
        pages.main(None, None, "en"),
        *(pages.reminders(r) for r in (None, *reminders)),
        pages.diary(diary, True),
        pages.diary(None, False),
        pages.language("en"),
        pages.privacy(),
    ]


def all_buttons(content, responder) -> list[str]:
    """The data of every button the bot can show today."""
    return [b.action for b in _every_button(content, responder)]


def all_labels(content, responder) -> list[str]:
    """Every label, the diary's too (its data has its own codec, bot.diary.actions)."""
    diary = [b for reply in diary_replies(content) for row in reply.buttons for b in row]
    return [b.label for b in [*_every_button(content, responder), *diary]]


def _every_button(content, responder) -> list:
    replies = ReminderReplies(content)
    from bot.reminders.service import ReminderSettings

    settings = ReminderSettings(1, 1290, "UTC", "active", frozenset(), None, None, None)
    paused = ReminderSettings(1, 1290, "UTC", "paused", frozenset({"caffeine"}), None, None, None)
    shown = [
        replies.ask_time(),
        replies.settings(None, None),
        replies.settings(settings, settings.next_due_at),
        replies.settings(paused, None),
        replies.measures(settings),
        replies.tip(content.tips.tips[0], 2**63 - 1),
        replies.forget_confirm(),
        responder.welcome_reply(),
        *(responder.topic_reply(t) for t in content.topics),
        *(responder.sources_reply(t) for t in content.topics),
        *settings_pages(content, settings, paused),
    ]
    return [b for reply in shown for row in reply.buttons for b in row]


def test_every_button_label_starts_with_words_for_screen_readers(content, responder):
    labels = [label for label in all_labels(content, responder)]
    assert len(labels) > 100
    assert [label for label in labels if not label[0].isalnum()] == []


def test_every_button_the_bot_sends_decodes_to_a_live_button(content, responder):
    data = all_buttons(content, responder)
    assert len(data) > 100
    for action in data:
        decoded = cb.decode(action)
        assert not isinstance(decoded, cb.Stale), action
        assert cb.encode(decoded) == action


def test_wire_formats_stay_those_of_buttons_already_in_chats():
    assert cb.encode(cb.PickTime(1290)) == "r:t:1290"
    assert cb.encode(cb.TipSnooze(17)) == "r:z:17"
    assert cb.encode(cb.ToggleMeasure("caffeine")) == "r:m:caffeine"
    assert cb.encode(cb.ForgetYes()) == "f:yes"
    assert cb.encode(cb.ShowTopic("iron")) == show_topic("iron")
    assert cb.encode(cb.ShowSources("iron")) == show_sources("iron")
    assert cb.encode(cb.ShowMenu()) == SHOW_MENU


@pytest.mark.parametrize(
    ("data", "family"),
    [
        (None, cb.Family.questions),  # a game button, or a client that sends none
        ("", cb.Family.questions),
        ("x" * 64, cb.Family.questions),
        ("t:" + "x" * 100, cb.Family.questions),  # over 64 bytes
        ("t:", cb.Family.questions),
        ("t:Iron", cb.Family.questions),
        ("t:../etc", cb.Family.questions),
        ("m:extra", cb.Family.questions),
        ("\u0000", cb.Family.questions),
        ("\ud800", cb.Family.questions),
        ("r:d:9223372036854775808", cb.Family.reminders),  # 2**63: would overflow BIGINT
        ("r:z:99999999999999999999999", cb.Family.reminders),
        ("r:k:-1", cb.Family.reminders),
        ("r:d:+5", cb.Family.reminders),
        ("r:d: 5", cb.Family.reminders),
        ("r:d:1_000", cb.Family.reminders),
        ("r:d:١٢", cb.Family.reminders),  # Arabic-Indic digits: isdigit() but not ours
        ("r:d:abc", cb.Family.reminders),
        ("r:t:1440", cb.Family.reminders),
        ("r:t:99999", cb.Family.reminders),
        ("r:m:", cb.Family.reminders),
        ("r:nonsense", cb.Family.reminders),
        ("r:t:1290:extra", cb.Family.reminders),
        ("f:maybe", cb.Family.privacy),
        ("f:yes:now", cb.Family.privacy),
    ],
)
def test_forged_huge_or_missing_data_is_stale_and_remembers_its_family(data, family):
    decoded = cb.decode(data)
    assert decoded == cb.Stale(family)
    assert decoded.private_only is (family is not cb.Family.questions)


def test_largest_row_id_is_accepted_and_private_buttons_say_so():
    assert cb.decode("r:d:9223372036854775807") == cb.TipDone(2**63 - 1)
    assert cb.decode("r:t:0") == cb.PickTime(0)
    assert cb.decode("r:t:1439") == cb.PickTime(1439)
    assert cb.decode("f:yes").private_only and cb.decode("r:pause").private_only
    assert not cb.decode("t:iron").private_only and not cb.decode("m").private_only


def test_values_that_cannot_be_sent_are_refused_when_encoding():
    with pytest.raises(ValueError):
        cb.encode(cb.Stale(cb.Family.reminders))
    with pytest.raises(ValueError):
        cb.encode(cb.ShowTopic("x" * 70))
