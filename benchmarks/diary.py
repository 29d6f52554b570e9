"""Render time and memory of the diary chart and the PDF report, at 14, 30 and 90 nights.

Targets: a chart under 300 ms, a PDF under 1 s at 90 days of data. Both are rendered the way the
bot renders them (the chart in colour for /diary, the PDF with its grey chart and tables). Peak
memory is what tracemalloc sees Python allocate during one render (matplotlib's C buffers
included, as they are allocated through Python), and the process's resident size afterwards.

The verdict is on the median wall time. Usage: python benchmarks/diary.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bot.devtools.diary_samples import sample_nights
from bot.diary.analysis import OnsetShift, what_seems_to_help
from bot.diary.chart import render_chart
from bot.diary.medicines import Medicines
from bot.diary.report import ReportData, render_report
from bot.diary.service import Ferritin
from bot.diary.words import measure_names
from bot.knowledge import load_content

CONTENT = Path(__file__).resolve().parent.parent / "content"


def measure(render: Callable[[], bytes], runs: int) -> tuple[float, float, float, float, int]:
    """(median wall ms, best wall ms, median CPU ms, peak MiB, bytes) over `runs` renders after a
    warm-up. CPU time is this process's own: on a shared machine wall time also counts the
    moments other processes held the cores."""
    render()
    wall, cpu = [], []
    for _ in range(runs):
        started, used = time.perf_counter(), time.process_time()
        render()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    tracemalloc.start()
    output = render()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(wall), min(wall), statistics.median(cpu), peak, len(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    names = measure_names(load_content(CONTENT).tips)
    print(
        f"diary rendering, {args.runs} runs each after a warm-up; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'what':<22}{'median ms':>10}{'best ms':>9}{'CPU ms':>8}{'peak MiB':>10}{'size KB':>9}  target")
    for count in (14, 30, 90):
        data = sample_nights(count)
        median, best, cpu, peak, size = measure(lambda data=data: render_chart(data, names), args.runs)
        verdict = "ok" if median < 300 else "OVER"
        row = f"{f'chart, {count} nights':<22}{median:>10.0f}{best:>9.0f}{cpu:>8.0f}{peak:>10.1f}{size / 1024:>9.0f}"
        print(f"{row}  < 300 ms {verdict}")
    for count in (30, 90):
        data = sample_nights(count)
        report = ReportData(
            data,
            names,
            [Ferritin(date(2026, 9, 3), 38.0), Ferritin(date(2026, 11, 20), 71.5)],
            Medicines(frozenset({"dopamine"}), "pramipexole 0.125 mg at 8 pm"),
            what_seems_to_help(data, list(names)),
            OnsetShift(22.5, 19.5, 3.0),
            date(2026, 12, 1),
        )
        median, best, cpu, peak, size = measure(lambda report=report: render_report(report), args.runs)
        verdict = "ok" if median < 1000 else "OVER"
        row = f"{f'PDF, {count} days':<22}{median:>10.0f}{best:>9.0f}{cpu:>8.0f}{peak:>10.1f}{size / 1024:>9.0f}"
        print(f"{row}  < 1 s {verdict}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak resident size: {rss:.0f} MiB (Python, matplotlib, fpdf2 and the renders)")


if __name__ == "__main__":
    main()
