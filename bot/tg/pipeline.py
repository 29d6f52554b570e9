"""Handles updates from the inbox: concurrently across chats, strictly in order within a chat.

1. Receive. The webhook and the poller hand Telegram's raw updates to `receive()`, which parses
   each one on its own: one python-telegram-bot cannot read is skipped and counted (by update_id,
   never its payload), so it cannot hold up the others. The rest is written to the inbox in one
   transaction before the caller tells Telegram they arrived, and the workers are woken.
2. Claim. The loop claims as many chat heads as it has free slots (`concurrency`: the bound on
   updates in flight in this process); the inbox sees to it that no chat has two updates in
   flight in any process. It also looks every `poll_interval` seconds, for updates that another
   process wrote and for leases that ran out.
3. Handle. Each claimed update goes through `Application.process_update`, PTB's own dispatch to
   the handlers (a handler's exception has reached the error handler by the time it returns).
   Then the row is deleted, and in the same transaction the chat's next update, if one waits, is
   claimed for the same worker: only now can it start. A worker keeps its chat while updates
   keep coming; the leases of updates in flight are renewed while they run. An update whose
   answer could not reach Telegram at all (the error handler reports it: no connection, so
   nothing was delivered) is not deleted but deferred: handled again after half its age (1-30 s),
   its chat's later updates behind it, until Telegram has been away for DEFER_FOR.

On stop, updates in flight get a bounded time to finish; whatever is left goes back to the inbox
for the next process, except an update cut off after one of its Bot API requests went out (it
may have been answered: it is removed rather than answered twice). See bot/inbox.py for what can
still be handled twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from telegram import Update
from telegram.ext import Application

from bot import metrics
from bot.inbox import Claim, Inbox, Incoming

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # claims of one update before it is given up: it kills its process every time
FINISH_TRIES = 3
DEFER_SECONDS = (1.0, 30.0)  # an unanswerable update waits half its age, within these bounds
DEFER_FOR = timedelta(minutes=15)  # an update Telegram could not be reached for since is dropped


def update_id_of(raw: object) -> int | None:
    """The update's id if it has a proper one: the only thing about a bad update worth logging."""
    update_id = raw.get("update_id") if isinstance(raw, Mapping) else None
    return update_id if isinstance(update_id, int) and not isinstance(update_id, bool) else None


def readable(raw: object, application: Application) -> Incoming | None:
    """The update as the inbox keeps it, or None if PTB cannot read it."""
    if not isinstance(raw, Mapping) or update_id_of(raw) is None:
        return None
    try:
        # ASCII-escaped: a lone surrogate in a name (Telegram sends them) must not fail the write
        payload = json.dumps(raw, separators=(",", ":"))
        update = Update.de_json(json.loads(payload), application.bot)
    except Exception:  # whatever PTB raises for an update it cannot read; the caller counts it
        return None
    chat, user = update.effective_chat, update.effective_user
    key = chat.id if chat is not None else user.id if user is not None else None
    return Incoming(update.update_id, key, payload)


INBOX_WRITE_SECONDS = 1.5  # longer than this, and polling answers without the inbox


@dataclass
class _Handling:
    """The update this task is handling, and whether any Bot API request went out for it."""

    claim: Claim
    requested: bool = False


_HANDLING: ContextVar[_Handling | None] = ContextVar("handling", default=None)


def request_going_out() -> None:
    """Called by the Bot API request layer before every request: from now on the update being
    handled (if this is a handler's request) may have had an effect on Telegram's side."""
    handling = _HANDLING.get()
    if handling is not None:
        handling.requested = True


class UpdatePipeline:
    def __init__(
        self,
        application: Application,
        inbox: Inbox,
        *,
        concurrency: int = 32,
        poll_interval: float = 1.0,
    ) -> None:
        self.application = application
        self.inbox = inbox
        self.concurrency = concurrency
        self._answered_directly: set[int] = set()  # updates handled while the inbox was unwritable
        self._late_writes: set[asyncio.Future[int]] = set()  # inbox writes that outlived their wait
        self.poll_interval = poll_interval
        self._workers: dict[asyncio.Task[None], int] = {}  # each worker and the update it handles now
        self._undelivered: set[int] = set()  # updates in flight whose answer could not reach Telegram
        self._cut_off: list[Claim] = []  # cancelled on stop after a request of theirs went out
        self._woken = asyncio.Event()
        self._stopping = False
        self._claiming_fails = False
        self._tasks: list[asyncio.Task[None]] = []

    # -- 1. receive ---------------------------------------------------------------------------

    async def receive(self, raw_updates: Sequence[object], source: str) -> int:
        """Write the readable updates to the inbox and wake the workers; returns how many were
        skipped as unreadable. Raises if the database cannot take them (nothing is confirmed).
        Polling gives the write INBOX_WRITE_SECONDS, then answers without the inbox; the webhook
        waits for it, because cancelling a write does not prove it did not commit: a 503 for an
        update that was stored anyway made Telegram send it again after it had been answered."""
        readable_updates: list[Incoming] = []
        for raw in raw_updates:
            incoming = readable(raw, self.application)
            if incoming is None:
                metrics.UNPARSABLE_UPDATES.labels(source).inc()
                log.warning("skipped update %s: python-telegram-bot cannot read it", update_id_of(raw))
            else:
                readable_updates.append(incoming)
        if readable_updates:
            try:
                if source == "polling":
                    new = await self._accept_in_time(readable_updates)
                else:  # no time limit: a write cut off by one may still commit, after a 503 went out
                    new = await self.inbox.accept(readable_updates)
            except Exception as exc:
                if source != "polling":
                    raise  # the webhook answers 503 and Telegram sends the update again
                await self._answer_directly(readable_updates, exc)
                return len(raw_updates) - len(readable_updates)
            metrics.INBOX_DUPLICATES.inc(len(readable_updates) - new)
            self.wake()
        return len(raw_updates) - len(readable_updates)

    async def _accept_in_time(self, updates: list[Incoming]) -> int:
        """The inbox write, given INBOX_WRITE_SECONDS; TimeoutError if the database is stuck. The
        late write is left to finish or fail on its own: cancelling it mid-statement would leave
        its connection inside a transaction that holds the lock. If it lands, the updates it holds
        are skipped (they were answered directly)."""
        write = asyncio.ensure_future(self.inbox.accept(updates))
        done, _ = await asyncio.wait({write}, timeout=INBOX_WRITE_SECONDS)
        if done:
            return write.result()
        self._late_writes.add(write)
        write.add_done_callback(self._late_write_done)
        raise TimeoutError("the inbox write did not finish in time")

    def _late_write_done(self, write: asyncio.Future[int]) -> None:
        self._late_writes.discard(write)
        if not write.cancelled() and write.exception() is not None:
            log.info("a late inbox write failed (%s)", type(write.exception()).__name__)

    async def _answer_directly(self, updates: Sequence[Incoming], exc: Exception) -> None:
        """The database cannot take the batch (locked, full, away): in polling mode the bot must not
        go deaf, so the batch is handled here and now, in order, without the inbox. A crash in this
        window loses those updates; it lasts only while the database refuses writes."""
        log.warning("inbox unavailable (%s); answering %d update(s) without it", type(exc).__name__, len(updates))
        self._answered_directly.update(u.update_id for u in updates)
        for incoming in updates:
            update = Update.de_json(json.loads(incoming.payload), self.application.bot)
            await self.application.process_update(update)

    def wake(self) -> None:
        self._woken.set()

    # -- 2. claim -----------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="inbox:claim"),
            asyncio.create_task(self._renew_leases(), name="inbox:renew"),
        ]

    async def _run(self) -> None:
        while not self._stopping:
            self._woken.clear()
            for claim in await self._claim(self.concurrency - len(self._workers)):
                self._workers[asyncio.create_task(self._work(claim), name="inbox:worker")] = claim.update_id
            metrics.UPDATES_IN_FLIGHT.set(len(self._workers))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self.poll_interval)

    async def _claim(self, free: int) -> list[Claim]:
        if free < 1:
            return []
        try:
            claims = await self.inbox.claim(free)
        except Exception as exc:  # the database is away: keep looking, say so once
            if not self._claiming_fails:
                log.warning("cannot claim updates from the inbox (%s); retrying", type(exc).__name__)
            self._claiming_fails = True
            return []
        if self._claiming_fails:
            log.info("claiming updates from the inbox again")
            self._claiming_fails = False
        return claims

    async def _renew_leases(self) -> None:
        every = self.inbox.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self.inbox.renew(list(self._workers.values()))
            except Exception as exc:  # the next round tries again; a lease outlives two misses
                log.warning("cannot renew inbox leases (%s)", type(exc).__name__)

    # -- 3. handle ----------------------------------------------------------------------------

    async def _work(self, claim: Claim) -> None:
        """Handle a claimed update, then its chat's next ones while they keep coming: finishing
        one claims the next in the same transaction."""
        worker = asyncio.current_task()
        assert worker is not None
        current: Claim | None = claim
        try:
            while current is not None:
                self._workers[worker] = current.update_id
                started = time.perf_counter()
                await self._process(current)
                if current.update_id in self._undelivered:
                    self._undelivered.discard(current.update_id)
                    await self._defer(current)  # the chat's next update waits behind it
                    current = None
                else:
                    current = await self._finish(current)
                metrics.UPDATE_SECONDS.observe(time.perf_counter() - started)
        finally:
            self._workers.pop(worker, None)
            self.wake()  # a slot is free: another chat's update can go now

    async def _process(self, claim: Claim) -> None:
        if claim.update_id in self._answered_directly:  # a write that landed after we gave up on it
            self._answered_directly.discard(claim.update_id)
            return
        if claim.attempts > MAX_ATTEMPTS:
            metrics.INBOX_DROPPED.labels("attempts").inc()
            log.error("update %s given up after %d attempts", claim.update_id, claim.attempts - 1)
            return
        if claim.attempts > 1:
            metrics.INBOX_RECLAIMED.inc()
        handling = _Handling(claim)
        token = _HANDLING.set(handling)  # seen by request_going_out() in this task's Bot API calls
        try:
            bot = self.application.bot
            update = Update.de_json(json.loads(claim.payload), bot)
            bot.insert_callback_data(update)
            await self.application.process_update(update)
        except asyncio.CancelledError:
            if handling.requested:  # stop() cut it off after it may have answered: not handed on
                self._cut_off.append(claim)
            raise
        except Exception as exc:  # handler errors went to the error handler; this is anything else
            log.error("update %s could not be handled: %s", claim.update_id, type(exc).__name__)
        finally:
            _HANDLING.reset(token)

    def undelivered(self, update_id: int) -> bool:
        """The error handler's report that an update's answer never reached Telegram (the Bot API
        could not be reached): it goes back to the inbox to be handled again, later. False if the
        update is not in flight here (handled without the inbox): nothing will try it again."""
        if update_id not in self._workers.values():
            return False
        self._undelivered.add(update_id)
        return True

    async def _defer(self, claim: Claim) -> None:
        """Back to the inbox for a later try, or dropped once Telegram was away for DEFER_FOR."""
        now = self.inbox.clock()
        age = now - (claim.received_at or now)
        if age > DEFER_FOR:
            metrics.INBOX_DROPPED.labels("unreachable").inc()
            log.warning("update %s dropped: Telegram could not be reached for %s", claim.update_id, age)
            await self._finish(claim, take_next=False)
            return
        low, high = DEFER_SECONDS
        delay = min(high, max(low, age.total_seconds() / 2))
        try:
            deferred = await self.inbox.defer(claim, now + timedelta(seconds=delay))
        except Exception as exc:  # the claim's lease runs out instead, and it is tried again then
            log.warning("cannot defer update %s (%s)", claim.update_id, type(exc).__name__)
            return
        if deferred:
            metrics.INBOX_DEFERRED.inc()

    async def _finish(self, claim: Claim, *, take_next: bool = True) -> Claim | None:
        """Remove it from the inbox; returns the chat's next update if that was claimed too."""
        for attempt in range(FINISH_TRIES):
            try:
                finished = await self.inbox.finish(claim, take_next=take_next and not self._stopping)
            except Exception as exc:  # the database blinked: the claim stays ours, try again
                log.warning("cannot remove update %s from the inbox (%s)", claim.update_id, type(exc).__name__)
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            if finished.ours:
                metrics.INBOX_HANDLED.inc()
            else:
                log.warning("update %s was taken over by another process while handled here", claim.update_id)
            return finished.next
        return None

    # -- stop ---------------------------------------------------------------------------------

    async def _drop_cut_off(self) -> None:
        """Updates cut off by the stop after one of their Bot API requests went out may already
        have been answered: handing them on would answer them twice, so they are removed (at
        most once, as the dispatcher treats a tip in doubt). The others are handed on."""
        for claim in self._cut_off:
            metrics.INBOX_DROPPED.labels("cut_off").inc()
            log.warning("update %s was cut off after its answer may have gone out; not handled again", claim.update_id)
            await self._finish(claim, take_next=False)
        self._cut_off.clear()

    async def stop(self, timeout: float) -> None:
        """Claim nothing more, let updates in flight finish for up to `timeout` seconds, and hand
        what is left back to the inbox, except what may have been answered already."""
        self._stopping = True
        self.wake()
        claim_loop, renewer = self._tasks or (None, None)
        if claim_loop is not None:
            await claim_loop
        in_flight = list(self._workers)
        if in_flight:
            _, late = await asyncio.wait(in_flight, timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            if late:
                log.warning("%d updates did not finish within %.0f s", len(late), timeout)
        await self._drop_cut_off()
        if renewer is not None:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
        if self._late_writes:  # each ends within the database's busy timeout
            await asyncio.wait(set(self._late_writes), timeout=timeout)
        try:
            released = await self.inbox.release()
        except Exception as exc:  # their leases run out instead
            log.warning("cannot hand unfinished updates back (%s)", type(exc).__name__)
            return
        if released:
            log.info("handed %d unfinished updates to the next process", released)
