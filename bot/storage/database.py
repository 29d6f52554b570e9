"""The async engine, sessions, and schema migrations (Alembic), for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Result, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE without RETURNING matched. Session.execute is typed to return
    a plain Result, but for those statements it is always a CursorResult."""
    return cast(CursorResult[Any], result).rowcount


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


BUSY_SECONDS = 30  # background work (the dispatcher) waits this long for a locked database
INTERACTIVE_BUSY_SECONDS = 2  # a user's tap waits at most this long, then hears "try again"


def create_engine(url: str, *, interactive: bool = False) -> AsyncEngine:
    """The engine for `url`. `interactive=True` is for work a user is waiting on: it gives up
    after seconds, not half a minute, because updates are handled one after another and one
    write stuck behind a lock would hold up every other user's question."""
    busy = INTERACTIVE_BUSY_SECONDS if interactive else BUSY_SECONDS
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": busy}, pool_timeout=busy)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the dispatcher
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy * 1000}")
            cursor.close()

        return engine
    if interactive:
        limits = {"lock_timeout": str(busy * 1000), "statement_timeout": str(busy * 2500)}  # milliseconds
        return create_async_engine(
            url,
            pool_size=5,
            max_overflow=10,
            pool_timeout=busy,
            pool_pre_ping=True,
            connect_args={"timeout": busy * 2, "server_settings": limits},
        )
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def insert_for(session: AsyncSession, table: type) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT DO UPDATE: an upsert in one statement, so two
    processes writing the same row never fail on the unique key."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _run(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


MIGRATION_LOCK = 0x726C73  # any fixed number: the PostgreSQL advisory lock held while migrating


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` over the engine's own connection (works inside a loop).
    On PostgreSQL, processes starting together take turns: the first migrates, the others then
    find the schema current (without the lock two would both try to create the same tables)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await connection.run_sync(_run, config, revision)
    log.info("database schema is at %s", revision)
