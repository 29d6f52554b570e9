"""What the user typed or shared -> an IANA time zone name, offline.

Accepts zone names ("Europe/Paris", any case), UTC offsets ("UTC+5:30", "GMT-3", "+02:00"),
city names from GeoNames ("berlin", "new york", "sao paulo", tolerant of typos), countries
that have a single zone ("germany", "india"), and shared locations (timezonefinder).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rapidfuzz import fuzz, process

from bot.reminders.schedule import _iana_names, offset_name

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?:[:.h]?(\d{2}))?$")
_PLAIN_UTC = {"utc", "gmt", "z", "zulu", "utc0", "gmt0", "utc+0", "utc-0", "gmt+0", "universal"}
MIN_CITY_POPULATION = 15_000
FUZZY_CUTOFF = 88
T = TypeVar("T")
_building = threading.Lock()


def _built_once(build: Callable[[], T]) -> Callable[[], T]:
    """The first caller, in whatever thread, builds it; others wait for that one result."""
    built: list[T] = []

    def get() -> T:
        if not built:
            with _building:
                if not built:
                    built.append(build())
        return built[0]

    return get


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return " ".join(re.sub(r"[^a-z0-9/+-]+", " ", text.replace("_", " ")).split())


@dataclass(frozen=True)
class ZoneMatch:
    zone: str  # IANA name or UTC+hh:mm
    place: str  # what we understood, for the confirmation ("Berlin", "UTC+05:30")


@_built_once
def _zone_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for zone in _iana_names():
        if zone.startswith(("Etc/", "SystemV/")) or "/" not in zone:
            continue
        names.setdefault(_key(zone), zone)
        names.setdefault(_key(zone.rsplit("/", 1)[-1]), zone)
    return names


@_built_once
def _place_names() -> dict[str, tuple[str, str, int]]:
    """key -> (zone, display name, population); the most populous place wins a shared name."""
    from bot.reminders import geonames as cache  # the trimmed GeoNames table shipped in the package

    places: dict[str, tuple[str, str, int]] = {}

    def add(name: str, zone: str, display: str, population: int) -> None:
        key = _key(name)
        if key and (key not in places or places[key][2] < population):
            places[key] = (zone, display, population)

    zones_by_country: dict[str, set[str]] = {}
    for city in cache.get_cities().values():
        zone, population = city["timezone"], int(city["population"])
        if zone not in _iana_names():
            continue
        add(city["name"], zone, city["name"], population)
        for alternate in city.get("alternatenames", ()):
            if alternate.isascii() and len(alternate) > 3:
                add(alternate, zone, city["name"], population // 10)  # a real name beats an alias
        zones_by_country.setdefault(city["countrycode"], set()).add(zone)
    for code, country in cache.get_countries().items():
        zones = zones_by_country.get(code, set())
        if len(zones) == 1:
            add(country["name"], next(iter(zones)), country["name"], int(country["population"]))
    return places


@_built_once
def _timezone_finder() -> Any:
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


class ZoneFinder:
    """The lookups are built once per process and shared: by `warm()` at start-up, or else by
    the first lookup that needs them."""

    def parse_offset(self, text: str) -> ZoneMatch | None:
        key = text.strip().casefold().replace(" ", "")
        if key in _PLAIN_UTC:
            return ZoneMatch("UTC", "UTC")
        match = _OFFSET.match(key)
        if not match:
            return None
        hours, minutes = int(match.group(2)), int(match.group(3) or 0)
        total = (hours * 60 + minutes) * (1 if match.group(1) == "+" else -1)
        if minutes not in (0, 15, 30, 45) or not -12 * 60 <= total <= 14 * 60:
            return None
        if total == 0:
            return ZoneMatch("UTC", "UTC")
        name = offset_name(total)
        return ZoneMatch(name, name)

    @property
    def _zones(self) -> dict[str, str]:
        return _zone_names()

    @property
    def _places(self) -> dict[str, tuple[str, str, int]]:
        return _place_names()

    def warm(self) -> None:
        """Build the lookups now (about two seconds of CPU): call it in a thread at start-up, so
        no user's first reminder request stalls the event loop building them."""
        _zone_names()
        _place_names()
        _timezone_finder()

    def find(self, text: str, *, fuzzy: bool = True) -> ZoneMatch | None:
        """The zone the user most likely means, or None when nothing fits well enough.
        `fuzzy=False` for words that may not be a place at all ("at 10pm instead")."""
        text = text.strip()
        if not text or len(text) > 60:
            return None
        found = self.parse_offset(text)
        if found:
            return found
        key = _key(text)
        if key in self._zones:
            zone = self._zones[key]
            return ZoneMatch(zone, zone)
        if key in self._places:
            zone, display, _ = self._places[key]
            return ZoneMatch(zone, display)
        if not fuzzy:
            return None
        best = process.extractOne(key, list(self._places), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if best:
            zone, display, _ = self._places[best[0]]
            return ZoneMatch(zone, display)
        best = process.extractOne(key, list(self._zones), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if best:
            zone = self._zones[best[0]]
            return ZoneMatch(zone, zone)
        return None

    def at_location(self, latitude: float, longitude: float) -> ZoneMatch | None:
        zone = _timezone_finder().timezone_at(lng=longitude, lat=latitude)
        if zone is None or zone not in _iana_names():
            return None
        return ZoneMatch(zone, zone)
