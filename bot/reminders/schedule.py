"""Local evening time + time zone -> the next moment in UTC, correct across daylight saving.

Zones are IANA names ("Europe/Berlin") or fixed offsets written "UTC+05:30", the form users get
when they type an offset. A local time that does not exist on a given day (clocks jump forward
over it) is delivered just after the jump; one that happens twice (clocks go back) is delivered
the first time only.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

OFFSET_NAME = re.compile(r"^UTC([+-])(\d{2}):(\d{2})$")
MINUTES_PER_DAY = 24 * 60


class UnknownZone(ValueError):
    """Not a zone we can schedule in."""


@lru_cache(maxsize=1024)
def resolve_zone(name: str) -> tzinfo:
    if name == "UTC":
        return UTC
    match = OFFSET_NAME.match(name)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        offset = timedelta(hours=int(match.group(2)), minutes=int(match.group(3))) * sign
        return timezone(offset)
    if name not in _iana_names():
        raise UnknownZone(name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownZone(name) from exc


@lru_cache(maxsize=1)
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


def offset_name(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _at(day: date, minute: int, zone: tzinfo) -> datetime:
    """The UTC instant of `minute` on local `day`; fold=0 puts a skipped time after the jump."""
    local = datetime.combine(day, time(minute // 60, minute % 60)).replace(tzinfo=zone, fold=0)
    return local.astimezone(UTC)


def next_occurrence(minute: int, zone_name: str, after: datetime) -> datetime:
    """The first moment strictly after `after` when the local clock in the zone shows `minute`."""
    if not 0 <= minute < MINUTES_PER_DAY:
        raise ValueError(f"minute of day out of range: {minute}")
    zone = resolve_zone(zone_name)
    local_day = after.astimezone(zone).date()
    for offset in range(-1, 3):
        candidate = _at(local_day + timedelta(days=offset), minute, zone)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a local time recurs every day")


def next_evening_after(slot: datetime, minute: int, zone_name: str) -> datetime:
    """The slot of the following local day: one reminder per local evening, never two."""
    zone = resolve_zone(zone_name)
    following = slot.astimezone(zone).date() + timedelta(days=1)
    candidate = _at(following, minute, zone)
    return candidate if candidate > slot else next_occurrence(minute, zone_name, slot)


def local_date(moment: datetime, zone_name: str) -> date:
    return moment.astimezone(resolve_zone(zone_name)).date()
