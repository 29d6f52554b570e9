"""Typed diary input in the user's words: a ferritin result ("45", "45,5 ng/ml", "45 2026-11-20")
and a weekday ("sun", "Sunday"). Problems come back as a kind, so the reply can say which."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

FERRITIN_RANGE = (1.0, 5000.0)  # ng/mL; outside it the number is a typo or another unit
_READING = re.compile(r"^(?P<value>\d{1,6}(?:[.,]\d{1,2})?)\s*(?P<unit>[^\d\s]\S*)?\s*(?P<rest>.*)$")
_SAME_UNIT = {"ng/ml", "ngml", "ng", "µg/l", "μg/l", "ug/l", "mcg/l", "ugl"}
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d %b %Y", "%d %B %Y")


class Problem(StrEnum):
    usage = "usage"  # nothing given: show how
    unreadable = "unreadable"
    unit = "unit"  # a unit other than ng/mL (= µg/L)
    out_of_range = "out_of_range"


@dataclass(frozen=True)
class Reading:
    ng_ml: float
    tested_on: date


def parse_ferritin(text: str, today: date) -> Reading | tuple[Problem, str]:
    text = text.strip()
    if not text:
        return Problem.usage, ""
    match = _READING.match(text)
    if match is None:
        return Problem.unreadable, text
    value = float(match.group("value").replace(",", "."))
    unit = (match.group("unit") or "").lower()
    if unit and unit not in _SAME_UNIT:
        return (Problem.unit, unit) if "/" in unit or "mol" in unit else (Problem.unreadable, text)
    if not FERRITIN_RANGE[0] <= value <= FERRITIN_RANGE[1]:
        return Problem.out_of_range, match.group("value")
    rest = match.group("rest").strip()
    tested = _date(rest) if rest else today
    if tested is None or tested > today:
        return Problem.unreadable, rest
    return Reading(value, tested)


def _date(text: str) -> date | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_weekday(text: str) -> tuple[int, str] | None:
    """(weekday, the rest of the text) for "sun", "Sundays Berlin"...; None if it starts otherwise."""
    word, _, rest = text.strip().partition(" ")
    word = word.lower()
    for index, name in enumerate(_DAY_NAMES):
        if word in (name[:3], name, name + "s"):
            return index, rest.strip()
    return None
