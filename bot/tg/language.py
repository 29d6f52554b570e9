"""The language of the person behind an update, and the texts in it.

Only when the content has a second catalogue is the stored choice read (bounded, see
bot.languages); with English alone no update waits on the database for it.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.knowledge.schema import ENGLISH
from bot.languages import Languages, from_telegram
from bot.replies import Responder


def languages_of(context: ContextTypes.DEFAULT_TYPE) -> Languages:
    return context.bot_data["languages"]


async def language_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """/settings' choice, else the user's Telegram language if there is a catalogue for it."""
    responder: Responder = context.bot_data["responder"]
    available = responder.content.languages
    if len(available) == 1:
        return ENGLISH
    user, chat = update.effective_user, update.effective_chat
    code = user.language_code if user is not None else None
    languages: Languages | None = context.bot_data.get("languages")
    if chat is None or chat.type != ChatType.PRIVATE or languages is None:  # a choice is a private chat's
        return from_telegram(code, available)
    return await languages.of(chat.id, code)


async def responder_for(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Responder:
    responder: Responder = context.bot_data["responder"]
    return responder.in_language(await language_of(update, context))
