"""Whether a failed Bot API request can have reached Telegram.

Only a failure to connect, or to get a connection from the pool, proves the request never left:
after that, a timeout or a reset may hide a request Telegram received and acted on.
python-telegram-bot raises TimedOut/NetworkError with httpx's exception as __cause__
(telegram/request/_httpxrequest.py), so the cause is what tells them apart.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import httpx
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# the connection was closed with no answer at all (a keep-alive connection the server dropped, an
# outage beginning): most likely never acted on, but not proven; unlike a timeout, where Telegram
# has the request and is merely slow to answer
DROPPED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


def never_left(exc: BaseException) -> bool:
    """True if `exc` proves the request did not reach Telegram."""
    return isinstance(exc.__cause__, NEVER_SENT)


def dropped_unanswered(exc: BaseException) -> bool:
    """True if the connection closed before any answer came (not a timeout): the request most
    likely was not acted on. Worth a retry where a duplicate is the lesser harm (a reply to a
    person), not where it is the worse one (an evening tip)."""
    return isinstance(exc.__cause__, DROPPED)


def retry_seconds(exc: RetryAfter) -> float:
    """retry_after in seconds, whether PTB gives an int (today) or a timedelta (announced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
