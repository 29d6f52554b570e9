"""Numbers from the nights: average, best and worst, trend, usual onset, what seems to help,
and whether onset has moved earlier. Pure functions of the data, so each is tested alone.

"What seems to help" compares nights with and without a measure. It is an association in one
person's notes (a bath may be taken on the nights that were already going badly), never proof,
and every text that shows it says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from statistics import mean, median

from bot.diary.nights import Night, Onset

MIN_NIGHTS_EACH_SIDE = 3  # a measure needs this many scored nights with it and without it
TREND_MIN_NIGHTS = 3  # scored nights in each half of the period before a trend is named
TREND_STEP = 1.0  # points of change between the halves that count as better or worse
SHIFT_HOURS = 2.0  # onset this much earlier than before...
SHIFT_WEEK_MIN = 3  # ...in each of the last two weeks, with at least this many onsets noted per week
BASELINE_DAYS = 42  # "before" is the six weeks before those two
BASELINE_MIN = 5


class Trend(StrEnum):
    better = "better"
    worse = "worse"
    steady = "steady"
    unknown = "unknown"


@dataclass(frozen=True)
class Summary:
    nights: tuple[Night, ...]  # every night of the period, oldest first, unnoted ones included
    average: float | None
    best: Night | None
    worst: Night | None
    trend: Trend
    trend_change: float  # later half minus earlier half, in points
    usual_onset: Onset | None
    tried_counts: dict[str, int]

    @property
    def scored(self) -> list[Night]:
        return [n for n in self.nights if n.score is not None]


def score_of(night: Night) -> int:
    """The score of a night known to have one: the key for best and worst."""
    assert night.score is not None
    return night.score


def summarise(nights: list[Night]) -> Summary:
    scored = [n for n in nights if n.score is not None]
    average = mean(score_of(n) for n in scored) if scored else None
    # best: lowest score, the most recent of equals; worst: highest, the most recent of equals
    best = min(reversed(scored), key=score_of, default=None)
    worst = max(reversed(scored), key=score_of, default=None)
    trend, change = _trend(nights)
    onsets = Counter(n.onset for n in nights if n.onset is not None and n.onset is not Onset.none)
    tried = Counter(m for n in nights for m in n.tried)
    return Summary(
        tuple(nights),
        average,
        best,
        worst,
        trend,
        change,
        onsets.most_common(1)[0][0] if onsets else None,
        dict(tried.most_common()),
    )


def _trend(nights: list[Night]) -> tuple[Trend, float]:
    half = len(nights) // 2
    earlier = [n.score for n in nights[:half] if n.score is not None]
    later = [n.score for n in nights[half:] if n.score is not None]
    if len(earlier) < TREND_MIN_NIGHTS or len(later) < TREND_MIN_NIGHTS:
        return Trend.unknown, 0.0
    change = mean(later) - mean(earlier)
    if change <= -TREND_STEP:
        return Trend.better, change
    if change >= TREND_STEP:
        return Trend.worse, change
    return Trend.steady, change


@dataclass(frozen=True)
class Association:
    """Average score on nights with a measure and without it (lower is better)."""

    measure: str
    with_nights: int
    with_average: float
    without_nights: int
    without_average: float

    @property
    def difference(self) -> float:
        return self.with_average - self.without_average


def what_seems_to_help(nights: list[Night], measures: list[str]) -> list[Association]:
    """Measures with enough nights on both sides, the largest drop in score first."""
    scored = [(n.score, n.tried) for n in nights if n.score is not None]
    found = []
    for measure in measures:
        with_ = [score for score, tried in scored if measure in tried]
        without = [score for score, tried in scored if measure not in tried]
        if len(with_) >= MIN_NIGHTS_EACH_SIDE and len(without) >= MIN_NIGHTS_EACH_SIDE:
            found.append(Association(measure, len(with_), mean(with_), len(without), mean(without)))
    return sorted(found, key=lambda a: a.difference)


@dataclass(frozen=True)
class OnsetShift:
    """Symptoms now start earlier than before: typical onset then and now, and by how much."""

    before: float  # representative hours, see Onset.hour
    now: float
    hours: float


def onset_shift(nights: list[Night], today: date) -> OnsetShift | None:
    """Onset SHIFT_HOURS or more earlier in each of the last two weeks than in the six before."""

    def hours(first: date, last: date) -> list[float]:
        return [
            n.onset.hour
            for n in nights
            if first <= n.night <= last and n.onset is not None and n.onset.hour is not None
        ]

    last_week = hours(today - timedelta(days=6), today)
    week_before = hours(today - timedelta(days=13), today - timedelta(days=7))
    baseline = hours(today - timedelta(days=13 + BASELINE_DAYS), today - timedelta(days=14))
    if len(last_week) < SHIFT_WEEK_MIN or len(week_before) < SHIFT_WEEK_MIN or len(baseline) < BASELINE_MIN:
        return None
    before = median(baseline)
    if all(before - median(week) >= SHIFT_HOURS for week in (last_week, week_before)):
        now = median(last_week + week_before)
        return OnsetShift(before, now, before - now)
    return None
