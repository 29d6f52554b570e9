"""The data behind every inline button, as typed values: one codec encodes them and one place
reads them back.

Telegram returns a button's data verbatim when it is pressed, but anyone can send any string
of up to 64 bytes instead, or none at all (game buttons), and old messages keep old buttons.
So `decode` is the edge: it checks every field (a delivery id of 2**63 would overflow the
database driver, a minute of 99999 is no time of day) and never raises. What it cannot read
becomes `Stale`, which remembers only which part of the bot the button seemed to belong to.
Handlers therefore see valid values only, and route on the type, not on string prefixes.

The wire formats ("r:t:1290", "t:iron", "m") are the ones earlier versions sent, so buttons
already in users' chats keep working. No Telegram types here: bot/reminders builds buttons
with `encode` and the adapter reads them with `decode`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import ClassVar, Self

from bot.knowledge.schema import TOPIC_ID
from bot.reminders.schedule import MINUTES_PER_DAY

MAX_BYTES = 64  # Telegram's limit for callback data
MAX_ROW_ID = 2**63 - 1  # BIGINT and SQLite INTEGER both stop here
MAX_ID_LENGTH = 40  # the longest topic or measure id content allows


class Family(StrEnum):
    """Which part of the bot a button belongs to: questions work anywhere, the rest only in a
    private chat, because they change or reveal one person's data."""

    questions = "questions"
    reminders = "reminders"
    privacy = "privacy"
    settings = "settings"


@dataclass(frozen=True)
class Callback:
    prefix: ClassVar[str]
    family: ClassVar[Family]

    @property
    def private_only(self) -> bool:
        return self.family is not Family.questions


# -- buttons without a value --------------------------------------------------------------------


@dataclass(frozen=True)
class ShowMenu(Callback):
    prefix = "m"
    family = Family.questions


@dataclass(frozen=True)
class ChangeTime(Callback):
    prefix = "r:time"
    family = Family.reminders


@dataclass(frozen=True)
class ChangeZone(Callback):
    prefix = "r:zone"
    family = Family.reminders


@dataclass(frozen=True)
class Pause(Callback):
    prefix = "r:pause"
    family = Family.reminders


@dataclass(frozen=True)
class Resume(Callback):
    prefix = "r:resume"
    family = Family.reminders


@dataclass(frozen=True)
class Stop(Callback):
    prefix = "r:stop"
    family = Family.reminders


@dataclass(frozen=True)
class SkipTonight(Callback):
    prefix = "r:skip"
    family = Family.reminders


@dataclass(frozen=True)
class ChooseTips(Callback):
    prefix = "r:tips"
    family = Family.reminders


@dataclass(frozen=True)
class ShowSettings(Callback):
    prefix = "r:show"
    family = Family.reminders


@dataclass(frozen=True)
class ForgetYes(Callback):
    prefix = "f:yes"
    family = Family.privacy


@dataclass(frozen=True)
class ForgetNo(Callback):
    prefix = "f:no"
    family = Family.privacy


@dataclass(frozen=True)
class OpenSettings(Callback):
    """/settings' first page; every settings button edits that one message."""

    prefix = "g"
    family = Family.settings


@dataclass(frozen=True)
class SettingsPause(Callback):
    """Pause evening reminders, or resume them if paused."""

    prefix = "g:pause"
    family = Family.settings


@dataclass(frozen=True)
class SettingsZone(Callback):
    prefix = "g:zone"
    family = Family.settings


@dataclass(frozen=True)
class SettingsMorningOff(Callback):
    prefix = "g:amoff"
    family = Family.settings


@dataclass(frozen=True)
class SettingsWeeklyOff(Callback):
    prefix = "g:woff"
    family = Family.settings


@dataclass(frozen=True)
class SettingsMyData(Callback):
    prefix = "g:data"
    family = Family.settings


@dataclass(frozen=True)
class SettingsForget(Callback):
    prefix = "g:forget"
    family = Family.settings


# -- buttons with one value ---------------------------------------------------------------------


def _number(value: str, upper: int) -> int | None:
    """A plain decimal 0..upper; no signs, spaces, underscores or non-ASCII digits."""
    if not value.isascii() or not value.isdigit() or len(value) > len(str(upper)):
        return None
    number = int(value)
    return number if number <= upper else None


def _slug(value: str) -> str | None:
    return value if len(value) <= MAX_ID_LENGTH and TOPIC_ID.match(value) else None


@dataclass(frozen=True)
class _Topic(Callback):
    topic: str

    @classmethod
    def parse(cls, value: str) -> Self | None:
        slug = _slug(value)
        return cls(slug) if slug else None


@dataclass(frozen=True)
class ShowTopic(_Topic):
    prefix = "t"
    family = Family.questions


@dataclass(frozen=True)
class ShowSources(_Topic):
    prefix = "s"
    family = Family.questions


@dataclass(frozen=True)
class PickTime(Callback):
    prefix = "r:t"
    family = Family.reminders
    minute: int

    @classmethod
    def parse(cls, value: str) -> Self | None:
        minute = _number(value, MINUTES_PER_DAY - 1)
        return cls(minute) if minute is not None else None


@dataclass(frozen=True)
class ToggleMeasure(Callback):
    prefix = "r:m"
    family = Family.reminders
    measure: str

    @classmethod
    def parse(cls, value: str) -> Self | None:
        slug = _slug(value)
        return cls(slug) if slug else None


@dataclass(frozen=True)
class _TipButton(Callback):
    """A button under one evening's tip; the delivery id ties it to that evening."""

    family = Family.reminders
    delivery: int

    @classmethod
    def parse(cls, value: str) -> Self | None:
        delivery = _number(value, MAX_ROW_ID)
        return cls(delivery) if delivery is not None else None


@dataclass(frozen=True)
class TipDone(_TipButton):
    prefix = "r:d"


@dataclass(frozen=True)
class TipSnooze(_TipButton):
    prefix = "r:z"


@dataclass(frozen=True)
class TipSkip(_TipButton):
    prefix = "r:k"


class Page(StrEnum):
    reminders = "reminders"
    diary = "diary"
    language = "language"
    privacy = "privacy"


@dataclass(frozen=True)
class SettingsPage(Callback):
    prefix = "g:p"
    family = Family.settings
    page: Page

    @classmethod
    def parse(cls, value: str) -> Self | None:
        return cls(Page(value)) if value in Page.__members__ else None


@dataclass(frozen=True)
class SettingsTime(PickTime):
    """An evening reminder time picked in /settings (the reply edits the settings message)."""

    prefix = "g:t"
    family = Family.settings


@dataclass(frozen=True)
class SettingsMorning(PickTime):
    prefix = "g:am"
    family = Family.settings


@dataclass(frozen=True)
class SettingsWeekly(Callback):
    prefix = "g:w"
    family = Family.settings
    day: int

    @classmethod
    def parse(cls, value: str) -> Self | None:
        day = _number(value, 6)
        return cls(day) if day is not None else None


@dataclass(frozen=True)
class SettingsMeasure(ToggleMeasure):
    prefix = "g:m"
    family = Family.settings


@dataclass(frozen=True)
class SettingsLanguage(Callback):
    prefix = "g:l"
    family = Family.settings
    language: str

    @classmethod
    def parse(cls, value: str) -> Self | None:
        return cls(value) if value.isascii() and value.isalpha() and value.islower() and len(value) <= 3 else None


@dataclass(frozen=True)
class Stale(Callback):
    """Data no current button sends: forged, from an old version, cut short, or missing."""

    prefix = ""
    family = Family.questions
    seen: Family = Family.questions  # what the data looked like, for the reply and the privacy check

    @property
    def private_only(self) -> bool:
        return self.seen is not Family.questions


_PLAIN: dict[str, Callback] = {
    c.prefix: c()
    for c in (
        ShowMenu,
        ChangeTime,
        ChangeZone,
        Pause,
        Resume,
        Stop,
        SkipTonight,
        ChooseTips,
        ShowSettings,
        ForgetYes,
        ForgetNo,
        OpenSettings,
        SettingsPause,
        SettingsZone,
        SettingsMorningOff,
        SettingsWeeklyOff,
        SettingsMyData,
        SettingsForget,
    )
}
_VALUED: dict[
    str, type[_Topic | PickTime | ToggleMeasure | _TipButton | SettingsPage | SettingsWeekly | SettingsLanguage]
] = {
    c.prefix: c
    for c in (
        ShowTopic,
        ShowSources,
        PickTime,
        ToggleMeasure,
        TipDone,
        TipSnooze,
        TipSkip,
        SettingsPage,
        SettingsTime,
        SettingsMorning,
        SettingsWeekly,
        SettingsMeasure,
        SettingsLanguage,
    )
}
_FAMILY_OF_FIRST_PART = {"r": Family.reminders, "f": Family.privacy, "g": Family.settings}


def encode(callback: Callback) -> str:
    values = [str(getattr(callback, f.name)) for f in fields(callback)]
    data = ":".join([callback.prefix, *values])
    if isinstance(callback, Stale) or len(data.encode()) > MAX_BYTES:
        raise ValueError(f"{type(callback).__name__} cannot be sent as callback data")
    return data


def decode(data: str | None) -> Callback:
    """The button for `data`; anything else, including None, is `Stale`. Never raises."""
    data = data or ""
    stale = Stale(_FAMILY_OF_FIRST_PART.get(data.partition(":")[0], Family.questions))
    if not data or len(data.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return stale
    if data in _PLAIN:
        return _PLAIN[data]
    prefix, separator, value = data.rpartition(":")
    kind = _VALUED.get(prefix) if separator else None
    return (kind.parse(value) if kind is not None else None) or stale
