"""Reminder messages as Replies (HTML + buttons), shared by Telegram, the CLI and tests."""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from bot import callbacks as cb
from bot.knowledge.schema import ButtonLabels, Content, Messages, Tip
from bot.reminders.schedule import format_minute, resolve_zone
from bot.reminders.service import ReminderSettings
from bot.replies import Button, Reply, button_rows, plain_label
from bot.storage.models import Status
from bot.understanding import Intent

TIME_CHOICES = (19 * 60, 20 * 60, 20 * 60 + 30, 21 * 60, 21 * 60 + 30, 22 * 60, 22 * 60 + 30, 23 * 60)


def _button(label: str, callback: cb.Callback) -> Button:
    return Button(label, cb.encode(callback))


def switch(labels: ButtonLabels, label: str, on: bool) -> str:
    """A kind of tip that is on or off, said in words ("Warm bath: on ✅"), not in an emoji alone."""
    return (labels.measure_on if on else labels.measure_off).replace("{label}", label)


def when(moment: datetime | None, zone: str, now: datetime) -> str:
    """'today at 21:30', 'tomorrow at 21:30' or 'Tue 3 Dec at 21:30', in the user's zone."""
    if moment is None:
        return "none scheduled"
    tz = resolve_zone(zone)
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return f"today at {clock}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow at {clock}"
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b')} at {clock}"


class ReminderReplies:
    """The reminder texts of one language (`messages`; English by default)."""

    def __init__(self, content: Content, messages: Messages | None = None) -> None:
        messages = messages or content.messages
        self.texts = messages.reminders
        self.buttons = messages.buttons.reminders
        self.notices = messages.notices
        self.marks = messages.buttons
        self.tips = content.tips
        self._labels = {m.id: m.label for m in content.tips.measures}

    def _fill(self, text: str, **values: str) -> str:
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        return text

    def ask_time(self) -> Reply:
        buttons = [_button(format_minute(m), cb.PickTime(m)) for m in TIME_CHOICES]
        return Reply(Intent.reminders, self.texts.ask_time, None, button_rows(buttons, 4))

    def ask_zone(self) -> Reply:
        return Reply(Intent.reminders, self.texts.ask_zone)

    def bad_time(self) -> Reply:
        return Reply(Intent.reminders, self.texts.bad_time)

    def bad_zone(self) -> Reply:
        return Reply(Intent.reminders, self.texts.bad_zone)

    def confirmed(self, settings: ReminderSettings, place: str, now: datetime) -> Reply:
        text = self._fill(
            self.texts.confirmed,
            time=format_minute(settings.minute),
            zone=html.escape(place),
            next=when(settings.next_due_at, settings.zone, now),
        )
        return Reply(Intent.reminders, text)

    def settings(self, settings: ReminderSettings | None, now: datetime) -> Reply:
        if settings is None:
            set_up = _button(self.buttons.set_up, cb.ShowSettings())
            return Reply(Intent.reminders, self.texts.no_reminders, None, ((set_up,),))
        status = {Status.active: "on ✅", Status.paused: "paused ⏸", Status.stopped: "off 🛑"}[settings.status]
        measures = ", ".join(self._labels[m] for m in self._labels if not settings.measures or m in settings.measures)
        text = self._fill(
            self.texts.settings,
            status=status,
            time=format_minute(settings.minute),
            zone=html.escape(settings.zone),
            next=when(settings.next_due_at, settings.zone, now),
            measures=measures,
        )
        labels = self.buttons
        rows: list[tuple[Button, ...]] = [
            (_button(labels.change_time, cb.ChangeTime()), _button(labels.change_zone, cb.ChangeZone()))
        ]
        if settings.status == Status.active:
            rows.append((_button(labels.pause, cb.Pause()), _button(labels.skip_tonight, cb.SkipTonight())))
        else:
            rows.append((_button(labels.resume, cb.Resume()),))
        rows.append((_button(labels.choose_tips, cb.ChooseTips()), _button(labels.stop, cb.Stop())))
        return Reply(Intent.reminders, text, None, tuple(rows))

    def measures(self, settings: ReminderSettings) -> Reply:
        buttons = [
            Button(
                switch(self.marks, plain_label(m.label), not settings.measures or m.id in settings.measures),
                cb.encode(cb.ToggleMeasure(m.id)),
            )
            for m in self.tips.measures
        ]
        rows = (*button_rows(buttons, 2), (_button(self.buttons.back, cb.ShowSettings()),))
        return Reply(Intent.reminders, self.texts.choose_measures, None, rows)

    def tip(self, tip: Tip, delivery_id: int) -> Reply:
        text = self._fill(self.texts.tip, title=tip.title, why=tip.why)
        labels = self.buttons
        rows = (
            (_button(labels.done, cb.TipDone(delivery_id)), _button(labels.snooze, cb.TipSnooze(delivery_id))),
            (_button(labels.skip_tonight, cb.TipSkip(delivery_id)), _button(labels.stop, cb.Stop())),
        )
        return Reply(Intent.reminders, text, None, rows)

    def stopped(self) -> Reply:
        return Reply(Intent.reminders, self.texts.stopped)

    def paused(self) -> Reply:
        return Reply(Intent.reminders, self.texts.paused)

    def snoozed(self, at: datetime, zone: str) -> Reply:
        local = at.astimezone(resolve_zone(zone)).strftime("%H:%M")
        return Reply(Intent.reminders, self._fill(self.texts.snoozed, time=local))

    def skipped(self, settings: ReminderSettings, now: datetime) -> Reply:
        return Reply(
            Intent.reminders, self._fill(self.texts.skipped, next=when(settings.next_due_at, settings.zone, now))
        )

    def done(self) -> Reply:
        return Reply(Intent.reminders, self.texts.done)

    def forget_confirm(self) -> Reply:
        rows = ((_button(self.buttons.delete_all, cb.ForgetYes()), _button(self.buttons.keep, cb.ForgetNo())),)
        return Reply(Intent.reminders, self.texts.forget_confirm, None, rows)

    def forgotten(self) -> Reply:
        return Reply(Intent.reminders, self.texts.forgotten)

    def forget_kept(self) -> Reply:
        return Reply(Intent.reminders, self.texts.forget_kept)

    def stale(self) -> Reply:
        return Reply(Intent.reminders, self.texts.stale)
