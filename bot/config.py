"""Settings from environment variables, validated once at start-up with clear messages."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
PACKAGE_CONTENT = Path(__file__).resolve().parent / "content"  # inside an installed wheel
SOURCE_CONTENT = Path(__file__).resolve().parent.parent / "content"  # in a checkout


def default_content_dir() -> Path:
    return PACKAGE_CONTENT if PACKAGE_CONTENT.is_dir() else SOURCE_CONTENT


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    bot_token: str | None = Field(default=None, repr=False)
    telegram_api_url: str | None = None
    content_dir: Path = Field(default_factory=default_content_dir)
    log_level: str = "INFO"
    data_dir: Path = Path("data")
    database_url: str | None = None
    send_rate: float = Field(default=30.0, gt=0, le=10_000)  # messages per second, all chats together
    reminder_grace_minutes: int = Field(default=120, ge=0, le=24 * 60)
    dispatch_interval_seconds: float = Field(default=5.0, ge=0)  # 0: no dispatcher job (tests)
    clock_offset_seconds: float = 0.0  # shifts the bot's clock; for rehearsing reminders only

    @property
    def database(self) -> str:
        """DATABASE_URL, or an SQLite file in DATA_DIR."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'rls-bot.db').resolve()}"

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError("TELEGRAM_API_URL must look like http://host:port/bot")
        return value.rstrip("/") if value else value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        if value and not re.match(r"^(sqlite\+aiosqlite|postgresql\+asyncpg)://", value):
            raise ValueError(
                "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
                "(for example postgresql+asyncpg://user:password@host:5432/rls)"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    def require_token(self) -> str:
        if not self.bot_token:
            raise ConfigError(
                "BOT_TOKEN is not set. Get a token from @BotFather and run: BOT_TOKEN=123456:ABC... rls-bot run"
            )
        token = self.bot_token.strip()
        if not TOKEN_PATTERN.match(token):
            raise ConfigError(
                "BOT_TOKEN does not look like a Telegram bot token (digits, a colon, then letters, digits, '-' or '_')."
            )
        return token


def load_settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
