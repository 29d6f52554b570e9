"""A small fake Telegram Bot API server on 127.0.0.1, for tests and benchmarks.

It speaks the real HTTP protocol that python-telegram-bot uses, so the bot under test runs
unmodified: point TELEGRAM_API_URL (or ApplicationBuilder.base_url) at `base_url`. Tests feed
updates in with `push_*` and read what the bot sent from `calls`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web

BOT_ID = 7_000_000_001
BOT_USERNAME = "rls_test_bot"


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class FakeBotApi:
    token: str = "123456789:TEST-token_for_the_fake_bot_api_0000"
    username: str = BOT_USERNAME
    max_poll_seconds: float = 1.0
    calls: list[Call] = field(default_factory=list)
    fail_next: dict[str, int] = field(default_factory=dict)  # method -> how many calls to fail with 500
    blocked: set[int] = field(default_factory=set)  # chats that blocked the bot: sendMessage gets 403
    rate_limit: float | None = None  # messages per second before answering 429, like Telegram
    record_calls: bool = True  # benchmarks switch this off and read `delivered` instead
    delivered: dict[int, int] = field(default_factory=dict)  # chat id -> messages received
    received_at: dict[int, float] = field(default_factory=dict)  # chat id -> first message (epoch s)
    too_many: int = 0  # 429 answers given

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._changed = asyncio.Condition()
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port = 0
        self.first_sent_at = self.last_sent_at = 0.0
        self._tokens = float(self.rate_limit or 0)
        self._refilled = time.monotonic()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, port: int = 0) -> FakeBotApi:
        app = tornado.web.Application(
            [
                (r"/bot([^/]+)/(\w+)", _MethodHandler, {"api": self}),
                (r"/stats", _StatsHandler, {"api": self}),
            ]
        )
        self._server = tornado.httpserver.HTTPServer(app)
        sockets = tornado.netutil.bind_sockets(port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # -- what tests feed in -----------------------------------------------------------------

    async def push(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **update}
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return update_id

    @staticmethod
    def user(user_id: int = 42, first_name: str = "Ann") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name}

    @staticmethod
    def private_chat(chat_id: int = 42) -> dict[str, Any]:
        return {"id": chat_id, "type": "private", "first_name": "Ann"}

    def message(
        self,
        text: str | None = None,
        *,
        chat: dict[str, Any] | None = None,
        user: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        chat = chat or self.private_chat()
        body: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user or self.user(chat["id"]),
        }
        if text is not None:
            body["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        body.update(extra)
        return body

    async def push_text(self, text: str, **kwargs: Any) -> int:
        return await self.push({"message": self.message(text, **kwargs)})

    async def push_callback(self, data: str, *, chat_id: int = 42, message_id: int | None = None) -> int:
        message = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": self.private_chat(chat_id),
            "text": "menu",
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "RLS"},
        }
        query = {
            "id": str(next(self._message_ids)),
            "from": self.user(chat_id),
            "chat_instance": "1",
            "data": data,
            "message": message,
        }
        return await self.push({"callback_query": query})

    # -- what tests read out ---------------------------------------------------------------

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    async def wait_for(
        self, method: str = "sendMessage", count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until the bot has made `count` calls of `method`; fail loudly if it never does."""

        async def enough() -> list[dict[str, Any]]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.sent(method)) >= count)
            return self.sent(method)

        try:
            return await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise AssertionError(f"expected {count} {method} call(s), got {self.sent(method)}") from None

    # -- the API itself --------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "RLS helper",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _take_token(self) -> float | None:
        """Token bucket holding one second of messages; None if allowed, else seconds to wait."""
        assert self.rate_limit is not None
        now = time.monotonic()
        self._tokens = min(self.rate_limit, self._tokens + (now - self._refilled) * self.rate_limit)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return (1 - self._tokens) / self.rate_limit

    async def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "sendMessage" and self.rate_limit is not None:
            wait = self._take_token()
            if wait is not None:
                self.too_many += 1
                retry = max(1, int(wait + 0.999))
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry}",
                    "parameters": {"retry_after": retry},
                }
        if method != "getUpdates" and self.record_calls:
            async with self._changed:
                self.calls.append(Call(method, params))
                self._changed.notify_all()
        if method == "sendMessage" and int(params.get("chat_id", 0)) in self.blocked:
            return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
        if self.fail_next.get(method, 0) > 0:
            self.fail_next[method] -= 1
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        if method == "getMe":
            return 200, {"ok": True, "result": self._bot_user()}
        if method == "getUpdates":
            return 200, {"ok": True, "result": await self._get_updates(params)}
        if method in {"sendMessage", "editMessageText"}:
            chat_id = int(params["chat_id"])
            if method == "sendMessage":
                self.delivered[chat_id] = self.delivered.get(chat_id, 0) + 1
                self.received_at.setdefault(chat_id, time.time())
                self.last_sent_at = time.monotonic()
                self.first_sent_at = self.first_sent_at or self.last_sent_at
            result = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": self._bot_user(),
                "text": params.get("text", ""),
            }
            return 200, {"ok": True, "result": result}
        return 200, {"ok": True, "result": True}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), self.max_poll_seconds)

        def pending() -> list[dict[str, Any]]:
            return [u for u in self._updates if u["update_id"] >= offset]

        async with self._changed:
            self._updates = pending()
            if not self._updates and wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(pending())), wait)
            return pending()


class _MethodHandler(tornado.web.RequestHandler):
    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    async def post(self, token: str, method: str) -> None:
        if token != self.api.token:
            self.set_status(401)
            self.finish({"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        status, body = await self.api.handle(method, _params(self.request))
        self.set_status(status)
        self.finish(body)

    get = post


class _StatsHandler(tornado.web.RequestHandler):
    """What each chat received, for benchmarks that run this server in another process."""

    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    def get(self) -> None:
        api = self.api
        body = {
            "delivered": {str(k): v for k, v in api.delivered.items()},
            "http_429": api.too_many,
            "first_to_last_seconds": api.last_sent_at - api.first_sent_at,
        }
        if self.get_argument("detail", ""):
            body["received_at"] = {str(k): v for k, v in api.received_at.items()}
        self.finish(body)


def _params(request: tornado.httputil.HTTPServerRequest) -> dict[str, Any]:
    """PTB sends form fields whose values are JSON (or plain strings); decode both."""
    content_type = request.headers.get("Content-Type", "")
    if "json" in content_type:
        return json.loads(request.body or b"{}")
    if "multipart" in content_type:
        raw = {k: v[0].decode() for k, v in request.body_arguments.items()}
        files = {name: parts[0]["body"] for name, parts in request.files.items()}
    else:
        raw = dict(parse_qsl(request.body.decode()))
        files = {}
    params: dict[str, Any] = {"_files": files} if files else {}
    for key, value in raw.items():
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def main() -> None:
    """Run the fake server on its own: python -m bot.devtools.fake_bot_api --port 8081 --rate 30."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--rate", type=float, default=None, help="messages per second before 429")
    parser.add_argument("--token", default=FakeBotApi.token)
    args = parser.parse_args()

    async def serve() -> None:
        api = await FakeBotApi(token=args.token, rate_limit=args.rate, record_calls=False).start(args.port)
        print(f"fake Bot API on {api.base_url} (token {api.token})", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
