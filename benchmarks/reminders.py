"""Delivery engine benchmark (prints figures; not a test).

    python benchmarks/reminders.py --subscribers N --rate R [--database-url URL] [--due D]

Fills a fresh database with N subscribers spread over many time zones and evening times, of
which D are due right now (a burst; default 10 seconds' worth at R). A fake Bot API server in
another process enforces R messages per second (429 with retry_after beyond it) and counts what
each chat receives. The real engine (python-telegram-bot Application, rate limiter, Dispatcher,
database) then delivers the burst. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.knowledge import load_content  # noqa: E402
from bot.reminders.schedule import next_occurrence  # noqa: E402
from bot.storage.database import create_engine, is_sqlite, upgrade  # noqa: E402
from bot.storage.models import Status, Subscription  # noqa: E402
from bot.tg.app import build_application  # noqa: E402

ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Australia/Adelaide",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/St_Johns",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Asia/Tehran",
    "Asia/Dubai",
    "UTC+05:30",
    "UTC-03:00",
    "Europe/Madrid",
    "Asia/Singapore",
    "America/Mexico_City",
    "Asia/Jakarta",
]
MINUTES = list(range(19 * 60, 24 * 60, 15))
TOKEN = "123456789:BENCH-token_for_the_fake_bot_api_00"
CHUNK = 20_000


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def fill(url: str, subscribers: int, due: int, now: datetime) -> None:
    """N rows in chunks, so memory stays flat; D of them fall due within the last minute."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS deliveries"))
        await connection.execute(text("DROP TABLE IF EXISTS subscriptions"))
        await connection.execute(text("DROP TABLE IF EXISTS processes"))
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await upgrade(engine)
    future = {(z, m): next_occurrence(m, z, now) for z in ZONES for m in MINUTES}
    rng = random.Random(7)
    due_ids = set(rng.sample(range(1, subscribers + 1), due))
    for start in range(1, subscribers + 1, CHUNK):
        rows = []
        for chat_id in range(start, min(start + CHUNK, subscribers + 1)):
            zone, minute = ZONES[chat_id % len(ZONES)], MINUTES[chat_id % len(MINUTES)]
            at = now - timedelta(seconds=rng.uniform(0, 60)) if chat_id in due_ids else future[(zone, minute)]
            rows.append(
                {
                    "chat_id": chat_id,
                    "minute": minute,
                    "zone": zone,
                    "status": Status.active,
                    "measures": "",
                    "seen_tips": "",
                    "next_due_at": at,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        async with engine.begin() as connection:
            await connection.execute(insert(Subscription), rows)
    async with engine.begin() as connection:
        if is_sqlite(url):
            await connection.execute(text("ANALYZE"))
        else:
            await connection.execute(text("ANALYZE subscriptions"))
    await engine.dispose()


async def due_query_ms(url: str, now: datetime, batch: int) -> float:
    """The claim query on the full table, as the dispatcher runs it (median of 20)."""
    engine = create_engine(url)
    query = (
        select(Subscription.chat_id)
        .where(Subscription.status == Status.active, Subscription.next_due_at <= now)
        .order_by(Subscription.next_due_at)
        .limit(batch)
    )
    timings = []
    async with engine.connect() as connection:
        for _ in range(21):
            started = time.perf_counter()
            (await connection.execute(query)).all()
            timings.append((time.perf_counter() - started) * 1000)
    await engine.dispose()
    return statistics.median(timings[1:])


async def deliver(url: str, base_url: str, rate: float, due: int, now: datetime) -> tuple[int, float]:
    content = load_content(ROOT / "content")
    settings = Settings(
        bot_token=TOKEN,
        telegram_api_url=base_url,
        database_url=url,
        send_rate=rate,
        dispatch_interval_seconds=0,
        data_dir=Path(tempfile.gettempdir()),
    )
    application = build_application(settings, content)
    async with application:
        await application.post_init(application)
        dispatcher = application.bot_data["dispatcher"]
        started, sent = time.perf_counter(), 0
        deadline = started + max(60.0, 5 * due / rate)
        while sent < due and time.perf_counter() < deadline:
            report = await dispatcher.tick()
            sent += report.sent
            if not report.busy:
                await asyncio.sleep(0.2)  # only waiting out retry_after backoffs of a few rows
        elapsed = time.perf_counter() - started
        await application.post_shutdown(application)
    return sent, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--due", type=int, default=None, help="reminders due in the burst (default 10 s at R)")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temp folder")
    args = parser.parse_args()
    due = min(args.subscribers, args.due or int(args.rate * 10))
    workdir = tempfile.mkdtemp(prefix="rls-bench-")
    url = args.database_url or f"sqlite+aiosqlite:///{workdir}/bench.db"
    now = datetime.now(UTC)

    started = time.perf_counter()
    asyncio.run(fill(url, args.subscribers, due, now))
    print(
        f"filled {args.subscribers:,} subscribers ({due:,} due) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    query_ms = asyncio.run(due_query_ms(url, now, 200))

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.devtools.fake_bot_api",
            "--port",
            str(port),
            "--rate",
            str(args.rate),
            "--token",
            TOKEN,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        server.stdout.readline()  # "fake Bot API on ..." once it listens
        sent, elapsed = asyncio.run(deliver(url, f"http://127.0.0.1:{port}/bot", args.rate, due, now))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats") as response:
            stats = json.load(response)
    finally:
        server.terminate()
        server.wait(10)

    delivered = {int(k): v for k, v in stats["delivered"].items()}
    received = sum(delivered.values())
    result = {
        "subscribers": args.subscribers,
        "due": due,
        "sent": received,
        "lost": due - len(delivered),
        "duplicates": sum(v - 1 for v in delivered.values() if v > 1),
        "rate_limit": args.rate,
        # messages per second as Telegram sees them: from the first to the last one received
        "achieved_rate": round((received - 1) / stats["first_to_last_seconds"], 1) if received > 1 else 0.0,
        "http_429": stats["http_429"],
        "due_query_ms": round(query_ms, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(f"engine sent {sent:,}, server received {received:,}; the burst took {elapsed:.1f} s", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
