"""/readyz says whether the bot can work, and what is wrong when it cannot: the database is
unreachable, its file is gone or replaced, it refuses writes or its disk is full; or the
dispatcher has stopped showing signs of work (but not while it is busy with a long burst)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.readiness import Readiness, describe_write_failure
from bot.reminders.dispatcher import Dispatcher, Outcome
from bot.reminders.processes import Processes
from bot.storage.models import Subscription

from .conftest import reset_postgres, serving, subscription


class TcpProxy:
    """Forwards 127.0.0.1:port to the database; cut() drops every connection and refuses new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        self._server.close()
        await self._server.wait_closed()
        for writer in self._writers:
            writer.close()
        self._writers.clear()


async def test_readyz_fails_without_the_database_and_recovers(bot_api, content, clock):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests run in .ci/run)")
    await reset_postgres(url)
    target = make_url(url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.open()
    via_proxy = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    async with serving(bot_api, content, clock, via_proxy, health_port=0, listen_host="127.0.0.1") as app:
        ready = f"http://127.0.0.1:{app.bot_data['health_port']}/readyz"
        async with httpx.AsyncClient(timeout=10) as client:
            assert (await client.get(ready)).status_code == 200
            await proxy.cut()
            down = await client.get(ready)
            assert down.status_code == 503 and down.json()["checks"]["database"].startswith("unreachable")
            assert (await client.get(ready.replace("readyz", "healthz"))).status_code == 200  # still alive
            await proxy.open()
            assert (await client.get(ready)).status_code == 200
        await proxy.cut()
        await proxy.open()


def http_readyz(application) -> str:
    return f"http://127.0.0.1:{application.bot_data['health_port']}/readyz"


@pytest.fixture
async def sqlite_bot(bot_api, content, clock, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    async with serving(bot_api, content, clock, url, health_port=0, listen_host="127.0.0.1") as application:
        yield application, tmp_path / "bot.db"


async def test_readyz_fails_when_the_sqlite_file_is_deleted(sqlite_bot):
    application, path = sqlite_bot
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(http_readyz(application))).status_code == 200
        for leftover in (path, path.with_name("bot.db-wal"), path.with_name("bot.db-shm")):
            leftover.unlink(missing_ok=True)  # an operator cleans up the wrong folder
        down = await client.get(http_readyz(application))
    assert down.status_code == 503 and down.json()["checks"]["database"] == "database file deleted"


async def test_readyz_fails_when_the_sqlite_file_is_replaced(sqlite_bot, tmp_path):
    application, path = sqlite_bot
    other = tmp_path / "restored.db"
    sqlite3.connect(other).close()
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(http_readyz(application))).status_code == 200
        os.replace(other, path)  # a backup restored over the live file
        down = await client.get(http_readyz(application))
    assert down.status_code == 503 and down.json()["checks"]["database"] == "database file replaced"


async def reopen_read_only(application) -> None:
    """From now on the bot's connections are read-only, as after a failover to a replica:
    SQLite opens the file with mode=ro, PostgreSQL sessions default to read-only transactions."""
    engine = application.bot_data["engine"]

    @event.listens_for(engine.sync_engine, "do_connect")
    def _read_only(dialect, record, cargs, cparams) -> None:
        if engine.dialect.name == "sqlite":
            cargs[0] = f"file:{cargs[0]}?mode=ro"
            cparams["uri"] = True
        else:
            cparams["server_settings"] = {"default_transaction_read_only": "on"}

    await engine.dispose()  # the pooled connections go; new ones are read-only


async def test_readyz_fails_when_the_database_refuses_writes(bot_api, content, clock, database_url):
    async with (
        serving(bot_api, content, clock, database_url, health_port=0, listen_host="127.0.0.1") as app,
        httpx.AsyncClient(timeout=10) as client,
    ):
        assert (await client.get(http_readyz(app))).status_code == 200
        await reopen_read_only(app)
        down = await client.get(http_readyz(app))
    assert down.status_code == 503 and down.json()["checks"]["database"] == "read-only"


async def test_readyz_fails_when_postgresql_has_no_space_left(bot_api, content, clock):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests run in .ci/run)")
    await reset_postgres(url)
    async with (
        serving(bot_api, content, clock, url, health_port=0, listen_host="127.0.0.1") as app,
        httpx.AsyncClient(timeout=10) as client,
    ):
        assert (await client.get(http_readyz(app))).status_code == 200
        engine = create_async_engine(url)
        async with engine.begin() as connection:  # what PostgreSQL says when the disk is full
            await connection.execute(text(DISK_FULL_FUNCTION))
            await connection.execute(text(DISK_FULL_TRIGGER))
        await engine.dispose()
        down = await client.get(http_readyz(app))
    assert down.status_code == 503 and down.json()["checks"]["database"] == "disk full"


DISK_FULL_FUNCTION = """
CREATE OR REPLACE FUNCTION disk_full() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
END $$ LANGUAGE plpgsql
"""
DISK_FULL_TRIGGER = "CREATE TRIGGER disk_full BEFORE UPDATE ON processes FOR EACH ROW EXECUTE FUNCTION disk_full()"


def test_a_full_sqlite_database_is_named_as_such(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'full.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
    with engine.connect() as connection:
        pages = connection.execute(text("PRAGMA page_count")).scalar_one()
        connection.execute(text(f"PRAGMA max_page_count = {pages}"))  # the disk holds no more
        with pytest.raises(OperationalError) as failure:
            connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 10_000})
    assert describe_write_failure(failure.value) == "disk full"


async def test_readiness_holds_through_a_long_reminder_burst(sessions, content, clock):
    """1,000 reminders at 8/s (a small share of SEND_RATE while people are chatting) take two
    minutes; the dispatcher is busy, not stuck."""
    due = clock.now
    async with sessions.begin() as session:
        await session.execute(insert(Subscription), [subscription(chat, due) for chat in range(1, 1001)])
    probes: list[tuple[bool, dict]] = []

    class PacedSender:
        async def send(self, chat_id, tip, delivery_id, kind) -> Outcome:
            clock.advance(seconds=1 / 8)  # what pacing at 8/s costs
            if chat_id % 100 == 0:
                probes.append(await readiness.check())
            return Outcome(message_id=chat_id)

    dispatcher = Dispatcher(sessions, content.tips, PacedSender(), clock=clock, concurrency=8)
    readiness = Readiness(
        sessions, Processes(sessions, "me", clock), dispatcher_beat=lambda: dispatcher.beat_at, clock=clock
    )
    dispatcher.beat_at = clock.now  # the tick before the burst
    report = await dispatcher.tick()
    assert report.sent == 1000 and clock.now - due > timedelta(seconds=120)
    assert [ready for ready, _ in probes] == [True] * 10, probes
