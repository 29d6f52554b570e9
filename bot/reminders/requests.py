"""Reads reminder requests in the user's words: a time ("21:30", "9:30 pm", "10pm"), and what
they want ("no more reminders please" -> stop, "nudge me at 10pm instead" -> set 22:00)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_TIME = re.compile(
    r"(?<![\d:])(?P<h>\d{1,2})(?:\s*(?:[:.h]|\s)\s*(?P<m>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?(?![\d:])",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[a-z]+")


class Action(StrEnum):
    start = "start"  # set up reminders (the guided flow)
    set_time = "set_time"  # change the time (and maybe the zone)
    stop = "stop"
    pause = "pause"
    resume = "resume"
    show = "show"  # show current settings


@dataclass(frozen=True)
class ReminderRequest:
    action: Action
    minute: int | None = None
    rest: str = ""  # text after the time, e.g. a zone: "/remind 21:30 Europe/Berlin"


def parse_time(text: str) -> tuple[int, str] | None:
    """(minute of day, the text after the time) for the first time in `text`, or None."""
    for match in _TIME.finditer(text):
        hour, minute = int(match.group("h")), int(match.group("m") or 0)
        ampm = (match.group("ampm") or "").lower().replace(".", "")
        if match.group("m") is None and not ampm:
            continue  # a bare number ("3 tips") is not a time
        if minute > 59:
            continue
        if ampm:
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        elif hour > 23:
            continue
        return hour * 60 + minute, text[match.end() :].strip()
    return None


_STOP = {"stop", "cancel", "unsubscribe", "disable", "end", "quit", "delete", "remove"}
_NO_MORE = {"no more", "turn off", "switch off", "opt out", "dont want", "do not want", "don't want"}
_PAUSE = {"pause", "hold", "break", "holiday", "vacation", "snooze them"}
_RESUME = {"resume", "unpause", "restart", "turn back on", "start again", "switch back on", "turn on"}
_SHOW = {"my reminders", "settings", "when is my", "what time is my", "show"}


def parse_request(text: str) -> ReminderRequest:
    """What a free-text message about reminders asks for; unclear ones start the guided flow."""
    lowered = " ".join(_WORDS.findall(text.casefold().replace("'", "")))
    words = set(lowered.split())
    timed = parse_time(text)
    if words & _STOP or any(p in lowered for p in _NO_MORE):
        return ReminderRequest(Action.stop)
    if words & _PAUSE:
        return ReminderRequest(Action.pause)
    if any(p in lowered for p in _RESUME) or words & {"resume", "unpause"} or "back on" in lowered:
        return ReminderRequest(Action.resume)
    if timed:
        return ReminderRequest(Action.set_time, timed[0], timed[1])
    if any(p in lowered for p in _SHOW):
        return ReminderRequest(Action.show)
    return ReminderRequest(Action.start)
