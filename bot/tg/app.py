"""Builds the python-telegram-bot Application (handlers, defaults, the profile, rate limits, the
database, the update inbox and the reminder dispatcher job) and runs it by long polling or by
webhook. Either way updates reach the handlers only through the inbox (bot/tg/pipeline.py)."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    ContextTypes,
    Defaults,
    TypeHandler,
)
from telegram.request import HTTPXRequest

from bot import metrics
from bot.config import Settings
from bot.conversations import ChatStates
from bot.diary.crypto import Sealer
from bot.diary.rendering import Renderer
from bot.diary.replies import DiaryReplies
from bot.diary.schedule import CheckinKind, WeeklyKind
from bot.diary.service import DiaryService
from bot.flood import FloodGuard, SharedFloodGuard, Verdict
from bot.inbox import Inbox
from bot.knowledge import Content
from bot.languages import Languages
from bot.logs import Throttle
from bot.readiness import DatabaseFile, Readiness
from bot.reminders.dispatcher import Dispatcher
from bot.reminders.processes import BEAT_SECONDS, Processes
from bot.reminders.replies import ReminderReplies
from bot.reminders.service import ReminderService
from bot.reminders.zones import ZoneFinder
from bot.replies import Responder
from bot.storage.database import create_engine, is_sqlite, session_factory, upgrade
from bot.storage.models import utcnow
from bot.tg import diary as diary_handlers
from bot.tg import handlers, routing
from bot.tg.limiter import PriorityRateLimiter
from bot.tg.pipeline import UpdatePipeline, request_going_out
from bot.tg.polling import Poller
from bot.tg.profile import report_missing_texts, sync_profile_quietly
from bot.tg.sender import TelegramSender
from bot.web import Webhook, WebServer

log = logging.getLogger(__name__)

DISPATCH_JOB = "reminder-dispatcher"
HEARTBEAT_JOB = "process-heartbeat"
PURGE_JOB = "expired-state-purge"
PURGE_EVERY_SECONDS = 300  # expired conversation state and idle flood counters are deleted this often
RETENTION_JOB = "diary-retention"
RETENTION_EVERY = 3600.0  # seconds between deletions of diary data past DIARY_RETENTION_DAYS
SHUTDOWN_SECONDS = 10.0  # in-flight work gets this long after SIGTERM
DRAIN_SECONDS = 5.0  # webhook requests already being read get this long to end after SIGTERM
SUBSCRIBER_COUNT_EVERY = 12  # ticks between subscriber counts (a count scans the table)


class InstrumentedRequest(HTTPXRequest):
    """HTTPXRequest that records Bot API latency per method for /metrics, and tells the pipeline
    that a handler's request went out (bot.tg.pipeline.request_going_out)."""

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        request_going_out()  # the update being handled, if any, may have an effect from here on
        started = time.perf_counter()
        try:
            return await super().do_request(url, method, *args, **kwargs)
        finally:
            metrics.BOT_API_SECONDS.labels(url.rsplit("/", 1)[-1]).observe(time.perf_counter() - started)


def make_clock(settings: Settings) -> Callable[[], datetime]:
    offset = timedelta(seconds=settings.clock_offset_seconds)
    return (lambda: utcnow() + offset) if offset else utcnow


async def share_send_rate(application: Application, send_rate: float) -> None:
    """Beat this process's row and pace at its share of SEND_RATE among the live processes."""
    try:
        live = await application.bot_data["processes"].beat()
    except Exception as exc:  # the database is down: keep the share we have
        log.warning("heartbeat failed (%s); keeping the current send rate", type(exc).__name__)
        return
    application.bot_data["limiter"].set_rate(send_rate / live)
    metrics.PROCESSES.set(live)


def _beat(send_rate: float):
    async def beat(context: ContextTypes.DEFAULT_TYPE) -> None:
        """The heartbeat job, every BEAT_SECONDS."""
        await share_send_rate(context.application, send_rate)

    return beat


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


async def purge(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Delete conversation state past its expiry (it already reads as absent) and idle flood counts."""
    await context.bot_data["chat_states"].purge_expired()
    flood = context.bot_data["flood"]
    if isinstance(flood, SharedFloodGuard):
        await flood.purge()


def _readiness(application: Application):
    """/readyz asks the Readiness built in post_init (not ready until it exists)."""

    async def ready() -> tuple[bool, dict[str, Any]]:
        readiness: Readiness | None = application.bot_data.get("readiness")
        if readiness is None:
            return False, {"database": "not opened yet"}
        return await readiness.check()

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
    verdict = await context.bot_data["flood"].verdict(user.id)
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
        report_missing_texts(content)
        await sync_profile_quietly(application.bot, content)
        engine = create_engine(settings.database)
        await upgrade(engine)
        sessions = session_factory(engine)
        interactive = create_engine(settings.database, interactive=True)  # what users wait on
        user_sessions = session_factory(interactive)
        data = application.bot_data
        data["engine"] = engine
        data["interactive_engine"] = interactive
        data["inbox"] = Inbox(sessions, clock=clock)
        data["pipeline"] = UpdatePipeline(application, data["inbox"], concurrency=settings.update_concurrency)
        # Seconds of CPU: built in a thread now rather than on the loop at someone's first /remind.
        data["zones_warm"] = asyncio.get_running_loop().run_in_executor(None, data["zones"].warm)
        data["reminders"] = ReminderService(user_sessions, content.tips, clock)
        data["chat_states"] = ChatStates(user_sessions, clock)
        languages = data["languages"] = Languages(user_sessions, content.languages, clock)
        if not is_sqlite(settings.database):  # several processes may share it: so does the limit
            data["flood"] = SharedFloodGuard(
                user_sessions,
                settings.flood_limit,
                settings.flood_window_seconds,
                clock=clock,
                fallback=data["flood"],
            )
        replies = data["reminder_replies"] = {
            code: ReminderReplies(content, content.messages_in(code)) for code in content.languages
        }
        diary = data["diary"] = DiaryService(
            sessions, _sealer(settings), content.tips, clock, retention_days=settings.diary_retention_days
        )
        diary_replies = data["diary_replies"] = {
            code: DiaryReplies(content, content.messages_in(code)) for code in content.languages
        }
        renderer = data["renderer"] = Renderer()
        diary_sends = diary_handlers.DiaryDeliveries(
            application.bot,
            diary,
            diary_replies,
            renderer,
            languages.of_chat,
            read_timeout=settings.reminder_read_timeout_seconds,
        )
        dispatcher = data["dispatcher"] = Dispatcher(
            sessions,
            content.tips,
            TelegramSender(
                application.bot, replies, languages.of_chat, read_timeout=settings.reminder_read_timeout_seconds
            ),
            clock=clock,
            grace=timedelta(minutes=settings.reminder_grace_minutes),
            concurrency=max(8, min(64, int(settings.send_rate / 4))),
            # a peer counts a "sending" row as lost only once no answer can still be coming
            in_flight=timedelta(seconds=max(120.0, settings.reminder_read_timeout_seconds + 60)),
            kinds=[CheckinKind(diary_sends.checkin), WeeklyKind(diary_sends.weekly)],
        )
        processes = data["processes"] = Processes(sessions, dispatcher.owner, clock)
        interval = settings.dispatch_interval_seconds
        data["readiness"] = Readiness(
            sessions,
            processes,
            database_file=DatabaseFile.of(settings.database),
            dispatcher_beat=(lambda: dispatcher.beat_at) if interval > 0 else None,
            clock=clock,
            stale_after=max(60.0, 6 * interval),
        )
        if application.job_queue is not None:
            application.job_queue.run_repeating(
                _beat(settings.send_rate),
                interval=BEAT_SECONDS,
                first=0,
                name=HEARTBEAT_JOB,
                job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            )
        if settings.dispatch_interval_seconds > 0 and application.job_queue is not None:
            application.job_queue.run_repeating(
                dispatch,
                interval=settings.dispatch_interval_seconds,
                first=0,
                name=DISPATCH_JOB,
                job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            )
            application.job_queue.run_repeating(
                purge, interval=PURGE_EVERY_SECONDS, first=PURGE_EVERY_SECONDS, name=PURGE_JOB
            )
        if application.job_queue is not None:
            application.job_queue.run_repeating(
                diary_handlers.purge_old_entries,
                interval=RETENTION_EVERY,
                first=RETENTION_EVERY / 60,
                name=RETENTION_JOB,
            )
        if settings.health_port is not None and not settings.webhook_url:
            server = WebServer(_readiness(application))
            data["health_port"] = server.start(settings.listen_host, settings.health_port)
            data["web"] = server
        log.info("ready (database %s)", engine.url.render_as_string(hide_password=True))

    return post_init


def _sealer(settings: Settings) -> Sealer:
    """DIARY_KEY's keys; without one (tests, local tries) a key that dies with the process.
    `rls-bot run` refuses to start without DIARY_KEY, so production never gets here keyless."""
    if settings.diary_key:
        return Sealer.from_setting(settings.diary_key)
    log.warning("DIARY_KEY is not set: diary data is sealed with a key that is lost when this process ends")
    return Sealer.ephemeral()


async def _post_stop(application: Application) -> None:
    """Hand unsent claims and this process's share of SEND_RATE to the others. A database that
    refuses the write (read-only, gone) must not turn a graceful stop into a crash: the claims
    then simply wait out their lease."""
    dispatcher = application.bot_data.get("dispatcher")
    processes: Processes | None = application.bot_data.get("processes")
    try:
        if dispatcher is not None:
            released = await dispatcher.release()
            if released:
                log.info("handed %d unsent reminders to the next process", released)
        if processes is not None:
            await processes.leave()  # the others take over this process's share of SEND_RATE
    except Exception as exc:
        log.warning("could not hand over claims at shutdown (%s); they free up when the lease ends", type(exc).__name__)


async def _post_shutdown(application: Application) -> None:
    renderer: Renderer | None = application.bot_data.pop("renderer", None)
    if renderer is not None:
        renderer.close()
    server = application.bot_data.pop("web", None)
    if server is not None:
        await server.close()
    for name in ("interactive_engine", "engine"):
        engine = application.bot_data.get(name)
        if engine is not None:
            await engine.dispose()


Hook = Callable[[Application], Coroutine[Any, Any, None]]
Serve = Callable[[Application, Settings, asyncio.Event], Coroutine[Any, Any, None]]


def _hook(hook: Hook | None, name: str) -> Hook:
    """One of the hooks build_application sets (PTB types them as optional). Without PTB's
    Updater nothing runs post_init and post_shutdown, so serve_webhook and serve_polling do."""
    if hook is None:
        raise RuntimeError(f"the Application has no {name}; build it with build_application")
    return hook


def build_application(
    settings: Settings,
    content: Content,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Application:
    """The Application without PTB's Updater: updates come in through serve_polling or
    serve_webhook, and go to the handlers through the inbox (per chat in order, chats at once)."""
    token = settings.require_token()
    admins = settings.admins
    clock = clock or make_clock(settings)
    limiter = PriorityRateLimiter(settings.send_rate)
    builder = (
        ApplicationBuilder()
        .token(token)
        .request(InstrumentedRequest(connection_pool_size=256))
        .get_updates_request(InstrumentedRequest())
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(limiter)
        .post_init(_post_init(settings, content, clock))
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .updater(None)
    )
    if settings.telegram_api_url:
        base = settings.telegram_api_url
        builder = builder.base_url(base).base_file_url(base.replace("/bot", "/file/bot", 1))
    application = builder.build()
    responder = Responder(content)
    application.bot_data["responder"] = responder
    application.bot_data["zones"] = ZoneFinder()
    application.bot_data["flood"] = FloodGuard(settings.flood_limit, settings.flood_window_seconds)
    application.bot_data["admins"] = admins
    application.bot_data["limiter"] = limiter
    application.bot_data["errors"] = Throttle()  # one traceback per kind of failure per 5 minutes

    application.add_handler(TypeHandler(Update, count_and_limit), group=-1)
    for handler in diary_handlers.handlers():  # before the routing table's catch-all buttons and text
        application.add_handler(handler)
    application.add_handlers(routing.all_handlers())
    application.add_error_handler(handlers.error_handler)
    return application


async def serve_webhook(
    application: Application, settings: Settings, stop: asyncio.Event, listening: asyncio.Event | None = None
) -> None:
    """Webhook mode: serve updates until `stop`, then shut down gracefully. Each update is in the
    inbox before Telegram gets its 200; after `stop` Telegram gets 503 and sends it again later."""
    secret = settings.require_webhook_secret()
    async with application:
        await _hook(application.post_init, "post_init")(application)
        await application.start()
        pipeline: UpdatePipeline = application.bot_data["pipeline"]
        pipeline.start()
        server = WebServer(
            _readiness(application),
            webhook=Webhook(settings.webhook_path, secret, lambda raw: pipeline.receive(raw, "webhook")),
            max_connections=settings.webhook_max_connections,
            body_timeout=settings.webhook_body_timeout_seconds,
        )
        application.bot_data["web_port"] = server.start(settings.listen_host, settings.port)
        await application.bot.set_webhook(
            settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
        )
        log.info("webhook mode: %s -> %s", settings.webhook_path, settings.webhook_url)
        if listening is not None:
            listening.set()
        await stop.wait()
        log.info("stopping: new updates get 503; finishing what is in flight (at most %.0f s)", SHUTDOWN_SECONDS)
        server.stop_accepting()
        await server.drain(DRAIN_SECONDS)
        await _wind_down(application)
        await server.close()
        await _hook(application.post_shutdown, "post_shutdown")(application)


async def serve_polling(
    application: Application, settings: Settings, stop: asyncio.Event, polling: asyncio.Event | None = None
) -> None:
    """Long polling until `stop`, then shut down gracefully. A batch is in the inbox before the
    next getUpdates tells Telegram it arrived."""
    async with application:
        await _hook(application.post_init, "post_init")(application)
        await application.start()
        pipeline: UpdatePipeline = application.bot_data["pipeline"]
        pipeline.start()
        poller = Poller(application.bot, lambda raw: pipeline.receive(raw, "polling"))
        await poller.start()
        log.info("long polling")
        if polling is not None:
            polling.set()
        await stop.wait()
        log.info("stopping: no new updates; finishing what is in flight (at most %.0f s)", SHUTDOWN_SECONDS)
        await poller.stop()
        await _wind_down(application)
        await _hook(application.post_shutdown, "post_shutdown")(application)


async def _wind_down(application: Application) -> None:
    """Finish the updates in flight (the rest stays in the inbox), then stop jobs and hand unsent
    reminders over."""
    await application.bot_data["pipeline"].stop(SHUTDOWN_SECONDS)
    try:
        async with asyncio.timeout(SHUTDOWN_SECONDS):
            await application.stop()
    except TimeoutError:
        log.warning("in-flight work did not finish within %.0f s; stopping anyway", SHUTDOWN_SECONDS)
    await _post_stop(application)


async def _preflight(settings: Settings) -> None:
    """One getMe before polling, so a wrong token or an unreachable API is one clear line
    (run_polling would log a traceback first)."""
    base = settings.telegram_api_url or "https://api.telegram.org/bot"
    async with Bot(settings.require_token(), base_url=base):  # entering calls getMe
        pass


def run(settings: Settings, content: Content) -> int:
    settings.require_token()
    if settings.webhook_url:
        settings.require_webhook_secret()
    # an ephemeral key would make every diary entry unreadable after a restart
    settings = settings.model_copy(update={"diary_key": settings.require_diary_key()})
    if settings.webhook_url:
        serve: Serve = serve_webhook
    else:
        asyncio.run(_preflight(settings))
        serve = serve_polling
    application = build_application(settings, content)
    log.info("starting with %d topics", len(content.topics))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(application, settings, stop)

    asyncio.run(main())  # SIGTERM or SIGINT: graceful stop, exit 0
    return 0
