"""Typed times, typed places and shared locations -> what the reminder should be."""

from __future__ import annotations

import pytest

from bot.reminders.requests import Action, parse_request, parse_time
from bot.reminders.zones import ZoneFinder

FINDER = ZoneFinder()


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("Europe/Paris", "Europe/Paris"),
        ("europe/paris", "Europe/Paris"),
        ("UTC+5:30", "UTC+05:30"),
        ("utc", "UTC"),
        ("GMT-3", "UTC-03:00"),
        ("+02:00", "UTC+02:00"),
        ("São Paulo", "America/Sao_Paulo"),
        ("londn", "Europe/London"),
        ("munich", "Europe/Berlin"),
        ("germany", "Europe/Berlin"),
        ("mumbai", "Asia/Kolkata"),
        ("Lord Howe", "Australia/Lord_Howe"),
        ("san francisco", "America/Los_Angeles"),
    ],
)
def test_places_and_zones_are_understood(typed, zone):
    found = FINDER.find(typed)
    assert found is not None and found.zone == zone


@pytest.mark.parametrize("typed", ["", "asdfgh qwerty", "UTC+15", "GMT+5:20", "usa", "x" * 100])
def test_nonsense_or_ambiguous_places_are_not_guessed(typed):
    assert FINDER.find(typed) is None


def test_a_shared_location_gives_its_zone():
    assert FINDER.at_location(52.52, 13.40).zone == "Europe/Berlin"
    assert FINDER.at_location(-31.55, 159.08).zone == "Australia/Lord_Howe"


@pytest.mark.parametrize(
    ("typed", "minute"),
    [
        ("21:30", 1290),
        ("9:30 pm", 1290),
        ("9pm", 1260),
        ("10 PM", 1320),
        ("21h30", 1290),
        ("21.30", 1290),
        ("7:05am", 425),
        ("12am", 0),
        ("12pm", 720),
        ("0:00", 0),
    ],
)
def test_times_in_common_formats(typed, minute):
    assert parse_time(typed)[0] == minute


@pytest.mark.parametrize("typed", ["24:00", "9:60", "3 tips", "13pm", "tonight"])
def test_non_times_are_refused(typed):
    assert parse_time(typed) is None


@pytest.mark.parametrize(
    ("message", "action", "minute"),
    [
        ("no more reminders please", Action.stop, None),
        ("stop the reminders", Action.stop, None),
        ("nudge me at 10pm instead", Action.set_time, 22 * 60),
        ("send me a reminder at 9:30 pm every night", Action.set_time, 21 * 60 + 30),
        ("pause my reminders for a week", Action.pause, None),
        ("turn the reminders back on", Action.resume, None),
        ("what time is my reminder", Action.show, None),
        ("remind me every evening", Action.start, None),
    ],
)
def test_free_text_requests(message, action, minute):
    request = parse_request(message)
    assert (request.action, request.minute) == (action, minute)
