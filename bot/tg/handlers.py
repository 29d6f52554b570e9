"""Handler callbacks, one per kind of update, in the style of PTB's examples. They decide nothing:
the Responder does; these only read the update and send what it returns. Which handler gets
which update is decided in bot.tg.routing."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from telegram import Bot, Message, Update
from telegram.constants import ChatType
from telegram.error import NetworkError
from telegram.ext import ContextTypes

from bot import callbacks as cb
from bot import metrics
from bot.logs import Throttle
from bot.replies import Reply, Responder
from bot.tg.render import keyboard, split_html
from bot.tg.transport import dropped_unanswered, never_left
from bot.understanding import Intent

log = logging.getLogger(__name__)

# The adapter's own few words (content/messages.yaml has no entries for them yet).
PRIVATE_ONLY = "Reminders and your data stay between us: send me that in a private chat."
PRIVATE_ONLY_TOAST = "This works only in a private chat with me."
INLINE_TOAST = "Open a private chat with me to use this button."


def responder_of(context: ContextTypes.DEFAULT_TYPE) -> Responder:
    return context.bot_data["responder"]


def errors_of(context: ContextTypes.DEFAULT_TYPE) -> Throttle:
    return context.bot_data["errors"]


def sendable(text: str) -> str:
    """Text that can be encoded as UTF-8: a lone surrogate (possible in a name, since JSON can
    carry one) becomes U+FFFD instead of failing the whole send."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


async def send_to(bot: Bot, chat_id: int, reply: Reply, thread_id: int | None = None) -> None:
    """Send a Reply as one or more messages; the keyboard goes under the last one."""
    pieces = split_html(sendable(reply.html))
    for index, piece in enumerate(pieces):
        markup = keyboard(reply) if index == len(pieces) - 1 else None
        await bot.send_message(chat_id, piece, reply_markup=markup, message_thread_id=thread_id)


async def send(message: Message, reply: Reply) -> None:
    thread = message.message_thread_id if message.is_topic_message else None
    await send_to(message.get_bot(), message.chat_id, reply, thread)


def addressed_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """The text meant for the bot; in groups only mentions of it and replies to it count."""
    message = update.effective_message
    if message is None or message.text is None:
        return None
    if message.chat.type == ChatType.PRIVATE:
        return message.text
    username = context.bot.username
    mention = f"@{username}" if username else None
    if mention and mention.lower() in message.text.lower():
        return re.sub(re.escape(mention), " ", message.text, flags=re.IGNORECASE).strip()
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id:
        return message.text
    return None


def in_private_or_replying(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    message = update.effective_message
    if message is None:
        return False
    if message.chat.type == ChatType.PRIVATE:
        return True
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == context.bot.id)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    await send(update.effective_message, responder_of(context).welcome_reply(user.first_name if user else None))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send(update.effective_message, responder_of(context).help_reply())


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send(update.effective_message, responder_of(context).menu_reply())


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    reply = responder_of(context).privacy_reply()
    days = context.bot_data["diary"].retention.days  # the text says how long the diary is kept
    await send(update.effective_message, Reply(reply.intent, reply.html.replace("{retention}", str(days))))


def _count(context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    """Metrics and today's counts for /stats: intent and topic only, never the text."""
    metrics.ANSWERS.labels(reply.intent.value, reply.topic or "-").inc()
    if reply.intent is Intent.emergency:
        metrics.EMERGENCIES.labels(reply.rule or "unknown").inc()
    today = datetime.now(UTC).date()
    day, counts = context.bot_data.get("answers_today", (None, {}))
    if day != today:
        counts = {}
    counts[reply.intent.value] = counts.get(reply.intent.value, 0) + 1
    context.bot_data["answers_today"] = (today, counts)


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    _count(context, reply)
    await send(update.effective_message, reply)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text in a group: only what is addressed to the bot is answered, and requests about
    reminders get a pointer to the private chat; nothing here starts a conversation."""
    text = addressed_text(update, context)
    if text is None:
        return
    reply = responder_of(context).answer(text)
    if reply.intent is Intent.reminders:
        reply = Reply(Intent.reminders, PRIVATE_ONLY)
    await answer(update, context, reply)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if in_private_or_replying(update, context):
        await send(update.effective_message, responder_of(context).help_reply())


async def non_text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if in_private_or_replying(update, context):
        await send(update.effective_message, responder_of(context).non_text_reply())


# -- buttons of answers (bot.tg.routing has already answered the query and checked the chat) ------


async def _show(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply | None) -> None:
    await send_to(context.bot, update.effective_chat.id, reply or responder_of(context).stale_button_reply())


async def show_menu(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.ShowMenu) -> None:
    await _show(update, context, responder_of(context).menu_reply())


async def show_topic(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: cb.ShowTopic) -> None:
    await _show(update, context, responder_of(context).topic_reply(pressed.topic))


async def show_sources(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: cb.ShowSources) -> None:
    await _show(update, context, responder_of(context).sources_reply(pressed.topic))


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log what failed and tell the user, rather than going silent; or, if the failure is that
    Telegram could not be reached at all (or closed the connection without an answer), hand the
    update back to the pipeline to try again.

    The log line names the exception type; its traceback comes without exception messages
    (bot.logs), which can quote what was being sent. The same failure repeated (a full disk
    fails every update and every dispatcher tick) is logged once per few minutes with a count,
    not once per second."""
    error = context.error
    if context.job is not None:
        subject = f"job {context.job.name}"
    else:
        subject = f"update {update.update_id if isinstance(update, Update) else '-'}"
    metrics.ERRORS.labels(type(error).__name__).inc()
    kind = f"{subject.split()[0]}:{type(error).__module__}.{type(error).__qualname__}"
    held_back = errors_of(context).admit(kind)
    if held_back is not None:
        repeats = f" ({held_back} more like it since the last report)" if held_back else ""
        log.error("%s failed: %s%s", subject, type(error).__name__, repeats, exc_info=error)
    if not isinstance(update, Update):
        return
    pipeline = context.bot_data.get("pipeline")
    # Telegram could not be reached, or dropped the connection without any answer: most likely
    # nothing was delivered, and a missing answer is worse than one seen twice (at least once)
    unreachable = isinstance(error, NetworkError) and (never_left(error) or dropped_unanswered(error))
    if unreachable and pipeline is not None and pipeline.undelivered(update.update_id):
        return  # handled again later, not apologised for
    if update.effective_chat is None:
        return
    try:
        await context.bot.send_message(update.effective_chat.id, responder_of(context).error_reply().html)
    except Exception as exc:  # the failure may be the network itself; it is logged above
        log.warning("could not tell chat about the failure: %s", type(exc).__name__)
