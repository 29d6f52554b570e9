"""`rls-bot run` refuses to start without DIARY_KEY, in one sentence; the key tools work."""

from __future__ import annotations

from bot.cli import main
from bot.diary.crypto import Sealer

TOKEN = "123456789:TEST-token_for_the_fake_bot_api_0000"


def test_run_without_diary_key_stops_with_one_clear_sentence(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("DIARY_KEY", raising=False)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert main(["run"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("Configuration error: DIARY_KEY is not set:") and "rls-bot diary-key" in error
    assert error.count("\n") == 0 and error.count(". ") == 0  # one sentence
    assert not list(tmp_path.iterdir())  # stopped before touching the database


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
