"""Inline mode: "@bot magnesium foods" in any chat offers shareable answers (bot.inline), each
an article with a button that opens the topic in a private chat with the bot (a deep link)."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.ext import ContextTypes

from bot import metrics
from bot.inline import InlineAnswers, Shareable
from bot.tg.language import responder_for
from bot.tg.updates import inline_query_of

CACHE_SECONDS = 300  # the same query gets the same answers: Telegram may reuse them this long
START_PARAMETER = "inline"  # /start inline: names no topic, so the welcome and the whole menu


def _article(found: Shareable, username: str | None, label: str) -> InlineQueryResultArticle:
    markup = None
    if found.topic is not None and username:
        link = f"https://t.me/{username}?start={found.topic}"
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, url=link)]])
    return InlineQueryResultArticle(
        id=found.key,
        title=found.title,
        description=found.description,
        input_message_content=InputTextMessageContent(found.html),
        reply_markup=markup,
    )


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = inline_query_of(update)
    responder = await responder_for(update, context)
    offered = InlineAnswers(responder).for_query(query.query)
    for found in offered:
        metrics.ANSWERS.labels("inline", found.topic or "urgent").inc()
    button = None
    if not offered:
        button = InlineQueryResultsButton(responder.messages.inline.nothing_found, start_parameter=START_PARAMETER)
    label = responder.messages.buttons.open_in_bot
    articles = [_article(found, context.bot.username, label) for found in offered]
    await query.answer(
        articles, cache_time=CACHE_SECONDS, is_personal=len(responder.content.languages) > 1, button=button
    )
