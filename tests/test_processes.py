"""Live bot processes on one database: a beat makes a process count, silence or leaving ends it."""

from __future__ import annotations

from datetime import timedelta

from bot.reminders.processes import Processes

from .conftest import FakeClock


async def test_processes_count_each_other_until_one_falls_silent_or_leaves(sessions, clock: FakeClock):
    one, two, three = (Processes(sessions, name, clock) for name in ("one", "two", "three"))
    assert await one.beat() == 1
    assert await two.beat() == 2
    assert await three.beat() == 3
    clock.advance(seconds=8)
    await one.beat()
    await two.beat()
    clock.advance(seconds=4)  # three was SIGKILLed 12 s ago: no longer counted
    assert await one.beat() == 2
    await two.leave()  # a clean stop counts at once
    assert await one.beat() == 1
    clock.advance(hours=2)
    assert await three.beat() == 1  # a restarted process under an old name is simply alive again


async def test_a_long_dead_process_row_is_forgotten(sessions, clock: FakeClock):
    await Processes(sessions, "dead", clock).beat()
    clock.advance(hours=1, minutes=1)
    survivor = Processes(sessions, "survivor", clock, ttl=timedelta(days=1))
    assert await survivor.beat() == 1  # even a generous TTL does not count the forgotten row
