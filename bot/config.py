"""Settings from environment variables, validated once at start-up with clear messages."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.settings_errors import example, explain, sentence

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
    # how long a reminder send waits for Telegram's answer; giving up leaves the tip in doubt
    reminder_read_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    dispatch_interval_seconds: float = Field(default=5.0, ge=0)  # 0: no dispatcher job (tests)
    clock_offset_seconds: float = 0.0  # shifts the bot's clock; for rehearsing reminders only
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, repr=False)
    listen_host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port (tests)
    health_port: int | None = Field(default=None, ge=0, le=65535)
    log_format: str = "plain"
    admin_ids: str = ""  # comma-separated Telegram user ids allowed to use /stats
    flood_limit: int = Field(default=20, ge=1)  # messages per flood window before "slow down"
    flood_window_seconds: float = Field(default=10.0, gt=0)
    # Fernet key(s) sealing diary data at rest; "new,old": the first encrypts, all decrypt
    diary_key: str | None = Field(default=None, repr=False)
    diary_retention_days: int = Field(default=400, ge=7, le=3650)  # diary data older than this is deleted
    update_concurrency: int = Field(default=32, ge=1, le=1000)  # updates handled at once, per process
    webhook_max_connections: int = Field(default=100, ge=1)  # open connections; Telegram uses up to 40
    webhook_body_timeout_seconds: float = Field(default=10.0, gt=0)  # a started body must arrive within this

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https://[^\s/]+(/\S*)?$", value):
            raise ValueError("is not an https:// address (Telegram sends webhooks over HTTPS only)")
        return value or None

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in {"plain", "json"}:
            raise ValueError("is neither plain nor json")
        return value.lower()

    @property
    def admins(self) -> frozenset[int]:
        return frozenset(int(x) for x in self.admin_ids.replace(" ", "").split(",") if x)

    @property
    def webhook_path(self) -> str:
        from urllib.parse import urlparse

        path = urlparse(self.webhook_url or "").path
        return path if path not in ("", "/") else "/telegram"

    def require_webhook_secret(self) -> str:
        secret = (self.webhook_secret or "").strip()
        if not secret:
            raise ConfigError(
                "WEBHOOK_SECRET is required when WEBHOOK_URL is set (Telegram sends it with every update so "
                f"the bot can refuse anyone else); for example {example(Settings, 'webhook_secret')}."
            )
        if not re.match(r"^[A-Za-z0-9_-]{1,256}$", secret):
            raise ConfigError(
                sentence(Settings, "webhook_secret", secret, "may only hold 1 to 256 of A-Z, a-z, 0-9, _ and -")
            )
        return secret

    @property
    def database(self) -> str:
        """DATABASE_URL, or an SQLite file in DATA_DIR."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'rls-bot.db').resolve()}"

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError("is not an http:// or https:// address")
        value = value.rstrip("/")
        if re.match(r"^https?://[^/]+$", value):
            return value + "/bot"  # the Bot API always lives under /bot<token>/
        if not value.endswith("/bot"):
            raise ValueError("does not end in /bot, after which python-telegram-bot puts the token")
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        if value and not re.match(r"^(sqlite\+aiosqlite|postgresql\+asyncpg)://", value):
            raise ValueError("is not a database the bot can use (sqlite+aiosqlite:// or postgresql+asyncpg://)")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("is not one of DEBUG, INFO, WARNING, ERROR and CRITICAL")
        return value

    @field_validator("admin_ids")
    @classmethod
    def _admin_ids(cls, value: str) -> str:
        if not re.match(r"^\s*(\d+\s*(,\s*\d+\s*)*)?,?\s*$", value):
            raise ValueError("is not a list of Telegram user ids (digits) separated by commas")
        return value

    def require_token(self) -> str:
        if not self.bot_token:
            raise ConfigError(
                "BOT_TOKEN is not set (get one from @BotFather); "
                f"for example {example(Settings, 'bot_token')} rls-bot run."
            )
        token = self.bot_token.strip()
        if not TOKEN_PATTERN.match(token):
            raise ConfigError(
                sentence(
                    Settings,
                    "bot_token",
                    token,
                    "does not look like a Telegram bot token (digits, a colon, then letters, digits, - or _)",
                )
            )
        return token

    @property
    def local_key_allowed(self) -> bool:
        """A bot on one machine (long polling, an SQLite file) may keep its diary key beside its
        data; a deployment (webhook mode, a shared database) must get DIARY_KEY from its secrets."""
        return not self.webhook_url and self.database.startswith("sqlite")

    def _local_diary_key(self) -> str:
        from bot.diary.crypto import new_key

        path = self.data_dir / "diary.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_key() + "\n", encoding="ascii")
            path.chmod(0o600)
        return path.read_text(encoding="ascii").strip()

    def require_diary_key(self) -> str:
        """The diary key for `rls-bot run`, where an ephemeral key would make every entry
        unreadable after a restart."""
        from bot.diary.crypto import parse_keys

        value = (self.diary_key or "").strip()
        if not value and self.local_key_allowed:
            return self._local_diary_key()
        if not value:
            raise ConfigError(
                "DIARY_KEY is not set: with a webhook or a shared database, diary entries (health data, "
                "stored encrypted) need a key from your secrets: create one with `rls-bot diary-key`, set "
                "DIARY_KEY to it and keep a copy safe (without it the diary cannot be read)."
            )
        try:
            parse_keys(value)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return value


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(explain(Settings, exc)) from None
