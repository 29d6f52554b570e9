"""/settings: one message for reminders, the diary's morning check-in and weekly summary, the
language and privacy. Every button edits that message in place (edit_message_text) with the
page it leads to; what changes is done by the reminder, diary and language services, exactly
as /remind, /morning and /weekly do it. Only what needs typing leaves the message: a new time
zone (the /remind zone question) and the /mydata and /forget flows, which send their own.
bot.tg.routing lets none of these run outside a private chat.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot import callbacks as cb
from bot.conversations import RemindDraft, RemindStep
from bot.diary.service import DiaryService
from bot.replies import Reply
from bot.settings_view import SettingsReplies
from bot.storage.models import Status
from bot.tg import account, reminders
from bot.tg.handlers import edit_or_send, send
from bot.tg.language import language_of, languages_of, responder_for
from bot.tg.updates import ButtonHandler, chat_id_of, message_of

Context = ContextTypes.DEFAULT_TYPE


def _diary(context: Context) -> DiaryService:
    return context.bot_data["diary"]


async def _texts(update: Update, context: Context) -> SettingsReplies:
    responder = await responder_for(update, context)
    return SettingsReplies(responder.content, responder.messages)


async def _main(update: Update, context: Context) -> Reply:
    chat_id = chat_id_of(update)
    reminder = await reminders.service_of(context).get(chat_id)
    diary = await _diary(context).settings(chat_id)
    return (await _texts(update, context)).main(reminder, diary, await language_of(update, context))


async def _page(update: Update, context: Context, page: cb.Page) -> Reply:
    chat_id = chat_id_of(update)
    texts = await _texts(update, context)
    if page is cb.Page.reminders:
        return texts.reminders(await reminders.service_of(context).get(chat_id))
    if page is cb.Page.diary:
        diary = _diary(context)
        return texts.diary(await diary.settings(chat_id), await diary.known_zone(chat_id) is not None)
    if page is cb.Page.language:
        return texts.language(await language_of(update, context))
    return texts.privacy()


async def settings_command(update: Update, context: Context) -> None:
    await send(message_of(update), await _main(update, context))


async def open_settings(update: Update, context: Context, _: cb.OpenSettings) -> None:
    await edit_or_send(update, context, await _main(update, context))


async def show_page(update: Update, context: Context, pressed: cb.SettingsPage) -> None:
    await edit_or_send(update, context, await _page(update, context, pressed.page))


# -- reminders ------------------------------------------------------------------------------------


async def reminder_time(update: Update, context: Context, pressed: cb.SettingsTime) -> None:
    """A time: changes an existing reminder's time, or switches reminders on in the zone already
    known; with no zone known, asks for it like /remind does."""
    chat_id, service = chat_id_of(update), reminders.service_of(context)
    existing = await service.get(chat_id)
    if existing is not None and existing.status != Status.stopped:
        await service.set_time(chat_id, pressed.minute)
    else:
        zone = existing.zone if existing else await _diary(context).known_zone(chat_id)
        if zone is None:
            await reminders.ask(update, context, RemindDraft(step=RemindStep.ask_zone, minute=pressed.minute))
            return
        await service.subscribe(chat_id, pressed.minute, zone)
    await show_page(update, context, cb.SettingsPage(cb.Page.reminders))


async def reminder_measure(update: Update, context: Context, pressed: cb.SettingsMeasure) -> None:
    await reminders.service_of(context).toggle_measure(chat_id_of(update), pressed.measure)
    await show_page(update, context, cb.SettingsPage(cb.Page.reminders))


async def reminder_pause(update: Update, context: Context, _: cb.SettingsPause) -> None:
    chat_id, service = chat_id_of(update), reminders.service_of(context)
    existing = await service.get(chat_id)
    if existing is not None and existing.status == Status.active:
        await service.pause(chat_id)
    elif existing is not None and existing.status == Status.paused:
        await service.resume(chat_id)
    await show_page(update, context, cb.SettingsPage(cb.Page.reminders))


async def reminder_zone(update: Update, context: Context, _: cb.SettingsZone) -> None:
    """A zone is typed or shared as a location: the /remind flow's own question."""
    await reminders.change_zone(update, context, cb.ChangeZone())


# -- diary ----------------------------------------------------------------------------------------


async def morning(update: Update, context: Context, pressed: cb.SettingsMorning) -> None:
    diary, chat_id = _diary(context), chat_id_of(update)
    zone = await diary.known_zone(chat_id)
    if zone is not None:  # the page offers times only once a zone is known
        await diary.set_checkin(chat_id, pressed.minute, zone)
    await show_page(update, context, cb.SettingsPage(cb.Page.diary))


async def morning_off(update: Update, context: Context, _: cb.SettingsMorningOff) -> None:
    await _diary(context).checkin_off(chat_id_of(update))
    await show_page(update, context, cb.SettingsPage(cb.Page.diary))


async def weekly(update: Update, context: Context, pressed: cb.SettingsWeekly) -> None:
    await _diary(context).set_weekly(chat_id_of(update), pressed.day)
    await show_page(update, context, cb.SettingsPage(cb.Page.diary))


async def weekly_off(update: Update, context: Context, _: cb.SettingsWeeklyOff) -> None:
    await _diary(context).weekly_off(chat_id_of(update))
    await show_page(update, context, cb.SettingsPage(cb.Page.diary))


# -- language and privacy -------------------------------------------------------------------------


async def choose_language(update: Update, context: Context, pressed: cb.SettingsLanguage) -> None:
    languages = languages_of(context)
    if pressed.language in languages.available:
        await languages.choose(chat_id_of(update), pressed.language)
    await show_page(update, context, cb.SettingsPage(cb.Page.language))  # already in the new language


async def my_data(update: Update, context: Context, _: cb.SettingsMyData) -> None:
    await account.my_data(update, context)


async def forget(update: Update, context: Context, _: cb.SettingsForget) -> None:
    await reminders.forget_command(update, context)


BUTTONS: dict[type[cb.Callback], ButtonHandler] = {
    cb.OpenSettings: open_settings,
    cb.SettingsPage: show_page,
    cb.SettingsTime: reminder_time,
    cb.SettingsMeasure: reminder_measure,
    cb.SettingsPause: reminder_pause,
    cb.SettingsZone: reminder_zone,
    cb.SettingsMorning: morning,
    cb.SettingsMorningOff: morning_off,
    cb.SettingsWeekly: weekly,
    cb.SettingsWeeklyOff: weekly_off,
    cb.SettingsLanguage: choose_language,
    cb.SettingsMyData: my_data,
    cb.SettingsForget: forget,
}
