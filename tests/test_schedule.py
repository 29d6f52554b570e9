"""Local evening times -> UTC, across daylight saving and for 30/45-minute offset zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.reminders.schedule import UnknownZone, next_evening_after, next_occurrence, resolve_zone


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "minute", "after", "expected"),
    [
        # Berlin: CET (+1) in winter, CEST (+2) from the last Sunday of March 2026 (29 March)
        ("Europe/Berlin", 21 * 60 + 30, utc(2026, 3, 28, 12), utc(2026, 3, 28, 20, 30)),
        ("Europe/Berlin", 21 * 60 + 30, utc(2026, 3, 29, 12), utc(2026, 3, 29, 19, 30)),
        # New York: EDT (-4) until 1 November 2026, then EST (-5)
        ("America/New_York", 21 * 60, utc(2026, 10, 31, 12), utc(2026, 11, 1, 1)),
        ("America/New_York", 21 * 60, utc(2026, 11, 1, 12), utc(2026, 11, 2, 2)),
        # Kolkata: +05:30 all year
        ("Asia/Kolkata", 22 * 60, utc(2026, 6, 1), utc(2026, 6, 1, 16, 30)),
        # Lord Howe: +10:30 in winter, +11 in summer (a 30-minute shift, from 4 October 2026)
        ("Australia/Lord_Howe", 21 * 60, utc(2026, 7, 1), utc(2026, 7, 1, 10, 30)),
        ("Australia/Lord_Howe", 21 * 60, utc(2026, 12, 1), utc(2026, 12, 1, 10)),
        # Kathmandu +05:45 and a typed offset
        ("Asia/Kathmandu", 21 * 60, utc(2026, 1, 10), utc(2026, 1, 10, 15, 15)),
        ("UTC+05:30", 21 * 60 + 30, utc(2026, 1, 10), utc(2026, 1, 10, 16)),
        ("UTC-03:00", 23 * 60, utc(2026, 1, 10, 3), utc(2026, 1, 11, 2)),
        ("UTC", 21 * 60, utc(2026, 1, 10, 21), utc(2026, 1, 11, 21)),  # strictly after
    ],
)
def test_next_occurrence_is_the_local_time_in_utc(zone, minute, after, expected):
    assert next_occurrence(minute, zone, after) == expected


def test_every_evening_once_across_the_spring_change_in_berlin():
    slots, slot = [], next_occurrence(21 * 60 + 30, "Europe/Berlin", utc(2026, 3, 26))
    for _ in range(5):
        slots.append(slot)
        slot = next_evening_after(slot, 21 * 60 + 30, "Europe/Berlin")
    local = [s.astimezone(resolve_zone("Europe/Berlin")) for s in slots]
    assert [d.day for d in local] == [26, 27, 28, 29, 30]
    assert all((d.hour, d.minute) == (21, 30) for d in local)


def test_a_time_skipped_by_the_clock_change_comes_just_after_it():
    # 02:30 does not exist in Berlin on 29 March 2026: clocks jump from 02:00 to 03:00.
    slot = next_occurrence(2 * 60 + 30, "Europe/Berlin", utc(2026, 3, 28, 12))
    assert slot == utc(2026, 3, 29, 1, 30)  # 03:30 local, summer time
    assert next_evening_after(slot, 2 * 60 + 30, "Europe/Berlin") == utc(2026, 3, 30, 0, 30)


def test_a_time_that_happens_twice_is_delivered_once():
    # 02:30 happens twice in Berlin on 25 October 2026; only the first counts.
    slot = next_occurrence(2 * 60 + 30, "Europe/Berlin", utc(2026, 10, 24, 12))
    assert slot == utc(2026, 10, 25, 0, 30)
    assert next_evening_after(slot, 2 * 60 + 30, "Europe/Berlin") == utc(2026, 10, 26, 1, 30)


def test_lord_howe_half_hour_shift_keeps_one_reminder_per_evening():
    # The switch to summer time happens at 02:00 on 4 October 2026 (clocks go to 02:30).
    slot = next_occurrence(21 * 60, "Australia/Lord_Howe", utc(2026, 10, 2))
    days = []
    for _ in range(4):
        days.append(slot.astimezone(resolve_zone("Australia/Lord_Howe")))
        slot = next_evening_after(slot, 21 * 60, "Australia/Lord_Howe")
    assert [d.day for d in days] == [2, 3, 4, 5] and all(d.hour == 21 and d.minute == 0 for d in days)


def test_unknown_zone_is_refused():
    with pytest.raises(UnknownZone):
        next_occurrence(600, "Mars/Olympus_Mons", utc(2026, 1, 1))
