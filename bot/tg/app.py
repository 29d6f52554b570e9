"""Builds the python-telegram-bot Application: handlers, defaults, commands, rate limits,
the database and the reminder dispatcher job."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.knowledge import Content
from bot.reminders.dispatcher import Dispatcher
from bot.reminders.replies import ReminderReplies
from bot.reminders.service import ReminderService
from bot.reminders.zones import ZoneFinder
from bot.replies import Responder
from bot.storage.database import create_engine, session_factory, upgrade
from bot.storage.models import utcnow
from bot.tg import handlers, reminders
from bot.tg.sender import TelegramSender

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("start", "Welcome and topic menu"),
    BotCommand("topics", "Browse all topics"),
    BotCommand("remind", "Evening reminders: set a time"),
    BotCommand("reminders", "Your reminder settings"),
    BotCommand("stop", "Stop reminders"),
    BotCommand("help", "How to ask me things"),
    BotCommand("privacy", "What I store and how to delete it"),
    BotCommand("forget", "Delete everything stored about you"),
]
DISPATCH_JOB = "reminder-dispatcher"


def paced_limiter(rate: float) -> AIORateLimiter:
    """One message every 1/rate seconds, never a burst: Telegram counts per second, and a single
    429 would stall every send for a whole second (AIORateLimiter pauses all on RetryAfter)."""
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / rate, max_retries=3)


def make_clock(settings: Settings) -> Callable[[], datetime]:
    offset = timedelta(seconds=settings.clock_offset_seconds)
    return (lambda: utcnow() + offset) if offset else utcnow


async def dispatch(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue job: send whatever is due. The database, not the job, holds the schedule."""
    await context.bot_data["dispatcher"].tick()


def _post_init(settings: Settings, content: Content, clock: Callable[[], datetime]):
    async def post_init(application: Application) -> None:
        await application.bot.set_my_commands(COMMANDS)
        engine = create_engine(settings.database)
        await upgrade(engine)
        sessions = session_factory(engine)
        replies = ReminderReplies(content)
        data = application.bot_data
        data["engine"] = engine
        data["reminders"] = ReminderService(sessions, content.tips, clock)
        data["reminder_replies"] = replies
        data["dispatcher"] = Dispatcher(
            sessions,
            content.tips,
            TelegramSender(application.bot, replies),
            clock=clock,
            grace=timedelta(minutes=settings.reminder_grace_minutes),
            concurrency=max(8, min(64, int(settings.send_rate / 4))),
        )
        if settings.dispatch_interval_seconds > 0 and application.job_queue is not None:
            application.job_queue.run_repeating(
                dispatch,
                interval=settings.dispatch_interval_seconds,
                first=1,
                name=DISPATCH_JOB,
                job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            )
        log.info("reminders ready (database %s)", engine.url.render_as_string(hide_password=True))

    return post_init


async def _post_shutdown(application: Application) -> None:
    engine = application.bot_data.get("engine")
    if engine is not None:
        await engine.dispose()


def build_application(
    settings: Settings, content: Content, *, clock: Callable[[], datetime] | None = None, updater: bool = True
) -> Application:
    token = settings.require_token()
    clock = clock or make_clock(settings)
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(paced_limiter(settings.send_rate))
        .post_init(_post_init(settings, content, clock))
        .post_shutdown(_post_shutdown)
    )
    if settings.telegram_api_url:
        base = settings.telegram_api_url
        builder = builder.base_url(base).base_file_url(base.replace("/bot", "/file/bot", 1))
    if not updater:
        builder = builder.updater(None)
    application = builder.build()
    responder = Responder(content)
    application.bot_data["responder"] = responder
    application.bot_data["zones"] = ZoneFinder()

    for handler in reminders.handlers(responder):  # before the Q&A: the flow owns its replies
        application.add_handler(handler)
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
