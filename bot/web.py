"""The bot's HTTP server: Telegram's webhook, /healthz, /readyz and /metrics.

In webhook mode it receives updates (POST on the path of WEBHOOK_URL, with Telegram's secret
header); in polling mode it serves only the health and metrics endpoints on HEALTH_PORT.
Bad requests are refused cheaply and never reach the bot: a missing or wrong secret gets 403,
malformed JSON 400, a body over the limit 413.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Update
from telegram.ext import Application

from bot.metrics import exposition

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # Telegram's updates are a few KB; anything near this is not one

Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


class _WebhookHandler(tornado.web.RequestHandler):
    def initialize(self, bot_application: Application, secret: str) -> None:
        self.bot_application = bot_application
        self.secret = secret

    def prepare(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self._refuse(403, "forbidden")
            return
        length = self.request.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > MAX_UPDATE_BYTES:
            self._refuse(413, "payload too large")

    def _refuse(self, status: int, reason: str) -> None:
        self.set_status(status)
        self.finish({"ok": False, "error": reason})

    async def post(self) -> None:
        try:
            data = json.loads(self.request.body)
            if not isinstance(data, dict):
                raise ValueError("an update is a JSON object")
            update = Update.de_json(data, self.bot_application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.info("webhook: refused a malformed update (%s)", type(exc).__name__)
            self._refuse(400, "malformed update")
            return
        await self.bot_application.update_queue.put(update)
        self.finish({"ok": True})

    def check_xsrf_cookie(self) -> None:  # Telegram sends no cookies; the secret header is the check
        return


class _HealthHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.finish({"status": "ok"})


class _ReadyHandler(tornado.web.RequestHandler):
    def initialize(self, readiness: Readiness) -> None:
        self.readiness = readiness

    async def get(self) -> None:
        ready, checks = await self.readiness()
        self.set_status(200 if ready else 503)
        self.finish({"status": "ready" if ready else "not ready", "checks": checks})


class _MetricsHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(exposition())


class WebServer:
    def __init__(
        self,
        readiness: Readiness,
        *,
        application: Application | None = None,
        webhook_path: str | None = None,
        secret: str | None = None,
    ) -> None:
        routes: list[Any] = [
            (r"/healthz", _HealthHandler),
            (r"/readyz", _ReadyHandler, {"readiness": readiness}),
            (r"/metrics", _MetricsHandler),
        ]
        if webhook_path is not None:
            if application is None or not secret:
                raise ValueError("webhook mode needs the application and a secret")
            routes.insert(
                0,
                (
                    tornado.routing.PathMatches(webhook_path),
                    _WebhookHandler,
                    {"bot_application": application, "secret": secret},
                ),
            )
        self._app = tornado.web.Application(routes)
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    def start(self, host: str, port: int) -> int:
        self._server = tornado.httpserver.HTTPServer(
            self._app, max_body_size=MAX_UPDATE_BYTES * 2, idle_connection_timeout=60
        )
        sockets = tornado.netutil.bind_sockets(port, host)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        log.info("HTTP server listening on %s:%d", host, self.port)
        return self.port

    def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.stop()

    async def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
