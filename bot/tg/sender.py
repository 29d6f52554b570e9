"""Delivers reminder tips through the Bot API and tells the dispatcher what happened."""

from __future__ import annotations

from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.knowledge.schema import Tip
from bot.reminders.dispatcher import Outcome
from bot.reminders.replies import ReminderReplies
from bot.tg.render import keyboard

GONE_MARKERS = ("chat not found", "user is deactivated", "bot was blocked", "peer_id_invalid")


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    def __init__(self, bot: Bot, replies: ReminderReplies) -> None:
        self.bot = bot
        self.replies = replies

    async def send(self, chat_id: int, tip: Tip, delivery_id: int, kind: str) -> Outcome:
        reply = self.replies.tip(tip, delivery_id)
        try:
            message = await self.bot.send_message(chat_id, reply.html, reply_markup=keyboard(reply))
        except RetryAfter as exc:  # the rate limiter already waited and retried; try again later
            return Outcome(retry_after=_seconds(exc.retry_after))
        except Forbidden:
            return Outcome(gone="blocked")
        except BadRequest as exc:
            text = exc.message.lower()
            if any(marker in text for marker in GONE_MARKERS):
                return Outcome(gone="chat_not_found")
            return Outcome(error=f"bad request: {exc.message}")
        except (TimedOut, NetworkError) as exc:
            return Outcome(retry_after=1.0, error=f"network: {type(exc).__name__}")
        return Outcome(message_id=message.message_id)
