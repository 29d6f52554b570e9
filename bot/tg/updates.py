"""The parts of an update a handler relies on, and the shapes of the handlers themselves.

PTB types every part of an Update as optional (a chat, a message, its text, a callback query),
because which parts an update has depends on its kind. A handler's filter decides the kind:
a CommandHandler with `filters.UpdateType.MESSAGE` only ever sees a message in a chat, a
CallbackQueryHandler only a callback query. These helpers read such a part and say which one
was missing if it is not there, rather than failing later on `None`: an update without it
means a handler was routed an update it was never meant to get (bot.tg.routing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from telegram import CallbackQuery, InlineQuery, Location, Message, Update
from telegram.ext import ContextTypes

Context = ContextTypes.DEFAULT_TYPE

# What PTB's handlers take (telegram.ext's HandlerCallback): an `async def`, so a coroutine.
CommandCallback = Callable[[Update, Context], Coroutine[Any, Any, None]]
# A button's handler gets the decoded button too; each takes its own bot.callbacks type, so the
# table mapping types to handlers (bot.tg.routing.BUTTONS) cannot say which in one annotation.
ButtonHandler = Callable[[Update, Context, Any], Awaitable[None]]

_T = TypeVar("_T")


class IncompleteUpdate(LookupError):
    """An update lacks a part its handler's filter guarantees: a routing mistake, not user input."""


def _present(part: _T | None, name: str, update: Update) -> _T:
    if part is None:
        raise IncompleteUpdate(f"update {update.update_id} has no {name}")
    return part


def chat_id_of(update: Update) -> int:
    """The chat the update came from (a message's, or that of the message whose button was pressed)."""
    return _present(update.effective_chat, "chat", update).id


def message_of(update: Update) -> Message:
    return _present(update.effective_message, "message", update)


def text_of(update: Update) -> str:
    """The text of a message that passed `filters.TEXT`."""
    return _present(message_of(update).text, "message text", update)


def location_of(update: Update) -> Location:
    """The location of a message that passed `filters.LOCATION`."""
    return _present(message_of(update).location, "location", update)


def query_of(update: Update) -> CallbackQuery:
    """The pressed button's callback query, in a CallbackQueryHandler's callback."""
    return _present(update.callback_query, "callback query", update)


def inline_query_of(update: Update) -> InlineQuery:
    return _present(update.inline_query, "inline query", update)
