"""`rls-bot say "what foods have magnesium"`: one message to a running bot through the fake Bot API
(`python -m bot.devtools.fake_bot_api`), and its replies printed, buttons included. It tries the
real bot process, handlers, database and all, where `rls-bot ask` tries only the answering core.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, TextIO

DEFAULT_API = "http://127.0.0.1:8081"
DEFAULT_TIMEOUT = 15.0  # seconds for the first reply; the bot trains its models on a first start
QUIET = 0.5  # the answer is complete when nothing more came for this long
EXIT_NO_REPLY = 1


def add_parser(commands: Any) -> None:
    say = commands.add_parser("say", help="send one message to the bot through a fake Bot API and print the replies")
    say.add_argument("text", nargs="*", help="the message (words are joined)")
    say.add_argument("--press", metavar="DATA", help="press a button instead: its callback data, e.g. t:doses")
    say.add_argument(
        "--api",
        default=os.environ.get("FAKE_BOT_API", DEFAULT_API),
        help="the fake Bot API server (default: $FAKE_BOT_API or %(default)s)",
    )
    say.add_argument("--chat-id", type=int, default=42, help="the fake user's chat id (default: %(default)s)")
    say.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for a first reply")
    say.add_argument("--json", action="store_true", help="print the replies as one JSON object per line")


def _root(api: str) -> str:
    """Accept the server's address with or without the /bot that TELEGRAM_API_URL ends in."""
    return api.rstrip("/").removesuffix("/bot")


def _show(reply: dict[str, Any], out: TextIO) -> None:
    from bot.replies import to_plain

    out.write(f"bot> {to_plain(reply['text'])}\n")
    for row in reply["buttons"]:
        out.write("     " + " ".join(f"[{b['text']} = {b['data']}]" for b in row) + "\n")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.text and args.press is None:
        err.write("say: give the message to send, or --press DATA\n")
        return 2
    body: dict[str, Any] = {"chat_id": args.chat_id, "timeout": args.timeout, "quiet": QUIET}
    body.update({"press": args.press} if args.press is not None else {"text": " ".join(args.text)})
    url = f"{_root(args.api)}/send"
    import httpx  # here, so the other commands start without it

    try:
        answer = httpx.post(url, json=body, timeout=args.timeout + 10)
    except httpx.TransportError as exc:
        start = "python -m bot.devtools.fake_bot_api"
        err.write(f"say: no fake Bot API at {url} ({type(exc).__name__}); start one with: {start}\n")
        return EXIT_NO_REPLY
    try:
        found = answer.json()
    except ValueError:
        found = {"error": f"{url} answered HTTP {answer.status_code}: is that the fake Bot API?"}
    if not found.get("ok"):
        err.write(f"say: {found.get('error', answer.status_code)}\n")
        return EXIT_NO_REPLY
    for reply in found["replies"]:
        if args.json:
            out.write(json.dumps(reply, ensure_ascii=False) + "\n")
        else:
            _show(reply, out)
    return 0
