"""What `rls-bot chat` shows: the bot's calls to the chat as a person would see them in Telegram,
wrapped to the terminal, with numbered buttons, drawn above the prompt without breaking it.

Pure presentation: `Screen` writes, `Keys` remembers which number presses which button, and
`render` turns one Bot API call into lines. Nothing here knows about the event loop.
"""

from __future__ import annotations

import re
import shutil
import textwrap
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.devtools.fake_bot_api import Call
from bot.replies import to_plain

PROMPT = "you> "
BOT = "bot> "
INDENT = " " * len(BOT)
GAP = "  "  # between buttons on one line
MIN_WIDTH = 40
_BULLET = re.compile(r"^(\s*(?:[•\-*]|\d+[.)])\s+)")
_CHECKED = "✅"


# -- buttons ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    key: str  # what the user types to press it
    label: str
    data: str | None  # callback data; None for a button that only sends its text or a location
    message: Call  # the bot call that showed it (its message_id is known once answered)
    location: bool = False

    def shown(self) -> str:
        """`[3] Magnesium and RLS`, or `[6]` for a button whose label is its own number."""
        plain = self.label.replace(_CHECKED, "").strip()
        if plain == self.key:
            return f"[{self.key}{' ' + _CHECKED if _CHECKED in self.label else ''}]"
        return f"[{self.key}] {self.label}"


def _numeric(label: str) -> str | None:
    plain = label.replace(_CHECKED, "").strip()
    return plain if plain.isdigit() else None


def number_buttons(rows: Sequence[Sequence[dict[str, Any]]], message: Call) -> list[Button]:
    """Number the buttons of one keyboard from 1; a keyboard of scores (0-10) is pressed by the
    score itself, and its other buttons (Skip) get the numbers after it."""
    flat = [b for row in rows for b in row]
    scores = {_numeric(b.get("text", "")) for b in flat} - {None}
    next_key = max((int(s) for s in scores if s is not None), default=0) + 1
    buttons = []
    for raw in flat:
        label = str(raw.get("text", ""))
        key = _numeric(label) if scores else None
        if key is None:
            key, next_key = str(next_key), next_key + 1
        buttons.append(
            Button(key, label, raw.get("callback_data"), message, location=bool(raw.get("request_location")))
        )
    return buttons


class Keys:
    """The buttons a typed number presses: those of the latest message that showed any."""

    def __init__(self) -> None:
        self.buttons: list[Button] = []

    def show(self, buttons: list[Button]) -> None:
        self.buttons = buttons

    def find(self, typed: str) -> Button | None:
        typed = typed.strip()
        return next((b for b in self.buttons if b.key == typed), None)


# -- one call as lines --------------------------------------------------------------------------


def markup_of(params: dict[str, Any]) -> dict[str, Any]:
    import json

    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return markup if isinstance(markup, dict) else {}


def cells(text: str) -> int:
    """Terminal columns `text` takes: wide characters (most emoji) two, joiners and marks none."""
    return sum(
        0 if unicodedata.category(c) in ("Mn", "Me", "Cf") else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def wrap(text: str, width: int, first: str = BOT, rest: str = INDENT) -> list[str]:
    """Plain text as indented lines no wider than `width`; bullets hang, URLs are never cut. One
    column is kept spare for a wide emoji, which textwrap counts as one."""
    room = max(MIN_WIDTH, width) - max(len(first), len(rest)) - 1
    lines: list[str] = []
    for paragraph in text.split("\n"):
        bullet = _BULLET.match(paragraph)
        hang = " " * len(bullet.group(1)) if bullet else ""
        pieces = textwrap.wrap(
            paragraph, room, subsequent_indent=hang, break_long_words=False, break_on_hyphens=False
        ) or [""]
        lines.extend(pieces)
    return [(first if i == 0 else rest) + line if line else "" for i, line in enumerate(lines)]


def button_lines(buttons: Sequence[Button], width: int) -> list[str]:
    """Buttons packed several to a line while they fit; a long one gets a line of its own."""
    room = max(MIN_WIDTH, width) - len(INDENT)
    lines: list[str] = []
    current = ""
    for button in buttons:
        item = button.shown()
        if current and cells(current) + len(GAP) + cells(item) > room:
            lines.append(current)
            current = ""
        current = f"{current}{GAP}{item}" if current else item
    if current:
        lines.append(current)
    return [INDENT + line for line in lines]


@dataclass
class Rendered:
    lines: list[str]
    buttons: list[Button] | None  # None: the call shows no inline keyboard (the old one stays)


def _size(data: bytes) -> str:
    return f"{len(data) / 1024:.0f} KB" if len(data) >= 1024 else f"{len(data)} bytes"


class Renderer:
    """Turns the bot's calls into what the user sees, saving photos and documents in `files`."""

    def __init__(self, files: Path) -> None:
        self.files = files
        self.texts: dict[int, str] = {}  # message id -> its text, to show an edit compactly

    def render(self, call: Call, width: int) -> Rendered | None:
        params = call.params
        method = call.method
        if method == "sendMessage":
            return self._message(call, to_plain(str(params.get("text", ""))), width)
        if method == "editMessageText":
            return self._edit(call, to_plain(str(params.get("text", ""))), width)
        if method == "editMessageReplyMarkup":
            buttons = self._inline(call)
            return Rendered([BOT + "✎ new buttons:", *button_lines(buttons, width)], buttons)
        if method in ("sendPhoto", "sendDocument"):
            return self._file(call, width)
        if method == "answerCallbackQuery" and params.get("text"):
            return Rendered(wrap(f"(pop-up) {params['text']}", width), None)
        return None

    def _inline(self, call: Call) -> list[Button]:
        return number_buttons(markup_of(call.params).get("inline_keyboard", []), call)

    def _keyboard_lines(self, call: Call, buttons: list[Button], width: int) -> list[str]:
        markup = markup_of(call.params)
        lines = button_lines(buttons, width)
        for row in markup.get("keyboard", []):
            for key in row:
                label = key.get("text", "") if isinstance(key, dict) else str(key)
                if isinstance(key, dict) and key.get("request_location"):
                    lines.append(f"{INDENT}({label}: not possible here; type a city or a zone instead)")
                else:
                    lines.append(f"{INDENT}(keyboard: {label})")
        return lines

    def _message(self, call: Call, text: str, width: int) -> Rendered:
        buttons = self._inline(call)
        self._remember(call, text)
        return Rendered(wrap(text, width) + self._keyboard_lines(call, buttons, width), buttons or None)

    def _remember(self, call: Call, text: str) -> None:
        message_id = call.message_id or call.params.get("message_id")
        if message_id is not None:
            self.texts[int(message_id)] = text

    def _edit(self, call: Call, text: str, width: int) -> Rendered:
        """Only what changed: nothing if the text is the same, the new lines if it grew."""
        message_id = call.params.get("message_id")
        old = self.texts.get(int(message_id)) if message_id is not None else None
        self._remember(call, text)
        buttons = self._inline(call)
        if old == text:
            lines = [BOT + "✎ new buttons:"]
        elif old and text.startswith(old):
            lines = wrap("✎ … " + text[len(old) :].strip(), width)
        else:
            lines = wrap("✎ " + text, width)
        return Rendered(lines + button_lines(buttons, width), buttons or None)

    def _file(self, call: Call, width: int) -> Rendered:
        params = call.params
        kind = "photo" if call.method == "sendPhoto" else "document"
        data: bytes = params.get("_files", {}).get(kind, b"")
        name = Path(str(params.get("_file_names", {}).get(kind) or f"{kind}.bin")).name
        path = self._save(name, data)
        icon = "🖼" if kind == "photo" else "📎"
        lines = [f"{BOT}{icon} {kind} {name} ({_size(data)}) saved to {path}"]
        caption = to_plain(str(params.get("caption") or ""))
        if caption:
            lines += wrap(caption, width, first=INDENT)
        buttons = self._inline(call)
        return Rendered(lines + button_lines(buttons, width), buttons or None)

    def _save(self, name: str, data: bytes) -> Path:
        """Under `files`, never over an earlier file of the same name."""
        self.files.mkdir(parents=True, exist_ok=True)
        stem, suffix = Path(name).stem, Path(name).suffix
        path, count = self.files / name, 1
        while path.exists():
            count += 1
            path = self.files / f"{stem}-{count}{suffix}"
        path.write_bytes(data)
        return path


# -- the terminal -------------------------------------------------------------------------------


class Screen:
    """Writes blocks of lines for both threads. While the user is at the prompt (interactive
    only), a block is drawn over the prompt line, and the prompt with what they had typed so far
    is drawn again below it, so a reminder arriving mid-sentence does not scramble the line."""

    def __init__(
        self,
        out: TextIO,
        *,
        width: int | None = None,
        interactive: bool = False,
        typed: Callable[[], str] = lambda: "",
    ) -> None:
        self.out = out
        self._width = width
        self.interactive = interactive
        self.typed = typed  # what is on the input line now (readline's buffer)
        self.prompting = False
        self._lock = threading.Lock()

    @property
    def width(self) -> int:
        return self._width or shutil.get_terminal_size((80, 24)).columns

    def show(self, lines: Sequence[str], *, gap: bool = True) -> None:
        block = ("\n" if gap else "") + "\n".join(lines) + "\n"
        with self._lock:
            if self.interactive and self.prompting:
                typed = self.typed()
                rows_up = (len(PROMPT) + len(typed)) // max(1, self.width)
                self.out.write("\r" + "\x1b[A" * rows_up + "\x1b[J")  # back to the prompt's start, clear below
                self.out.write(block.lstrip("\n") + "\n" + PROMPT + typed)
            else:
                self.out.write(block)
            self.out.flush()

    def line(self, text: str) -> None:
        self.show(wrap(text, self.width, first="", rest=""), gap=False)
