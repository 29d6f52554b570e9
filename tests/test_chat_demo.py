"""`rls-bot chat`: the real bot on the in-process fake Bot API, driven as a person would drive it,
asserting on what they see. Bot time is a FastClock on a hand-moved source: nothing sleeps."""

from __future__ import annotations

import io
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.devtools.chat import FastClock, run_chat
from bot.devtools.chat_screen import PROMPT, Renderer, Screen, number_buttons
from bot.devtools.fake_bot_api import Call

from .conftest import CONTENT_DIR

START = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
WIDTH = 72


class ManualTime:
    """The fast clock's time source, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Transcript(io.StringIO):
    """What the user sees; a test waits on it for a text to appear (never for time to pass)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()

    def write(self, text: str) -> int:
        with self.changed:
            written = super().write(text)
            self.changed.notify_all()
        return written

    def wait_for(self, text: str, after: int = 0, timeout: float = 20.0) -> str:
        with self.changed:
            if not self.changed.wait_for(lambda: text in self.getvalue()[after:], timeout):
                raise AssertionError(f"never shown: {text!r}; the screen was:\n{self.getvalue()}")
            return self.getvalue()


class Session:
    """`run_chat` on a thread, typing through a pipe, as a user at a terminal would."""

    def __init__(self, content, data_dir: Path, clock: FastClock) -> None:
        read, write = os.pipe()
        self.keyboard = os.fdopen(write, "w")
        self.screen = Transcript()
        self.code: int | None = None
        self.stdin = stdin = os.fdopen(read)
        settings = Settings(content_dir=CONTENT_DIR)

        def chat() -> None:
            self.code = run_chat(settings, content, stdin, self.screen, data_dir=data_dir, clock=clock, width=WIDTH)

        self.thread = threading.Thread(target=chat, daemon=True)
        self.thread.start()
        self.screen.wait_for("Hi, Sam!")  # the welcome, from /start

    def type(self, line: str) -> int:
        """Type a line and press Enter; returns where the screen was, to wait for what follows."""
        mark = len(self.screen.getvalue())
        self.keyboard.write(line + "\n")
        self.keyboard.flush()
        return mark

    def see(self, text: str, after: int = 0) -> str:
        return self.screen.wait_for(text, after)

    def end(self, line: str | None = "/quit") -> int | None:
        if line is None:
            self.keyboard.close()  # Ctrl-D
        else:
            self.type(line)
        self.thread.join(30)
        assert not self.thread.is_alive()
        self.stdin.close()
        if not self.keyboard.closed:
            self.keyboard.close()
        return self.code


def test_a_question_is_answered_and_a_button_is_pressed_by_its_number(content, tmp_path):
    chat = Session(content, tmp_path, FastClock(start=START, source=ManualTime()))
    banner = chat.screen.getvalue()
    assert "/quit" in banner and "a button's number" in banner
    mark = chat.type("what foods have magnesium")
    shown = chat.see("Pumpkin seeds, 1 oz (28 g): 156 mg", mark)[mark:]
    assert "you> what foods have magnesium\n\nbot> Foods with magnesium" in shown
    assert "<b>" not in shown and "[1] Sources 📚  [2] How much magnesium" in shown  # a compact menu
    assert all(len(line) <= WIDTH for line in shown.splitlines())
    mark = chat.type("1")
    sources = chat.see('Sources for "Foods with magnesium"', mark)[mark:]
    assert "(https://ods.od.nih.gov/factsheets/Magnesium-HealthProfessional/)" in sources  # a link as text (url)
    assert chat.end("/quit") == 0
    assert chat.screen.getvalue().endswith("you> /quit\nBye: the bot has stopped.\n")


def test_remind_then_the_fast_clock_brings_the_tip(content, tmp_path):
    time = ManualTime()
    chat = Session(content, tmp_path, FastClock(600, start=START, source=time))
    mark = chat.type("/remind 21:00 UTC")
    chat.see("Next one: today at 21:00.", mark)
    mark = len(chat.screen.getvalue())
    time.now += 3 * 3600 / 600  # three bot hours: 18:00 -> 21:00
    shown = chat.see("Skip tonight", mark)[mark:]
    assert "[Wed 25 Nov 21:0" in shown and "bot> 🌙" in shown  # it came by itself, at bot time 21:0x
    assert "[1] Done ✅  [2] Snooze 30 min ⏰" in shown  # pressed like any button (above)
    assert chat.end(None) == 0  # Ctrl-D
    assert chat.screen.getvalue().endswith("Bye: the bot has stopped.\n")


def test_a_message_arriving_while_typing_is_drawn_above_the_prompt():
    out = io.StringIO()
    screen = Screen(out, width=WIDTH, interactive=True, typed=lambda: "what fo")
    screen.prompting = True
    screen.show(["bot> 🌙 A warm bath before bed"])
    # back to the start of the prompt line, clear it, the message, then the prompt as it was
    assert out.getvalue() == "\r\x1b[J" + "bot> 🌙 A warm bath before bed\n\n" + PROMPT + "what fo"


def test_edits_documents_and_score_keyboards_are_shown_compactly(tmp_path):
    renderer = Renderer(tmp_path / "received")
    scores = {"inline_keyboard": [[{"text": str(n), "callback_data": f"s:{n}"} for n in range(11)]]}
    scores["inline_keyboard"].append([{"text": "Skip", "callback_data": "k"}])
    sent = Call("sendMessage", {"chat_id": 42, "text": "<b>Night of Wed</b>", "reply_markup": scores}, 7)
    shown = renderer.render(sent, WIDTH)
    assert shown is not None and shown.lines[0] == "bot> Night of Wed"
    assert shown.lines[1] == "     [0]  [1]  [2]  [3]  [4]  [5]  [6]  [7]  [8]  [9]  [10]  [11] Skip"
    assert [b.data for b in shown.buttons or [] if b.key in ("6", "11")] == ["s:6", "k"]  # 6 presses score 6
    grown = Call("editMessageText", {"chat_id": 42, "message_id": 7, "text": "Night of Wed\nWhen did it start?"})
    assert renderer.render(grown, WIDTH).lines == ["bot> ✎ … When did it start?"]  # only what is new
    pdf = {"chat_id": 42, "caption": "📄 Your report", "_files": {"document": b"%PDF" * 600}}
    pdf["_file_names"] = {"document": "report.pdf"}
    lines = renderer.render(Call("sendDocument", pdf), WIDTH).lines
    saved = tmp_path / "received" / "report.pdf"
    assert lines == [f"bot> 📎 document report.pdf (2 KB) saved to {saved}", "     📄 Your report"]
    assert saved.read_bytes().startswith(b"%PDF")


def test_buttons_are_numbered_in_order_and_packed_by_width():
    rows = [[{"text": "What RLS is", "callback_data": "t:a"}, {"text": "Sources 📚", "callback_data": "s:a"}]]
    buttons = number_buttons(rows, Call("sendMessage", {}))
    assert [(b.key, b.shown()) for b in buttons] == [("1", "[1] What RLS is"), ("2", "[2] Sources 📚")]


def test_fast_clock_runs_at_its_speed_and_can_wait_for_the_start():
    time = ManualTime()
    clock = FastClock(600, start=START, source=time, paused=True)
    time.now = 100.0
    assert clock() == START  # starting up takes no bot time
    clock.go()
    time.now += 6.0
    assert (clock() - START).total_seconds() == 3600 and (clock.real() - START).total_seconds() == 6
    assert clock.dispatch_interval == 0.2 and FastClock(1.0).dispatch_interval == 5.0
    with pytest.raises(ValueError):
        FastClock(0.5)


def test_the_command_keeps_its_data_dir_with_a_made_diary_key_and_logs_there(tmp_path, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("is 400 mg too much\n"))  # then the end of input
    monkeypatch.delenv("DIARY_KEY")  # a key is made and kept beside the database
    monkeypatch.setenv("COLUMNS", "300")  # a wide terminal: the long temporary path stays on one line
    assert main(["chat", "--clock-speed", "600", "--data-dir", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert "Bot time runs 600x" in shown and f"Data in {tmp_path}." in shown
    assert "you> is 400 mg too much" in shown and shown.endswith("Bye: the bot has stopped.\n")
    assert {"rls-bot.db", "diary.key", "rls-bot.log"} <= {p.name for p in tmp_path.iterdir()}
    assert main(["chat", "--clock-speed", "0.5"]) == 2
    assert "--clock-speed must be 1" in capsys.readouterr().err
