"""What the user typed or shared -> an IANA time zone name, offline.

Accepts zone names ("Europe/Paris", any case), UTC offsets ("UTC+5:30", "GMT-3", "+02:00"),
city names from GeoNames ("berlin", "new york", "sao paulo", tolerant of typos), countries
that have a single zone ("germany", "india"), and shared locations (timezonefinder).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from rapidfuzz import fuzz, process

from bot.reminders.schedule import _iana_names, offset_name

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?:[:.h]?(\d{2}))?$")
_PLAIN_UTC = {"utc", "gmt", "z", "zulu", "utc0", "gmt0", "utc+0", "utc-0", "gmt+0", "universal"}
MIN_CITY_POPULATION = 15_000
FUZZY_CUTOFF = 88


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return " ".join(re.sub(r"[^a-z0-9/+-]+", " ", text.replace("_", " ")).split())


@dataclass(frozen=True)
class ZoneMatch:
    zone: str  # IANA name or UTC+hh:mm
    place: str  # what we understood, for the confirmation ("Berlin", "UTC+05:30")


class ZoneFinder:
    """Built lazily: the city list is only read the first time someone types a place."""

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

    @cached_property
    def _zones(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for zone in _iana_names():
            if zone.startswith(("Etc/", "SystemV/")) or "/" not in zone:
                continue
            names.setdefault(_key(zone), zone)
            names.setdefault(_key(zone.rsplit("/", 1)[-1]), zone)
        return names

    @cached_property
    def _places(self) -> dict[str, tuple[str, str, int]]:
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

    @cached_property
    def _locator(self):
        from timezonefinder import TimezoneFinder

        return TimezoneFinder()

    def at_location(self, latitude: float, longitude: float) -> ZoneMatch | None:
        zone = self._locator.timezone_at(lng=longitude, lat=latitude)
        if zone is None or zone not in _iana_names():
            return None
        return ZoneMatch(zone, zone)
