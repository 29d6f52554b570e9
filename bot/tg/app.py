"""Builds the python-telegram-bot Application (handlers, defaults, commands, rate limits, the
database and the reminder dispatcher job) and runs it by long polling or by webhook."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from telegram import Bot, BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot import metrics
from bot.config import Settings
from bot.flood import FloodGuard, Verdict
from bot.knowledge import Content
from bot.reminders.dispatcher import Dispatcher
from bot.reminders.replies import ReminderReplies
from bot.reminders.service import ReminderService
from bot.reminders.zones import ZoneFinder
from bot.replies import Responder
from bot.storage.database import create_engine, session_factory, upgrade
from bot.storage.models import utcnow
from bot.tg import account, handlers, reminders, transient
from bot.tg.sender import TelegramSender
from bot.web import WebServer

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("start", "Welcome and topic menu"),
    BotCommand("topics", "Browse all topics"),
    BotCommand("remind", "Evening reminders: set a time"),
    BotCommand("reminders", "Your reminder settings"),
    BotCommand("stop", "Stop reminders"),
    BotCommand("help", "How to ask me things"),
    BotCommand("privacy", "What I store and how to delete it"),
    BotCommand("mydata", "Get a copy of everything stored about you"),
    BotCommand("forget", "Delete everything stored about you"),
]
DISPATCH_JOB = "reminder-dispatcher"
SHUTDOWN_SECONDS = 10.0  # in-flight work gets this long after SIGTERM
SUBSCRIBER_COUNT_EVERY = 12  # ticks between subscriber counts (a count scans the table)


class InstrumentedRequest(HTTPXRequest):
    """HTTPXRequest that records Bot API latency per method for /metrics."""

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            return await super().do_request(url, method, *args, **kwargs)
        finally:
            metrics.BOT_API_SECONDS.labels(url.rsplit("/", 1)[-1]).observe(time.perf_counter() - started)


def paced_limiter(rate: float) -> AIORateLimiter:
    """One message every 1/rate seconds, never a burst: Telegram counts per second, and a single
    429 would stall every send for a whole second (AIORateLimiter pauses all on RetryAfter)."""
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / rate, max_retries=3)


def make_clock(settings: Settings) -> Callable[[], datetime]:
    offset = timedelta(seconds=settings.clock_offset_seconds)
    return (lambda: utcnow() + offset) if offset else utcnow


async def dispatch(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue job: send whatever is due. The database, not the job, holds the schedule."""
    application = context.application
    dispatcher: Dispatcher = context.bot_data["dispatcher"]
    report = await dispatcher.tick(keep_going=lambda: application.running)
    metrics.count_tick(report)
    metrics.DISPATCHER_LAST_TICK.set(time.time())
    metrics.DISPATCHER_LAG.set(await dispatcher.lag_seconds())
    ticks = context.bot_data["ticks"] = context.bot_data.get("ticks", 0) + 1
    if ticks % SUBSCRIBER_COUNT_EVERY == 1:
        for status, count in (await dispatcher.subscriber_counts()).items():
            metrics.SUBSCRIBERS.labels(status).set(count)


def _readiness(application: Application, settings: Settings):
    async def ready() -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {}
        engine = application.bot_data.get("engine")
        try:
            async with asyncio.timeout(2):
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready; the reason is reported, not raised
            checks["database"] = f"unreachable: {type(exc).__name__}"
        dispatcher: Dispatcher | None = application.bot_data.get("dispatcher")
        interval = settings.dispatch_interval_seconds
        if interval > 0 and dispatcher is not None:
            last = dispatcher.last_tick_at
            age = (dispatcher.clock() - last).total_seconds() if last else None
            fresh = age is not None and age <= max(30.0, 6 * interval)
            checks["dispatcher"] = "ok" if fresh else f"last tick {'never' if age is None else f'{age:.0f} s ago'}"
        else:
            checks["dispatcher"] = "disabled"
        return all(v in ("ok", "disabled") for v in checks.values()), checks

    return ready


async def count_and_limit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """First handler for every update: count it, and keep one flooding user from hogging the bot."""
    kind = next(
        (
            k
            for k in (
                "message",
                "edited_message",
                "callback_query",
                "my_chat_member",
                "chat_member",
                "inline_query",
                "channel_post",
            )
            if getattr(update, k, None) is not None
        ),
        "other",
    )
    metrics.UPDATES.labels(kind).inc()
    user = update.effective_user
    if user is None or kind not in ("message", "callback_query"):
        return
    verdict = context.bot_data["flood"].check(user.id)
    if verdict is Verdict.allow:
        return
    metrics.FLOOD_LIMITED.inc()
    if verdict is Verdict.warn and update.effective_chat is not None:
        await context.bot.send_message(
            update.effective_chat.id, context.bot_data["responder"].messages.slow_down.strip()
        )
    raise ApplicationHandlerStop


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
                first=0,
                name=DISPATCH_JOB,
                job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            )
        if settings.health_port is not None and not settings.webhook_url:
            server = WebServer(_readiness(application, settings))
            data["health_port"] = server.start(settings.listen_host, settings.health_port)
            data["web"] = server
        log.info("ready (database %s)", engine.url.render_as_string(hide_password=True))

    return post_init


async def _post_stop(application: Application) -> None:
    dispatcher = application.bot_data.get("dispatcher")
    if dispatcher is not None:
        released = await dispatcher.release()
        if released:
            log.info("handed %d unsent reminders to the next process", released)


async def _post_shutdown(application: Application) -> None:
    server = application.bot_data.pop("web", None)
    if server is not None:
        await server.close()
    engine = application.bot_data.get("engine")
    if engine is not None:
        await engine.dispose()


def build_application(
    settings: Settings, content: Content, *, clock: Callable[[], datetime] | None = None, updater: bool = True
) -> Application:
    token = settings.require_token()
    admins = settings.admins
    clock = clock or make_clock(settings)
    builder = (
        ApplicationBuilder()
        .token(token)
        .request(InstrumentedRequest(connection_pool_size=256))
        .get_updates_request(InstrumentedRequest())
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(paced_limiter(settings.send_rate))
        .post_init(_post_init(settings, content, clock))
        .post_stop(_post_stop)
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
    application.bot_data["flood"] = FloodGuard(settings.flood_limit, settings.flood_window_seconds)
    application.bot_data["admins"] = admins

    application.add_handler(TypeHandler(Update, count_and_limit), group=-1)
    for handler in reminders.handlers(responder):  # before the Q&A: the flow owns its replies
        application.add_handler(handler)
    for handler in account.handlers():
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
    application.add_error_handler(transient.PollingFailures().handle)  # first: one line per failed poll
    application.add_error_handler(handlers.error_handler)
    return application


async def serve_webhook(
    application: Application, settings: Settings, stop: asyncio.Event, listening: asyncio.Event | None = None
) -> None:
    """Webhook mode: register the webhook, serve updates until `stop`, then shut down gracefully."""
    secret = settings.require_webhook_secret()
    async with application:
        await application.post_init(application)
        await application.bot.set_webhook(
            settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
        )
        await application.start()
        server = WebServer(
            _readiness(application, settings),
            application=application,
            webhook_path=settings.webhook_path,
            secret=secret,
        )
        application.bot_data["web_port"] = server.start(settings.listen_host, settings.port)
        log.info("webhook mode: %s -> %s", settings.webhook_path, settings.webhook_url)
        if listening is not None:
            listening.set()
        await stop.wait()
        log.info("stopping: no new updates; finishing what is in flight (at most %.0f s)", SHUTDOWN_SECONDS)
        server.stop_accepting()
        try:
            async with asyncio.timeout(SHUTDOWN_SECONDS):
                await application.stop()
        except TimeoutError:
            log.warning("in-flight work did not finish within %.0f s; stopping anyway", SHUTDOWN_SECONDS)
        await _post_stop(application)
        await server.close()
        await application.post_shutdown(application)


async def _preflight(settings: Settings) -> None:
    """One getMe before polling, so a wrong token or an unreachable API is one clear line
    (run_polling would log a traceback first)."""
    base = settings.telegram_api_url or "https://api.telegram.org/bot"
    async with Bot(settings.require_token(), base_url=base):  # entering calls getMe
        pass


def run(settings: Settings, content: Content) -> int:
    if settings.webhook_url:
        settings.require_webhook_secret()
        application = build_application(settings, content, updater=False)

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            await serve_webhook(application, settings, stop)

        asyncio.run(main())
        return 0
    asyncio.run(_preflight(settings))
    application = build_application(settings, content)
    log.info("starting long polling with %d topics", len(content.topics))
    application.run_polling(allowed_updates=Update.ALL_TYPES)  # handles SIGTERM: graceful stop, exit 0
    return 0
