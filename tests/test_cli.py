"""The command line: `ask` is the contract outside evaluation uses, so its shape is pinned here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.cli import main

pytestmark = pytest.mark.usefixtures("models_cached")  # processes load, never train, the models


def run_cli(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True, timeout=60, env=env
    )


def test_ask_prints_the_plain_answer():
    result = run_cli("ask", "what foods have magnesium")
    assert result.returncode == 0
    assert "Pumpkin seeds, 1 oz (28 g): 156 mg" in result.stdout
    assert "<b>" not in result.stdout


def test_ask_json_contract_for_every_intent():
    lines = "\n".join(
        ["what foods have magnesium", "my chest hurts", "lentil soup recipe", "hello", "remind me every evening", ""]
    )
    result = run_cli("ask", "--json", stdin=lines)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["intent"] for r in records] == ["topic", "emergency", "out_of_scope", "smalltalk", "reminders"]
    assert [r["topic"] for r in records] == ["foods", None, None, None, None]
    for record in records:
        assert set(record) == {"question", "intent", "topic", "answer"}
        assert record["answer"].strip()
    assert records[0]["question"] == "what foods have magnesium"
    assert "emergency number" in records[1]["answer"]
    assert "emergency number" in records[2]["answer"]  # every refusal carries the safety line
    assert "Topics" in records[2]["answer"]  # and a way to the topic menu


def test_ask_answers_every_stdin_line_in_order_even_blank_ones():
    result = run_cli("ask", "--json", stdin="hi\n\nsafe dose?\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in records] == ["hi", "", "safe dose?"]
    assert records[1]["intent"] == "out_of_scope" and records[2]["topic"] == "doses"


def test_ask_joins_unquoted_words_into_one_question(capsys):
    assert main(["ask", "--json", "is", "400", "mg", "too", "much"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["question"] == "is 400 mg too much" and record["topic"] == "doses"


def test_run_without_token_explains_what_is_missing():
    result = run_cli("run", env={"PATH": ""})
    assert result.returncode == 2
    assert "BOT_TOKEN is not set" in result.stderr


def test_run_with_malformed_token_or_api_url_is_refused():
    result = run_cli("run", env={"BOT_TOKEN": "not-a-token"})
    assert result.returncode == 2 and "does not look like a Telegram bot token" in result.stderr
    result = run_cli("run", env={"BOT_TOKEN": "123:abc", "TELEGRAM_API_URL": "ftp:/x"})
    assert result.returncode == 2 and "TELEGRAM_API_URL" in result.stderr


def test_run_says_clearly_when_telegram_cannot_be_reached(tmp_path):
    result = run_cli(
        "run",
        env={
            "BOT_TOKEN": "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "TELEGRAM_API_URL": "http://127.0.0.1:9/bot",
            "DATA_DIR": str(tmp_path),
            "DIARY_KEY": os.environ["DIARY_KEY"],  # set by conftest; run refuses to start without one
        },
    )
    assert result.returncode == 1
    assert "Cannot reach the Telegram Bot API (http://127.0.0.1:9/bot)" in result.stderr
    assert "Traceback" not in result.stderr


def test_ask_survives_bytes_that_are_not_utf8():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json"],
        input=b"safe dose?\n\xff\xfe oops\n",
        capture_output=True,
        timeout=60,
    )
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert result.returncode == 0 and len(records) == 2 and records[0]["topic"] == "doses"


def test_version_is_the_installed_packages():
    from importlib.metadata import version

    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"rls-bot {version('rls-bot')}"


def test_readability_without_its_libraries_says_which_one_is_missing(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "textstat", None)  # as in the default Docker image, which leaves them out
    assert main(["check-content", "--readability"]) == 2
    assert "--readability needs textstat" in capsys.readouterr().err
