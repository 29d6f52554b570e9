"""Configuration mistakes as an operator meets them: one sentence each that names the variable, says
what is wrong with the value and shows a good one; never the token."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from bot.config import ConfigError, Settings, load_settings

from .conftest import ROOT

pytestmark = pytest.mark.usefixtures("models_cached")  # processes load, never train, the models

TOKEN = "123456789:SECRETsecretSECRETsecret_0123456789"


def _error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    return str(raised.value)


@pytest.mark.parametrize(
    ("name", "value", "problem", "example"),
    [
        ("LOG_LEVEL", "verbose", "is not one of DEBUG, INFO, WARNING, ERROR and CRITICAL", "LOG_LEVEL=INFO"),
        ("WEBHOOK_URL", "http://bot.example.org/hook", "is not an https:// address", "WEBHOOK_URL=https://"),
        (
            "DATABASE_URL",
            "mysql://rls@db/rls",
            "is not a database the bot can use",
            "DATABASE_URL=postgresql+asyncpg://",
        ),
        ("SEND_RATE", "abc", "must be a number above 0 and of 10000 or less", "SEND_RATE=30"),
        ("PORT", "99999", "must be a whole number from 0 to 65535", "PORT=8080"),
        ("HEALTH_PORT", "http", "must be a whole number from 0 to 65535", "HEALTH_PORT=8080"),
        ("LOG_FORMAT", "xml", "is neither plain nor json", "LOG_FORMAT=json"),
        ("FLOOD_LIMIT", "0", "must be a whole number of 1 or more", "FLOOD_LIMIT=20"),
        ("ADMIN_IDS", "@alice", "is not a list of Telegram user ids", "ADMIN_IDS=12345678,87654321"),
        ("REMINDER_GRACE_MINUTES", "2000", "must be a whole number from 0 to 1440", "REMINDER_GRACE_MINUTES=120"),
        (
            "TELEGRAM_API_URL",
            "http://127.0.0.1:8081/api",
            "does not end in /bot",
            "TELEGRAM_API_URL=http://127.0.0.1:8081/bot",
        ),
        ("TELEGRAM_API_URL", "127.0.0.1:8081", "is not an http:// or https:// address", "TELEGRAM_API_URL=http://"),
    ],
)
def test_each_bad_value_is_one_sentence_with_the_variable_the_problem_and_an_example(
    monkeypatch, name, value, problem, example
):
    message = _error(monkeypatch, **{name: value})
    assert message.startswith(f"{name}={value} {problem}")
    assert f"; for example {example}" in message and message.endswith(".")
    assert "\n" not in message and "pydantic" not in message and "type=" not in message


def test_several_bad_values_are_one_line_each(monkeypatch):
    lines = _error(monkeypatch, PORT="-5", LOG_LEVEL="loud").splitlines()
    assert sorted(line.split("=")[0] for line in lines) == ["LOG_LEVEL", "PORT"]


def test_a_database_password_is_not_repeated(monkeypatch):
    message = _error(monkeypatch, DATABASE_URL="mysql://rls:hunter2@db/rls")
    assert "hunter2" not in message and "DATABASE_URL=mysql://rls:***@db/rls" in message


def test_a_malformed_token_is_not_repeated():
    with pytest.raises(ConfigError) as raised:
        Settings(bot_token="123:short").require_token()
    assert str(raised.value).startswith("BOT_TOKEN (value withheld) does not look like a Telegram bot token")
    assert "123:short" not in str(raised.value)


def test_an_api_address_without_bot_gets_it(monkeypatch):
    for given in ("http://127.0.0.1:8081", "http://127.0.0.1:8081/", "https://api.example.org"):
        monkeypatch.setenv("TELEGRAM_API_URL", given)
        assert load_settings().telegram_api_url == given.rstrip("/") + "/bot"


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_with_an_api_address_without_bot_never_prints_the_token(tmp_path):
    result = _cli("run", BOT_TOKEN=TOKEN, TELEGRAM_API_URL="http://127.0.0.1:9", DATA_DIR=str(tmp_path))
    assert result.returncode == 1
    assert "Cannot reach the Telegram Bot API (http://127.0.0.1:9/bot)" in result.stderr
    assert TOKEN not in result.stderr and TOKEN.split(":")[1] not in result.stderr


def test_the_cli_prints_a_bad_setting_as_one_line_and_exits_2(tmp_path):
    result = _cli("db", "upgrade", LOG_LEVEL="verbose", DATA_DIR=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: LOG_LEVEL=verbose is not one of DEBUG, INFO, WARNING, ERROR and CRITICAL; "
        "for example LOG_LEVEL=INFO."
    ]


@pytest.fixture
def unwritable(tmp_path):
    """A folder this process cannot write: by its mode, or (root ignores modes) made immutable."""
    folder = tmp_path / "data"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root where chattr +i is unavailable: no folder root cannot write")
    yield folder
    subprocess.run([chattr, "-i", str(folder)], check=True)


def test_an_unwritable_data_dir_stops_start_up_with_how_to_fix_ownership(unwritable):
    result = _cli("db", "upgrade", DATA_DIR=str(unwritable))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Configuration error: DATA_DIR points at {unwritable}, which this process (uid ")
    assert f"chown -R {os.getuid()}:{os.getgid()} {unwritable}" in line
    assert "runs as uid 10001: chown a mounted host folder to 10001:10001" in line
    assert "Traceback" not in result.stderr


def test_a_writable_data_dir_is_created_and_used(tmp_path):
    result = _cli("db", "upgrade", DATA_DIR=str(tmp_path / "new" / "data"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new" / "data" / "rls-bot.db").exists()
