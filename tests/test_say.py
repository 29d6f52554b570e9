"""Trying the bot without Telegram, as the README says: the fake Bot API on its own, a real
`rls-bot run` pointed at it, and `rls-bot say` sending messages and printing the replies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.usefixtures("models_cached")  # processes load, never train, the models


def _python(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, text=True, **kwargs)


def _say(*args: str, api: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "say", "--api", api, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def fake_server() -> Iterator[str]:
    """`python -m bot.devtools.fake_bot_api` in its own process; yields its address."""
    server = _python("-m", "bot.devtools.fake_bot_api", "--port", "0", stdout=subprocess.PIPE)
    try:
        first, hint = server.stdout.readline(), server.stdout.readline()
        assert "any token accepted" in first and "rls-bot say --api" in hint
        yield first.split()[4].removesuffix("/bot")
    finally:
        server.terminate()
        server.wait(10)


def test_say_talks_to_a_real_bot_process_through_the_fake_server(fake_server: str, tmp_path):
    env = {
        **os.environ,
        "BOT_TOKEN": "5555:any-token-at-all-is-fine-here",
        "TELEGRAM_API_URL": fake_server,  # without /bot: the bot adds it
        "DATA_DIR": str(tmp_path),
    }
    bot = _python("-m", "bot", "run", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        first = _say("--timeout", "90", "what", "foods", "have", "magnesium", api=fake_server)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("bot> ") and "Pumpkin seeds" in first.stdout and "<b>" not in first.stdout
        assert "[How much magnesium = t:doses]" in first.stdout  # buttons, with what pressing them sends

        pressed = _say("--press", "t:doses", "--json", api=f"{fake_server}/bot")  # either address works
        [reply] = [json.loads(line) for line in pressed.stdout.splitlines()]
        assert reply["method"] == "editMessageText" and "350 mg" in reply["text"]  # the menu edited in place
    finally:
        bot.send_signal(signal.SIGINT)
        bot.wait(20)
    assert bot.returncode == 0, bot.stderr.read()[-2000:]


def test_say_explains_when_there_is_no_server_or_no_bot(fake_server: str):
    port = int(fake_server.rsplit(":", 1)[1])
    nowhere = _say("hi", api="http://127.0.0.1:9")
    assert nowhere.returncode == 1 and "no fake Bot API at http://127.0.0.1:9/send" in nowhere.stderr
    assert "python -m bot.devtools.fake_bot_api" in nowhere.stderr

    unanswered = _say("--timeout", "0.2", "hi", api=fake_server)
    assert unanswered.returncode == 1
    assert "no reply within 0.2 s (no bot has called this server yet)" in unanswered.stderr
    assert f"TELEGRAM_API_URL=http://127.0.0.1:{port}/bot" in unanswered.stderr
