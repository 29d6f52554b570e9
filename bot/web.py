"""The bot's HTTP server: Telegram's webhook, /healthz, /readyz and /metrics.

In webhook mode it receives updates (POST on the path of WEBHOOK_URL, with Telegram's secret
header) and answers 200 only once the update is written to the inbox, so an update Telegram was
told about survives any crash. In polling mode it serves only health and metrics on HEALTH_PORT.

Bad requests cost almost nothing and never reach the bot; each is counted in
rls_webhook_refused_total{reason} rather than logged:
- the secret is checked from the headers, before a byte of the body is read (403, "forbidden");
- a body over MAX_UPDATE_BYTES is refused whatever its transfer encoding (413, "too_large"),
  and a body that does not arrive within the body timeout closes the connection ("incomplete");
- malformed JSON gets 400 ("malformed"); beyond `max_connections` open connections a new one
  is closed at once ("connections"); a database that cannot take the update gets 503
  ("unavailable"), so Telegram sends it again.
Once stopping begins, webhook requests get 503 ("stopping": Telegram retries, reaching this or
the next process) and, once those being read are done, idle keep-alive connections are closed.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.routing
import tornado.web

from bot import metrics
from bot.metrics import exposition

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 256 * 1024  # a Telegram update is a few KB; a 4,096-character message ~20 KB
TORNADO_MAX_BODY = MAX_UPDATE_BYTES + 64 * 1024  # tornado's own backstop, one read chunk above ours

Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
Receive = Callable[[list[object]], Awaitable[object]]


@dataclass(frozen=True)
class Webhook:
    path: str
    secret: str
    receive: Receive  # writes the update durably; raises if it cannot


@tornado.web.stream_request_body
class _WebhookHandler(tornado.web.RequestHandler):
    def initialize(self, server: WebServer, webhook: Webhook) -> None:
        self.server = server
        self.webhook = webhook
        self._body = bytearray()
        self._refused = False
        self._answered = False

    def prepare(self) -> None:
        """Runs on the headers alone: nothing is read from an unauthenticated client."""
        self.server.track(self)
        if self.server.stopping:
            self._refuse(503, "stopping")
            return
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook.secret.encode()):
            self._refuse(403, "forbidden")
            return
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > MAX_UPDATE_BYTES):
            self._refuse(413, "too_large")

    def data_received(self, chunk: bytes) -> None:
        if self._refused:
            return
        if len(self._body) + len(chunk) > MAX_UPDATE_BYTES:  # chunked: no length to check up front
            self._refuse(413, "too_large")
            return
        self._body += chunk

    async def post(self) -> None:
        if self._refused:
            return
        if self.server.stopping:  # the body finished arriving after the stop began
            self._refuse(503, "stopping")
            return
        try:
            data = json.loads(self._body)
        except ValueError:
            self._refuse(400, "malformed")
            return
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            self._refuse(400, "malformed")
            return
        try:
            await self.webhook.receive([data])
        except Exception as exc:  # not stored, so not acknowledged: Telegram sends it again
            log.warning("webhook: cannot store an update (%s)", type(exc).__name__)
            self._refuse(503, "unavailable")
            return
        self.finish({"ok": True})

    def _refuse(self, status: int, reason: str) -> None:
        self._refused = True
        metrics.WEBHOOK_REFUSED.labels(reason).inc()
        self.set_status(status)
        if status == 503:
            self.set_header("Retry-After", "1")
        self.finish({"ok": False, "error": reason})

    def on_finish(self) -> None:
        self._answered = True
        self.server.request_ended(self)

    def on_connection_close(self) -> None:
        if not self._refused and not self._answered:  # the body stopped coming, or was too big
            metrics.WEBHOOK_REFUSED.labels("incomplete").inc()
        self.server.request_ended(self)
        super().on_connection_close()

    def check_xsrf_cookie(self) -> None:  # Telegram sends no cookies; the secret header is the check
        return


class _HealthHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.finish({"status": "ok"})


class _ReadyHandler(tornado.web.RequestHandler):
    def initialize(self, readiness: Readiness, server: WebServer) -> None:
        self.readiness = readiness
        self.server = server

    async def get(self) -> None:
        if self.server.stopping:
            self.set_status(503)
            self.finish({"status": "stopping", "checks": {}})
            return
        ready, checks = await self.readiness()
        self.set_status(200 if ready else 503)
        self.finish({"status": "ready" if ready else "not ready", "checks": checks})


class _MetricsHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(exposition())


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Refusals are counted, not logged; only real server errors are (never the path: the
    webhook path is part of the secret)."""
    status = handler.get_status()
    if status >= 500 and status != 503:
        log.warning("HTTP %d answering a %s request", status, handler.request.method)


class _CappedHTTPServer(tornado.httpserver.HTTPServer):
    """Closes a new connection at once while `max_open` are already open."""

    max_open = 100
    open = 0

    def handle_stream(self, stream: tornado.iostream.IOStream, address: tuple) -> None:
        if self.open >= self.max_open:
            metrics.WEBHOOK_REFUSED.labels("connections").inc()
            stream.close()
            return
        self.open += 1
        super().handle_stream(stream, address)

    def on_close(self, server_conn: object) -> None:
        self.open -= 1
        super().on_close(server_conn)


class WebServer:
    def __init__(
        self,
        readiness: Readiness,
        *,
        webhook: Webhook | None = None,
        max_connections: int = 100,
        body_timeout: float = 10.0,
    ) -> None:
        routes: list[Any] = [
            (r"/healthz", _HealthHandler),
            (r"/readyz", _ReadyHandler, {"readiness": readiness, "server": self}),
            (r"/metrics", _MetricsHandler),
        ]
        if webhook is not None:
            if not webhook.secret:
                raise ValueError("webhook mode needs a secret")
            routes.insert(
                0, (tornado.routing.PathMatches(webhook.path), _WebhookHandler, {"server": self, "webhook": webhook})
            )
        self._app = tornado.web.Application(routes, log_function=_log_request)
        self._server: _CappedHTTPServer | None = None
        self.max_connections = max_connections
        self.body_timeout = body_timeout
        self.port = 0
        self.stopping = False
        self._requests: set[tornado.web.RequestHandler] = set()
        self._no_requests = asyncio.Event()
        self._no_requests.set()

    def start(self, host: str, port: int) -> int:
        self._server = _CappedHTTPServer(
            self._app, max_body_size=TORNADO_MAX_BODY, body_timeout=self.body_timeout, idle_connection_timeout=60
        )
        self._server.max_open = self.max_connections
        sockets = tornado.netutil.bind_sockets(port, host)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        log.info("HTTP server listening on %s:%d", host, self.port)
        return self.port

    # -- webhook requests being read or stored: a stop waits for them -------------------------

    def track(self, handler: tornado.web.RequestHandler) -> None:
        self._requests.add(handler)
        self._no_requests.clear()

    def request_ended(self, handler: tornado.web.RequestHandler) -> None:
        self._requests.discard(handler)
        if not self._requests:
            self._no_requests.set()

    # -- stopping -----------------------------------------------------------------------------

    def stop_accepting(self) -> None:
        """No new connections; webhook requests from now on get 503."""
        self.stopping = True
        if self._server is not None:
            self._server.stop()

    async def drain(self, timeout: float) -> None:
        """Let webhook requests already under way end (stored, or refused with 503), then close
        every connection left: those are idle keep-alive ones, which would otherwise carry more
        updates to a process that will not handle them."""
        try:
            async with asyncio.timeout(timeout):
                await self._no_requests.wait()
        except TimeoutError:
            log.warning("%d webhook requests still open after %.0f s; closing them", len(self._requests), timeout)
        if self._server is not None:
            await self._server.close_all_connections()

    async def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
