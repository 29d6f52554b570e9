"""Reminder handlers: the /remind flow, /reminders settings, tip buttons, /forget, blocked chats.

The guided flow (a time, then a time zone) keeps its step in the database (bot.conversations),
not in one process's memory: any process behind the webhook can take the chat's next message,
and a restart mid-flow loses nothing. bot.tg.routing decides which of these functions gets an
update, and lets none of them run outside a private chat. What to do is decided in
bot.reminders; these callbacks only read updates, keep the step and reply.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import ChatMember, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import callbacks as cb
from bot.conversations import FORGET, REMIND, ChatStates, ForgetRequest, RemindDraft, RemindStep
from bot.reminders.replies import ReminderReplies
from bot.reminders.requests import Action, parse_request, parse_time
from bot.reminders.service import ReminderService
from bot.reminders.zones import ZoneFinder, ZoneMatch
from bot.replies import Reply
from bot.tg.handlers import answer, send_to, sendable
from bot.tg.language import language_of
from bot.tg.render import keyboard
from bot.tg.updates import chat_id_of, location_of, query_of, text_of
from bot.understanding import Context, Intent

log = logging.getLogger(__name__)

STATE_READ_SECONDS = 1.0  # a question waits at most this long for the flow's step


def location_keyboard(texts: ReminderReplies) -> ReplyKeyboardMarkup:
    """The zone question's keyboard: one button that shares the location (resolved offline)."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(texts.buttons.share_location, request_location=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
        input_field_placeholder=texts.notices.zone_placeholder,
    )


def service_of(context: ContextTypes.DEFAULT_TYPE) -> ReminderService:
    return context.bot_data["reminders"]


async def texts_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> ReminderReplies:
    """The reminder texts in the language of the person behind the update."""
    return context.bot_data["reminder_replies"][await language_of(update, context)]


def zones_of(context: ContextTypes.DEFAULT_TYPE) -> ZoneFinder:
    return context.bot_data["zones"]


def states_of(context: ContextTypes.DEFAULT_TYPE) -> ChatStates:
    return context.bot_data["chat_states"]


async def _say(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    reply: Reply,
    markup: ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None,
) -> None:
    """Send to the chat of the update, whether it came as a message or a button press."""
    chat_id = chat_id_of(update)
    if markup is None:
        await send_to(context.bot, chat_id, reply)
    else:
        await context.bot.send_message(chat_id, sendable(reply.html), reply_markup=markup)


# -- the flow's step ----------------------------------------------------------------------------


async def current_flow(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> RemindDraft | None:
    """The chat's /remind step. Bounded, and a failure reads as "no flow": a slow or locked
    database must not hold up the answer to a question."""
    try:
        async with asyncio.timeout(STATE_READ_SECONDS):
            return await states_of(context).get(chat_id, REMIND)
    except Exception as exc:  # the message is then treated as a question, which needs no database
        log.warning("conversation state unreadable (%s); treating the message as a question", type(exc).__name__)
        return None


async def last_question(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> Context | None:
    """The chat's previous question, to read a follow-up with; bounded like `current_flow`."""
    try:
        async with asyncio.timeout(STATE_READ_SECONDS):
            found = await states_of(context).last_question(chat_id)
    except Exception as exc:  # the message is then read on its own
        log.warning("question context unreadable (%s); reading the message alone", type(exc).__name__)
        return None
    return Context(found.text, found.topic, found.asked_at, rule=found.rule) if found else None


async def remember_question(context: ContextTypes.DEFAULT_TYPE, chat_id: int, kept: Context | None) -> None:
    """Store what the next message will be read with; a failure only costs that context."""
    if kept is None:
        return
    try:
        async with asyncio.timeout(STATE_READ_SECONDS):
            await states_of(context).remember_question(chat_id, kept.text, kept.topic, kept.rule)
    except Exception as exc:
        log.warning("question context not stored (%s)", type(exc).__name__)


async def end_flow_quietly(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    """After a question answered mid-flow: end the flow, but never fail the answer already sent."""
    try:
        await states_of(context).clear(chat_id, REMIND)
    except Exception as exc:  # the step then expires on its own
        log.warning("could not end a reminder flow: %s", type(exc).__name__)


async def ask(
    update: Update, context: ContextTypes.DEFAULT_TYPE, draft: RemindDraft, reply: Reply | None = None
) -> None:
    """Store the step, then ask for what it waits for (or say `reply`, e.g. "try again")."""
    await states_of(context).put(chat_id_of(update), REMIND, draft)
    texts = await texts_of(update, context)
    if draft.step is RemindStep.ask_time:
        await _say(update, context, reply or texts.ask_time())
    else:
        await _say(update, context, reply or texts.ask_zone(), location_keyboard(texts))


async def _finish(update: Update, context: ContextTypes.DEFAULT_TYPE, minute: int, zone: ZoneMatch | None) -> None:
    """Subscribe once both time and zone are known; otherwise ask for the zone."""
    chat_id = chat_id_of(update)
    service = service_of(context)
    if zone is None:
        existing = await service.get(chat_id)
        if existing is None:
            await ask(update, context, RemindDraft(step=RemindStep.ask_zone, minute=minute))
            return
        zone = ZoneMatch(existing.zone, existing.zone)
    settings = await service.subscribe(chat_id, minute, zone.zone)
    await states_of(context).clear(chat_id, REMIND)
    reply = (await texts_of(update, context)).confirmed(settings, zone.place, service.clock())
    await _say(update, context, reply, ReplyKeyboardRemove())


async def _time_and_zone(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    texts = await texts_of(update, context)
    parsed = parse_time(text)
    if parsed is None:
        await ask(update, context, RemindDraft(step=RemindStep.ask_time), texts.bad_time())
        return
    minute, rest = parsed
    zone = await asyncio.to_thread(zones_of(context).find, rest) if rest else None
    if rest and zone is None:
        await ask(update, context, RemindDraft(step=RemindStep.ask_zone, minute=minute), texts.bad_zone())
        return
    await _finish(update, context, minute, zone)


async def _zone_known(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: RemindDraft, zone: ZoneMatch) -> None:
    minute = draft.minute
    if minute is None:  # changing the zone of an existing reminder
        existing = await service_of(context).get(chat_id_of(update))
        if existing is None:
            await ask(update, context, RemindDraft(step=RemindStep.ask_time))
            return
        minute = existing.minute
    await _finish(update, context, minute, zone)


async def _not_an_answer(
    update: Update, context: ContextTypes.DEFAULT_TYPE, draft: RemindDraft, reply: Reply, retry: Reply
) -> None:
    """Something other than the awaited answer: a real question wins over the flow and ends it."""
    if reply.intent in (Intent.emergency, Intent.smalltalk) or (reply.intent is Intent.topic and reply.confident):
        await answer(update, context, reply)
        await end_flow_quietly(context, chat_id_of(update))
        return
    await ask(update, context, draft, retry)


# -- commands and typed answers -----------------------------------------------------------------


async def remind_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/remind, or /remind 21:30 [zone] for everything in one message."""
    text = " ".join(context.args or [])
    if not text:
        await ask(update, context, RemindDraft(step=RemindStep.ask_time))
        return
    await _time_and_zone(update, context, text)


async def time_typed(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: RemindDraft, reply: Reply) -> None:
    """Text while the flow waits for a time; `reply` is what the text would get as a question."""
    text = text_of(update)
    if parse_time(text) is None:
        await _not_an_answer(update, context, draft, reply, (await texts_of(update, context)).bad_time())
        return
    await _time_and_zone(update, context, text)


async def zone_typed(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: RemindDraft, reply: Reply) -> None:
    zone = await asyncio.to_thread(zones_of(context).find, text_of(update))
    if zone is None:
        await _not_an_answer(update, context, draft, reply, (await texts_of(update, context)).bad_zone())
        return
    await _zone_known(update, context, draft, zone)


async def zone_shared(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: RemindDraft) -> None:
    location = location_of(update)
    zone = await asyncio.to_thread(zones_of(context).at_location, location.latitude, location.longitude)
    if zone is None:
        await ask(update, context, draft, (await texts_of(update, context)).bad_zone())
        return
    await _zone_known(update, context, draft, zone)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await states_of(context).clear(chat_id_of(update), REMIND, FORGET)
    notices = (await texts_of(update, context)).notices
    await _say(update, context, Reply(Intent.reminders, notices.nothing_changed), ReplyKeyboardRemove())


async def reminder_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Free text the question core routed as a reminders request ("nudge me at 10pm instead")."""
    request = parse_request(text_of(update))
    chat_id = chat_id_of(update)
    service, texts = service_of(context), await texts_of(update, context)
    if request.action is Action.set_time and request.minute is not None:
        zone = await asyncio.to_thread(zones_of(context).find, request.rest, fuzzy=False) if request.rest else None
        await _finish(update, context, request.minute, zone)
        return
    if request.action in (Action.stop, Action.pause, Action.resume):
        existing = await service.get(chat_id)
        if existing is None:
            await _say(update, context, texts.settings(None, service.clock()))
        elif request.action is Action.stop:
            await service.stop(chat_id)
            await _say(update, context, texts.stopped())
        elif request.action is Action.pause:
            await service.pause(chat_id)
            await _say(update, context, texts.paused())
        else:
            settings = await service.resume(chat_id)
            await _say(update, context, texts.settings(settings, service.clock()))
        return
    existing = await service.get(chat_id)
    if existing is not None and request.action is Action.show:
        await _say(update, context, texts.settings(existing, service.clock()))
        return
    await ask(update, context, RemindDraft(step=RemindStep.ask_time))


async def reminders_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    service = service_of(context)
    settings = await service.get(chat_id_of(update))
    await _say(update, context, (await texts_of(update, context)).settings(settings, service.clock()))


async def stop_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    service, texts = service_of(context), await texts_of(update, context)
    stopped = await service.stop(chat_id_of(update))
    await _say(update, context, texts.stopped() if stopped else texts.settings(None, service.clock()))


# -- buttons (bot.tg.routing has answered the query and checked it is a private chat) ------------


async def time_button(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: cb.PickTime) -> None:
    await _finish(update, context, pressed.minute, None)


async def change_time(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.ChangeTime) -> None:
    await ask(update, context, RemindDraft(step=RemindStep.ask_time))


async def change_zone(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.ChangeZone) -> None:
    await ask(update, context, RemindDraft(step=RemindStep.ask_zone))


async def show_settings(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.ShowSettings) -> None:
    service = service_of(context)
    settings = await service.get(chat_id_of(update))
    if settings is None:
        await ask(update, context, RemindDraft(step=RemindStep.ask_time))
        return
    await _say(update, context, (await texts_of(update, context)).settings(settings, service.clock()))


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.Pause) -> None:
    service, texts = service_of(context), await texts_of(update, context)
    paused = await service.pause(chat_id_of(update))
    await _say(update, context, texts.paused() if paused else texts.settings(None, service.clock()))


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.Resume) -> None:
    service = service_of(context)
    settings = await service.resume(chat_id_of(update))
    await _say(update, context, (await texts_of(update, context)).settings(settings, service.clock()))


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.Stop) -> None:
    await stop_command(update, context)


async def skip_tonight(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.SkipTonight) -> None:
    service, texts = service_of(context), await texts_of(update, context)
    settings = await service.skip_tonight(chat_id_of(update))
    now = service.clock()
    await _say(update, context, texts.skipped(settings, now) if settings else texts.settings(None, now))


async def choose_tips(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.ChooseTips) -> None:
    service, texts = service_of(context), await texts_of(update, context)
    settings = await service.get(chat_id_of(update))
    await _say(update, context, texts.measures(settings) if settings else texts.settings(None, service.clock()))


async def toggle_measure(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: cb.ToggleMeasure) -> None:
    service, texts = service_of(context), await texts_of(update, context)
    settings = await service.toggle_measure(chat_id_of(update), pressed.measure)
    if settings is None:
        await _say(update, context, texts.settings(None, service.clock()))
        return
    updated = texts.measures(settings)
    try:
        await query_of(update).edit_message_reply_markup(reply_markup=keyboard(updated))
    except BadRequest:  # the message is too old to edit: show the choice afresh
        await _say(update, context, updated)


async def tip_done(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: cb.TipDone) -> None:
    texts = await texts_of(update, context)
    recorded = await service_of(context).record_outcome(chat_id_of(update), pressed.delivery, "done")
    await _say(update, context, texts.done() if recorded else texts.stale())


async def tip_snooze(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: cb.TipSnooze) -> None:
    service, texts = service_of(context), await texts_of(update, context)
    chat_id = chat_id_of(update)
    at = await service.snooze(chat_id, pressed.delivery)
    settings = await service.get(chat_id) if at else None
    await _say(update, context, texts.snoozed(at, settings.zone) if at and settings else texts.stale())


async def tip_skip(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: cb.TipSkip) -> None:
    service, texts = service_of(context), await texts_of(update, context)
    chat_id = chat_id_of(update)
    settings = None
    if await service.record_outcome(chat_id, pressed.delivery, "skipped"):
        settings = await service.skip_tonight(chat_id)
    await _say(update, context, texts.skipped(settings, service.clock()) if settings else texts.stale())


async def stale_reminder(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _say(update, context, (await texts_of(update, context)).stale())


# -- /forget: the confirmation waits in the database --------------------------------------------


async def forget_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    states = states_of(context)
    await states.put(chat_id_of(update), FORGET, ForgetRequest(asked_at=states.clock()))
    await _say(update, context, (await texts_of(update, context)).forget_confirm())


async def forget_yes(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.ForgetYes) -> None:
    """Deletes everything stored about the chat, only after /forget and then this tap."""
    chat_id = chat_id_of(update)
    if await states_of(context).get(chat_id, FORGET) is None:
        notices = (await texts_of(update, context)).notices
        await _say(update, context, Reply(Intent.reminders, notices.forget_expired))
        return
    await service_of(context).forget(chat_id)
    await context.bot_data["diary"].forget(chat_id)  # the symptom diary too
    await _say(update, context, (await texts_of(update, context)).forgotten())


async def forget_no(update: Update, context: ContextTypes.DEFAULT_TYPE, _: cb.ForgetNo) -> None:
    await states_of(context).clear(chat_id_of(update), FORGET)
    await _say(update, context, (await texts_of(update, context)).forget_kept())


# -- blocked chats -------------------------------------------------------------------------------


async def chat_member_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A user who blocks the bot is unsubscribed at once, with the reason recorded."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    blocked = change.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT)
    if blocked and await service_of(context).stop(change.chat.id, reason="blocked"):
        log.info("chat %s blocked the bot; reminders stopped", change.chat.id)
