"""Delivers reminder tips through the Bot API and tells the dispatcher what happened.

The one judgement made here is whether a failed request may have reached Telegram. A failure
to connect proves it did not (bot.tg.transport), and so does an error answer from Telegram; a
timeout or a reset after the request was written, or a garbled answer, may hide a delivered
message, and re-sending it would mean two reminders in one evening.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from telegram import Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.knowledge.schema import ENGLISH, Tip
from bot.reminders.dispatcher import Outcome
from bot.reminders.replies import ReminderReplies
from bot.tg.limiter import Lane
from bot.tg.render import keyboard
from bot.tg.transport import never_left, retry_seconds

GONE_MARKERS = ("chat not found", "user is deactivated", "bot was blocked", "peer_id_invalid")
READ_TIMEOUT = 30.0  # seconds to wait for Telegram's answer: long, because giving up leaves doubt


def classify_network_error(exc: NetworkError) -> Outcome:
    """Certainly not sent (retry later) or maybe sent (never again), from what lies under `exc`."""
    cause = exc.__cause__
    if cause is None or isinstance(cause, TelegramError):  # Telegram answered with an error (5xx)
        return Outcome(unavailable=f"server error: {exc.message[:80]}")
    if never_left(exc):
        return Outcome(unavailable=f"network: {type(cause).__name__}")
    return Outcome(in_doubt=f"in doubt: {type(cause).__name__} after the request went out; not re-sent")


class TelegramSender:
    """Sends evening tips, each in the language its chat chose in /settings (else English)."""

    def __init__(
        self,
        bot: ExtBot[Lane],
        replies: Mapping[str, ReminderReplies],
        language_of: Callable[[int], Awaitable[str]] | None = None,
        *,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.bot = bot
        self.replies = replies
        self.language_of = language_of
        self.read_timeout = read_timeout

    async def send(self, chat_id: int, tip: Tip, delivery_id: int, kind: str) -> Outcome:
        language = await self.language_of(chat_id) if self.language_of else ENGLISH
        reply = self.replies.get(language, self.replies[ENGLISH]).tip(tip, delivery_id)
        return await attempt(
            self.bot.send_message(
                chat_id,
                reply.html,
                reply_markup=keyboard(reply),
                read_timeout=self.read_timeout,
                rate_limit_args=Lane.reminder,  # behind replies to people in the rate limiter
            )
        )


async def attempt(request: Awaitable[Message]) -> Outcome:
    """Await one Bot API send and say what became of it; shared by every delivery kind."""
    try:
        message = await request
    except RetryAfter as exc:  # the rate limiter already waited and retried; try again later
        return Outcome(retry_after=retry_seconds(exc))
    except Forbidden:
        return Outcome(gone="blocked")
    except BadRequest as exc:
        text = exc.message.lower()
        if any(marker in text for marker in GONE_MARKERS):
            return Outcome(gone="chat_not_found")
        return Outcome(error=f"bad request: {exc.message}")
    except NetworkError as exc:  # TimedOut included
        return classify_network_error(exc)
    return Outcome(message_id=message.message_id)
