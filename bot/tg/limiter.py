"""Telegram's rate limits for the whole bot, with replies to people ahead of reminders.

Telegram takes about 30 messages a second from a bot, about one a second in a private chat and
20 a minute in a group, and answers 429 with retry_after beyond that. PTB's AIORateLimiter
serves requests in arrival order and pauses *every* request when one chat gets a 429, so an
evening burst queued ahead of a reply delays the reply by the whole queue, and one flooded
chat stalls everyone. This limiter, for every request that names a chat:

1. paces all of them to one global rate (this process's share of SEND_RATE): one slot every
   1/rate seconds, never a burst;
2. gives each slot to the oldest waiting reply (any request not marked `Lane.reminder`) before
   any reminder, except that after REPLY_STREAK replies in a row while a reminder waits, the
   reminder gets one: a busy hour of chat cannot starve the evening's tips;
3. lets a request take a slot only when its own chat's window allows it, so a slot is never
   spent on a request Telegram would refuse;
4. on a 429 pauses only that chat for retry_after. When several chats get one within a second
   the flood is global, and the global pace halves for a while. Replies are retried after
   their chat's pause; reminders are not, the dispatcher reschedules them.

Requests without a chat (getMe, answerCallbackQuery, setWebhook) are not paced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from telegram.error import NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.tg.transport import never_left, retry_seconds

log = logging.getLogger(__name__)

PRIVATE_CHAT = (3, 3.0)  # 3 at once, then one a second: Telegram's "about one a second, short bursts"
GROUP_CHAT = (20, 60.0)  # at most 20 messages in any minute
REPLY_STREAK = 4  # replies in a row before a waiting reminder gets a slot: reminders keep >= 20 %
FLOOD_CHATS = 3  # chats refused within FLOOD_SECONDS that mean the whole bot is over the limit
FLOOD_SECONDS = 1.0
SLOW_SECONDS = 10.0  # how long the global pace stays halved after a global flood
RETRIES = 2  # a reply refused with 429 is tried again this often after its chat's pause
MAX_WAIT = 60.0  # a reply is not held back longer than this: the 429 goes to the error handler
CHATS_KEPT = 10_000  # per-chat history beyond this is pruned (only recent sends matter)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


class Lane(StrEnum):
    reply = "reply"
    reminder = "reminder"


@dataclass
class _Chat:
    """One chat's pace, as a sliding window: at most `count` messages in any `seconds` (groups:
    20 a minute). `steady=True` makes it a token bucket instead (private chats): `count` at once,
    then one every `seconds / count`, which is "about one a second, short bursts allowed" without
    making a fourth quick reply wait out the whole window."""

    limit: tuple[int, float]
    steady: bool = False
    sent: deque[float] = field(default_factory=deque)  # the window's last `count` sends
    due: float = 0.0  # the bucket's theoretical time of the next send at the steady pace
    last: float = 0.0  # the latest send, for pruning
    paused_until: float = 0.0  # after a 429 for this chat

    def ready_at(self) -> float:
        count, seconds = self.limit
        if self.steady:
            ready = self.due - (count - 1) * seconds / count
        else:
            ready = self.sent[0] + seconds if len(self.sent) >= count else 0.0
        return max(ready, self.paused_until)

    def record(self, now: float) -> None:
        self.last = now
        count, seconds = self.limit
        if self.steady:
            self.due = max(self.due, now) + seconds / count
            return
        self.sent.append(now)
        while len(self.sent) > count:
            self.sent.popleft()

    def unrecord(self, at: float) -> None:
        """A message that never reached Telegram does not count against the chat."""
        if self.steady:
            self.due -= self.limit[1] / self.limit[0]
        elif at in self.sent:
            self.sent.remove(at)


@dataclass
class _Ticket:
    chat: int | str
    granted: asyncio.Future[float]  # resolves to the moment the slot was granted


def _chat_key(chat_id: object) -> int | str:
    try:
        return int(chat_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(chat_id)  # @channelusername


class PriorityRateLimiter(BaseRateLimiter[Lane]):
    def __init__(self, rate: float, private_chat: tuple[int, float] = PRIVATE_CHAT) -> None:
        self.rate = rate
        self.private_chat = private_chat  # (count, seconds) for one private chat
        self._lanes: dict[Lane, deque[_Ticket]] = {Lane.reply: deque(), Lane.reminder: deque()}
        self._chats: dict[int | str, _Chat] = {}
        self._next_slot = 0.0
        self._reply_streak = 0
        self._slow_until = 0.0
        self._refused: dict[int | str, float] = {}  # chat -> last 429, for telling a global flood
        self._arrived = asyncio.Event()
        self._pacer: asyncio.Task[None] | None = None

    # -- BaseRateLimiter ----------------------------------------------------------------------

    async def initialize(self) -> None:
        self._start()

    async def shutdown(self) -> None:
        if self._pacer is not None:
            self._pacer.cancel()
            self._pacer = None
        for lane in self._lanes.values():
            while lane:
                lane.popleft().granted.cancel()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Lane | None,
    ) -> JSONResult:
        if data.get("chat_id") is None:
            return await callback(*args, **kwargs)
        chat = _chat_key(data["chat_id"])
        lane = Lane.reminder if rate_limit_args == Lane.reminder else Lane.reply
        for attempt in range(RETRIES + 1):
            granted_at = await self._turn(chat, lane)
            try:
                return await callback(*args, **kwargs)
            except NetworkError as exc:
                if never_left(exc):
                    self._state(chat).unrecord(granted_at)
                raise
            except RetryAfter as exc:
                wait = retry_seconds(exc)
                self._refuse(chat, wait)
                if lane is Lane.reminder or attempt == RETRIES or wait > MAX_WAIT:
                    raise
                log.info("429 for one chat: retrying its reply in %.0f s", wait)
        raise AssertionError("unreachable")

    # -- the share of SEND_RATE ---------------------------------------------------------------

    def set_rate(self, rate: float) -> None:
        """This process's share of SEND_RATE, which changes as processes come and go."""
        if rate != self.rate:
            log.info("sending at %.1f messages/s", rate)
        self.rate = rate

    # -- waiting for a slot -------------------------------------------------------------------

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _start(self) -> None:
        if self._pacer is None or self._pacer.done():
            self._pacer = asyncio.get_running_loop().create_task(self._pace(), name="rate-limiter")

    def _state(self, chat: int | str) -> _Chat:
        state = self._chats.get(chat)
        if state is None:
            private = isinstance(chat, int) and chat > 0
            state = self._chats[chat] = _Chat(self.private_chat, steady=True) if private else _Chat(GROUP_CHAT)
        return state

    async def _turn(self, chat: int | str, lane: Lane) -> float:
        """Wait until the pacer gives this request a slot; return when it did."""
        paused = self._state(chat).paused_until - self._now()
        if lane is Lane.reminder and paused > 0:  # do not hold a reminder behind a chat's pause
            raise RetryAfter(math.ceil(paused))
        ticket = _Ticket(chat, asyncio.get_running_loop().create_future())
        self._lanes[lane].append(ticket)
        self._start()
        self._arrived.set()
        try:
            return await ticket.granted
        except asyncio.CancelledError:
            if ticket in self._lanes[lane]:
                self._lanes[lane].remove(ticket)
            raise

    # -- the pacer ----------------------------------------------------------------------------

    async def _pace(self) -> None:
        while True:
            wake_at = self._release(self._now())
            if wake_at is None:
                continue  # released one; see whether the next may go
            self._arrived.clear()
            timeout = None if math.isinf(wake_at) else max(0.0, wake_at - self._now())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)

    def _release(self, now: float) -> float | None:
        """Grant one slot if one is due and a request may take it; else say when to look again."""
        if now < self._next_slot:
            return self._next_slot
        reply, reply_at = self._first_ready(Lane.reply, now)
        reminder, reminder_at = self._first_ready(Lane.reminder, now)
        if reply is not None and (reminder is None or self._reply_streak < REPLY_STREAK):
            chosen, lane = reply, Lane.reply
            self._reply_streak = self._reply_streak + 1 if reminder is not None else 0
        elif reminder is not None:
            chosen, lane = reminder, Lane.reminder
            self._reply_streak = 0
        else:
            return min(reply_at, reminder_at)
        self._lanes[lane].remove(chosen)
        self._state(chosen.chat).record(now)
        chosen.granted.set_result(now)
        interval = 1 / self.rate * (2 if now < self._slow_until else 1)
        self._next_slot = max(now, self._next_slot) + interval
        self._prune(now)
        return None

    def _first_ready(self, lane: Lane, now: float) -> tuple[_Ticket | None, float]:
        """The oldest request in the lane whose chat may receive a message now, or when the
        earliest one may (infinity if the lane is empty)."""
        earliest = math.inf
        for ticket in list(self._lanes[lane]):
            if ticket.granted.done():  # cancelled while waiting
                self._lanes[lane].remove(ticket)
                continue
            ready_at = self._state(ticket.chat).ready_at()
            if ready_at <= now:
                return ticket, now
            earliest = min(earliest, ready_at)
        return None, earliest

    # -- 429s ---------------------------------------------------------------------------------

    def _refuse(self, chat: int | str, wait: float) -> None:
        now = self._now()
        state = self._state(chat)
        state.paused_until = max(state.paused_until, now + wait)
        self._refused[chat] = now
        self._refused = {c: t for c, t in self._refused.items() if now - t <= FLOOD_SECONDS}
        if len(self._refused) >= FLOOD_CHATS and now >= self._slow_until:
            log.warning("429s for %d chats at once: halving the pace for %.0f s", len(self._refused), SLOW_SECONDS)
            self._slow_until = now + max(wait, SLOW_SECONDS)
        self._arrived.set()

    def _prune(self, now: float) -> None:
        if len(self._chats) <= CHATS_KEPT:
            return
        waiting = {t.chat for lane in self._lanes.values() for t in lane}
        self._chats = {
            chat: state
            for chat, state in self._chats.items()
            if chat in waiting or state.paused_until > now or (state.last and now - state.last < GROUP_CHAT[1])
        }
