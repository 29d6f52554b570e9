"""Reminder burst while people chat (prints figures; not a test).

    python benchmarks/burst.py [--reminders 3000] [--rate 30] [--latency 0.1] [--questions 10]
                               [--seconds 60] [--sequential] [--database-url URL]

A fake Bot API in another process answers every call after --latency seconds, allows --rate
messages a second overall and Telegram's per-chat limits (429 beyond them), and counts what
each chat receives. The bot runs as its own process in webhook mode with SEND_RATE=--rate (the
real rate limiter, dispatcher and database), with --reminders tips due at once. While they go
out, a driver posts questions as webhook updates, --questions a second for --seconds, each from
a new user; a reply's latency runs from the POST to the fake API receiving the answer.

The bot handles updates through its inbox, concurrently across chats and in order within one;
--sequential sets UPDATE_CONCURRENCY=1 (one update at a time, python-telegram-bot's own default),
which at 100 ms a Bot API call caps replies near ten a second. The last line printed is one
JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from load import MESSAGES, SECRET, free_port, update, wait_http  # noqa: E402
from reminders import TOKEN, fill  # noqa: E402

from bot.diary.crypto import new_key  # noqa: E402

QUESTION_USERS = 50_000_000  # far from the reminder chats (1..N)


def serve() -> None:
    """The bot process: `rls-bot run` in webhook mode (updates concurrently across chats, in order
    within a chat, through the inbox)."""
    from bot.config import load_settings
    from bot.knowledge import load_content
    from bot.logs import configure
    from bot.tg.app import build_application, serve_webhook

    settings = load_settings()
    if os.environ.get("BENCH_SEQUENTIAL") == "1":
        settings = settings.model_copy(update={"update_concurrency": 1})  # one update at a time
    configure(settings.log_level, settings.log_format)
    content = load_content(settings.content_dir)
    application = build_application(settings, content)

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await serve_webhook(application, settings, stop)

    asyncio.run(main())


async def drive(hook: str, rate: float, seconds: float) -> dict[int, float]:
    """Post one question per new user at `rate` a second; return user -> when it was posted."""
    sent_at: dict[int, float] = {}
    async with httpx.AsyncClient(timeout=30) as client:

        async def post(i: int) -> None:
            user = QUESTION_USERS + i
            sent_at[user] = time.time()
            await client.post(
                hook,
                json=update(user, user, MESSAGES[i % len(MESSAGES)]),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )

        started, tasks = time.time(), []
        for i in range(int(rate * seconds)):
            delay = started + i / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)  # open-loop pacing of the simulated users
            tasks.append(asyncio.create_task(post(i)))
        await asyncio.gather(*tasks)
    return sent_at


async def wait_for_all(api: str, reminders: int, asked: dict[int, float], deadline: float) -> dict:
    async with httpx.AsyncClient(timeout=30) as client:
        while True:
            stats = (await client.get(f"{api}/stats", params={"detail": "1"})).json()
            delivered = {int(k): v for k, v in stats["delivered"].items()}
            answered = sum(1 for user in asked if user in delivered)
            due = sum(1 for chat in delivered if chat <= reminders)
            if (answered == len(asked) and due == reminders) or time.time() > deadline:
                return stats
            await asyncio.sleep(1)  # polling the fake server's counters


def percentile(values: list[float], share: float) -> float | None:
    return round(values[max(0, int(len(values) * share) - 1)], 1) if values else None


async def run(args: argparse.Namespace) -> dict:
    workdir = tempfile.mkdtemp(prefix="rls-burst-")
    url = args.database_url or f"sqlite+aiosqlite:///{workdir}/burst.db"
    await fill(url, args.reminders, args.reminders, datetime.now(UTC))
    api_port, bot_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"
    faults = ["--rate", str(args.rate), "--latency", str(args.latency), "--per-chat-limits"]
    fake = subprocess.Popen(
        [sys.executable, "-m", "bot.devtools.fake_bot_api", "--port", str(api_port), "--token", TOKEN, *faults],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    fake.stdout.readline()
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": f"{api}/bot",
        "WEBHOOK_URL": "https://bot.example.org/hook",
        "WEBHOOK_SECRET": SECRET,
        "LISTEN_HOST": "127.0.0.1",
        "PORT": str(bot_port),
        "DATABASE_URL": url,
        "SEND_RATE": str(args.rate),
        "DISPATCH_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        "BENCH_SEQUENTIAL": "1" if args.sequential else "0",
        "DIARY_KEY": new_key(),  # webhook mode refuses to start without one
    }
    bot = subprocess.Popen([sys.executable, __file__, "--serve"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        await wait_http(f"http://127.0.0.1:{bot_port}/healthz")
        started = time.time()  # the dispatcher job starts with the process: the burst is under way
        asked = await drive(f"http://127.0.0.1:{bot_port}/hook", args.questions, args.seconds)
        budget = 60 + 3 * args.reminders / max(1.0, args.rate - args.questions)
        stats = await wait_for_all(api, args.reminders, asked, started + budget)
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(30)
        fake.terminate()
        fake.wait(10)

    delivered = {int(k): v for k, v in stats["delivered"].items()}
    received = {int(k): v for k, v in stats["received_at"].items()}
    latencies = sorted((received[u] - t) * 1000 for u, t in asked.items() if u in received)
    tips = [received[c] for c in range(1, args.reminders + 1) if c in received]
    return {
        "reminders": args.reminders,
        "send_rate": args.rate,
        "api_latency_ms": args.latency * 1000,
        "questions": len(asked),
        "updates": "sequential" if args.sequential else "concurrent",
        "reply_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "reply_p99_ms": percentile(latencies, 0.99),
        "replies_missing": len(asked) - len(latencies),
        "reminders_delivered": len(tips),
        "reminders_lost": args.reminders - len(tips),
        "reminders_duplicated": sum(v - 1 for c, v in delivered.items() if c <= args.reminders and v > 1),
        "burst_seconds": round(max(tips) - started, 1) if tips else None,
        "http_429": stats["http_429"],
    }


def main() -> None:
    if sys.argv[1:] == ["--serve"]:
        serve()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reminders", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=30.0, help="SEND_RATE, and what the fake API allows")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds each Bot API call takes")
    parser.add_argument("--questions", type=float, default=10.0, help="questions (updates) per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the questions keep coming")
    parser.add_argument("--sequential", action="store_true", help="PTB's default: one update at a time")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temp folder")
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
