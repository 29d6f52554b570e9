"""A bare python-telegram-bot echo bot in webhook mode: the baseline for benchmarks/load.py."""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await context.bot.send_message(update.effective_chat.id, update.effective_message.text)


def main() -> None:
    base = os.environ["TELEGRAM_API_URL"]
    application = (
        ApplicationBuilder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(base)
        .base_file_url(base.replace("/bot", "/file/bot", 1))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_webhook(
        listen="127.0.0.1",
        port=int(os.environ["PORT"]),
        url_path="hook",
        secret_token=os.environ["WEBHOOK_SECRET"],
        webhook_url=os.environ["WEBHOOK_URL"],
        allowed_updates=Update.ALL_TYPES,
    )


if __name__ == "__main__":
    main()
