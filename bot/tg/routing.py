"""Which handler takes which update: routing tables instead of if/elif chains.

- Buttons: the data is decoded once (bot.callbacks) and the decoded type picks the handler from
  `BUTTONS`. The checks every button needs happen here, once: a button under an inline message
  has no chat to answer in, and one that changes or shows a person's data (reminders, /forget)
  gets a short toast in a group instead of acting for whoever tapped it.
- Typed text in a private chat: a /remind waiting for an answer (its step is in the database)
  takes it through `STEPS`; otherwise it is a question. Danger is answered before the database is
  asked anything, and a database that does not answer in time only means "no flow".
- Commands in `PRIVATE_COMMANDS` (/settings among them) get a one-line pointer to the private
  chat when sent in a group; group chatter reaches only the question handler, and only when
  addressed to the bot.
- Inline queries ("@bot magnesium foods" in any chat) go to bot.tg.inline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import callbacks as cb
from bot.conversations import RemindDraft, RemindStep
from bot.replies import Reply
from bot.tg import account, handlers, inline, reminders, settings
from bot.tg.language import responder_for
from bot.tg.updates import ButtonHandler, CommandCallback, chat_id_of, message_of, query_of, text_of
from bot.understanding import Intent
from bot.understanding.classifier import remember

Context = ContextTypes.DEFAULT_TYPE


def responder_clock(context: Context):
    """The clock the services run on (tests inject one); the follow-up window is measured by it."""
    return reminders.service_of(context).clock


StepHandler = Callable[[Update, Context, RemindDraft, Reply], Awaitable[None]]


async def stale_button(update: Update, context: Context, pressed: cb.Stale) -> None:
    """Data no current button sends: say so in the words of the part it seemed to belong to."""
    if pressed.seen is cb.Family.reminders:
        await reminders.stale_reminder(update, context)
    else:
        reply = (await responder_for(update, context)).stale_button_reply()
        await handlers.send_to(context.bot, chat_id_of(update), reply)


BUTTONS: dict[type[cb.Callback], ButtonHandler] = {
    cb.ShowMenu: handlers.show_menu,
    cb.ShowTopic: handlers.show_topic,
    cb.ShowSources: handlers.show_sources,
    cb.PickTime: reminders.time_button,
    cb.ChangeTime: reminders.change_time,
    cb.ChangeZone: reminders.change_zone,
    cb.ShowSettings: reminders.show_settings,
    cb.Pause: reminders.pause,
    cb.Resume: reminders.resume,
    cb.Stop: reminders.stop,
    cb.SkipTonight: reminders.skip_tonight,
    cb.ChooseTips: reminders.choose_tips,
    cb.ToggleMeasure: reminders.toggle_measure,
    cb.TipDone: reminders.tip_done,
    cb.TipSnooze: reminders.tip_snooze,
    cb.TipSkip: reminders.tip_skip,
    cb.ForgetYes: reminders.forget_yes,
    cb.ForgetNo: reminders.forget_no,
    cb.Stale: stale_button,
    **settings.BUTTONS,
}

STEPS: dict[RemindStep, StepHandler] = {
    RemindStep.ask_time: reminders.time_typed,
    RemindStep.ask_zone: reminders.zone_typed,
}

PRIVATE_COMMANDS: dict[str, CommandCallback] = {
    "remind": reminders.remind_command,
    "reminders": reminders.reminders_command,
    "stop": reminders.stop_command,
    "cancel": reminders.cancel,
    "forget": reminders.forget_command,
    "mydata": account.my_data,
    "settings": settings.settings_command,
}


async def on_button(update: Update, context: Context) -> None:
    """Every pressed button: answered exactly once, with a toast where it cannot act."""
    query = query_of(update)
    pressed = cb.decode(query.data)
    if query.message is None:  # under an inline message: no chat to answer in
        await query.answer((await responder_for(update, context)).messages.notices.inline_toast)
        return
    if pressed.private_only and query.message.chat.type != ChatType.PRIVATE:
        await query.answer((await responder_for(update, context)).messages.notices.private_only_toast)
        return
    await query.answer()
    await BUTTONS[type(pressed)](update, context, pressed)


async def private_text(update: Update, context: Context) -> None:
    """Typed text in a private chat: an answer to the flow's question, or a question, read with
    the chat's previous question when it is a follow-up ("and citrate?")."""
    chat_id, text = chat_id_of(update), text_of(update)
    urgent = handlers.responder_of(context)  # urgent care comes from safety.yaml, in no catalogue
    now = responder_clock(context)()
    alone = urgent.classifier.classify(text, now=now)
    if alone.intent is Intent.emergency and not alone.caution:  # before any database work; ends any flow
        await handlers.answer(update, context, urgent.reply_to(text, alone))
        await reminders.end_flow_quietly(context, chat_id)
        await reminders.remember_question(context, chat_id, remember(alone, text, now, None))
        return
    responder = await responder_for(update, context)  # with one language, no database read
    draft = await reminders.current_flow(context, chat_id)
    if draft is not None:
        await STEPS[draft.step](update, context, draft, responder.reply_to(text, alone))
        return
    previous = await reminders.last_question(context, chat_id)
    found = responder.classifier.classify(text, previous, now) if previous else alone
    if found.intent is Intent.reminders:
        await reminders.reminder_text(update, context)
        return
    kept = remember(found, text, now, previous)
    if kept is not previous:  # stored first: the next message may reach another process at once
        await reminders.remember_question(context, chat_id, kept)
    await handlers.answer(update, context, responder.reply_to(text, found))


async def private_location(update: Update, context: Context) -> None:
    """A shared location answers the flow's zone question; otherwise it is just not text."""
    draft = await reminders.current_flow(context, chat_id_of(update))
    if draft is not None and draft.step is RemindStep.ask_zone:
        await reminders.zone_shared(update, context, draft)
    else:
        await handlers.non_text_message(update, context)


def _private_only(callback: CommandCallback) -> CommandCallback:
    async def guarded(update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is not None and chat.type == ChatType.PRIVATE:
            await callback(update, context)
        elif chat is not None:
            notices = (await responder_for(update, context)).messages.notices
            await handlers.send(message_of(update), Reply(Intent.reminders, notices.private_only))

    guarded.__name__ = guarded.__qualname__ = f"private_only_{callback.__name__}"
    return guarded


def all_handlers() -> list[BaseHandler]:
    """Every handler of the bot, in the order PTB tries them."""
    message = filters.UpdateType.MESSAGE  # edited messages are not answered twice
    private = filters.ChatType.PRIVATE
    text = message & filters.TEXT & ~filters.COMMAND
    return [
        *(CommandHandler(name, _private_only(run), filters=message) for name, run in PRIVATE_COMMANDS.items()),
        CommandHandler("start", handlers.start, filters=message),
        CommandHandler("help", handlers.help_command, filters=message),
        CommandHandler("topics", handlers.topics, filters=message),
        CommandHandler("privacy", handlers.privacy, filters=message),
        CommandHandler("stats", account.stats, filters=message),
        CallbackQueryHandler(on_button),
        MessageHandler(text & private, private_text),
        MessageHandler(text & ~private, handlers.group_text),
        MessageHandler(message & filters.LOCATION & private, private_location),
        MessageHandler(message & filters.COMMAND, handlers.unknown_command),
        MessageHandler(message & ~filters.TEXT & ~filters.StatusUpdate.ALL, handlers.non_text_message),
        ChatMemberHandler(reminders.chat_member_changed, ChatMemberHandler.MY_CHAT_MEMBER),
        InlineQueryHandler(inline.inline_query),
    ]
