"""Tables. The database is the source of truth for reminders (who gets what, and when) and for
updates that Telegram handed over but the bot has not finished handling (the inbox)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every database, returned as aware UTC, so comparisons never mix."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not accepted; pass UTC-aware ones")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """A model's Table, for Core statements (bulk updates by bindparam, aliases). Declarative
    types `__table__` as any FromClause; every model here is mapped to a plain Table."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Status:
    active = "active"
    paused = "paused"
    stopped = "stopped"


class Subscription(Base):
    """One chat's evening reminder: when, where, which measures, and the next moment due."""

    __tablename__ = "subscriptions"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    minute: Mapped[int] = mapped_column(SmallInteger)  # local minute of day, 0..1439
    zone: Mapped[str] = mapped_column(String(64))  # IANA name or UTC+hh:mm
    status: Mapped[str] = mapped_column(String(12), default=Status.active)
    stop_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    measures: Mapped[str] = mapped_column(String(255), default="")  # comma-separated; empty = all
    seen_tips: Mapped[str] = mapped_column(Text, default="")  # tips sent since the rotation began
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    snooze_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    snooze_tip: Mapped[str | None] = mapped_column(String(30), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_subscriptions_next_due_at", "next_due_at"),
        Index("ix_subscriptions_snooze_at", "snooze_at"),
    )

    def measure_set(self) -> frozenset[str]:
        return frozenset(m for m in self.measures.split(",") if m)

    def seen(self) -> list[str]:
        return [t for t in self.seen_tips.split(",") if t]


class DeliveryStatus:
    claimed = "claimed"  # taken by a dispatcher, not yet handed to Telegram
    sending = "sending"  # the HTTP request may be in flight
    sent = "sent"
    failed = "failed"  # gave up; the reason is in `error`
    skipped = "skipped"  # too late after downtime, or the user skipped
    unknown = "unknown"  # a crash hit while sending: counted as sent, never sent twice


class Delivery(Base):
    """One reminder for one evening (or one snooze, morning check-in or weekly summary).
    Unique per chat, slot and kind."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # no foreign key to subscriptions: a diary check-in goes to chats without evening reminders
    chat_id: Mapped[int] = mapped_column(BigInteger)
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(8))  # evening | snooze | checkin | weekly
    tip_id: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(12), default=DeliveryStatus.claimed)
    claimed_by: Mapped[str | None] = mapped_column(String(40), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    error: Mapped[str | None] = mapped_column(String(200), default=None)
    outcome: Mapped[str | None] = mapped_column(String(8), default=None)  # done | snoozed | skipped
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        UniqueConstraint("chat_id", "slot_at", "kind"),
        Index("ix_deliveries_status_retry_at", "status", "retry_at"),
    )


class Process(Base):
    """One running bot process: it beats `beat_at` every few seconds while it lives, so the
    processes sharing a database can divide Telegram's rate between them."""

    __tablename__ = "processes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatState(Base):
    """What a chat is in the middle of (a /remind step, a /forget awaiting its tap, the last
    question), so that any bot process can take the chat's next message and a restart loses
    nothing. Rows past `expires_at` count as absent and are purged."""

    __tablename__ = "chat_state"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_chat_state_expires_at", "expires_at"),)


class ChatPreference(Base):
    """What a user chose in /settings that is not about reminders or the diary: the language.
    A chat without a row follows its Telegram language."""

    __tablename__ = "chat_preferences"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FloodCount(Base):
    """Messages per user in the current flood window, shared by every bot process on PostgreSQL."""

    __tablename__ = "flood_counts"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    window_index: Mapped[int] = mapped_column(BigInteger)  # seconds since the epoch // window length
    hits: Mapped[int] = mapped_column(Integer)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class DiaryProfile(Base):
    """One chat's diary settings: its zone, the opt-in morning check-in and weekly summary (each
    with its next moment due, which the dispatcher claims like an evening), and the sealed
    medicines note. Times and zones are in the clear so the schedule can be queried."""

    __tablename__ = "diary_profiles"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    zone: Mapped[str | None] = mapped_column(String(64), default=None)
    checkin_minute: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # local minute; None = off
    checkin_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    weekly_day: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # 0 = Monday; None = off
    weekly_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    medicines: Mapped[str | None] = mapped_column(Text, default=None)  # sealed {"classes": [...], "note": ...}
    medicines_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    augmentation_noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # said once
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_diary_profiles_checkin_due_at", "checkin_due_at"),
        Index("ix_diary_profiles_weekly_due_at", "weekly_due_at"),
    )


class DiaryEntry(Base):
    """One night of one chat: the night's date in the clear (one entry per night, retention),
    everything the user said about it sealed."""

    __tablename__ = "diary_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    night: Mapped[date] = mapped_column(Date)  # the evening before the morning check-in, local
    sealed: Mapped[str] = mapped_column(Text)  # {"score": 0-10|None, "onset": code|None, "measures": [...]|None}
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("chat_id", "night"),
        Index("ix_diary_entries_night", "night"),
    )


class FerritinResult(Base):
    """One blood test result the user logged: the date in the clear, the value sealed."""

    __tablename__ = "ferritin_results"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    tested_on: Mapped[date] = mapped_column(Date)
    sealed: Mapped[str] = mapped_column(Text)  # {"ng_ml": float}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxUpdate(Base):
    """A Telegram update acknowledged to Telegram and not yet handled; see bot/inbox.py.

    Deleted once handled: it holds a user's message only for as long as the answer takes."""

    __tablename__ = "inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, default=None)  # order key; None: no order to keep
    payload: Mapped[str] = mapped_column(Text)  # the update as Telegram sent it (JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(40), default=None)  # the process handling it
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # claim is void after this
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)  # claims so far; >1 means an owner died

    __table_args__ = (Index("ix_inbox_chat_id_update_id", "chat_id", "update_id"),)
