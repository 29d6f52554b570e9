"""Conversation state in the database: what each chat is in the middle of.

A multi-step exchange (/remind asks for a time, then a zone; /forget waits for its tap) used to
live in one process's memory. With two webhook processes behind one URL the second message
mostly reached a process that had never seen the first, and a restart stranded everyone halfway.
Here each piece of state is one row keyed by (chat, slot) with an expiry, so any process can take
the chat's next message and a restart loses nothing.

A `Slot` names the key, the pydantic model of its value and how long it lives. Values are
validated on the way out: a row past its expiry, or one written by another version that no
longer fits the model, reads as absent, never as a crash. No Telegram types here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.reminders.schedule import MINUTES_PER_DAY
from bot.storage.database import insert_for, rowcount
from bot.storage.models import ChatState, utcnow

MAX_QUESTION_CHARS = 4096  # Telegram's own limit for one message


class StateKey(StrEnum):
    remind = "remind"
    forget = "forget"
    last_question = "last_question"


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RemindStep(StrEnum):
    ask_time = "ask_time"
    ask_zone = "ask_zone"


class RemindDraft(_Value):
    """Where a /remind is: waiting for a time, or for a zone (with the time, if already chosen;
    none when only the zone of an existing reminder is being changed)."""

    step: RemindStep
    minute: int | None = Field(default=None, ge=0, lt=MINUTES_PER_DAY)


class ForgetRequest(_Value):
    """/forget was sent; its "Delete everything" tap is honoured only while this lives."""

    asked_at: datetime


class LastQuestion(_Value):
    """The chat's previous question, for follow-ups ("and for children?")."""

    text: str = Field(max_length=MAX_QUESTION_CHARS)
    topic: str | None = None
    asked_at: datetime
    rule: str | None = None  # the safety rule its reply answered, if it described danger


T = TypeVar("T", bound=_Value)


@dataclass(frozen=True)
class Slot(Generic[T]):
    key: StateKey
    model: type[T]
    ttl: timedelta


REMIND = Slot(StateKey.remind, RemindDraft, timedelta(minutes=15))
FORGET = Slot(StateKey.forget, ForgetRequest, timedelta(minutes=10))
LAST_QUESTION = Slot(StateKey.last_question, LastQuestion, timedelta(minutes=30))


class ChatStates:
    """get / put / clear per chat and slot, on an injected clock."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.clock = clock

    async def get(self, chat_id: int, slot: Slot[T]) -> T | None:
        async with self.sessions() as session:
            row = await session.get(ChatState, (chat_id, slot.key.value))
        if row is None or row.expires_at <= self.clock():
            return None
        try:
            return slot.model.model_validate(row.value)
        except ValidationError:
            return None

    async def put(self, chat_id: int, slot: Slot[T], value: T) -> None:
        """Write the slot (replacing what was there); it lives `slot.ttl` from now."""
        if not isinstance(value, slot.model):
            raise TypeError(f"{slot.key} holds {slot.model.__name__}, not {type(value).__name__}")
        now = self.clock()
        fields: dict[str, Any] = {
            "value": value.model_dump(mode="json"),
            "expires_at": now + slot.ttl,
            "updated_at": now,
        }
        async with self.sessions.begin() as session:
            statement = insert_for(session, ChatState).values(chat_id=chat_id, key=slot.key.value, **fields)
            await session.execute(statement.on_conflict_do_update(index_elements=["chat_id", "key"], set_=fields))

    async def clear(self, chat_id: int, *slots: Slot[Any]) -> None:
        """Remove these slots; with none given, everything stored for the chat (/forget)."""
        statement = delete(ChatState).where(ChatState.chat_id == chat_id)
        if slots:
            statement = statement.where(ChatState.key.in_([s.key.value for s in slots]))
        async with self.sessions.begin() as session:
            await session.execute(statement)

    async def export(self, chat_id: int) -> list[dict[str, Any]]:
        """Every live slot of the chat, for /mydata."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(ChatState)
                .where(ChatState.chat_id == chat_id, ChatState.expires_at > self.clock())
                .order_by(ChatState.key)
            )
            return [{"key": r.key, "value": r.value, "expires_at": r.expires_at.isoformat()} for r in rows]

    async def purge_expired(self) -> int:
        """Delete expired rows: they already read as absent; this keeps no data longer than promised."""
        async with self.sessions.begin() as session:
            result = await session.execute(delete(ChatState).where(ChatState.expires_at <= self.clock()))
            return rowcount(result) or 0

    # -- the per-chat question context, for follow-up questions ---------------------------------

    async def last_question(self, chat_id: int) -> LastQuestion | None:
        return await self.get(chat_id, LAST_QUESTION)

    async def remember_question(
        self, chat_id: int, text: str, topic: str | None, rule: str | None = None
    ) -> LastQuestion:
        value = LastQuestion(text=text[-MAX_QUESTION_CHARS:], topic=topic, asked_at=self.clock(), rule=rule)
        await self.put(chat_id, LAST_QUESTION, value)
        return value
