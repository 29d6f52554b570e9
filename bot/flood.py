"""Per-user flood control: far more messages than a person types gets one polite warning and
a short pause; everyone else is unaffected. Telegram-free, on an injected clock."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from enum import StrEnum
from time import monotonic


class Verdict(StrEnum):
    allow = "allow"
    warn = "warn"  # the first message over the limit: say "slow down" once
    ignore = "ignore"


class FloodGuard:
    def __init__(
        self,
        limit: int = 20,
        window: float = 10.0,
        pause: float = 30.0,
        clock: Callable[[], float] = monotonic,
        max_users: int = 100_000,
    ) -> None:
        self.limit, self.window, self.pause, self.clock = limit, window, pause, clock
        self.max_users = max_users
        self._recent: dict[int, deque[float]] = {}
        self._paused_until: dict[int, float] = {}

    def check(self, user_id: int) -> Verdict:
        now = self.clock()
        until = self._paused_until.get(user_id)
        if until is not None:
            if now < until:
                return Verdict.ignore
            del self._paused_until[user_id]
        recent = self._recent.setdefault(user_id, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        recent.append(now)
        if len(recent) > self.limit:
            recent.clear()
            self._paused_until[user_id] = now + self.pause
            return Verdict.warn
        if len(self._recent) > self.max_users:
            self._forget_idle(now)
        return Verdict.allow

    def _forget_idle(self, now: float) -> None:
        for user_id in [u for u, times in self._recent.items() if not times or times[-1] <= now - self.window]:
            del self._recent[user_id]
