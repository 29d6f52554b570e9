"""Talk to a bot through the fake Bot API: POST /send queues a message from a fake user and answers
with what the bot sent back, so a person (`rls-bot say`) or a script can try the real bot process
without Telegram.

The fake cannot know when the bot has finished answering (Telegram has no such signal either), so
the answer is every message the bot sent to that chat from the first reply until `quiet` seconds
pass with nothing more; `timeout` bounds the wait for the first one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict

import tornado.web

if TYPE_CHECKING:
    from bot.devtools.fake_bot_api import Call, FakeBotApi

REPLY_METHODS = frozenset({"sendMessage", "editMessageText", "sendDocument", "sendPhoto"})
DEFAULT_TIMEOUT = 15.0
DEFAULT_QUIET = 0.5


def reply_of(call: Call) -> dict[str, Any]:
    """What a person would see of one bot call: its text (or caption) and its buttons."""
    params = call.params
    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    buttons = [[{"text": b.get("text", ""), "data": b.get("callback_data") or b.get("url")} for b in r] for r in rows]
    return {
        "method": call.method,
        "text": str(params.get("text") or params.get("caption") or ""),
        "buttons": buttons,
    }


async def exchange(
    api: FakeBotApi,
    *,
    text: str | None = None,
    press: str | None = None,
    chat_id: int = 42,
    first_name: str = "Ann",
    timeout: float = DEFAULT_TIMEOUT,
    quiet: float = DEFAULT_QUIET,
) -> list[dict[str, Any]] | None:
    """Send a message (or press a button) as a fake user; the bot's replies, or None if none came.
    Recording of calls is switched on for good, since only a person typing uses this."""
    api.record_calls = True
    start = len(api.calls)

    def replies() -> list[Call]:
        return [
            c for c in api.calls[start:] if c.method in REPLY_METHODS and str(c.params.get("chat_id")) == str(chat_id)
        ]

    def more_than(count: int) -> Callable[[], bool]:
        return lambda: len(replies()) > count

    if press is not None:
        await api.push_callback(press, chat_id=chat_id)
    else:
        chat = {"id": chat_id, "type": "private", "first_name": first_name}
        await api.push_text(text or "", chat=chat, user={"id": chat_id, "is_bot": False, "first_name": first_name})
    if not await _within(api, more_than(0), timeout):
        return None
    while await _within(api, more_than(len(replies())), quiet):
        pass
    return [reply_of(c) for c in replies()]


async def _within(api: FakeBotApi, condition: Callable[[], bool], seconds: float) -> bool:
    try:
        await api.wait_until(condition, seconds)
    except AssertionError:
        return False
    return True


class _Options(TypedDict):
    """The keyword arguments of `exchange` that a POST /send body sets."""

    text: str | None
    press: str | None
    chat_id: int
    first_name: str
    timeout: float
    quiet: float


class SendHandler(tornado.web.RequestHandler):
    """POST /send {"text": "hi"} or {"press": "t:doses"}, optionally "chat_id", "first_name",
    "timeout", "quiet": 200 {"replies": [{"method", "text", "buttons"}]}, or 504 if the bot never
    answered (it is not running, or not pointed at this server)."""

    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            if not isinstance(body, dict) or not isinstance(body.get("text", body.get("press")), str):
                raise ValueError
            options: _Options = {
                "text": body.get("text"),
                "press": body.get("press"),
                "chat_id": int(body.get("chat_id", 42)),
                "first_name": str(body.get("first_name", "Ann")),
                "timeout": float(body.get("timeout", DEFAULT_TIMEOUT)),
                "quiet": float(body.get("quiet", DEFAULT_QUIET)),
            }
        except (ValueError, TypeError):
            self.set_status(400)
            self.finish({"ok": False, "error": 'send {"text": "..."} or {"press": "<callback data>"}'})
            return
        found = await exchange(self.api, **options)
        if found is None:
            heard = "" if self.api.arrived else " (no bot has called this server yet)"
            error = f"no reply within {options['timeout']:g} s{heard}: is `rls-bot run` running with "
            self.set_status(504)
            self.finish({"ok": False, "error": f"{error}TELEGRAM_API_URL={self.api.base_url}?"})
            return
        self.finish({"ok": True, "replies": found})

    def check_xsrf_cookie(self) -> None:
        return
