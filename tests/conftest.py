"""Shared fixtures: the real content, and the bot running against a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from telegram.ext import Application

from bot.config import Settings
from bot.devtools.fake_bot_api import FakeBotApi
from bot.diary.crypto import new_key
from bot.knowledge import Content, load_content
from bot.replies import Responder
from bot.storage.database import create_engine, session_factory, upgrade
from bot.storage.models import Status
from bot.tg.app import build_application, serve_polling, serve_webhook
from bot.web import SECRET_HEADER

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"
# Trained models are cached by content hash; the tests (and the bot processes they start) share one
# cache inside the checkout, so a clean clone trains once and later runs load in milliseconds.
os.environ.setdefault("RLS_BOT_CACHE", str(ROOT / ".pytest_cache" / "rls-bot-models"))
# One diary key for the whole run: bots restarted within a test, and `rls-bot run` subprocesses
# (which refuse to start without one), read what the previous one sealed.
os.environ.setdefault("DIARY_KEY", new_key())
# Telegram's pace for one private chat (3 messages in 3 s) would only make a test that sends a
# fourth reply wait; the fake Bot API does not enforce it unless a test turns per_chat_limits on,
# and tests/test_rate_limits.py checks the real pace.
QUICK_CHAT_PACE = (100, 1.0)


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(CONTENT_DIR)


@pytest.fixture(scope="session")
def responder(content: Content) -> Responder:
    return Responder(content)


@pytest.fixture(scope="session")
def models_cached(responder: Responder) -> None:
    """For tests that start `python -m bot` processes: the models are in the shared cache first.
    Otherwise, in a clean clone's first minutes, such a process waits on the cache lock while
    another test worker trains them, and its start-up timeout runs out."""


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    api = await FakeBotApi().start()
    yield api
    await api.stop()


class FakeClock:
    """Time that moves only when a test says so; no test sleeps to wait for real time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 25, 18, 0, tzinfo=UTC))


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker gets its own PostgreSQL database (`test_gw0`, ...), made
    here if missing, since every PostgreSQL test starts by emptying the schema."""
    worker, url = os.environ.get("PYTEST_XDIST_WORKER"), _postgres_url()
    if not worker or not url or url.endswith(f"_{worker}"):
        return
    parsed = make_url(url)
    mine = parsed.set(database=f"{parsed.database}_{worker}")
    asyncio.run(_create_database(url, mine.database))
    os.environ["TEST_DATABASE_URL"] = mine.render_as_string(hide_password=False)


async def _create_database(url: str, name: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        exists = await connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


def _postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database on SQLite and on PostgreSQL (skipped without TEST_DATABASE_URL)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    url = _postgres_url()
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests run in .ci/run)")
    await reset_postgres(url)
    yield url


async def reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:  # every table, whichever migrations made them
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade(engine)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def running_bot(
    bot_api: FakeBotApi, content: Content, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Application]:
    """The real Application, long-polling the fake server over HTTP, as `rls-bot run` does.
    Its database is a fresh SQLite file; its dispatcher is ticked by the tests, on the fake clock."""
    async with serving(bot_api, content, clock, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}") as application:
        yield application


@asynccontextmanager
async def serving(
    bot_api: FakeBotApi, content: Content, clock: FakeClock, database_url: str, **overrides: object
) -> AsyncIterator[Application]:
    """The bot long-polling the fake server exactly as `rls-bot run` does (serve_polling)."""
    settings = Settings(
        bot_token=bot_api.token,
        telegram_api_url=bot_api.base_url,
        content_dir=CONTENT_DIR,
        database_url=database_url,
        dispatch_interval_seconds=0,
        **overrides,
    )
    application = build_application(settings, content, clock=clock)
    application.bot_data["limiter"].private_chat = QUICK_CHAT_PACE
    stop, polling = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve_polling(application, settings, stop, polling))
    await asyncio.wait_for(asyncio.shield(_started(task, polling)), 30)
    try:
        yield application
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _started(task: asyncio.Task, polling: asyncio.Event) -> None:
    """Polling has begun, or the start-up failed (then its error is raised here)."""
    waiter = asyncio.create_task(polling.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()


WEBHOOK_SECRET = "conversation-tests-secret"
_update_ids = itertools.count(1_000_000)


class WebhookBot:
    """One bot process as Telegram sees it: a webhook URL to POST updates to."""

    def __init__(self, application: Application, client: httpx.AsyncClient) -> None:
        self.application = application
        self.client = client

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.application.bot_data['web_port']}/hook"

    async def post(self, update: dict) -> None:
        """Deliver one update as Telegram would (a fresh update_id each time)."""
        body = {"update_id": next(_update_ids), **update}
        response = await self.client.post(self.url, json=body, headers={SECRET_HEADER: WEBHOOK_SECRET})
        assert response.status_code == 200, response.text


@asynccontextmanager
async def webhook_serving(
    bot_api: FakeBotApi, content: Content, clock: FakeClock, database_url: str, **overrides: object
) -> AsyncIterator[WebhookBot]:
    """The real Application in webhook mode on a free port of 127.0.0.1, as `rls-bot run` with
    WEBHOOK_URL runs it; several may share one database, like processes behind one URL."""
    settings = Settings(
        bot_token=bot_api.token,
        telegram_api_url=bot_api.base_url,
        content_dir=CONTENT_DIR,
        database_url=database_url,
        dispatch_interval_seconds=0,
        webhook_url="https://bot.example.org/hook",
        webhook_secret=WEBHOOK_SECRET,
        listen_host="127.0.0.1",
        port=0,
        **overrides,
    )
    application = build_application(settings, content, clock=clock)
    application.bot_data["limiter"].private_chat = QUICK_CHAT_PACE
    stop, listening = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve_webhook(application, settings, stop, listening))
    try:
        await asyncio.wait_for(listening.wait(), 30)
        async with httpx.AsyncClient(timeout=10) as client:
            yield WebhookBot(application, client)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def subscription(chat: int, due: datetime) -> dict:
    """An active evening subscription at 21:00 UTC, due at `due`, as a row to insert in bulk."""
    return {
        "chat_id": chat,
        "minute": 21 * 60,
        "zone": "UTC",
        "status": Status.active,
        "measures": "",
        "seen_tips": "",
        "next_due_at": due,
        "created_at": due,
        "updated_at": due,
    }
