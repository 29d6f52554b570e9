"""Which language a chat is spoken to in: the one chosen in /settings (stored), else the user's
Telegram language when the content has a catalogue for it, else English.

The stored choice is read with a short bound, like a /remind step: a slow or locked database
costs the choice for one message, never the answer. No Telegram types here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.knowledge.schema import ENGLISH
from bot.storage.database import insert_for
from bot.storage.models import ChatPreference, utcnow

log = logging.getLogger(__name__)

READ_SECONDS = 1.0


def from_telegram(language_code: str | None, available: list[str]) -> str:
    """'de-AT' -> 'de' when there is a German catalogue; anything else -> English."""
    primary = (language_code or "").split("-")[0].lower()
    return primary if primary in available else ENGLISH


class Languages:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        available: list[str],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.available = available
        self.clock = clock

    async def chosen(self, chat_id: int) -> str | None:
        """The stored choice, if any and still offered; None on a slow or failing database.
        With English alone there is nothing to choose, and nothing is read."""
        if len(self.available) == 1:
            return None
        try:
            async with asyncio.timeout(READ_SECONDS), self.sessions() as session:
                row = await session.get(ChatPreference, chat_id)
        except Exception as exc:
            log.warning("language choice unreadable (%s); using the Telegram language", type(exc).__name__)
            return None
        return row.language if row is not None and row.language in self.available else None

    async def of_chat(self, chat_id: int) -> str:
        """For messages the bot sends on its own (no update, so no Telegram language): the choice
        made in /settings, else English."""
        return await self.chosen(chat_id) or ENGLISH

    async def of(self, chat_id: int, language_code: str | None) -> str:
        return await self.chosen(chat_id) or from_telegram(language_code, self.available)

    async def choose(self, chat_id: int, language: str) -> str:
        if language not in self.available:
            raise ValueError("no catalogue for that language")
        fields = {"language": language, "updated_at": self.clock()}
        async with self.sessions.begin() as session:
            statement = insert_for(session, ChatPreference).values(chat_id=chat_id, **fields)
            await session.execute(statement.on_conflict_do_update(index_elements=["chat_id"], set_=fields))
        return language
