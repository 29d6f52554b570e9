"""Reminder handlers: the /remind flow, /reminders settings, tip buttons and blocked chats.

The guided flow is a ConversationHandler (time, then time zone), as in PTB's conversationbot
example. Everything it decides is in bot.reminders; these callbacks only read updates and reply.
"""

from __future__ import annotations

import asyncio
import logging
import warnings

from telegram import ChatMember, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ChatType
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.reminders import replies as buttons
from bot.reminders.replies import ReminderReplies
from bot.reminders.requests import Action, parse_request, parse_time
from bot.reminders.schedule import MINUTES_PER_DAY
from bot.reminders.service import ReminderService
from bot.reminders.zones import ZoneFinder, ZoneMatch
from bot.replies import Reply, Responder
from bot.tg.handlers import responder_of, send, send_to
from bot.tg.render import keyboard
from bot.understanding import Intent

log = logging.getLogger(__name__)

ASK_TIME, ASK_ZONE = range(2)
DRAFT = "reminder_minute"
CONVERSATION_TIMEOUT = 15 * 60
LOCATION_KEYBOARD = ReplyKeyboardMarkup(
    [[KeyboardButton("📍 Share my location", request_location=True)]],
    one_time_keyboard=True,
    resize_keyboard=True,
    input_field_placeholder="Berlin, New York, UTC+5:30...",
)


def service_of(context: ContextTypes.DEFAULT_TYPE) -> ReminderService:
    return context.bot_data["reminders"]


def texts_of(context: ContextTypes.DEFAULT_TYPE) -> ReminderReplies:
    return context.bot_data["reminder_replies"]


def zones_of(context: ContextTypes.DEFAULT_TYPE) -> ZoneFinder:
    return context.bot_data["zones"]


def _private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


async def _say(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply, markup: object = None) -> None:
    """Send to the chat of the update, whether it came as a message or a button press."""
    chat_id = update.effective_chat.id
    if markup is None:
        await send_to(context.bot, chat_id, reply)
    else:
        await context.bot.send_message(chat_id, reply.html, reply_markup=markup)


async def _only_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    if _private(update):
        return True
    await _say(update, context, Reply(Intent.reminders, "Reminders work in a private chat with me."))
    return False


# -- the guided flow -----------------------------------------------------------------------------


async def _finish(update: Update, context: ContextTypes.DEFAULT_TYPE, minute: int, zone: ZoneMatch | None) -> int:
    """Subscribe once both time and zone are known; otherwise ask for the zone."""
    chat_id = update.effective_chat.id
    service = service_of(context)
    if zone is None:
        existing = await service.get(chat_id)
        if existing is None:
            context.user_data[DRAFT] = minute
            await _say(update, context, texts_of(context).ask_zone(), LOCATION_KEYBOARD)
            return ASK_ZONE
        zone = ZoneMatch(existing.zone, existing.zone)
    settings = await service.subscribe(chat_id, minute, zone.zone)
    context.user_data.pop(DRAFT, None)
    reply = texts_of(context).confirmed(settings, zone.place, service.clock())
    await _say(update, context, reply, ReplyKeyboardRemove())
    return ConversationHandler.END


async def remind_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/remind, or /remind 21:30 [zone] for everything in one message."""
    if not await _only_private(update, context):
        return ConversationHandler.END
    text = " ".join(context.args or [])
    if not text:
        await _say(update, context, texts_of(context).ask_time())
        return ASK_TIME
    return await _time_and_zone(update, context, text)


async def _time_and_zone(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> int:
    parsed = parse_time(text)
    if parsed is None:
        await _say(update, context, texts_of(context).bad_time())
        return ASK_TIME
    minute, rest = parsed
    zone = await asyncio.to_thread(zones_of(context).find, rest) if rest else None
    if rest and zone is None:
        context.user_data[DRAFT] = minute
        await _say(update, context, texts_of(context).bad_zone(), LOCATION_KEYBOARD)
        return ASK_ZONE
    return await _finish(update, context, minute, zone)


async def time_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    await query.answer()
    try:
        minute = int(query.data.removeprefix(buttons.PICK_TIME))
    except ValueError:
        minute = -1
    if not 0 <= minute < MINUTES_PER_DAY:
        await _say(update, context, texts_of(context).ask_time())
        return ASK_TIME
    return await _finish(update, context, minute, None)


async def _not_an_answer(update: Update, context: ContextTypes.DEFAULT_TYPE, retry: Reply, state: int) -> int:
    """The user wrote something else mid-flow: danger and real questions win over the flow."""
    reply = responder_of(context).answer(update.effective_message.text)
    if reply.intent in (Intent.emergency, Intent.topic, Intent.smalltalk):
        context.user_data.pop(DRAFT, None)
        await send(update.effective_message, reply)
        return ConversationHandler.END
    await _say(update, context, retry)
    return state


async def time_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    text = update.effective_message.text
    if parse_time(text) is None:
        return await _not_an_answer(update, context, texts_of(context).bad_time(), ASK_TIME)
    return await _time_and_zone(update, context, text)


async def zone_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    zone = await asyncio.to_thread(zones_of(context).find, update.effective_message.text)
    if zone is None:
        return await _not_an_answer(update, context, texts_of(context).bad_zone(), ASK_ZONE)
    return await _zone_known(update, context, zone)


async def zone_shared(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    location = update.effective_message.location
    zone = await asyncio.to_thread(zones_of(context).at_location, location.latitude, location.longitude)
    if zone is None:
        await _say(update, context, texts_of(context).bad_zone())
        return ASK_ZONE
    return await _zone_known(update, context, zone)


async def _zone_known(update: Update, context: ContextTypes.DEFAULT_TYPE, zone: ZoneMatch) -> int:
    minute = context.user_data.get(DRAFT)
    if minute is None:  # changing the zone of an existing reminder
        existing = await service_of(context).get(update.effective_chat.id)
        if existing is None:
            await _say(update, context, texts_of(context).ask_time(), ReplyKeyboardRemove())
            return ASK_TIME
        minute = existing.minute
    return await _finish(update, context, minute, zone)


async def change_time(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.callback_query.answer()
    await _say(update, context, texts_of(context).ask_time())
    return ASK_TIME


async def change_zone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.callback_query.answer()
    context.user_data.pop(DRAFT, None)
    await _say(update, context, texts_of(context).ask_zone(), LOCATION_KEYBOARD)
    return ASK_ZONE


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data.pop(DRAFT, None)
    await _say(update, context, Reply(Intent.reminders, "OK, nothing changed."), ReplyKeyboardRemove())
    return ConversationHandler.END


async def reminder_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Free text the question core routed as a reminders request ("nudge me at 10pm instead")."""
    if not await _only_private(update, context):
        return ConversationHandler.END
    request = parse_request(update.effective_message.text)
    chat_id = update.effective_chat.id
    service, texts = service_of(context), texts_of(context)
    if request.action is Action.set_time and request.minute is not None:
        zone = await asyncio.to_thread(zones_of(context).find, request.rest, fuzzy=False) if request.rest else None
        return await _finish(update, context, request.minute, zone)
    if request.action in (Action.stop, Action.pause, Action.resume):
        existing = await service.get(chat_id)
        if existing is None:
            await _say(update, context, texts.settings(None, service.clock()))
            return ConversationHandler.END
        if request.action is Action.stop:
            await service.stop(chat_id)
            await _say(update, context, texts.stopped())
        elif request.action is Action.pause:
            await service.pause(chat_id)
            await _say(update, context, texts.paused())
        else:
            settings = await service.resume(chat_id)
            await _say(update, context, texts.settings(settings, service.clock()))
        return ConversationHandler.END
    existing = await service.get(chat_id)
    if existing is not None and request.action is Action.show:
        await _say(update, context, texts.settings(existing, service.clock()))
        return ConversationHandler.END
    await _say(update, context, texts.ask_time())
    return ASK_TIME


class _ReminderRequest(filters.MessageFilter):
    """Text the question core classifies as being about reminders."""

    def __init__(self, responder: Responder) -> None:
        super().__init__(name="ReminderRequest")
        self.responder = responder

    def filter(self, message) -> bool:
        return bool(message.text) and self.responder.classifier.classify(message.text).intent is Intent.reminders


def conversation(responder: Responder) -> ConversationHandler:
    text = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # per_message=False is intended: the flow mixes buttons and typed answers in one chat.
        warnings.filterwarnings("ignore", message=".*per_message=False.*")
        return _conversation(text, responder)


def _conversation(text: filters.BaseFilter, responder: Responder) -> ConversationHandler:
    return ConversationHandler(
        entry_points=[
            CommandHandler("remind", remind_command, filters=filters.UpdateType.MESSAGE),
            CallbackQueryHandler(time_button, pattern=rf"^{buttons.PICK_TIME}\d+$"),
            CallbackQueryHandler(change_time, pattern=rf"^({buttons.CHANGE_TIME})$"),
            CallbackQueryHandler(change_zone, pattern=rf"^{buttons.CHANGE_ZONE}$"),
            MessageHandler(text & _ReminderRequest(responder), reminder_text),
        ],
        states={
            ASK_TIME: [
                CallbackQueryHandler(time_button, pattern=rf"^{buttons.PICK_TIME}\d+$"),
                MessageHandler(text, time_typed),
            ],
            ASK_ZONE: [
                MessageHandler(filters.UpdateType.MESSAGE & filters.LOCATION, zone_shared),
                MessageHandler(text, zone_typed),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel), CommandHandler("remind", remind_command)],
        conversation_timeout=CONVERSATION_TIMEOUT,
        name="remind",
        allow_reentry=True,
    )


# -- settings, tip buttons, stop ----------------------------------------------------------------


async def reminders_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _only_private(update, context):
        return
    service = service_of(context)
    await _say(
        update, context, texts_of(context).settings(await service.get(update.effective_chat.id), service.clock())
    )


async def stop_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    service, texts = service_of(context), texts_of(context)
    stopped = await service.stop(update.effective_chat.id)
    await _say(update, context, texts.stopped() if stopped else texts.settings(None, service.clock()))


async def reminder_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Settings and tip buttons. Old or forged data get a polite answer, never an error."""
    query = update.callback_query
    await query.answer()
    data, chat_id = query.data or "", update.effective_chat.id
    service, texts = service_of(context), texts_of(context)
    now = service.clock()
    reply: Reply
    if data == buttons.SETTINGS:
        settings = await service.get(chat_id)
        reply = texts.settings(settings, now) if settings else texts.ask_time()
    elif data == buttons.PAUSE:
        reply = texts.paused() if await service.pause(chat_id) else texts.settings(None, now)
    elif data == buttons.RESUME:
        reply = texts.settings(await service.resume(chat_id), now)
    elif data == buttons.STOP:
        reply = texts.stopped() if await service.stop(chat_id) else texts.settings(None, now)
    elif data == buttons.SKIP_TONIGHT:
        settings = await service.skip_tonight(chat_id)
        reply = texts.skipped(settings, now) if settings else texts.settings(None, now)
    elif data == buttons.CHOOSE_TIPS:
        settings = await service.get(chat_id)
        reply = texts.measures(settings) if settings else texts.settings(None, now)
    elif data.startswith(buttons.TOGGLE_MEASURE):
        settings = await service.toggle_measure(chat_id, data.removeprefix(buttons.TOGGLE_MEASURE))
        if settings is None:
            reply = texts.settings(None, now)
        else:
            updated = texts.measures(settings)
            await query.edit_message_reply_markup(reply_markup=keyboard(updated))
            return
    elif data.startswith((buttons.DONE, buttons.SNOOZE, buttons.SKIP)):
        reply = await _tip_button(data, chat_id, service, texts)
    else:
        reply = texts.stale()
    await _say(update, context, reply)


async def _tip_button(data: str, chat_id: int, service: ReminderService, texts: ReminderReplies) -> Reply:
    prefix = data[: len(buttons.DONE)]
    try:
        delivery_id = int(data[len(prefix) :])
    except ValueError:
        return texts.stale()
    now = service.clock()
    if prefix == buttons.DONE:
        return texts.done() if await service.record_outcome(chat_id, delivery_id, "done") else texts.stale()
    if prefix == buttons.SNOOZE:
        at = await service.snooze(chat_id, delivery_id)
        settings = await service.get(chat_id)
        return texts.snoozed(at, settings.zone) if at and settings else texts.stale()
    if not await service.record_outcome(chat_id, delivery_id, "skipped"):
        return texts.stale()
    settings = await service.skip_tonight(chat_id)
    return texts.skipped(settings, now) if settings else texts.stale()


async def chat_member_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A user who blocks the bot is unsubscribed at once, with the reason recorded."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    blocked = change.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT)
    if blocked and await service_of(context).stop(change.chat.id, reason="blocked"):
        log.info("chat %s blocked the bot; reminders stopped", change.chat.id)


async def forget_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _say(update, context, texts_of(context).forget_confirm())


async def forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Deletes everything stored about the chat, only after the explicit confirmation tap."""
    query = update.callback_query
    await query.answer()
    texts = texts_of(context)
    if query.data == buttons.FORGET_YES:
        await service_of(context).forget(update.effective_chat.id)
        context.user_data.clear()
        await _say(update, context, texts.forgotten())
    else:
        await _say(update, context, texts.forget_kept())


def handlers(responder: Responder) -> list[BaseHandler]:
    message = filters.UpdateType.MESSAGE
    return [
        conversation(responder),
        CommandHandler("reminders", reminders_command, filters=message),
        CommandHandler("stop", stop_command, filters=message),
        CommandHandler("forget", forget_command, filters=message),
        CallbackQueryHandler(forget_button, pattern=rf"^({buttons.FORGET_YES}|{buttons.FORGET_NO})$"),
        CallbackQueryHandler(reminder_button, pattern=r"^r:"),
        ChatMemberHandler(chat_member_changed, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
