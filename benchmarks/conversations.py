"""Multi-step conversations across two webhook processes (prints figures; not a test).

    python benchmarks/conversations.py --database-url postgresql+asyncpg://... [--users 20] [--source DIR]

Two `rls-bot run` processes in webhook mode share one PostgreSQL database (its schema is wiped
first) behind a tiny proxy on 127.0.0.1 that alternates each chat's updates between them:
every step of a conversation reaches the other process than the step before, the worst case for
state kept in one process's memory. A fake Bot API (in this process) receives the replies. All
users then run at once, each one step at a time:

  1. the /remind flow: /remind, a typed time, a typed zone ("UTC") -> "Reminders are on";
     a user whose flow breaks sets the reminder in one message instead, so the rest still runs;
  2. /reminders buttons: /reminders, Pause, Resume, Choose tips, one measure (edits the message);
  3. the evening tip: both processes' dispatchers run; each user must get it exactly once, then
     taps its Done button;
  4. /forget, then its Delete button on the other process -> everything deleted.

The processes' clocks are moved forward (CLOCK_OFFSET_SECONDS) so that the reminder is due within
about half a minute. `--source DIR` runs the bot from another checkout (e.g. an older commit) with
the same driver, for a before/after comparison. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import tornado.httpserver
import tornado.netutil
import tornado.web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.devtools.fake_bot_api import FakeBotApi  # noqa: E402
from bot.diary.crypto import new_key  # noqa: E402

TOKEN = "123456789:CONV-token_for_the_fake_bot_api_000"
SECRET = "conversation-benchmark-secret"
DIARY_KEY = new_key()
STEP_TIMEOUT = 15.0  # seconds a user waits for one reply before counting the step as failed
FIRST_USER = 500_000
LEAD_SECONDS = 25  # the reminder is set for the first minute at least this far ahead (bot time)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chat_of(update: dict[str, Any]) -> int:
    if "callback_query" in update:
        return int(update["callback_query"]["from"]["id"])
    return int(update["message"]["chat"]["id"])


class AlternatingProxy:
    """POST /hook on 127.0.0.1, forwarded to the backends in turn, per chat: a chat's first update
    goes to a backend picked round robin, and each later one to the next backend after the last."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.routes: dict[int, list[int]] = {}  # chat -> backend index of each of its updates
        self._next_first = itertools.cycle(range(len(backends)))
        self._client = httpx.AsyncClient(timeout=30)
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    def pick(self, chat: int) -> int:
        seen = self.routes.setdefault(chat, [])
        index = next(self._next_first) if not seen else (seen[-1] + 1) % len(self.backends)
        seen.append(index)
        return index

    async def start(self) -> None:
        proxy = self

        class Forward(tornado.web.RequestHandler):
            async def post(self) -> None:
                backend = proxy.backends[proxy.pick(chat_of(json.loads(self.request.body)))]
                headers = {k: v for k, v in self.request.headers.items() if k.lower().startswith("x-telegram")}
                response = await proxy._client.post(backend, content=self.request.body, headers=headers)
                self.set_status(response.status_code)
                self.finish(response.content)

            def check_xsrf_cookie(self) -> None:
                return

        self._server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/hook", Forward)]))
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        await self._client.aclose()

    def alternation(self) -> float:
        """Share of consecutive updates of one chat that reached a different backend."""
        pairs = [(a, b) for seen in self.routes.values() for a, b in itertools.pairwise(seen)]
        return sum(a != b for a, b in pairs) / len(pairs) if pairs else 0.0


@dataclass
class User:
    chat: int
    api: FakeBotApi
    client: httpx.AsyncClient
    hook: str
    update_ids: itertools.count
    done: dict[str, bool] = field(default_factory=dict)

    def replies(self) -> list[dict[str, Any]]:
        return [
            {"method": c.method, **c.params}
            for c in self.api.calls
            if c.method in ("sendMessage", "editMessageReplyMarkup") and int(c.params.get("chat_id", 0)) == self.chat
        ]

    async def send(self, update: dict[str, Any]) -> None:
        body = {"update_id": next(self.update_ids), **update}
        response = await self.client.post(self.hook, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        response.raise_for_status()

    async def step(self, update: dict[str, Any], expect: str, method: str = "sendMessage") -> dict[str, Any] | None:
        """Send one update and wait for the one reply it should get; None if it is not `expect`."""
        before = len(self.replies())
        await self.send(update)
        try:
            await self.api.wait_until(lambda: len(self.replies()) > before, timeout=STEP_TIMEOUT)
        except AssertionError:
            return None
        reply = self.replies()[before]
        if reply["method"] != method or expect not in reply.get("text", expect):
            return None
        return reply

    def text(self, words: str) -> dict[str, Any]:
        return {
            "message": self.api.message(words, chat=self.api.private_chat(self.chat), user=self.api.user(self.chat))
        }

    def press(self, data: str) -> dict[str, Any]:
        return {"callback_query": self.api.callback_query(data, chat_id=self.chat)}

    async def all_of(self, name: str, *steps: tuple[dict[str, Any], str] | tuple[dict[str, Any], str, str]) -> bool:
        for step in steps:
            if await self.step(*step) is None:
                self.done[name] = False
                return False
        self.done[name] = True
        return True


def buttons(reply: dict[str, Any]) -> dict[str, str]:
    markup = reply.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}


async def set_up_reminder(user: User, at: str) -> None:
    flowed = await user.all_of(
        "remind_flow",
        (user.text("/remind"), "What time suits you"),
        (user.text(at), "Which time zone"),
        (user.text("UTC"), "Reminders are on"),
    )
    if not flowed:  # one message needs no conversation state, so the rest of the run still counts
        await user.step(user.text(f"/remind {at} UTC"), "Reminders are on")


async def settings_buttons(user: User) -> None:
    await user.all_of(
        "reminders_buttons",
        (user.text("/reminders"), "Your evening reminders"),
        (user.press("r:pause"), "paused"),
        (user.press("r:resume"), "on ✅"),
        (user.press("r:tips"), "Which tips"),
        (user.press("r:m:caffeine"), "", "editMessageReplyMarkup"),
    )


async def forget(user: User) -> None:
    await user.all_of(
        "forget_confirm",
        (user.text("/forget"), "Delete it all?"),
        (user.press("f:yes"), "nothing about you is stored"),
        (user.text("/reminders"), "no evening reminders yet"),
    )


def tips_of(user: User) -> list[dict[str, Any]]:
    return [r for r in user.replies() if r["method"] == "sendMessage" and r.get("text", "").startswith("🌙 <b>")]


async def wait_http(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"a bot process exited with {process.returncode} before listening")
            with contextlib.suppress(httpx.TransportError):
                await client.get(url)
                return
            await asyncio.sleep(0.1)  # waiting for a process to start listening
    raise RuntimeError(f"{url} did not come up")


async def reset(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))  # every table, whichever migrations made them
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def start_bot(source: Path, api: FakeBotApi, database_url: str, port: int, offset: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(source),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_URL": database_url,
        "WEBHOOK_URL": "https://bot.example.org/hook",
        "WEBHOOK_SECRET": SECRET,
        "LISTEN_HOST": "127.0.0.1",
        "PORT": str(port),
        "DISPATCH_INTERVAL_SECONDS": "0.5",
        "CLOCK_OFFSET_SECONDS": str(offset),
        "LOG_LEVEL": "WARNING",
        "DIARY_KEY": DIARY_KEY,  # webhook mode needs one; both processes share the database
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    await reset(args.database_url)
    api = await FakeBotApi(token=TOKEN).start()
    now = datetime.now(UTC)
    boundary = (now + timedelta(seconds=45 + 59)).replace(second=0, microsecond=0)
    offset = (boundary - timedelta(seconds=45) - now).total_seconds()  # bot clock: 45 s before a full minute
    ports = [free_port(), free_port()]
    proxy = AlternatingProxy([f"http://127.0.0.1:{port}/hook" for port in ports])
    bots: list[subprocess.Popen] = []
    try:
        for port in ports:  # one after the other, as older versions could not migrate concurrently
            bots.append(start_bot(args.source, api, args.database_url, port, offset))
            await wait_http(f"http://127.0.0.1:{port}/healthz", bots[-1])
        await proxy.start()
        bot_now = datetime.now(UTC) + timedelta(seconds=offset)
        due = (bot_now + timedelta(seconds=LEAD_SECONDS + 59)).replace(second=0, microsecond=0)
        at = f"{due:%H:%M}"
        ids = itertools.count(1)
        async with httpx.AsyncClient(timeout=30) as client:
            users = [
                User(FIRST_USER + i, api, client, f"http://127.0.0.1:{proxy.port}/hook", ids) for i in range(args.users)
            ]
            started = time.monotonic()
            await asyncio.gather(*(set_up_reminder(u, at) for u in users))
            await asyncio.gather(*(settings_buttons(u) for u in users))
            flows_seconds = time.monotonic() - started
            wait_until = time.monotonic() + (due - (datetime.now(UTC) + timedelta(seconds=offset))).total_seconds()
            subscribed = [u for u in users if any("Reminders are on" in r.get("text", "") for r in u.replies())]
            with contextlib.suppress(AssertionError):
                await api.wait_until(
                    lambda: all(tips_of(u) for u in subscribed), timeout=max(0, wait_until - time.monotonic()) + 30
                )
            await asyncio.sleep(3)  # a few more dispatcher ticks on both processes: a duplicate would show now
            tips = {u.chat: len(tips_of(u)) for u in users}
            await asyncio.gather(*(tip_done(u) for u in users))
            await asyncio.gather(*(forget(u) for u in users))
    finally:
        await proxy.stop()
        for process in bots:
            process.send_signal(signal.SIGTERM)
        errors = [process.communicate(timeout=30)[1].decode(errors="replace") for process in bots]
        await api.stop()
    completed = Counter(name for u in users for name, ok in u.done.items() if ok)
    result = {
        "users": args.users,
        "processes": 2,
        "remind_flow_completed": completed["remind_flow"],
        "reminders_buttons_completed": completed["reminders_buttons"],
        "tip_done_completed": completed["tip_done"],
        "forget_confirm_completed": completed["forget_confirm"],
        "reminders_due": len(subscribed),
        "reminders_exactly_once": sum(tips[u.chat] == 1 for u in subscribed),
        "reminders_missing": sum(tips[u.chat] == 0 for u in subscribed),
        "reminders_duplicated": sum(tips[u.chat] > 1 for u in subscribed),
        "steps_on_the_other_process": round(proxy.alternation(), 3),
        "flow_seconds": round(flows_seconds, 1),
        "bot_errors_logged": sum(e.count(" ERROR ") for e in errors),
    }
    for name in ("remind_flow", "reminders_buttons", "tip_done", "forget_confirm"):
        print(f"{name.replace('_', ' ')}: {completed[name]}/{args.users} completed", file=sys.stderr)
    print(
        f"reminders: {result['reminders_exactly_once']}/{len(subscribed)} delivered exactly once "
        f"({result['reminders_missing']} missing, {result['reminders_duplicated']} twice or more)",
        file=sys.stderr,
    )
    return result


async def tip_done(user: User) -> None:
    tips = tips_of(user)
    done = buttons(tips[-1]).get("Done ✅") if tips else None
    if done is None:
        user.done["tip_done"] = False
        return
    await user.all_of("tip_done", (user.press(done), "Well done"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL; its schema is wiped first")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout to run the bot from")
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql+asyncpg://"):
        parser.error("two processes share a PostgreSQL database: pass postgresql+asyncpg://...")
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
