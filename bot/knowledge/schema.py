"""Pydantic models for the YAML in content/. The field docs are what editors read in errors."""

from __future__ import annotations

import re
from enum import StrEnum
from html.parser import HTMLParser
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bot.knowledge.training import Training

TOPIC_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_ANSWER_CHARS = 900
MAX_TITLE_CHARS = 32
ENGLISH = "en"
ALLOWED_TAGS = {"b", "i", "u", "a", "code"}


class Evidence(StrEnum):
    """How strong the support for an answer is; shown with its sources."""

    guideline = "guideline"
    trials = "trials"
    limited = "limited"
    expert = "expert"
    reference = "reference"


class _TagChecker(HTMLParser):
    """Checks that text uses only the Telegram HTML tags we allow, properly closed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed (use only <b>, <i>, <u>, <a>, <code>)")
        if tag == "a" and not any(k == "href" for k, _ in attrs):
            self.problems.append("<a> needs an href")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close the tag opened before it")
        else:
            self.stack.pop()


def check_html(text: str) -> str:
    """Raise ValueError when text is not valid Telegram HTML; used for every shown text."""
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        checker.problems.append(f"<{checker.stack[-1]}> is never closed")
    if re.search(r"&(?![a-z]+;|#\d+;)", text):
        checker.problems.append('a bare "&" must be written "&amp;"')
    if checker.problems:
        raise ValueError("; ".join(dict.fromkeys(checker.problems)))
    return text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Source(_Strict):
    name: str = Field(min_length=3)
    url: str = Field(pattern=r"^https://\S+$")  # links go to https pages only


class Topic(_Strict):
    """One answerable subject: its answer, sources and the words people use to ask about it."""

    id: str = Field(pattern=TOPIC_ID.pattern, max_length=40)
    title: str = Field(min_length=3, max_length=MAX_TITLE_CHARS)
    menu_order: int = Field(ge=1)
    evidence: Evidence
    supplement: bool = False
    answer: str = Field(min_length=40, max_length=MAX_ANSWER_CHARS)
    sources: list[Source] = Field(min_length=1)
    related: list[str] = Field(default_factory=list, max_length=4)
    keywords: list[str] = Field(min_length=3)
    examples: list[str] = Field(min_length=5)

    @field_validator("answer")
    @classmethod
    def _answer_html(cls, value: str) -> str:
        return check_html(value)

    @field_validator("keywords", "examples")
    @classmethod
    def _no_blank(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v for v in cleaned):
            raise ValueError("contains an empty entry")
        return cleaned


def check_signal(value: str) -> str:
    """A signal ("chest + pain|tight") with an empty part would match nothing, or everything."""
    from bot.understanding.signals import Signal  # here, not above: bot.understanding imports this module

    if any(not alternative.strip() for part in value.split("+") for alternative in part.split("|")):
        raise ValueError(f'signal "{value}" has an empty alternative: remove the extra "|" or "+"')
    Signal.parse(value)  # a part of only ignored words ("the + pain") leaves nothing to match
    return value


Signals = list[Annotated[str, AfterValidator(check_signal)]]


class SafetyRule(_Strict):
    """A kind of danger message and the urgent-care reply it gets instead of an answer."""

    id: str = Field(pattern=TOPIC_ID.pattern)
    personal: bool = True
    negatable: bool = True
    hypothetical_ok: bool = False
    signals: Signals = Field(min_length=1)
    reply: str = Field(min_length=40)

    @field_validator("reply")
    @classmethod
    def _reply_html(cls, value: str) -> str:
        return check_html(value)


class Safety(_Strict):
    window: int = Field(default=8, ge=2, le=30)
    personal_markers: str
    question_starts: str
    hypothetical: str
    hearsay: str = ""  # openings that pass on what was read or heard: "i read that ... how common is it?"
    negators: str
    rules: list[SafetyRule] = Field(min_length=1)


class SmalltalkKind(_Strict):
    id: str = Field(pattern=TOPIC_ID.pattern)
    phrases: list[str] = Field(min_length=1)
    # patterns (the safety.yaml signal syntax) for longer ways of saying it ("are you a real
    # person or a computer, my grandson set you up"), tried only where no topic is a sure answer
    signals: Signals = Field(default_factory=list)
    reply: str

    @field_validator("reply")
    @classmethod
    def _reply_html(cls, value: str) -> str:
        return check_html(value)


class Smalltalk(_Strict):
    kinds: list[SmalltalkKind] = Field(min_length=1)
    # matched as typed (case aside) and kept out of the speller's vocabulary (it maps words onto English)
    greetings_in_other_languages: list[str] = Field(default_factory=list)


class Scope(_Strict):
    """What the speller and the reminder-request patterns need; the scope itself is learned."""

    reminders: Signals = Field(min_length=1)
    spellings: dict[str, str] = Field(default_factory=dict)
    chat_words: list[str] = Field(default_factory=list)


class ReminderTexts(_Strict):
    """Texts of the reminder feature; placeholders in braces are filled in by the bot."""

    ask_time: str
    ask_zone: str
    bad_time: str
    bad_zone: str
    confirmed: str
    settings: str
    no_reminders: str
    stopped: str
    paused: str
    snoozed: str
    skipped: str
    done: str
    stale: str
    choose_measures: str
    forget_confirm: str
    forgotten: str
    forget_kept: str
    tip: str

    @field_validator("*")
    @classmethod
    def _html(cls, value: str) -> str:
        return check_html(value.strip())


class DiaryTexts(_Strict):
    """Texts of the symptom diary; placeholders in braces are filled in by the bot."""

    ask_score: str
    ask_onset: str
    ask_measures: str
    saved: str
    offer_morning: str
    morning_ask_zone: str
    morning_pick: str
    morning_set: str
    morning_off: str
    morning_bad: str
    weekly_pick: str
    weekly_set: str
    weekly_off: str
    weekly_bad: str
    weekly_header: str
    empty: str
    helps_header: str
    helps_caveat: str
    helps_none: str
    augmentation: str
    report_caption: str
    ferritin_usage: str
    ferritin_bad: str
    ferritin_range: str
    ferritin_unit: str
    ferritin_saved: str
    ferritin_list: str
    ferritin_removed: str
    meds_ask: str
    meds_saved: str
    meds_cleared: str
    stale: str
    private_only: str
    from_tip: str = Field(max_length=200)  # a toast
    measure_names: dict[str, str] = Field(default_factory=dict)

    @field_validator("*")
    @classmethod
    def _html(cls, value: object) -> object:
        return check_html(value.strip()) if isinstance(value, str) else value


class SettingsTexts(_Strict):
    """Texts of /settings; placeholders in braces are filled in by the bot."""

    main: str
    reminders: str
    diary: str
    diary_needs_zone: str
    language: str
    privacy: str
    status_on: str
    status_paused: str
    status_off: str
    weekly_on: str
    all_measures: str

    @field_validator("*")
    @classmethod
    def _html(cls, value: str) -> str:
        return check_html(value.strip())


Label = Annotated[str, Field(max_length=40)]  # a button's text: Telegram shows about this much


class _Labels(_Strict):
    """Button labels: plain text, words first and an emoji after if any, because a screen
    reader reads the emoji's name first ("bathtub, Warm bath")."""

    @field_validator("*")
    @classmethod
    def _words_first(cls, value: object) -> object:
        if isinstance(value, str) and value and not (value[0].isalnum() or value[0] == "{"):
            raise ValueError("a label starts with a word (screen readers read it first); put an emoji after it")
        return value


class ReminderButtons(_Labels):
    """Labels of the reminder buttons."""

    set_up: Label
    change_time: Label
    change_zone: Label
    pause: Label
    resume: Label
    skip_tonight: Label
    choose_tips: Label
    stop: Label
    back: Label
    done: Label
    snooze: Label
    delete_all: Label
    keep: Label
    share_location: Label


class DiaryButtons(_Labels):
    """Labels of the diary buttons."""

    skip: Label
    done: Label
    check_in: Label
    off: Label
    nights_14: Label
    nights_30: Label
    report_30: Label
    report_90: Label
    remove_last: Label
    undo: Label
    clear: Label


class ButtonLabels(_Labels):
    """The bot's own button labels."""

    topics: Label
    all_topics: Label
    sources: Label
    back_to: Label
    settings_reminders: Label
    settings_diary: Label
    settings_language: Label
    settings_privacy: Label
    settings_back: Label
    settings_pause: Label
    settings_resume: Label
    settings_zone: Label
    morning_off: Label
    weekly_off: Label
    measure_on: Label
    measure_off: Label
    my_data: Label
    forget: Label
    open_in_bot: Label
    ticked: Label
    unticked: Label
    chosen: Label
    from_tip: Label
    reminders: ReminderButtons
    diary: DiaryButtons


class NoticeTexts(_Strict):
    """Short texts of the adapter: pointers to the private chat and toasts."""

    private_only: str
    private_only_toast: str = Field(max_length=200)
    inline_toast: str = Field(max_length=200)
    forget_expired: str
    nothing_changed: str
    zone_placeholder: str = Field(max_length=64)


class InlineTexts(_Strict):
    """What the inline-mode result list shows (plain text, not HTML)."""

    urgent_title: str = Field(max_length=64)
    urgent_description: str = Field(max_length=120)
    nothing_found: str = Field(max_length=64)


COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


class Profile(_Strict):
    """The bot's profile in Telegram: description, short description and command menus."""

    description: str = Field(min_length=1, max_length=512)
    short_description: str = Field(min_length=1, max_length=120)
    commands: dict[str, dict[str, str]]

    @field_validator("commands")
    @classmethod
    def _scopes(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        unknown = sorted(set(value) - set(COMMAND_SCOPES))
        if unknown:
            raise ValueError(f"unknown scope {unknown[0]!r}: use {', '.join(COMMAND_SCOPES)}")
        for scope, commands in value.items():
            for name, description in commands.items():
                if not COMMAND_NAME.match(name):
                    raise ValueError(f"{scope}.{name}: a command is 1-32 of a-z, 0-9 and _")
                if not 1 <= len(description) <= 256:
                    raise ValueError(f"{scope}.{name}: a command's description is 1-256 characters")
        return value


COMMAND_SCOPES = ("private", "groups")


class Messages(_Strict):
    """Texts around the answers; all are Telegram HTML."""

    disclaimer: str
    supplement_note: str
    welcome: str
    out_of_scope: str
    safety_line: str  # under answers the bot is not sure of
    clarify: str  # asks which of two close topics was meant
    did_you_mean: str  # under an answer with a close second topic
    caution_divider: str  # between urgent-care advice and the answer, when danger was possible
    reminders_coming: str
    non_text: str
    too_long: str
    empty: str
    other_language: str
    error: str
    slow_down: str
    no_data: str
    my_data: str
    stale_button: str
    topics_header: str
    sources_header: str
    evidence_labels: dict[Evidence, str]
    privacy: str
    help: str
    reminders: ReminderTexts
    diary: DiaryTexts
    language_name: str = Field(min_length=2, max_length=30)
    settings: SettingsTexts
    buttons: ButtonLabels
    unknown_link: str
    notices: NoticeTexts
    inline: InlineTexts
    profile: Profile

    @field_validator("*")
    @classmethod
    def _html(cls, value: object) -> object:
        return check_html(value) if isinstance(value, str) else value

    @field_validator("evidence_labels")
    @classmethod
    def _all_levels(cls, value: dict[Evidence, str]) -> dict[Evidence, str]:
        missing = [e.value for e in Evidence if e not in value]
        if missing:
            raise ValueError(f"missing a label for: {', '.join(missing)}")
        return value


class Measure(_Strict):
    """A non-drug measure users can choose to hear about in their evening reminders."""

    id: str = Field(pattern=TOPIC_ID.pattern, max_length=20)
    label: str = Field(min_length=3, max_length=30)

    @field_validator("label")
    @classmethod
    def _words_first(cls, value: str) -> str:
        return _Labels._words_first(value)  # type: ignore[return-value]


class Tip(_Strict):
    id: str = Field(pattern=TOPIC_ID.pattern, max_length=30)
    measure: str
    title: str = Field(min_length=3, max_length=60)
    why: str = Field(min_length=20, max_length=400)
    sources: list[Source] = Field(min_length=1)

    @field_validator("title", "why")
    @classmethod
    def _html(cls, value: str) -> str:
        return check_html(value)


class Tips(_Strict):
    measures: list[Measure] = Field(min_length=1)
    tips: list[Tip] = Field(min_length=1)

    def for_measures(self, chosen: set[str] | frozenset[str]) -> list[Tip]:
        return [t for t in self.tips if t.measure in chosen]


class Content(BaseModel):
    """Everything in content/, validated and cross-checked."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    topics: dict[str, Topic]
    safety: Safety
    smalltalk: Smalltalk
    scope: Scope
    messages: Messages
    tips: Tips
    training: Training = Training()
    locales: dict[str, Messages] = {}  # language code -> its catalogue over English; "en" is `messages`
    locale_gaps: dict[str, list[str]] = {}  # language code -> the texts it still takes from English

    def messages_in(self, language: str | None) -> Messages:
        """The catalogue for `language`, English when there is none."""
        return self.locales.get(language or "", self.messages)

    @property
    def languages(self) -> list[str]:
        return [ENGLISH, *sorted(self.locales)]

    def menu(self) -> list[Topic]:
        return sorted(self.topics.values(), key=lambda t: t.menu_order)
