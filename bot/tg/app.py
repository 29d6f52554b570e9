"""Builds the python-telegram-bot Application: handlers, defaults, commands, rate limits."""

from __future__ import annotations

import logging

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.knowledge import Content
from bot.replies import Responder
from bot.tg import handlers

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("start", "Welcome and topic menu"),
    BotCommand("topics", "Browse all topics"),
    BotCommand("help", "How to ask me things"),
    BotCommand("privacy", "What I store and how to delete it"),
]


async def _register_commands(application: Application) -> None:
    await application.bot.set_my_commands(COMMANDS)


def build_application(settings: Settings, content: Content, *, updater: bool = True) -> Application:
    token = settings.require_token()
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .post_init(_register_commands)
    )
    if settings.telegram_api_url:
        base = settings.telegram_api_url
        builder = builder.base_url(base).base_file_url(base.replace("/bot", "/file/bot", 1))
    if not updater:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data["responder"] = Responder(content)

    message = filters.UpdateType.MESSAGE  # edited messages are not answered twice
    application.add_handler(CommandHandler("start", handlers.start, filters=message))
    application.add_handler(CommandHandler("help", handlers.help_command, filters=message))
    application.add_handler(CommandHandler("topics", handlers.topics, filters=message))
    application.add_handler(CommandHandler("privacy", handlers.privacy, filters=message))
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_handler(MessageHandler(message & filters.TEXT & ~filters.COMMAND, handlers.text_message))
    application.add_handler(MessageHandler(message & filters.COMMAND, handlers.unknown_command))
    application.add_handler(
        MessageHandler(message & ~filters.TEXT & ~filters.StatusUpdate.ALL, handlers.non_text_message)
    )
    application.add_error_handler(handlers.error_handler)
    return application


def run_polling(settings: Settings, content: Content) -> int:
    application = build_application(settings, content)
    log.info("starting long polling with %d topics", len(content.topics))
    application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
