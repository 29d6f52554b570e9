"""Shared fixtures: the real content, and the bot running against a fake Bot API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.config import Settings
from bot.devtools.fake_bot_api import FakeBotApi
from bot.knowledge import Content, load_content
from bot.replies import Responder
from bot.tg.app import build_application

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(CONTENT_DIR)


@pytest.fixture(scope="session")
def responder(content: Content) -> Responder:
    return Responder(content)


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    api = await FakeBotApi().start()
    yield api
    await api.stop()


@pytest.fixture
async def running_bot(bot_api: FakeBotApi, content: Content) -> AsyncIterator[Application]:
    """The real Application, long-polling the fake server over HTTP, as `rls-bot run` does."""
    settings = Settings(bot_token=bot_api.token, telegram_api_url=bot_api.base_url, content_dir=CONTENT_DIR)
    application = build_application(settings, content)
    async with application:
        await application.post_init(application)
        await application.updater.start_polling(poll_interval=0, timeout=1)
        await application.start()
        yield application
        await application.updater.stop()
        await application.stop()
