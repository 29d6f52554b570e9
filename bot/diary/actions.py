"""Callback data of the diary's buttons: one typed encoder and decoder, validated at the edge.

Every button says what it does and, for check-in steps, which night it is about, so a button
on yesterday's message still records yesterday. Forged or old data decode to None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

PREFIX = "d"
MAX_VALUE = 40


class Verb(StrEnum):
    checkin = "c"  # start a check-in now
    score = "s"  # night, 0-10
    onset = "o"  # night, onset code
    measure = "m"  # night, measure id: tick or untick
    done = "f"  # night: measures finished
    skip = "k"  # night, the step skipped: s (score), o (onset), m (measures)
    morning = "am"  # minute of day, or "off"
    weekly = "w"  # weekday 0-6, or "off"
    chart = "p"  # nights: 14 or 30
    report = "r"  # days: 30 or 90
    medicine = "md"  # class id: tick or untick, "done" or "clear"
    ferritin_undo = "fu"


NIGHT_VERBS = frozenset({Verb.score, Verb.onset, Verb.measure, Verb.done, Verb.skip})


@dataclass(frozen=True)
class Action:
    verb: Verb
    value: str = ""
    night: date | None = None

    def encode(self) -> str:
        parts = [PREFIX, self.verb.value]
        if self.night is not None:
            parts.append(f"{self.night:%Y%m%d}")
        if self.value:
            parts.append(self.value)
        return ":".join(parts)

    @property
    def number(self) -> int | None:
        return int(self.value) if self.value.isdigit() and len(self.value) <= 4 else None


def parse(data: str) -> Action | None:
    parts = data.split(":")
    if len(parts) < 2 or parts[0] != PREFIX:
        return None
    try:
        verb = Verb(parts[1])
    except ValueError:
        return None
    rest = parts[2:]
    night = None
    if verb in NIGHT_VERBS:
        if not rest:
            return None
        try:
            night = date(int(rest[0][:4]), int(rest[0][4:6]), int(rest[0][6:8])) if len(rest[0]) == 8 else None
        except ValueError:
            return None
        if night is None:
            return None
        rest = rest[1:]
    if len(rest) > 1 or (rest and len(rest[0]) > MAX_VALUE):
        return None
    return Action(verb, rest[0] if rest else "", night)
