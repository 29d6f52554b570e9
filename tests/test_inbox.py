"""The inbox on SQLite and PostgreSQL: nothing written is lost, a chat's updates go one at a time in
order, other chats go ahead meanwhile, and a dead owner's work is taken over after its lease."""

from __future__ import annotations

import asyncio
import json
import random

from bot.inbox import Claim, Inbox, Incoming
from bot.storage.database import create_engine, session_factory

from .conftest import FakeClock


def incoming(update_id: int, chat_id: int | None) -> Incoming:
    return Incoming(update_id, chat_id, json.dumps({"update_id": update_id}))


def ids(claims: list[Claim]) -> list[int]:
    return [c.update_id for c in claims]


async def test_an_update_sent_again_while_it_waits_is_kept_once(sessions, clock: FakeClock):
    inbox = Inbox(sessions, clock=clock)
    assert await inbox.accept([incoming(1, 42), incoming(2, 43)]) == 2
    assert await inbox.accept([incoming(2, 43), incoming(3, 43)]) == 1  # Telegram resent 2
    assert await inbox.waiting() == 3
    assert ids(await inbox.claim(10)) == [1, 2]


async def test_a_chat_gets_one_update_at_a_time_in_order_while_other_chats_go_ahead(sessions, clock):
    inbox = Inbox(sessions, clock=clock)
    await inbox.accept([incoming(1, 42), incoming(2, 42), incoming(3, 7), incoming(4, 42), incoming(5, None)])
    first = await inbox.claim(10)
    assert ids(first) == [1, 3, 5]  # one head per chat; an update without a chat has no order to keep
    assert await inbox.claim(10) == []  # chat 42's next waits for its first
    assert (await inbox.finish(first[0], take_next=False)).ours
    [second] = await inbox.claim(10)
    assert second.update_id == 2
    finished = await inbox.finish(second)  # and the chat's next comes with it, for the same worker
    assert finished.ours and finished.next is not None and finished.next.update_id == 4
    assert await inbox.claim(10) == []
    assert (await inbox.finish(finished.next)).next is None
    assert (await inbox.finish(first[2])).next is None  # no chat, no next: nothing else is claimed
    assert ids(await inbox.claim(10)) == []
    assert await inbox.waiting() == 1  # chat 7's update 3, still claimed


async def test_a_dead_owners_update_is_taken_over_after_its_lease(sessions, clock: FakeClock):
    dead, alive = Inbox(sessions, clock=clock), Inbox(sessions, clock=clock)
    await inbox_with(dead, (1, 42), (2, 42))
    assert ids(await dead.claim(10)) == [1]
    assert await alive.claim(10) == []  # the lease is live: chat 42 is busy
    clock.advance(seconds=dead.lease.total_seconds() + 1)
    [again] = await alive.claim(10)
    assert (again.update_id, again.attempts) == (1, 2)
    assert not (await dead.finish(again)).ours  # came back too late: the claim is no longer its own
    finished = await alive.finish(again)
    assert finished.ours and finished.next is not None and finished.next.update_id == 2


async def test_renewed_leases_keep_a_long_handlers_chat_busy(sessions, clock: FakeClock):
    slow, other = Inbox(sessions, clock=clock), Inbox(sessions, clock=clock)
    await inbox_with(slow, (1, 42), (2, 42))
    await slow.claim(10)
    for _ in range(5):  # two and a half leases of work, renewed as it goes
        clock.advance(seconds=slow.lease.total_seconds() / 2)
        await slow.renew([1])
        assert await other.claim(10) == []


async def test_a_graceful_stop_hands_claims_back_at_once(sessions, clock: FakeClock):
    stopping, next_process = Inbox(sessions, clock=clock), Inbox(sessions, clock=clock)
    await inbox_with(stopping, (1, 42), (2, 7))
    await stopping.claim(10)
    assert await stopping.release() == 2
    assert ids(await next_process.claim(10)) == [1, 2]


async def test_an_older_update_arriving_late_waits_for_the_one_in_flight(sessions, clock: FakeClock):
    first, second = Inbox(sessions, clock=clock), Inbox(sessions, clock=clock)
    await inbox_with(first, (5, 42))
    [five] = await first.claim(10)
    await inbox_with(first, (4, 42))  # Telegram's webhook can deliver out of order
    assert await second.claim(10) == []
    assert await first.claim(10) == []
    await first.finish(five, take_next=False)
    assert ids(await second.claim(10)) == [4]


async def test_processes_racing_for_the_inbox_never_share_a_chat_and_keep_its_order(sessions, database_url, clock):
    """Four owners on their own connections claim as fast as they can; each chat's updates are
    handled strictly one after another, in order, and every update exactly once. (A plain
    select-then-update claim fails this on PostgreSQL.)"""
    engines = [create_engine(database_url) for _ in range(4)]
    owners = [Inbox(session_factory(e), clock=clock) for e in engines]
    chats, per_chat = 40, 5
    updates = [incoming(n, 1000 + n % chats) for n in range(1, chats * per_chat + 1)]
    await owners[0].accept(updates)
    handled: dict[int, list[int]] = {}
    in_flight: set[int] = set()
    overlaps: list[int] = []

    async def handle(inbox: Inbox, claim: Claim | None) -> None:
        while claim is not None:
            if claim.chat_id in in_flight:
                overlaps.append(claim.update_id)
            in_flight.add(claim.chat_id)
            await asyncio.sleep(random.random() / 1000)  # "handling" takes a moment
            in_flight.discard(claim.chat_id)
            handled.setdefault(claim.chat_id, []).append(claim.update_id)
            finished = await inbox.finish(claim, take_next=random.random() < 0.5)  # both ways to go on
            assert finished.ours
            claim = finished.next

    async def work(inbox: Inbox) -> None:
        while sum(len(v) for v in handled.values()) < len(updates):
            claims = await inbox.claim(8)
            if not claims:
                await asyncio.sleep(0)  # let the other owners finish what blocks us
                continue
            await asyncio.gather(*(handle(inbox, claim) for claim in claims))

    try:
        await asyncio.wait_for(asyncio.gather(*(work(o) for o in owners)), 60)
    finally:
        for engine in engines:
            await engine.dispose()
    assert overlaps == []
    assert handled == {
        chat: sorted(u.update_id for u in updates if u.chat_id == chat) for chat in range(1000, 1000 + chats)
    }


async def inbox_with(inbox: Inbox, *pairs: tuple[int, int | None]) -> None:
    await inbox.accept([incoming(u, c) for u, c in pairs])
