"""The last line of defence for privacy in logs: a filter on the log handler that every record,
from the bot or from any library, passes through before it is written.

Users tell this bot about their health; their words, names, usernames, phone numbers and
locations must never reach a log file, and neither may the bot token (it is in every Bot API URL).
Reviewing our own log calls is not enough: at DEBUG, python-telegram-bot logs whole updates and
every request's parameters and answers, aiosqlite every statement's parameters, httpx every URL.
So the filter renders each message itself, by these rules:

1. A library's message keeps its fixed wording, numbers, enums, dates, short identifiers (a Bot
   API method name, a revision id) and URLs without their query; any other argument (an update,
   a dict of parameters, a long string) is replaced by its type and size: `<Update>`,
   `<dict, 4 items>`, `<str, 31 chars>`. The bot's own messages keep their strings, which the
   code writes on purpose, but not Telegram objects or containers.
2. An exception is its type; a traceback keeps its frames but no exception's message, since
   exception messages repeat what failed (PTB's NetworkError carries the request it was sending).
3. Last, the token (and the webhook secret), given or token-shaped, is cut out of the whole line.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import re
import traceback
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")  # what BotFather hands out
IDENTIFIER = re.compile(r"[\w./-]{0,64}")  # getUpdates, HTTP/1.1, 0002, reminder-dispatcher; no spaces
TRUSTED = ("bot", "alembic")  # loggers whose string arguments are written on purpose, never user data
WITHHELD_TOKEN = "<token>"
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _kind(value: object) -> str:
    kind = type(value)
    module = "" if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}."
    return f"{module}{kind.__qualname__}"


def _url(value: str) -> str | None:
    """An http(s) URL without its query or fragment (where GET parameters would be)."""
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
        return None
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _is_container(value: object) -> bool:
    return isinstance(value, Mapping | list | tuple | set | frozenset | bytes | bytearray)


def safe_argument(value: Any, trusted: bool) -> object:
    """What of one log argument may be written (rule 1)."""
    if value is None or isinstance(value, bool | int | float | enum.Enum | dt.date | dt.time | dt.timedelta):
        return value
    if isinstance(value, BaseException):
        return type(value).__name__
    if trusted and not _is_container(value) and not type(value).__module__.startswith("telegram"):
        return value  # our own values and Alembic's revision steps, but never a Telegram object
    if type(value).__name__ == "URL":  # httpx.URL: keep where the request went, not its query
        value = str(value)
    if isinstance(value, str):
        if IDENTIFIER.fullmatch(value):
            return value
        return _url(value) or f"<str, {len(value)} chars>"
    if isinstance(value, list | tuple) and value and all(isinstance(v, int) for v in value):
        return value  # update ids, a conversation key
    if _is_container(value):
        return f"<{type(value).__name__}, {len(value)} items>"
    return f"<{type(value).__name__}>"


def redacted_traceback(exc: BaseException) -> str:
    """The traceback with frames and exception types but no message, chained exceptions included
    (rule 2)."""
    return "".join(_traceback_parts(exc, set())).rstrip("\n")


def _traceback_parts(exc: BaseException, seen: set[int]) -> list[str]:
    seen.add(id(exc))
    parts: list[str] = []
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        parts += [*_traceback_parts(cause, seen), _CAUSE]
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        parts += [*_traceback_parts(context, seen), _CONTEXT]
    if exc.__traceback__ is not None:
        parts += ["Traceback (most recent call last):\n", *traceback.format_tb(exc.__traceback__)]
    parts.append(f"{_kind(exc)} (message withheld)\n")
    return parts


class Redactor(logging.Filter):
    """Rewrites every record it sees by the module's rules; never drops one."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, secret: str | None) -> None:
        """Cut this value (and its URL-encoded form) out of every line from now on."""
        if secret and len(secret) >= 4:
            for form in {secret, quote(secret, safe="")}:
                if form not in self._secrets:
                    self._secrets.append(form)
            self._secrets.sort(key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """Rule 3."""
        for secret in self._secrets:
            text = text.replace(secret, WITHHELD_TOKEN)
        return TOKEN_SHAPE.sub(WITHHELD_TOKEN, text)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "redacted", False):
            return True
        trusted = record.name.split(".", 1)[0] in TRUSTED
        record.msg = self.scrub(self._message(record, trusted))
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.scrub(redacted_traceback(record.exc_info[1]))
        elif record.exc_text:
            record.exc_text = "(traceback withheld)"
        record.exc_info = None
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        record.redacted = True
        return True

    @staticmethod
    def _message(record: logging.LogRecord, trusted: bool) -> str:
        if not isinstance(record.msg, str):
            return str(safe_argument(record.msg, trusted))
        if not record.args:
            return record.msg
        args = record.args
        try:
            if isinstance(args, Mapping) and "%(" in record.msg:  # logging unpacks a lone dict argument
                return record.msg % {key: safe_argument(value, trusted) for key, value in args.items()}
            if isinstance(args, Mapping):
                args = (args,)
            return record.msg % tuple(safe_argument(value, trusted) for value in args)
        except (TypeError, ValueError, KeyError):  # a malformed call: keep the wording only
            return f"{record.msg} <arguments withheld>"
