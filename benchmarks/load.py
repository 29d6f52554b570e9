"""Load test of webhook mode (prints figures; not a test).

    python benchmarks/load.py [--rate 200] [--seconds 10] [--saturate 3000]

For rls-bot and, in the same run, a bare python-telegram-bot echo bot: start the bot as its own
process in webhook mode, with a fake Bot API on 127.0.0.1 (another process) receiving replies.
Many simulated users (one per update) then post real-style messages to the webhook:
  1. at a fixed rate (default 200 updates/s) -> reply latency p50/p99 (POST sent -> reply received)
  2. as fast as 64 concurrent senders can (default 3,000 updates) -> updates per second handled.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
TOKEN = "123456789:LOAD-token_for_the_fake_bot_api_000"
SECRET = "load-test-secret"
MESSAGES = [
    "what foods have magnesium",
    "is 400 mg too much",
    "can i take it with my antibiotics",
    "my legs crawl every night, why?",
    "hi",
    "lentil soup recipe",
    "does coffee make rls worse",
    "magnesium + my cipro ok?",
    "thanks!",
    "safe dose?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def update(update_id: int, user: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "Load"},
            "text": text,
        },
    }


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


async def drive(hook: str, api: str, base_user: int, count: int, rate: float | None) -> dict:
    """Post `count` updates (at `rate`/s, or flat out with 64 senders); collect latencies."""
    sent_at: dict[int, float] = {}
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def post(i: int) -> None:
            nonlocal errors
            user = base_user + i
            sent_at[user] = time.time()
            try:
                response = await client.post(
                    hook,
                    json=update(base_user + i, user, MESSAGES[i % len(MESSAGES)]),
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                )
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1

        started = time.time()
        if rate:
            tasks = []
            for i in range(count):
                delay = started + i / rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)  # open-loop pacing of the simulated users
                tasks.append(asyncio.create_task(post(i)))
            await asyncio.gather(*tasks)
        else:
            gate = asyncio.Semaphore(64)

            async def gated(i: int) -> None:
                async with gate:
                    await post(i)

            await asyncio.gather(*(gated(i) for i in range(count)))
        deadline = time.time() + 30
        while time.time() < deadline:  # wait for the last replies
            stats = (await client.get(f"{api}/stats", params={"detail": "1"})).json()
            received = {int(k): v for k, v in stats["received_at"].items() if int(k) in sent_at}
            if len(received) >= count:
                break
            await asyncio.sleep(0.2)
    latencies = sorted((received[u] - sent_at[u]) * 1000 for u in received)
    missing = count - len(received)
    span = max(received.values()) - started if received else 0.0
    return {
        "updates": count,
        "errors": errors + missing,
        "updates_per_second": round(len(received) / span, 1) if span else 0.0,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 1) if latencies else None,
    }


async def measure(
    name: str, command: list[str], env: dict, api: str, rate: float, seconds: float, saturate: int, base_user: int
) -> dict:
    port = free_port()
    process = subprocess.Popen(
        command, cwd=ROOT, env={**env, "PORT": str(port)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        hook = f"http://127.0.0.1:{port}/hook"
        await wait_http(f"http://127.0.0.1:{port}/")
        await drive(hook, api, base_user, 50, None)  # warm-up
        paced = await drive(hook, api, base_user + 1_000_000, int(rate * seconds), rate)
        flat_out = await drive(hook, api, base_user + 2_000_000, saturate, None)
    finally:
        process.terminate()
        process.wait(20)
    result = {"at_rate": paced, "saturated": flat_out}
    print(f"{name}: {json.dumps(result)}", file=sys.stderr)
    return result


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
    }
    try:
        ours = await measure(
            "rls-bot",
            [sys.executable, "-m", "bot", "run"],
            {
                **common,
                "DATA_DIR": tempfile.mkdtemp(prefix="rls-load-"),
                "SEND_RATE": "10000",
                "LOG_LEVEL": "WARNING",
                "FLOOD_LIMIT": "1000",
            },
            api,
            args.rate,
            args.seconds,
            args.saturate,
            10_000_000,
        )
        echo = await measure(
            "echo",
            [sys.executable, "benchmarks/echo_bot.py"],
            common,
            api,
            args.rate,
            args.seconds,
            args.saturate,
            20_000_000,
        )
    finally:
        server.terminate()
        server.wait(10)
    return {
        "rate": args.rate,
        "updates_per_second": ours["saturated"]["updates_per_second"],
        "p50_ms": ours["at_rate"]["p50_ms"],
        "p99_ms": ours["at_rate"]["p99_ms"],
        "errors": ours["at_rate"]["errors"] + ours["saturated"]["errors"],
        "echo_updates_per_second": echo["saturated"]["updates_per_second"],
        "echo_p50_ms": echo["at_rate"]["p50_ms"],
        "echo_p99_ms": echo["at_rate"]["p99_ms"],
        "echo_errors": echo["at_rate"]["errors"] + echo["saturated"]["errors"],
        "throughput_vs_echo": round(
            ours["saturated"]["updates_per_second"] / max(echo["saturated"]["updates_per_second"], 0.001), 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--saturate", type=int, default=3000)
    print(json.dumps(asyncio.run(main_async(parser.parse_args()))))


if __name__ == "__main__":
    main()
