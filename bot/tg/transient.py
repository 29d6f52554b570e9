"""Bot API failures while polling: one WARNING line each, not an ERROR with a traceback.

When getUpdates fails because Telegram or the network is away, python-telegram-bot's polling loop
hands the error to the error handlers with no update, then tries again after a pause that grows
(1 s, then half as long again each time, at most 30 s; a success starts over). The general error
handler logged each as `update None failed` with a 55-line traceback, so a ten-minute outage buried
the log. This handler runs first and writes one line per failure instead: the method, the kind of
failure, and the pause before the next try, which is what an operator needs to tell a blip from an
outage. Any other error goes on to the general handler.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telegram.error import Conflict, NetworkError
from telegram.ext import ApplicationHandlerStop, ContextTypes

log = logging.getLogger(__name__)

FIRST_PAUSE = 1.0  # python-telegram-bot's network_retry_loop, for a poll interval of 0
GROWTH = 1.5
MAX_PAUSE = 30.0
POLL_SECONDS = 10.0  # run_polling's long-poll timeout: a success in between takes at least this


class PollingFailures:
    """Reports polling failures and follows PTB's retry schedule to say when the next try comes.
    Two failures closer together than the last pause plus one long poll are the same outage."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.pause = 0.0
        self._last: float | None = None

    def next_pause(self) -> float:
        now = self.clock()
        same_outage = self._last is not None and now - self._last <= self.pause + POLL_SECONDS
        self.pause = min(MAX_PAUSE, GROWTH * self.pause) if same_outage and self.pause else FIRST_PAUSE
        self._last = now
        return self.pause

    async def handle(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Error handler: only errors from the polling loop (no update, no job) are taken."""
        error = context.error
        if update is not None or context.job is not None or not isinstance(error, NetworkError | Conflict):
            return
        pause = self.next_pause()
        if isinstance(error, Conflict):
            log.warning(
                "Bot API getUpdates refused (Conflict: another process polls with this token); retrying in %.1f s",
                pause,
            )
        else:
            log.warning("Bot API getUpdates failed (%s); retrying in %.1f s", _reason(error), pause)
        raise ApplicationHandlerStop


def _reason(error: NetworkError) -> str:
    """The exception type, and the transport error under it (ConnectError, ReadError...)."""
    cause = error.__cause__
    return f"{type(error).__name__}: {type(cause).__name__}" if cause is not None else type(error).__name__
