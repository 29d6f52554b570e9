"""Charts and PDFs are rendered off the event loop, in one worker thread.

Rendering takes a few hundred milliseconds of CPU; on the event loop that would stall every
other chat's replies and the reminder dispatcher. One thread, not a pool: matplotlib's font and
text caches are not made for concurrent use, and renders queue for a moment rather than
competing for the same two cores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from bot.diary.chart import render_chart
from bot.diary.nights import Night
from bot.diary.report import ReportData, render_report


class Renderer:
    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="diary-render")

    async def chart(self, nights: Sequence[Night], names: dict[str, str]) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(self._thread, render_chart, nights, names)

    async def report(self, data: ReportData) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(self._thread, render_report, data)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
