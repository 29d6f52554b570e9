"""The diary's pure parts: which night a moment belongs to, the numbers a user is told,
what seems to help, onset moving earlier, medicine names, and the sealing of values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.diary.analysis import Trend, onset_shift, summarise, what_seems_to_help
from bot.diary.crypto import Sealer, SealError, new_key, parse_keys
from bot.diary.medicines import Medicines
from bot.diary.nights import Night, Onset, night_of
from bot.diary.schedule import next_weekly

START = date(2026, 11, 1)


def nights(scores: list[int | None], **per_night) -> list[Night]:
    found = []
    for i, score in enumerate(scores):
        tried = frozenset(m for m, days in per_night.items() if i in days)
        found.append(Night(START + timedelta(days=i), score, None, tried))
    return found


@pytest.mark.parametrize(
    ("local", "zone", "night"),
    [
        (datetime(2026, 12, 2, 7, 0), "Europe/Berlin", date(2026, 12, 1)),  # the morning after
        (datetime(2026, 12, 2, 17, 59), "Europe/Berlin", date(2026, 12, 1)),
        (datetime(2026, 12, 2, 18, 0), "Europe/Berlin", date(2026, 12, 2)),  # the evening under way
        (datetime(2026, 12, 2, 1, 30), "America/New_York", date(2026, 12, 1)),  # awake after midnight
    ],
)
def test_a_check_in_belongs_to_the_evening_before_the_morning(local, zone, night):
    from zoneinfo import ZoneInfo

    moment = local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    assert night_of(moment, zone) == night


def test_summary_gives_average_best_worst_and_a_trend():
    summary = summarise(nights([8, 7, None, 8, 9, 4, 3, 2, 3, 2]))
    assert summary.average == pytest.approx(46 / 9)
    assert (summary.best.score, summary.best.night) == (2, START + timedelta(days=9))  # most recent of equals
    assert (summary.worst.score, summary.worst.night) == (9, START + timedelta(days=4))
    assert summary.trend is Trend.better and summary.trend_change < -1


def test_no_trend_is_claimed_from_too_few_nights():
    assert summarise(nights([8, None, None, None, 2, None])).trend is Trend.unknown
    assert summarise(nights([5, 5, 6, 5, 6, 5])).trend is Trend.steady
    assert summarise(nights([2, 2, 2, 7, 8, 7])).trend is Trend.worse
    assert summarise([]).average is None


def test_what_seems_to_help_needs_three_nights_each_side():
    data = nights([3, 2, 3, 7, 8, 7, 6], warmth={0, 1, 2}, caffeine={0, 3})
    [warmth] = what_seems_to_help(data, ["warmth", "caffeine", "massage"])
    assert warmth.measure == "warmth" and (warmth.with_nights, warmth.without_nights) == (3, 4)
    assert warmth.with_average == pytest.approx(8 / 3) and warmth.without_average == pytest.approx(7.0)
    assert warmth.difference < 0


def test_unscored_nights_do_not_count_for_what_helps():
    data = nights([3, None, None, 7, 8, 7], warmth={0, 1, 2})
    assert what_seems_to_help(data, ["warmth"]) == []


def _onsets(pattern: list[Onset | None]) -> list[Night]:
    today = date(2026, 12, 1)
    first = today - timedelta(days=len(pattern) - 1)
    return [Night(first + timedelta(days=i), 5, onset) for i, onset in enumerate(pattern)]


def test_onset_two_hours_earlier_for_two_weeks_is_noticed():
    late, early = Onset.nine_to_midnight, Onset.six_to_nine
    shift = onset_shift(_onsets([late] * 20 + [early] * 14), date(2026, 12, 1))
    assert shift is not None and shift.hours == pytest.approx(3.0)


def test_one_early_week_or_no_baseline_is_not_a_shift():
    late, early = Onset.nine_to_midnight, Onset.six_to_nine
    assert onset_shift(_onsets([late] * 27 + [early] * 7), date(2026, 12, 1)) is None  # one week only
    assert onset_shift(_onsets([early] * 14), date(2026, 12, 1)) is None  # nothing to compare with
    assert onset_shift(_onsets([late] * 34), date(2026, 12, 1)) is None


@pytest.mark.parametrize(
    ("medicines", "dopamine"),
    [
        (Medicines(frozenset({"dopamine"})), True),
        (Medicines(frozenset({"levodopa"})), True),
        (Medicines(note="Mirapexin 0.25 mg at 8 pm"), True),
        (Medicines(note="ropinirole"), True),
        (Medicines(note="Neupro patch"), True),
        (Medicines(frozenset({"a2d"}), "pregabalin 75"), False),
        (Medicines(note="iron tablets"), False),
        (Medicines(), False),
    ],
)
def test_dopamine_medicines_are_recognised_by_class_generic_or_brand(medicines, dopamine):
    assert medicines.dopamine is dopamine


def test_weekly_summary_falls_on_the_chosen_weekday_at_noon_local():
    after = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday, 13:00 in Berlin
    due = next_weekly(6, "Europe/Berlin", after)
    assert due == datetime(2026, 12, 6, 11, 0, tzinfo=UTC)  # Sunday 12:00 CET
    assert next_weekly(1, "Europe/Berlin", after) == datetime(2026, 12, 8, 11, 0, tzinfo=UTC)  # not today, past noon


def test_sealed_values_open_only_with_the_key_and_for_their_own_chat():
    sealer = Sealer.from_setting(new_key())
    token = sealer.seal(42, {"score": 7})
    assert "score" not in token
    assert sealer.open(42, token) == {"score": 7}
    with pytest.raises(SealError):
        sealer.open(43, token)  # copied onto another user's row
    with pytest.raises(SealError):
        Sealer.from_setting(new_key()).open(42, token)


def test_rotation_keeps_old_keys_for_reading_and_rekeys_to_the_new_one():
    old, new = new_key(), new_key()
    token = Sealer.from_setting(old).seal(1, "x")
    both = Sealer.from_setting(f"{new},{old}")
    assert both.open(1, token) == "x"
    rotated = both.rotate(token)
    assert Sealer.from_setting(new).open(1, rotated) == "x"


def test_a_malformed_key_is_named():
    with pytest.raises(ValueError, match="key 2 is not a Fernet key"):
        parse_keys(f"{new_key()},not-a-key")
