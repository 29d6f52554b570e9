"""Reply -> Telegram message pieces: inline keyboards and texts under the length limit."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.replies import Reply

MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = []
    for row in reply.buttons:
        for button in row:
            if len(button.action.encode()) > CALLBACK_DATA_LIMIT:
                raise ValueError(f"callback data over {CALLBACK_DATA_LIMIT} bytes: {button.action!r}")
        rows.append([InlineKeyboardButton(b.label, callback_data=b.action) for b in row])
    return InlineKeyboardMarkup(rows)


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split at paragraph, then line, boundaries; every paragraph in our content closes its tags."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for block in text.split("\n\n"):
        units = [block] if len(block) <= limit else block.split("\n")
        for unit in units:
            while len(unit) > limit:  # a single line longer than a message: cut it hard
                if current:
                    pieces.append(current)
                    current = ""
                pieces.append(unit[:limit])
                unit = unit[limit:]
            joiner = "\n\n" if unit is block else "\n"
            if current and len(current) + len(joiner) + len(unit) > limit:
                pieces.append(current)
                current = unit
            else:
                current = f"{current}{joiner}{unit}" if current else unit
    if current:
        pieces.append(current)
    return pieces
