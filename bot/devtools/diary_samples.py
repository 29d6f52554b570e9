"""Renders a sample diary chart and report from a made-up diary, for the screenshots in docs/
and for a look at changes to the chart or the PDF: python -m bot.devtools.diary_samples DIR

The diary is invented (seeded, so the same every time) and shaped like a real one: a run of bad
nights that eases once warm baths and stretching begin, a few nights without a check-in, evening
tips marked Done, two ferritin results and a medicine noted.
"""

from __future__ import annotations

import argparse
import random
from datetime import date, timedelta
from pathlib import Path

from bot.config import default_content_dir
from bot.diary.analysis import what_seems_to_help
from bot.diary.chart import render_chart
from bot.diary.medicines import Medicines
from bot.diary.nights import Night, Onset
from bot.diary.report import ReportData, render_report
from bot.diary.service import Ferritin
from bot.diary.words import measure_names, summary_sentences
from bot.knowledge import load_content

LAST = date(2026, 11, 30)


def sample_nights(count: int, seed: int = 7) -> list[Night]:
    rng = random.Random(seed)
    nights = []
    for i in range(count):
        night = LAST - timedelta(days=count - 1 - i)
        if rng.random() < 0.1:
            nights.append(Night(night))
            continue
        easing = i / count  # measures start, and nights get better, over the period
        tried = {
            m for m, p in (("warmth", 0.6 * easing), ("stretching", 0.5 * easing), ("massage", 0.2)) if rng.random() < p
        }
        tips = {"routine"} if rng.random() < 0.3 * easing else set()
        if rng.random() < 0.3:
            tried.add("caffeine")
        score = round(min(10, max(0, rng.gauss(7.5 - 4 * easing - 1.2 * len(tried & {"warmth", "stretching"}), 1.3))))
        onset = (
            Onset.none
            if score == 0
            else rng.choice([Onset.six_to_nine, Onset.nine_to_midnight, Onset.nine_to_midnight])
        )
        nights.append(Night(night, score, onset, frozenset(tried | tips), frozenset(tips)))
    return nights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    content = load_content(default_content_dir())
    names = {**measure_names(content.tips), **content.messages.diary.measure_names}
    args.directory.mkdir(parents=True, exist_ok=True)
    nights = sample_nights(90)
    (args.directory / "diary-chart.png").write_bytes(render_chart(nights[-14:], names))
    report = ReportData(
        nights[-30:],
        names,
        [Ferritin(date(2026, 9, 14), 38.0), Ferritin(date(2026, 11, 20), 71.0)],
        Medicines(frozenset({"iron"}), "ferrous sulfate every other day"),
        what_seems_to_help(nights[-30:], list(names)),
        None,
        LAST + timedelta(days=1),
    )
    (args.directory / "diary-report.pdf").write_bytes(render_report(report))
    from bot.diary.analysis import summarise

    print(" ".join(summary_sentences(summarise(nights[-14:]), names)))


if __name__ == "__main__":
    main()
