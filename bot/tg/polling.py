"""Long polling into the inbox, reading each update on its own so that one bad update cannot
deafen the bot.

PTB's `Bot.get_updates` parses a whole batch at once: a single update it cannot read (a newer
Bot API shape) fails the batch, the offset never moves past it, the bot hears nothing ever
again, and a CRITICAL log line repeats the payloads every time. So here:

1. Fetch. getUpdates goes through `Bot.do_api_request`, whose answer stays raw JSON.
2. Write. The batch goes to the pipeline, which parses each update alone, skips and counts the
   unreadable ones, and writes the rest to the inbox in one transaction.
3. Advance. Only then does the offset move past the batch, so the next getUpdates confirms to
   Telegram only what is already durable: a SIGKILL at any point loses nothing.

Telegram's errors (network, 5xx, 429, 409 conflict) are retried with backoff; a batch the
database could not take is not confirmed, and is fetched again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from telegram import Bot, Update
from telegram.error import RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.tg.pipeline import update_id_of

log = logging.getLogger(__name__)

POLL_SECONDS = 10  # Telegram holds each getUpdates open this long when there is nothing new
READ_MARGIN = 10.0  # extra read time on top of the long poll before the request counts as lost
MAX_BACKOFF = 30.0

Receive = Callable[[Sequence[object]], Awaitable[int]]


class Poller:
    def __init__(
        self,
        bot: Bot,
        receive: Receive,
        *,
        timeout: int = POLL_SECONDS,
        allowed_updates: Sequence[str] = Update.ALL_TYPES,
    ) -> None:
        self.bot = bot
        self.receive = receive
        self.timeout = timeout
        self.allowed_updates = list(allowed_updates)
        self.offset: int | None = None
        self._failures = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # PTB points out that getUpdates has a typed method; its untyped answer is the point here.
        warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)
        await self.bot.delete_webhook(drop_pending_updates=False)  # getUpdates is refused while one is set
        self._task = asyncio.create_task(self._run(), name="poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._confirm()

    async def _run(self) -> None:
        while True:
            try:
                batch = await self._fetch(self.timeout)
            except RetryAfter as exc:
                await self._back_off(exc, _seconds(exc.retry_after))
                continue
            except TelegramError as exc:
                await self._back_off(exc)
                continue
            if batch:
                try:
                    await self.receive(batch)
                except Exception as exc:  # the database is away: nothing confirmed, fetch it again
                    await self._back_off(exc)
                    continue
                self._advance(batch)
            self._recovered()

    # -- 1. fetch -----------------------------------------------------------------------------

    async def _fetch(self, timeout: int, limit: int | None = None) -> list[object]:
        result = await self.bot.do_api_request(
            "getUpdates",
            api_kwargs={
                "offset": self.offset,
                "timeout": timeout,
                "limit": limit,
                "allowed_updates": self.allowed_updates,
            },
            read_timeout=timeout + READ_MARGIN,
        )
        return result if isinstance(result, list) else []

    # -- 3. advance ---------------------------------------------------------------------------

    def _advance(self, batch: Sequence[object]) -> None:
        ids = [update_id for update_id in map(update_id_of, batch) if update_id is not None]
        if ids:
            self.offset = max(ids) + 1

    async def _confirm(self) -> None:
        """On stop: one short getUpdates with the offset, so Telegram forgets what is already in
        the inbox and the next start does not fetch it again (PTB's Updater does the same)."""
        if self.offset is None:
            return
        with contextlib.suppress(TelegramError):
            await self._fetch(0, limit=1)

    # -- errors -------------------------------------------------------------------------------

    async def _back_off(self, exc: Exception, at_least: float = 0.0) -> None:
        """One WARNING line per failed attempt, with what failed and when the next one comes."""
        self._failures += 1
        wait = max(at_least, min(MAX_BACKOFF, 0.5 * 2 ** (self._failures - 1)))
        cause = f"{type(exc).__name__}: {type(exc.__cause__).__name__}" if exc.__cause__ else type(exc).__name__
        log.warning("Bot API getUpdates failed (%s); retrying in %.1f s", cause, wait)
        await asyncio.sleep(wait)

    def _recovered(self) -> None:
        if self._failures:
            log.info("polling again after %d failed attempts", self._failures)
            self._failures = 0


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
