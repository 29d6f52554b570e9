"""The user's own data (/mydata) and the operators' counts (/stats, admins only)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, time

from telegram import Update
from telegram.ext import ContextTypes

from bot.reminders.service import ReminderSettings
from bot.replies import Reply
from bot.storage.models import DeliveryStatus
from bot.tg.handlers import responder_of, send, unknown_command
from bot.tg.reminders import service_of, states_of
from bot.tg.updates import chat_id_of, message_of
from bot.understanding import Intent


async def my_data(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send everything stored about this chat as a JSON file."""
    chat_id = chat_id_of(update)
    service = service_of(context)
    diary = context.bot_data["diary"]
    settings = await service.get(chat_id)
    conversation = await states_of(context).export(chat_id)
    messages = responder_of(context).messages
    has_diary = await diary.has_data(chat_id)
    language = await context.bot_data["languages"].chosen(chat_id)  # None: Telegram's language
    if settings is None and not conversation and not has_diary and language is None:
        await context.bot.send_message(chat_id, messages.no_data.strip())
        return
    deliveries = await service.deliveries(chat_id) if settings else []
    record = {
        "chat_id": chat_id,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reminder": _reminder(settings),
        "tips_sent": [
            {
                "slot": d.slot_at.isoformat(),
                "kind": d.kind,
                "tip": d.tip_id,
                "status": d.status,
                "outcome": d.outcome,
                "sent_at": d.sent_at.isoformat() if d.sent_at else None,
            }
            for d in deliveries
        ],
        "language": language,
        "conversation": conversation,  # what a chat is in the middle of; each entry expires on its own
        "diary": await diary.export(chat_id) if has_diary else None,  # decrypted: it is the user's own copy
    }
    document = io.BytesIO(json.dumps(record, indent=2, ensure_ascii=False).encode())
    await context.bot.send_document(
        chat_id, document, filename="rls-bot-my-data.json", caption=messages.my_data.strip()
    )


def _reminder(settings: ReminderSettings | None) -> dict[str, object] | None:
    if settings is None:
        return None
    return {
        "status": settings.status,
        "stop_reason": settings.stop_reason,
        "local_time": f"{settings.minute // 60:02d}:{settings.minute % 60:02d}",
        "time_zone": settings.zone,
        "measures": sorted(settings.measures) or "all",
        "next_due_at": settings.next_due_at.isoformat() if settings.next_due_at else None,
        "snoozed_until": settings.snooze_at.isoformat() if settings.snooze_at else None,
    }


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Counts only, never personal data; everyone who is not an admin gets the normal fallback."""
    user = update.effective_user
    if user is None or user.id not in context.bot_data["admins"]:
        await unknown_command(update, context)
        return
    service = service_of(context)
    today = datetime.combine(datetime.now(UTC).date(), time(0), tzinfo=UTC)
    statuses = await service.status_counts()
    delivered = await service.delivery_counts(today)
    day, answers = context.bot_data.get("answers_today", (None, {}))
    if day != datetime.now(UTC).date():
        answers = {}
    lines = [
        "<b>rls-bot stats</b> (counts only)",
        f"Reminder users: {sum(statuses.values())} "
        f"(active {statuses.get('active', 0)}, paused {statuses.get('paused', 0)}, "
        f"stopped {statuses.get('stopped', 0)})",
        f"Reminders today (UTC): sent {delivered.get(DeliveryStatus.sent, 0)}, "
        f"failed {delivered.get(DeliveryStatus.failed, 0)}, skipped {delivered.get(DeliveryStatus.skipped, 0)}, "
        f"in doubt (crash or timeout) {delivered.get(DeliveryStatus.unknown, 0)}",
        "Answers today (UTC, this process): " + (", ".join(f"{k} {v}" for k, v in sorted(answers.items())) or "none"),
    ]
    await send(message_of(update), Reply(Intent.smalltalk, "\n".join(lines)))
