"""Logging set-up: plain or JSON lines, every one through the redaction filter (bot/redaction.py),
so that no level, no library and no exception message puts users' words, names or the token in a
log. Libraries that log whole payloads at DEBUG are also held at INFO, and a failure repeated
every second is one traceback per few minutes (Throttle).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from time import monotonic
from typing import TextIO

from bot.redaction import Redactor


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:  # the redacted traceback: the filter has already dropped exc_info
            entry["error"] = record.exc_text
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


def configure(level: str, fmt: str = "plain", stream: TextIO | None = None, secrets: Iterable[str | None] = ()) -> None:
    """Log to `stream` (stderr by default) at `level`, as plain lines or JSON objects."""
    handler = logging.StreamHandler(stream)
    handler._rls_bot = True  # type: ignore[attr-defined]
    handler.addFilter(Redactor(secrets))  # on the handler, so it sees every library's records too
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    # Replace the handler an earlier call installed, keep anyone else's (a test's capture handler).
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "_rls_bot", False)] + [handler]
    root.setLevel(level)
    # One line per Bot API request: only when debugging (the redaction filter keeps the token out).
    logging.getLogger("httpx").setLevel(logging.WARNING if root.level > logging.DEBUG else logging.DEBUG)
    logging.getLogger("httpcore").setLevel(logging.WARNING)  # eight lines per request even then
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    logging.getLogger("tornado.general").setLevel(logging.WARNING)  # one line per refused request
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # logs at import time
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # ~75 INFO lines per PDF report (font subsetting)
    # At DEBUG, PTB logs every update and request: the filter writes them as types and sizes.
    # SQLAlchemy (from INFO) and aiosqlite log every statement with its values, stored questions
    # among them: held at WARNING whatever the level.
    for statement_logger in ("sqlalchemy.engine", "sqlalchemy.pool", "aiosqlite"):
        logging.getLogger(statement_logger).setLevel(logging.WARNING)
