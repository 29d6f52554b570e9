"""A deployment (webhook mode or a shared database) refuses to start without DIARY_KEY, in one
sentence; a bot on one machine keeps a key beside its SQLite file; the key tools work."""

from __future__ import annotations

from bot.cli import main
from bot.diary.crypto import Sealer

TOKEN = "123456789:TEST-token_for_the_fake_bot_api_0000"


def test_a_deployment_without_diary_key_stops_with_one_clear_sentence(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("DIARY_KEY", raising=False)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret")
    assert main(["run"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("Configuration error: DIARY_KEY is not set:") and "rls-bot diary-key" in error
    assert error.count("\n") == 0 and error.count(". ") == 0  # one sentence
    assert not list(tmp_path.iterdir())  # stopped before touching the database


def test_a_local_bot_keeps_one_key_beside_its_database(monkeypatch, tmp_path):
    from bot.config import load_settings

    monkeypatch.delenv("DIARY_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    first = load_settings().require_diary_key()
    assert first == load_settings().require_diary_key()  # the same key on the next start
    assert (tmp_path / "diary.key").stat().st_mode & 0o777 == 0o600
    Sealer.from_setting(first)


def test_run_with_a_malformed_key_names_it(monkeypatch, capsys):
    monkeypatch.setenv("DIARY_KEY", "not-a-key")
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    assert main(["run"]) == 2
    assert "DIARY_KEY key 1 is not a Fernet key" in capsys.readouterr().err


def test_diary_key_prints_a_usable_key(capsys):
    assert main(["diary-key"]) == 0
    key = capsys.readouterr().out.strip()
    sealer = Sealer.from_setting(key)
    assert sealer.open(1, sealer.seal(1, {"score": 3})) == {"score": 3}


def test_db_rekey_reseals_with_the_first_key(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert main(["db", "rekey"]) == 0
    assert "Re-encrypted 0 diary values" in capsys.readouterr().out
