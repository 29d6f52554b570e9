"""Logging set-up: plain or JSON lines, every one through the redaction filter (bot/redaction.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

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


def configure(level: str, fmt: str = "plain", secrets: Iterable[str | None] = ()) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(Redactor(secrets))  # on the handler, so it sees every library's records too
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per Bot API request: only when debugging (the redaction filter keeps the token out).
    logging.getLogger("httpx").setLevel(logging.WARNING if root.level > logging.DEBUG else logging.DEBUG)
    logging.getLogger("httpcore").setLevel(logging.WARNING)  # eight lines per request even then
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # logs at import time
