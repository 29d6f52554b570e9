"""A small fake Telegram Bot API server on 127.0.0.1, for tests and benchmarks.

It speaks the real HTTP protocol that python-telegram-bot uses, so the bot under test runs
unmodified: point TELEGRAM_API_URL (or ApplicationBuilder.base_url) at `base_url`. Tests feed
updates in with `push_*` and read what the bot sent from `calls` (every attempt), `started`
(requests as they arrive, still in flight while `latency` holds them) and `delivered` (what
Telegram accepted). `push_inline_query` is someone typing "@bot ..." in any chat. The bot's
profile (get/setMyDescription, -ShortDescription, -Commands per scope and language) is kept
like Telegram keeps it, in `descriptions`, `short_descriptions` and `commands`.

Faults are injected on demand, because delivery code is only as good as its worst day:
`latency` (every call answers later), `outage()` (the port refuses connections), `slow_answers`
(a message is accepted, then the answer comes late: a client that times out cannot know it
arrived), `fail_next` (5xx answers), `flood_chat()` (429 for one chat) and `per_chat_limits`
(Telegram's per-chat limits). The same faults can be set from the command line, or from another
process with POST /faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import tornado.httpserver
import tornado.httputil
import tornado.iostream
import tornado.netutil
import tornado.web

from bot.devtools.conversation import SendHandler

BOT_ID = 7_000_000_001
BOT_USERNAME = "rls_test_bot"
DEFAULT_TOKEN = "123456789:TEST-token_for_the_fake_bot_api_0000"
# Telegram's per-chat limits, as its FAQ describes them: about one message a second in a private
# chat (short bursts tolerated): a token bucket of 3, refilled one a second; 20 a minute in a
# group: at most 20 in any 60 s window.
PRIVATE_CHAT_LIMIT = (3, 3.0)
GROUP_CHAT_LIMIT = (20, 60.0)
ANSWERS = ("sendMessage", "editMessageText")  # what a user sees as the bot's answer: new or edited in place
SLACK = 0.9  # arrivals jitter on the way in; a window counts as passed at 90 %
SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})  # answered with a Message, refused if blocked
PROFILE_METHODS = frozenset(
    f"{verb}My{part}" for verb in ("get", "set") for part in ("Description", "ShortDescription", "Commands")
) | {"deleteMyCommands"}


def _too_many(retry_after: float) -> tuple[int, dict[str, Any]]:
    retry = max(1, int(retry_after + 0.999))
    return 429, {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry}",
        "parameters": {"retry_after": retry},
    }


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    message_id: int | None = None  # the message a send made, or an edit changed, once answered


@dataclass
class FakeBotApi:
    token: str = DEFAULT_TOKEN  # the token clients should use
    require_token: bool = False  # False: any token is accepted; True: others get 401
    username: str = BOT_USERNAME
    max_poll_seconds: float = 1.0
    calls: list[Call] = field(default_factory=list)  # every call made, including failed ones
    started: list[Call] = field(default_factory=list)  # every call as it arrived, before any latency
    fail_next: dict[str, int] = field(default_factory=dict)  # method -> how many calls to fail with 500
    blocked: set[int] = field(default_factory=set)  # chats that blocked the bot: sendMessage gets 403
    rate_limit: float | None = None  # messages per second before answering 429, like Telegram
    per_chat_limits: bool = False  # 429 beyond Telegram's per-chat limits (PRIVATE/GROUP_CHAT_LIMIT)
    latency: float = 0.0  # seconds before every call is looked at
    slow_answers: float = 0.0  # seconds between accepting a call and answering it
    record_calls: bool = True  # benchmarks switch this off and read `delivered` instead
    delivered: dict[int, int] = field(default_factory=dict)  # chat id -> messages received
    received_at: dict[int, float] = field(default_factory=dict)  # chat id -> first message (epoch s)
    replies: dict[int, list[tuple[float, str]]] = field(default_factory=dict)  # chat -> (epoch s, text[:40])
    too_many: int = 0  # 429 answers given
    server_errors: int = 0  # 5xx answers given

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._changed = asyncio.Condition()
        self._server: tornado.httpserver.HTTPServer | None = None
        self._app: tornado.web.Application | None = None
        self._outage_timer: asyncio.TimerHandle | None = None
        self.port = 0
        self.first_sent_at = self.last_sent_at = 0.0
        self._tokens = float(self.rate_limit or 0)
        self._refilled = time.monotonic()
        self._chat_sends: dict[int, deque[float]] = {}  # group chats: their window
        self._chat_due: dict[int, float] = {}  # private chats: the bucket's next steady-pace send
        self._flooded_until: dict[int, float] = {}
        self.too_many_by_chat: dict[int, int] = {}
        # the bot's profile as Telegram keeps it: per language code ("" = default), commands per scope too
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.arrived = 0  # requests that reached a handler, answered or not
        self.dropped = 0  # requests an outage cut off before they were processed
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, port: int = 0) -> FakeBotApi:
        self._app = tornado.web.Application(
            [
                (r"/bot([^/]+)/(\w+)", _MethodHandler, {"api": self}),
                (r"/stats", _StatsHandler, {"api": self}),
                (r"/faults", _FaultsHandler, {"api": self}),
                (r"/send", SendHandler, {"api": self}),  # a person talking to the bot: devtools/conversation.py
            ]
        )
        self._listen(port)
        return self

    def _listen(self, port: int) -> None:
        assert self._app is not None
        self._server = tornado.httpserver.HTTPServer(self._app)
        sockets = tornado.netutil.bind_sockets(port, "127.0.0.1")  # SO_REUSEADDR: the same port again
        self.port = sockets[0].getsockname()[1]
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        self._closing = True
        await self._notify()  # long polls still open end now, not when the loop is torn down
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None

    # -- faults ----------------------------------------------------------------------------

    @property
    def down(self) -> bool:
        return self._app is not None and self._server is None

    async def outage(self, seconds: float | None = None) -> None:
        """Close the listening socket, so connections are refused, and drop open ones; it lasts
        `seconds`, or until end_outage(). Requests caught in flight are never processed."""
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()
            await server.close_all_connections()
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None
        if seconds is not None:
            self._outage_timer = asyncio.get_running_loop().call_later(seconds, self.end_outage)

    def end_outage(self) -> None:
        """Listen again on the same port."""
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None
        if self.down:
            self._listen(self.port)
        asyncio.get_running_loop().create_task(self._notify())

    def flood_chat(self, chat_id: int, retry_after: float) -> None:
        """Answer 429 to messages for this chat only, for the next `retry_after` seconds."""
        self._flooded_until[chat_id] = time.monotonic() + retry_after

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

    def callback_query(
        self,
        data: str | None,
        *,
        chat_id: int = 42,
        message_id: int | None = None,
        chat: dict[str, Any] | None = None,
        user: dict[str, Any] | None = None,
        inline: bool = False,
        text: str = "menu",
    ) -> dict[str, Any]:
        """A button press: under a bot message in `chat` (a private chat by default) that shows
        `text`, or under an inline message (no chat at all). `data` None is a press without data,
        like a game button."""
        query: dict[str, Any] = {
            "id": str(next(self._message_ids)),
            "from": user or self.user(chat_id),
            "chat_instance": "1",
        }
        if data is not None:
            query["data"] = data
        if inline:
            query["inline_message_id"] = f"inline-{next(self._message_ids)}"
        else:
            query["message"] = {
                "message_id": message_id or next(self._message_ids),
                "date": int(time.time()),
                "chat": chat or self.private_chat(chat_id),
                "text": text,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "RLS"},
            }
        return query

    async def push_callback(self, data: str | None, **kwargs: Any) -> int:
        return await self.push({"callback_query": self.callback_query(data, **kwargs)})

    async def push_inline_query(self, query: str, *, user: dict[str, Any] | None = None, **extra: Any) -> int:
        """Someone typing "@bot <query>" in any chat; the bot answers with answerInlineQuery."""
        body = {"id": str(next(self._message_ids)), "from": user or self.user(), "query": query, "offset": ""}
        return await self.push({"inline_query": {**body, **extra}})

    # -- what tests read out ---------------------------------------------------------------

    def sent(self, method: str | tuple[str, ...] = "sendMessage") -> list[dict[str, Any]]:
        """The parameters of every call of `method` (or of any of several), in the order made."""
        methods = (method,) if isinstance(method, str) else method
        return [c.params for c in self.calls if c.method in methods]

    async def wait_for(
        self, method: str | tuple[str, ...] = "sendMessage", count: int = 1, timeout: float = 10.0
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

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `condition()` holds, checked whenever a request arrives or is answered."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(condition), timeout)
            except TimeoutError:
                raise AssertionError("the fake Bot API never reached the expected state") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the API itself --------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "RLS helper",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
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

    def _chat_wait(self, chat_id: int) -> float | None:
        """None if this chat may get a message now (and count it), else seconds to wait."""
        now = time.monotonic()
        flooded = self._flooded_until.get(chat_id, 0.0) - now
        if flooded > 0:
            return flooded
        if not self.per_chat_limits:
            return None
        if chat_id > 0:
            count, seconds = PRIVATE_CHAT_LIMIT
            interval = seconds / count
            due = self._chat_due.get(chat_id, 0.0)
            early = due - (count - 1) * interval - now
            if early > interval * (1 - SLACK):
                return early
            self._chat_due[chat_id] = max(due, now) + interval
            return None
        count, seconds = GROUP_CHAT_LIMIT
        sends = self._chat_sends.setdefault(chat_id, deque(maxlen=count))
        if len(sends) == count and now - sends[0] < seconds * SLACK:
            return seconds - (now - sends[0])
        sends.append(now)
        return None

    def _refuse_for_rate(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method != "sendMessage":
            return None
        chat_id = int(params.get("chat_id", 0))
        wait = self._take_token() if self.rate_limit is not None else None
        if wait is None:
            wait = self._chat_wait(chat_id)
            if wait is not None:
                self.too_many_by_chat[chat_id] = self.too_many_by_chat.get(chat_id, 0) + 1
        if wait is None:
            return None
        self.too_many += 1
        return _too_many(wait)

    async def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        refused = self._refuse_for_rate(method, params)
        if refused is not None:
            return refused
        call = Call(method, params)
        if method != "getUpdates" and self.record_calls:
            async with self._changed:
                self.calls.append(call)
                self._changed.notify_all()
        if method in SENDS and int(params.get("chat_id", 0)) in self.blocked:
            return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
        if self.fail_next.get(method, 0) > 0:
            self.fail_next[method] -= 1
            self.server_errors += 1
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        if method == "getMe":
            return 200, {"ok": True, "result": self._bot_user()}
        if method == "getUpdates":
            return 200, {"ok": True, "result": await self._get_updates(params)}
        if method in PROFILE_METHODS:
            return 200, {"ok": True, "result": self._profile(method, params)}
        if method in SENDS or method == "editMessageText":
            chat_id = int(params["chat_id"])
            if method == "sendMessage":
                self.delivered[chat_id] = self.delivered.get(chat_id, 0) + 1
                self.received_at.setdefault(chat_id, time.time())
                self.replies.setdefault(chat_id, []).append((time.time(), str(params.get("text", ""))[:40]))
                self.last_sent_at = time.monotonic()
                self.first_sent_at = self.first_sent_at or self.last_sent_at
            edited = params.get("message_id") if method == "editMessageText" else None
            call.message_id = int(edited) if edited is not None else next(self._message_ids)
            result = {
                "message_id": call.message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": self._bot_user(),
                "text": params.get("text", ""),
            }
            return 200, {"ok": True, "result": result}
        return 200, {"ok": True, "result": True}

    def _profile(self, method: str, params: dict[str, Any]) -> Any:
        """get/set/deleteMy(Short)Description and -Commands, kept per language and scope."""
        language = str(params.get("language_code") or "")
        scope = params.get("scope") or {"type": "default"}
        key = (str(scope.get("type")), language)
        if method == "getMyDescription":
            return {"description": self.descriptions.get(language, "")}
        if method == "getMyShortDescription":
            return {"short_description": self.short_descriptions.get(language, "")}
        if method == "getMyCommands":
            return self.commands.get(key, [])
        if method == "setMyDescription":
            self.descriptions[language] = str(params.get("description") or "")
        elif method == "setMyShortDescription":
            self.short_descriptions[language] = str(params.get("short_description") or "")
        elif method == "setMyCommands":
            self.commands[key] = list(params.get("commands") or [])
        else:
            self.commands.pop(key, None)
        return True

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), self.max_poll_seconds)

        def pending() -> list[dict[str, Any]]:
            return [u for u in self._updates if u["update_id"] >= offset]

        async with self._changed:
            self._updates = pending()
            if not self._updates and wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(pending()) or self._closing), wait)
            return pending()


class _MethodHandler(tornado.web.RequestHandler):
    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    def _gone(self) -> bool:
        stream = getattr(self.request.connection, "stream", None)
        return stream is None or stream.closed()

    async def post(self, token: str, method: str) -> None:
        api = self.api
        api.arrived += 1
        if method != "getUpdates" and api.record_calls:
            api.started.append(Call(method, _params(self.request)))
        await api._notify()
        if api.latency > 0:
            await asyncio.sleep(api.latency)  # the fake's own fault, not a test waiting
            if self._gone():
                api.dropped += 1
                await api._notify()
                return  # dropped by an outage on the way in: never processed
        if api.require_token and token != api.token:
            self.set_status(401)
            self.finish({"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        status, body = await api.handle(method, _params(self.request))
        await api._notify()
        if api.slow_answers > 0 and method != "getUpdates":
            await asyncio.sleep(api.slow_answers)  # accepted; the answer is what comes late
        if self._gone():
            return  # the client gave up waiting; what happened above stands
        self.set_status(status)
        with contextlib.suppress(tornado.iostream.StreamClosedError):
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
            "http_5xx": api.server_errors,
            "first_to_last_seconds": api.last_sent_at - api.first_sent_at,
        }
        if self.get_argument("detail", ""):
            body["received_at"] = {str(k): v for k, v in api.received_at.items()}
            body["replies"] = {str(k): v for k, v in api.replies.items()}  # in the order they arrived
        self.finish(body)


class _FaultsHandler(tornado.web.RequestHandler):
    """Faults for a server running in another process: GET shows them, POST sets them, e.g.
    {"latency": 0.1, "slow_answers": 0, "fail_next": {"sendMessage": 3}, "outage": 60,
    "flood_chat": {"chat_id": 42, "retry_after": 5}, "per_chat_limits": true}."""

    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    def get(self) -> None:
        api = self.api
        self.finish(
            {
                "latency": api.latency,
                "slow_answers": api.slow_answers,
                "fail_next": api.fail_next,
                "per_chat_limits": api.per_chat_limits,
                "rate_limit": api.rate_limit,
            }
        )

    async def post(self) -> None:
        api = self.api
        faults = json.loads(self.request.body or b"{}")
        for name in ("latency", "slow_answers"):
            if name in faults:
                setattr(api, name, float(faults[name]))
        if "per_chat_limits" in faults:
            api.per_chat_limits = bool(faults["per_chat_limits"])
        for method, count in faults.get("fail_next", {}).items():
            api.fail_next[method] = int(count)
        if "flood_chat" in faults:
            api.flood_chat(int(faults["flood_chat"]["chat_id"]), float(faults["flood_chat"]["retry_after"]))
        await self.finish({"ok": True})
        if "outage" in faults:  # after answering: this very connection is about to be dropped
            await api.outage(float(faults["outage"]))

    def check_xsrf_cookie(self) -> None:
        return


def _params(request: tornado.httputil.HTTPServerRequest) -> dict[str, Any]:
    """PTB sends form fields whose values are JSON (or plain strings); decode both."""
    content_type = request.headers.get("Content-Type", "")
    if "json" in content_type:
        return json.loads(request.body or b"{}")
    if "multipart" in content_type:
        raw = {k: v[0].decode() for k, v in request.body_arguments.items()}
        files = {name: parts[0]["body"] for name, parts in request.files.items()}
        names = {name: parts[0]["filename"] for name, parts in request.files.items()}
    else:
        raw = dict(parse_qsl(request.body.decode()))
        files = names = {}
    params: dict[str, Any] = {"_files": files, "_file_names": names} if files else {}
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
    parser.add_argument("--token", default=None, help="accept only this token (default: any token)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="added to every call")
    parser.add_argument(
        "--slow-answers", type=float, default=0.0, metavar="SECONDS", help="delay after a call was accepted"
    )
    parser.add_argument("--per-chat-limits", action="store_true", help="429 beyond Telegram's per-chat limits")
    parser.add_argument("--fail-next", type=int, default=0, metavar="N", help="answer 500 to the next N messages")
    parser.add_argument("--outage", type=float, default=None, metavar="SECONDS", help="refuse connections this long")
    parser.add_argument("--outage-after", type=float, default=0.0, metavar="SECONDS", help="when the outage starts")
    args = parser.parse_args()

    async def serve() -> None:
        api = FakeBotApi(
            token=args.token or DEFAULT_TOKEN,
            require_token=args.token is not None,
            rate_limit=args.rate,
            per_chat_limits=args.per_chat_limits,
            latency=args.latency,
            slow_answers=args.slow_answers,
            fail_next={"sendMessage": args.fail_next} if args.fail_next else {},
            record_calls=False,
        )
        await api.start(args.port)
        accepted = "only this token" if api.require_token else "any token accepted"
        print(f"fake Bot API on {api.base_url} (token {api.token}; {accepted})", flush=True)
        root = api.base_url.removesuffix("/bot")
        print(f"run the bot with TELEGRAM_API_URL={api.base_url}, then: rls-bot say --api {root} 'hi'", flush=True)
        if args.outage is not None:
            await asyncio.sleep(args.outage_after)  # the scheduled fault, not a wait in a test
            await api.outage(args.outage)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
