"""Load test of webhook mode against a slow Bot API (prints figures; not a test).

    python benchmarks/load.py [--latency 0.05 0.1 0.15] [--rate 25] [--seconds 20] [--per-chat 4]

rls-bot with its default settings (SEND_RATE 30, UPDATE_CONCURRENCY 32, SQLite) and, in the same
run, a bare python-telegram-bot echo bot (PTB's defaults: one update at a time) each run as their
own process in webhook mode. A fake Bot API in another process holds every call `latency` seconds,
as Telegram's servers do from far away. Simulated users post to the webhook open loop at `rate`
updates per second: each chat sends `per_chat` different messages 50 ms apart.

Per bot and latency it prints: sustained updates/s (answered, over the seconds from the first post
to the last answer), reply latency p50/p99 (post sent -> its answer at the Bot API), errors (posts
not answered 200, and messages never answered), the share of chats whose answers came in the
order of their messages, the webhook's acknowledgement p99 and the bot process's CPU time per
update (steadier than latencies on a shared machine). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.diary.crypto import new_key  # noqa: E402
from bot.knowledge import load_content  # noqa: E402
from bot.replies import Responder  # noqa: E402
from bot.tg.render import split_html  # noqa: E402

TOKEN = "123456789:LOAD-token_for_the_fake_bot_api_000"
SECRET = "load-test-secret"
GAP = 0.05  # seconds between one chat's messages
MESSAGES = [  # each gets a different one-message answer, so a chat's answers show their order
    "what foods have magnesium",
    "is 400 mg too much",
    "can i take it with my antibiotics",
    "my legs crawl every night, why?",
    "hi",
    "lentil soup recipe",
    "does coffee make rls worse",
    "thanks!",
]
PREFIX = 40  # characters of each answer the fake Bot API keeps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def update(update_id: int, chat: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Load"},
            "text": text,
        },
    }


def our_answers() -> dict[str, str]:
    """What rls-bot answers each message with, as the fake Bot API records it."""
    responder = Responder(load_content(ROOT / "content"))
    answers = {}
    for text in MESSAGES:
        pieces = split_html(responder.answer(text).html)
        if len(pieces) != 1:
            raise SystemExit(f"{text!r} is answered in {len(pieces)} messages; pick another message")
        answers[text] = pieces[0][:PREFIX]
    if len(set(answers.values())) != len(MESSAGES):
        raise SystemExit("two messages get the same answer: the order of answers could not be told")
    return answers


async def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)  # waiting for a process to start listening
    raise RuntimeError(f"{url} did not come up")


async def drive(hook: str, api: str, chats: range, per_chat: int, rate: float, answers: dict[str, str]) -> dict:
    """Post every chat's messages on schedule, then collect the answers from the fake Bot API."""
    sent_at: dict[tuple[int, int], float] = {}
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    plan = {chat: [MESSAGES[(chat + k) % len(MESSAGES)] for k in range(per_chat)] for chat in chats}
    acknowledged: list[float] = []
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def post(chat: int, k: int) -> None:
            nonlocal errors
            sent_at[chat, k] = time.time()
            body = update(chat * 10 + k, chat, plan[chat][k])
            try:
                response = await client.post(hook, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1
            acknowledged.append((time.time() - sent_at[chat, k]) * 1000)

        async def user(chat: int, at: float) -> None:
            """One chat's messages, GAP apart, each sent once the one before was acknowledged, as
            Telegram hands a chat's updates over in sequence."""
            for k in range(per_chat):
                await asyncio.sleep(max(0.0, at + k * GAP - time.time()))  # open-loop pacing of the users
                await post(chat, k)

        started = time.time() + 0.5
        every = per_chat / rate
        await asyncio.gather(*(user(chat, started + n * every) for n, chat in enumerate(chats)))
        expected = len(chats) * per_chat
        last_count, last_change = -1, time.time()
        while time.time() - last_change < 10:  # until every answer is in, or none came for 10 s
            stats = (await client.get(f"{api}/stats", params={"detail": "1"})).json()
            received = {int(c): v for c, v in stats["replies"].items() if int(c) in plan}
            count = sum(len(v) for v in received.values())
            if count >= expected:
                break
            if count != last_count:
                last_count, last_change = count, time.time()
            await asyncio.sleep(0.25)
    latencies, in_order, answered, last_answer = [], 0, 0, started
    for chat, texts in plan.items():
        wanted = [answers.get(text, text[:PREFIX]) for text in texts]
        got = received.get(chat, [])
        in_order += [prefix for _, prefix in got] == wanted
        for k, want in enumerate(wanted):
            at = next((t for t, prefix in got if prefix == want), None)
            if at is not None:
                answered += 1
                latencies.append((at - sent_at[chat, k]) * 1000)
                last_answer = max(last_answer, at)
    latencies.sort()
    return {
        "offered_per_second": rate,
        "sustained_per_second": round(answered / (last_answer - started), 1) if answered else 0.0,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[math.ceil(len(latencies) * 0.99) - 1], 1) if latencies else None,
        "errors": errors + expected - answered,
        "webhook_ack_p99_ms": round(sorted(acknowledged)[math.ceil(len(acknowledged) * 0.99) - 1], 1),
        "chats_in_order": round(in_order / len(plan), 3),
    }


async def measure(name: str, command: list[str], env: dict, api: str, args: argparse.Namespace, base: int) -> dict:
    port = free_port()
    process = subprocess.Popen(
        command, cwd=ROOT, env={**env, "PORT": str(port)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    answers = our_answers() if name == "rls-bot" else {}
    results = {}
    try:
        hook = f"http://127.0.0.1:{port}/hook"
        await wait_http(f"http://127.0.0.1:{port}/")
        async with httpx.AsyncClient() as client:
            await client.post(f"{api}/faults", json={"latency": 0})
        await drive(hook, api, range(base, base + 20), 1, 20, answers)  # warm-up
        for n, latency in enumerate(args.latency):
            async with httpx.AsyncClient() as client:
                await client.post(f"{api}/faults", json={"latency": latency})
            chats = int(args.rate * args.seconds / args.per_chat)
            first = base + (n + 1) * 100_000
            cpu = cpu_seconds(process.pid)
            result = await drive(hook, api, range(first, first + chats), args.per_chat, args.rate, answers)
            result["cpu_ms_per_update"] = round((cpu_seconds(process.pid) - cpu) * 1000 / (chats * args.per_chat), 2)
            results[f"{latency * 1000:.0f}ms"] = result
            print(f"{name} at {latency * 1000:.0f} ms: {json.dumps(result)}", file=sys.stderr, flush=True)
    finally:
        process.terminate()
        process.wait(30)
    return results


async def main_async(args: argparse.Namespace) -> dict:
    api_port = free_port()
    api = f"http://127.0.0.1:{api_port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.devtools.fake_bot_api", "--port", str(api_port), "--token", TOKEN],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    server.stdout.readline()
    common = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": f"{api}/bot",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_URL": "https://bot.example.org/hook",
        "LISTEN_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "DIARY_KEY": new_key(),  # webhook mode refuses to start without one
    }
    try:
        ours = await measure(
            "rls-bot",
            [sys.executable, "-m", "bot", "run"],
            {**common, "DATA_DIR": tempfile.mkdtemp(prefix="rls-load-")},
            api,
            args,
            10_000_000,
        )
        echo = await measure("echo", [sys.executable, "benchmarks/echo_bot.py"], common, api, args, 20_000_000)
    finally:
        server.terminate()
        server.wait(10)
    return {"rate": args.rate, "seconds": args.seconds, "per_chat": args.per_chat, "rls-bot": ours, "echo": echo}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.05, 0.1, 0.15], metavar="SECONDS")
    parser.add_argument("--rate", type=float, default=25.0, help="updates per second, all chats together")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--per-chat", type=int, default=4, help="messages each simulated chat sends")
    print(json.dumps(asyncio.run(main_async(parser.parse_args()))))


if __name__ == "__main__":
    main()
