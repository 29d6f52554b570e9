"""Diary handlers: /checkin and its buttons, /morning, /weekly, /diary, /report, /ferritin,
/meds, and the sends of the two diary delivery kinds. They read the update, call
DiaryService and DiaryReplies, and send or edit; charts and PDFs are rendered by the
Renderer's thread, never on the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from enum import StrEnum

from telegram import Bot, InputFile, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.diary import actions
from bot.diary.actions import Action, Verb
from bot.diary.analysis import summarise, what_seems_to_help
from bot.diary.inputs import Problem, Reading, parse_ferritin, parse_weekday
from bot.diary.medicines import CLASSES, MAX_NOTE_CHARS, Medicines
from bot.diary.nights import Night, night_of, parse_onset
from bot.diary.rendering import Renderer
from bot.diary.replies import DiaryReplies
from bot.diary.report import ReportData
from bot.diary.service import DiaryService
from bot.diary.words import summary_sentences, weekly_lines
from bot.knowledge.schema import ENGLISH
from bot.reminders.dispatcher import Outcome
from bot.reminders.requests import parse_time
from bot.reminders.schedule import local_date
from bot.reminders.zones import ZoneFinder
from bot.replies import Reply
from bot.storage.models import Delivery
from bot.tg.handlers import send_to
from bot.tg.language import language_of
from bot.tg.render import keyboard
from bot.tg.sender import READ_TIMEOUT, attempt
from bot.tg.updates import CommandCallback, chat_id_of, query_of

log = logging.getLogger(__name__)

CHART_NIGHTS = (14, 30)
REPORT_DAYS = (30, 90)
HELPS_NIGHTS = 90  # "what seems to help" looks at this many nights, whatever the chart shows
Context = ContextTypes.DEFAULT_TYPE


def diary_of(context: Context) -> DiaryService:
    return context.bot_data["diary"]


async def texts_of(update: Update, context: Context) -> DiaryReplies:
    """The diary's texts in the language of the person behind the update."""
    return context.bot_data["diary_replies"][await language_of(update, context)]


def renderer_of(context: Context) -> Renderer:
    return context.bot_data["renderer"]


def _chat(update: Update) -> int:
    return chat_id_of(update)


async def _say(context: Context, chat_id: int, reply: Reply) -> None:
    await send_to(context.bot, chat_id, reply)


async def _edit(update: Update, reply: Reply, *, markup_only: bool = False) -> None:
    """Edit the pressed message in place; a double tap that changes nothing is not an error."""
    query = query_of(update)
    try:
        if markup_only:
            await query.edit_message_reply_markup(reply_markup=keyboard(reply))
        else:
            await query.edit_message_text(reply.html, reply_markup=keyboard(reply))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


def private(callback: CommandCallback) -> CommandCallback:
    """Health data stays out of groups: there the diary only says where it works."""

    async def wrapped(update: Update, context: Context) -> None:
        if update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
            await callback(update, context)
        elif update.effective_chat is not None:
            await _say(context, _chat(update), (await texts_of(update, context)).private_only())

    return wrapped


# -- the check-in ---------------------------------------------------------------------------------


@private
async def checkin_command(update: Update, context: Context) -> None:
    diary = diary_of(context)
    night = await diary.night(_chat(update), await diary.tonight(_chat(update)))
    await _say(context, _chat(update), (await texts_of(update, context)).ask_score(night))


class Step(StrEnum):
    """What the check-in message shows after a tap."""

    onset = "onset"
    measures = "measures"
    ticked = "ticked"  # the measures again, only the ticks changed
    saved = "saved"


AFTER_SKIP = {"s": Step.onset, "o": Step.measures, "m": Step.saved}


async def _step(update: Update, context: Context, action: Action) -> None:
    """One tap of a check-in button: record it, then show the next step in the same message."""
    chat_id, diary, texts = _chat(update), diary_of(context), await texts_of(update, context)
    assert action.night is not None
    if action.night > await diary.tonight(chat_id) or not _valid_step(action):
        await query_of(update).answer()
        await _say(context, chat_id, texts.stale())
        return
    night, step, toast = await _record(diary, chat_id, action, texts.texts.from_tip)
    await query_of(update).answer(toast)
    if step is Step.saved:
        settings = await diary.settings(chat_id)
        await _edit(update, texts.saved(night, offer_morning=settings is None or settings.checkin_minute is None))
        await _augmentation(update, context, chat_id)
    elif step is Step.onset:
        await _edit(update, texts.ask_onset(night))
    else:
        await _edit(update, texts.ask_measures(night), markup_only=step is Step.ticked)


async def _record(diary: DiaryService, chat_id: int, action: Action, from_tip: str) -> tuple[Night, Step, str | None]:
    """Store what the tap says; the night as it is now, the step to show, and a toast if any."""
    night = action.night
    assert night is not None
    if action.verb is Verb.score and action.number is not None:
        return await diary.set_score(chat_id, night, action.number), Step.onset, None
    if action.verb is Verb.onset:
        return await diary.set_onset(chat_id, night, action.value), Step.measures, None
    if action.verb is Verb.measure:
        current = await diary.night(chat_id, night)
        if action.value in current.from_tips:  # counted from the tip's Done: it stays ticked
            return current, Step.ticked, from_tip
        return await diary.toggle_measure(chat_id, night, action.value), Step.ticked, None
    step = AFTER_SKIP[action.value] if action.verb is Verb.skip else Step.saved
    return await diary.night(chat_id, night), step, None


def _valid_step(action: Action) -> bool:
    if action.verb is Verb.score:
        return action.number is not None and 0 <= action.number <= 10
    if action.verb is Verb.onset:
        return parse_onset(action.value) is not None
    if action.verb is Verb.skip:
        return action.value in {"s", "o", "m"}
    return True


async def _augmentation(update: Update, context: Context, chat_id: int) -> None:
    shift = await diary_of(context).augmentation_notice(chat_id)
    if shift is not None:
        await _say(context, chat_id, (await texts_of(update, context)).augmentation(shift))


# -- morning check-in and weekly summary ----------------------------------------------------------


@private
async def morning_command(update: Update, context: Context) -> None:
    chat_id, diary, texts = _chat(update), diary_of(context), await texts_of(update, context)
    text = " ".join(context.args or []).strip()
    if text.lower() == "off":
        await diary.checkin_off(chat_id)
        await _say(context, chat_id, texts.morning_off())
        return
    known = await diary.known_zone(chat_id)
    if not text:
        await _say(context, chat_id, texts.morning_pick(known) if known else texts.morning_ask_zone())
        return
    parsed = parse_time(text)
    zone = _zone(context, parsed[1]) if parsed and parsed[1] else known
    if parsed is None or (parsed[1] and zone is None):
        await _say(context, chat_id, texts.morning_bad())
    elif zone is None:
        await _say(context, chat_id, texts.morning_ask_zone())
    else:
        settings = await diary.set_checkin(chat_id, parsed[0], zone)
        await _say(context, chat_id, texts.morning_set(settings, diary.clock()))


def _zone(context: Context, text: str) -> str | None:
    finder: ZoneFinder = context.bot_data["zones"]
    found = finder.find(text)
    return found.zone if found else None


async def _morning_button(update: Update, context: Context, action: Action) -> None:
    await query_of(update).answer()
    chat_id, diary, texts = _chat(update), diary_of(context), await texts_of(update, context)
    if action.value == "off":
        await diary.checkin_off(chat_id)
        await _say(context, chat_id, texts.morning_off())
        return
    zone = await diary.known_zone(chat_id)
    minute = action.number
    if minute is None or minute >= 24 * 60:
        await _say(context, chat_id, texts.morning_bad())
    elif zone is None:
        await _say(context, chat_id, texts.morning_ask_zone())
    else:
        await _say(context, chat_id, texts.morning_set(await diary.set_checkin(chat_id, minute, zone), diary.clock()))


@private
async def weekly_command(update: Update, context: Context) -> None:
    chat_id, diary, texts = _chat(update), diary_of(context), await texts_of(update, context)
    text = " ".join(context.args or []).strip()
    if text.lower() == "off":
        await diary.weekly_off(chat_id)
        await _say(context, chat_id, texts.weekly_off())
        return
    if not text:
        await _say(context, chat_id, texts.weekly_pick(await diary.zone(chat_id)))
        return
    parsed = parse_weekday(text)
    zone = _zone(context, parsed[1]) if parsed and parsed[1] else None
    if parsed is None or (parsed[1] and zone is None):
        await _say(context, chat_id, texts.weekly_bad())
        return
    settings = await diary.set_weekly(chat_id, parsed[0], zone)
    await _say(context, chat_id, texts.weekly_set(settings, diary.clock()))


async def _weekly_button(update: Update, context: Context, action: Action) -> None:
    await query_of(update).answer()
    chat_id, diary, texts = _chat(update), diary_of(context), await texts_of(update, context)
    if action.value == "off":
        await diary.weekly_off(chat_id)
        await _say(context, chat_id, texts.weekly_off())
    elif action.number is not None and action.number <= 6:
        await _say(context, chat_id, texts.weekly_set(await diary.set_weekly(chat_id, action.number), diary.clock()))
    else:
        await _say(context, chat_id, texts.weekly_bad())


# -- seeing it ------------------------------------------------------------------------------------


@private
async def diary_command(update: Update, context: Context) -> None:
    nights = next((n for n in CHART_NIGHTS if str(n) in (context.args or [])), CHART_NIGHTS[0])
    await _send_chart(update, context, _chat(update), nights)


async def _send_chart(update: Update, context: Context, chat_id: int, count: int) -> None:
    diary, texts = diary_of(context), await texts_of(update, context)
    nights = await diary.recent(chat_id, HELPS_NIGHTS)
    shown = nights[-count:]
    if not any(n.noted for n in shown):
        await _say(context, chat_id, texts.empty())
        return
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
    png = await renderer_of(context).chart(shown, texts.names)
    caption = texts.chart_caption(summary_sentences(summarise(shown), texts.names))
    markup = keyboard(Reply(texts.empty().intent, "", None, texts.chart_buttons()))
    await context.bot.send_photo(chat_id, InputFile(png, filename="diary.png"), caption=caption, reply_markup=markup)
    await _say(context, chat_id, texts.helps(what_seems_to_help(nights, texts.measures), len(nights)))
    await _augmentation(update, context, chat_id)


@private
async def report_command(update: Update, context: Context) -> None:
    args = list(context.args or [])
    days = int(args.pop(0)) if args and args[0] in {str(d) for d in REPORT_DAYS} else REPORT_DAYS[0]
    person = " ".join(args).strip()[:80] or None  # printed on this report only, never stored
    await _send_report(update, context, _chat(update), days, person)


async def _send_report(update: Update, context: Context, chat_id: int, days: int, person: str | None) -> None:
    diary, texts = diary_of(context), await texts_of(update, context)
    shown = await diary.recent(chat_id, days)
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    data = ReportData(
        shown,
        texts.names,
        await diary.ferritin(chat_id),
        await diary.medicines(chat_id),
        what_seems_to_help(shown, texts.measures),
        await diary.current_shift(chat_id),
        diary.clock().date(),
        person,
    )
    pdf = await renderer_of(context).report(data)
    name = f"rls-diary-{shown[-1].night:%Y-%m-%d}-{days}d.pdf"
    await context.bot.send_document(chat_id, InputFile(pdf, filename=name), caption=texts.report_caption(days))


async def _chart_button(update: Update, context: Context, action: Action) -> None:
    await query_of(update).answer()
    if action.number in CHART_NIGHTS:
        await _send_chart(update, context, _chat(update), action.number)


async def _report_button(update: Update, context: Context, action: Action) -> None:
    await query_of(update).answer()
    if action.number in REPORT_DAYS:
        await _send_report(update, context, _chat(update), action.number, None)


async def _checkin_button(update: Update, context: Context, action: Action) -> None:
    await query_of(update).answer()
    await checkin_command(update, context)


# -- ferritin and medicines -----------------------------------------------------------------------


@private
async def ferritin_command(update: Update, context: Context) -> None:
    chat_id, diary, texts = _chat(update), diary_of(context), await texts_of(update, context)
    today = local_date(diary.clock(), await diary.zone(chat_id))
    parsed = parse_ferritin(" ".join(context.args or []), today)
    if isinstance(parsed, Reading):
        reply = texts.ferritin_saved(await diary.add_ferritin(chat_id, parsed.ng_ml, parsed.tested_on))
    else:
        problem, value = parsed
        replies = {
            Problem.unit: texts.ferritin_unit,
            Problem.unreadable: texts.ferritin_bad,
            Problem.out_of_range: lambda: texts.ferritin_range(value),
        }
        reply = replies[problem]() if problem in replies else texts.ferritin_usage(await diary.ferritin(chat_id))
    await _say(context, chat_id, reply)


async def _ferritin_undo(update: Update, context: Context, action: Action) -> None:
    await query_of(update).answer()
    chat_id, texts = _chat(update), await texts_of(update, context)
    removed = await diary_of(context).delete_last_ferritin(chat_id)
    await _say(context, chat_id, texts.ferritin_removed() if removed else texts.ferritin_usage([]))


@private
async def meds_command(update: Update, context: Context) -> None:
    chat_id, diary, texts = _chat(update), diary_of(context), await texts_of(update, context)
    text = " ".join(context.args or []).strip()
    current = await diary.medicines(chat_id)
    if text.lower() == "clear":
        await diary.set_medicines(chat_id, Medicines())
        await _say(context, chat_id, texts.meds_cleared())
    elif text:
        noted = await diary.set_medicines(chat_id, Medicines(current.classes, text[:MAX_NOTE_CHARS]))
        await _say(context, chat_id, texts.meds_saved(noted))
    else:
        await _say(context, chat_id, texts.meds_ask(current))


async def _medicine_button(update: Update, context: Context, action: Action) -> None:
    chat_id, diary, texts = _chat(update), diary_of(context), await texts_of(update, context)
    await query_of(update).answer()
    current = await diary.medicines(chat_id)
    if action.value == "clear":
        await diary.set_medicines(chat_id, Medicines())
        await _edit(update, texts.meds_cleared())
    elif action.value == "done":
        await _edit(update, texts.meds_saved(current))
    elif action.value in CLASSES:
        changed = Medicines(current.classes ^ {action.value}, current.note)
        await _edit(update, texts.meds_ask(await diary.set_medicines(chat_id, changed)), markup_only=True)
    else:
        await _say(context, chat_id, texts.stale())


# -- the button router ----------------------------------------------------------------------------

ROUTES: dict[Verb, Callable[[Update, Context, Action], Awaitable[None]]] = {
    Verb.checkin: _checkin_button,
    Verb.score: _step,
    Verb.onset: _step,
    Verb.measure: _step,
    Verb.done: _step,
    Verb.skip: _step,
    Verb.morning: _morning_button,
    Verb.weekly: _weekly_button,
    Verb.chart: _chart_button,
    Verb.report: _report_button,
    Verb.medicine: _medicine_button,
    Verb.ferritin_undo: _ferritin_undo,
}


async def diary_button(update: Update, context: Context) -> None:
    """Every diary button, routed by its verb; forged or old data get a polite answer."""
    query = query_of(update)
    action = actions.parse(query.data or "")
    if action is None or query.message is None:
        from bot.tg.routing import on_button  # the one place that answers stale, forged and inline taps

        await on_button(update, context)
        return
    await ROUTES[action.verb](update, context, action)


# -- the two delivery kinds -----------------------------------------------------------------------


class DiaryDeliveries:
    """What the dispatcher sends for the diary kinds, each in the language its chat chose in
    /settings (else English); each returns the send's Outcome."""

    def __init__(
        self,
        bot: Bot,
        diary: DiaryService,
        texts: Mapping[str, DiaryReplies],
        renderer: Renderer,
        language_of: Callable[[int], Awaitable[str]] | None = None,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.bot, self.diary, self.renderer = bot, diary, renderer
        self.all_texts, self.language_of = texts, language_of
        self.read_timeout = read_timeout

    async def _texts(self, chat_id: int) -> DiaryReplies:
        language = await self.language_of(chat_id) if self.language_of else ENGLISH
        return self.all_texts.get(language, self.all_texts[ENGLISH])

    async def checkin(self, delivery: Delivery) -> Outcome:
        texts = await self._texts(delivery.chat_id)
        zone = await self.diary.zone(delivery.chat_id)
        night = await self.diary.night(delivery.chat_id, night_of(delivery.slot_at, zone))
        reply = texts.ask_score(night)
        return await attempt(
            self.bot.send_message(
                delivery.chat_id, reply.html, reply_markup=keyboard(reply), read_timeout=self.read_timeout
            )
        )

    async def weekly(self, delivery: Delivery) -> Outcome:
        texts = await self._texts(delivery.chat_id)
        zone = await self.diary.zone(delivery.chat_id)
        last = night_of(delivery.slot_at, zone)
        nights = await self.diary.nights(delivery.chat_id, last - timedelta(days=13), last)
        caption = texts.weekly_caption(weekly_lines(nights[7:], nights[:7]))
        if not any(n.noted for n in nights[7:]):
            return await attempt(self.bot.send_message(delivery.chat_id, caption, read_timeout=self.read_timeout))
        png = await self.renderer.chart(nights, texts.names)
        return await attempt(
            self.bot.send_photo(
                delivery.chat_id,
                InputFile(png, filename="week.png"),
                caption=caption,
                read_timeout=self.read_timeout,
                write_timeout=self.read_timeout,
            )
        )


async def purge_old_entries(context: Context) -> None:
    """The retention job: diary data older than DIARY_RETENTION_DAYS is deleted."""
    deleted = await diary_of(context).purge()
    if deleted:
        log.info("diary retention: deleted %d old rows", deleted)


def handlers() -> list[BaseHandler]:
    message = filters.UpdateType.MESSAGE
    return [
        CommandHandler("checkin", checkin_command, filters=message),
        CommandHandler("morning", morning_command, filters=message),
        CommandHandler("weekly", weekly_command, filters=message),
        CommandHandler("diary", diary_command, filters=message),
        CommandHandler("report", report_command, filters=message),
        CommandHandler("ferritin", ferritin_command, filters=message),
        CommandHandler("meds", meds_command, filters=message),
        CallbackQueryHandler(diary_button, pattern=rf"^{actions.PREFIX}:"),
    ]
