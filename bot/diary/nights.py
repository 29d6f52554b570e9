"""What one night of the diary holds, and which night a moment belongs to.

The night is the evening before the morning check-in: a check-in before 18:00 local time is
about the previous evening, one from 18:00 on is about the evening under way. So "last night"
asked at 07:00 and "tonight" noted at 23:00 land on the same date as that evening's tip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.reminders.schedule import resolve_zone

EVENING_STARTS = 18  # local hour from which a check-in is about the evening under way
SCORES = range(0, 11)


class Onset(StrEnum):
    """When symptoms started that night; the value is the short code used in buttons and storage."""

    before_6pm = "a"
    six_to_nine = "b"
    nine_to_midnight = "c"
    after_midnight = "d"
    none = "n"

    @property
    def label(self) -> str:
        return ONSET_LABELS[self]

    @property
    def hour(self) -> float | None:
        """A representative clock hour (24 = midnight, 25.5 = 01:30), for comparing onsets."""
        return ONSET_HOURS[self]


ONSET_LABELS = {
    Onset.before_6pm: "before 6 pm",
    Onset.six_to_nine: "6-9 pm",
    Onset.nine_to_midnight: "9 pm-midnight",
    Onset.after_midnight: "after midnight",
    Onset.none: "no symptoms",
}
ONSET_HOURS = {
    Onset.before_6pm: 16.5,
    Onset.six_to_nine: 19.5,
    Onset.nine_to_midnight: 22.5,
    Onset.after_midnight: 25.5,
    Onset.none: None,
}


def night_of(moment: datetime, zone: str) -> date:
    local = moment.astimezone(resolve_zone(zone))
    return local.date() if local.hour >= EVENING_STARTS else local.date() - timedelta(days=1)


def parse_onset(code: object) -> Onset | None:
    try:
        return Onset(str(code))
    except ValueError:
        return None


@dataclass(frozen=True)
class Night:
    """One night as the diary shows it. `tried` holds the measures the user ticked plus those
    whose evening tip they marked Done; `from_tips` the latter alone."""

    night: date
    score: int | None = None
    onset: Onset | None = None
    tried: frozenset[str] = field(default_factory=frozenset)
    from_tips: frozenset[str] = field(default_factory=frozenset)

    @property
    def noted(self) -> bool:
        return self.score is not None or self.onset is not None or bool(self.tried)


def nights_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
