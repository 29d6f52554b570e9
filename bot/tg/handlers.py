"""Handler callbacks, one per kind of update, in the style of PTB's examples. They decide nothing:
the Responder does; these only read the update and send what it returns. Which handler gets
which update is decided in bot.tg.routing."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from telegram import Bot, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, NetworkError
from telegram.ext import ContextTypes

from bot import callbacks as cb
from bot import metrics
from bot.logs import Throttle
from bot.replies import Reply, Responder
from bot.tg.language import responder_for
from bot.tg.render import keyboard, split_html
from bot.tg.transport import dropped_unanswered, never_left
from bot.tg.updates import chat_id_of, message_of
from bot.understanding import Intent

log = logging.getLogger(__name__)


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


async def edit_or_send(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    """Show `reply` in the message whose button was pressed, so a menu does not become a new
    message per tap. A reply too long for one message, or a message that cannot be edited (a
    photo, one too old), gets sent as new instead; a double tap that changes nothing is fine."""
    query = update.callback_query
    pieces = split_html(sendable(reply.html))
    if query is None or query.message is None or len(pieces) > 1:
        await send_to(context.bot, chat_id_of(update), reply)
        return
    try:
        await query.edit_message_text(pieces[0], reply_markup=keyboard(reply))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            await send_to(context.bot, chat_id_of(update), reply)


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
    """/start, or /start <topic-id> from a link (t.me/<bot>?start=iron, a leaflet's QR code):
    the welcome, then that topic. A payload naming no topic gets the welcome, the whole menu and
    one line saying the link's topic is not known; it is never echoed back."""
    user, message = update.effective_user, message_of(update)
    responder = await responder_for(update, context)
    name = user.first_name if user else None
    payload = (context.args or [""])[0]
    topic = responder.topic_reply(payload) if payload else None
    if topic is None:
        await send(message, responder.welcome_reply(name, unknown_link=bool(payload)))
        return
    await send(message, responder.welcome_reply(name, menu=False))
    _count(context, topic)
    await send(message, topic)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send(message_of(update), (await responder_for(update, context)).help_reply())


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send(message_of(update), (await responder_for(update, context)).menu_reply())


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    reply = (await responder_for(update, context)).privacy_reply()
    days = context.bot_data["diary"].retention.days  # the text says how long the diary is kept
    await send(message_of(update), Reply(reply.intent, reply.html.replace("{retention}", str(days))))


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
    await send(message_of(update), reply)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text in a group: only what is addressed to the bot is answered, and requests about
    reminders get a pointer to the private chat; nothing here starts a conversation."""
    text = addressed_text(update, context)
    if text is None:
        return
    responder = await responder_for(update, context)
    reply = responder.answer(text)
    if reply.intent is Intent.reminders:
        reply = Reply(Intent.reminders, responder.messages.notices.private_only)
    await answer(update, context, reply)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if in_private_or_replying(update, context):
        await send(message_of(update), (await responder_for(update, context)).help_reply())


async def non_text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if in_private_or_replying(update, context):
        await send(message_of(update), (await responder_for(update, context)).non_text_reply())


# -- buttons of answers (bot.tg.routing has already answered the query and checked the chat) ------


# Browsing edits the pressed message: a topic, its Sources, Back and the menu take turns in one
# message instead of filling the chat with keyboards. A stale topic gets a new message, so the
# answer it was under stays readable, and so does a tap under urgent-care advice, which must
# stay in the chat.


async def _show(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply | None) -> None:
    responder = await responder_for(update, context)
    pressed = update.callback_query.message if update.callback_query else None
    shown = getattr(pressed, "text", None) or ""
    if reply is None or responder.holds_urgent_care(shown):
        await send_to(context.bot, chat_id_of(update), reply or responder.stale_button_reply())
        return
    await edit_or_send(update, context, reply)


async def show_menu(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.ShowMenu) -> None:
    await _show(update, context, (await responder_for(update, context)).menu_reply())


async def show_topic(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: cb.ShowTopic) -> None:
    await _show(update, context, (await responder_for(update, context)).topic_reply(pressed.topic))


async def show_sources(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: cb.ShowSources) -> None:
    await _show(update, context, (await responder_for(update, context)).sources_reply(pressed.topic))


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
