"""Logging set-up: plain or JSON lines that never hold message text, names or secrets.

Two things would otherwise leak them. Exception messages: python-telegram-bot's NetworkError
repeats the repr of what failed, and for text that cannot be encoded that is the whole outgoing
message (with the user's name in a welcome). So tracebacks keep their frames and exception types
but never their messages. And libraries at DEBUG: PTB logs every update and every request's
parameters, so its loggers stay at INFO or above whatever LOG_LEVEL says.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from time import monotonic
from types import TracebackType
from typing import TextIO

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _exception_lines(exc: BaseException, seen: set[int]) -> list[str]:
    seen.add(id(exc))
    lines: list[str] = []
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        lines += [*_exception_lines(cause, seen), _CAUSE]
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        lines += [*_exception_lines(context, seen), _CONTEXT]
    if exc.__traceback__ is not None:
        lines += ["Traceback (most recent call last):\n", *traceback.format_tb(exc.__traceback__)]
    kind = type(exc)
    module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
    lines.append(f"{module}{kind.__qualname__} (message withheld)\n")
    return lines


def redacted_traceback(exc_info: ExcInfo) -> str:
    """The traceback with every exception's message left out, chained exceptions included."""
    if exc_info[1] is None:
        return ""
    return "".join(_exception_lines(exc_info[1], set())).rstrip("\n")


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None  # another handler may have cached a traceback with the messages in
        return super().format(record)

    def formatException(self, ei: ExcInfo) -> str:
        return redacted_traceback(ei)


class JsonFormatter(RedactingFormatter):
    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class Throttle:
    """Lets the same report through at most once per `every` seconds and counts the rest, so a
    failure that repeats every second (a full disk) is one traceback, not thousands."""

    def __init__(self, every: float = 300.0, clock: Callable[[], float] = monotonic) -> None:
        self.every, self.clock = every, clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def admit(self, key: str) -> int | None:
        """None: stay quiet. Otherwise report now; the number is how many were held back."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._held.pop(key, 0)


def configure(level: str, fmt: str = "plain", stream: TextIO | None = None) -> None:
    """Log to `stream` (stderr by default) at `level`, as plain lines or JSON objects."""
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # logs at import time
    # SQLAlchemy's engine logs statement parameters at DEBUG, and they include stored questions.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("sqlalchemy.pool").setLevel(logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)  # logs every statement with its values
    # PTB at DEBUG logs whole updates and request parameters: message text and names.
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLevelName(level)))
    # At DEBUG these log whole payloads: PTB every Bot API call's parameters and answer (message
    # texts, names, the bot token in the URL), aiosqlite every statement with its parameters.
    for payload_logger in ("telegram.Bot", "telegram.ext.ExtBot", "aiosqlite"):
        logging.getLogger(payload_logger).setLevel(max(logging.INFO, root.level))
    logging.getLogger("tornado.general").setLevel(logging.WARNING)  # one line per refused request
