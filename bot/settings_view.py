"""/settings as Replies (HTML and buttons), no Telegram types: one message with a page per part.

Every button of these pages edits the settings message itself (bot/tg/settings.py), so the
chat keeps one settings message however much is changed. The values shown come from the
reminder and diary services; nothing here decides or stores anything.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot import callbacks as cb
from bot.diary.replies import MORNING_CHOICES, WEEKDAYS
from bot.diary.service import DiarySettings
from bot.knowledge.schema import Content, Messages
from bot.reminders.replies import TIME_CHOICES, switch
from bot.reminders.schedule import format_minute
from bot.reminders.service import ReminderSettings
from bot.replies import Button, Reply, button_rows, plain_label
from bot.storage.models import Status
from bot.understanding import Intent


def _b(label: str, callback: cb.Callback) -> Button:
    return Button(label, cb.encode(callback))


def _fill(text: str, **values: str) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


class SettingsReplies:
    """The pages of /settings in one language."""

    def __init__(self, content: Content, messages: Messages) -> None:
        self.texts = messages.settings
        self.labels = messages.buttons
        self.tips = content.tips
        self.names = {code: content.messages_in(code).language_name for code in content.languages}

    def _reply(self, text: str, rows: Sequence[tuple[Button, ...]]) -> Reply:
        return Reply(Intent.reminders, text, None, tuple(rows))

    def _back(self) -> tuple[Button, ...]:
        return (_b(self.labels.settings_back, cb.OpenSettings()),)

    # -- what each part says in one line -------------------------------------------------------

    def reminders_status(self, reminder: ReminderSettings | None) -> str:
        if reminder is None or reminder.status == Status.stopped:
            return self.texts.status_off
        text = self.texts.status_on if reminder.status == Status.active else self.texts.status_paused
        return _fill(text, time=format_minute(reminder.minute), zone=html.escape(reminder.zone))

    def morning_status(self, diary: DiarySettings | None) -> str:
        if diary is None or diary.checkin_minute is None:
            return self.texts.status_off
        return _fill(self.texts.status_on, time=format_minute(diary.checkin_minute), zone=html.escape(diary.zone or ""))

    def weekly_status(self, diary: DiarySettings | None) -> str:
        if diary is None or diary.weekly_day is None:
            return self.texts.status_off
        return _fill(self.texts.weekly_on, day=WEEKDAYS[diary.weekly_day], zone=html.escape(diary.zone or ""))

    # -- the pages ------------------------------------------------------------------------------

    def main(self, reminder: ReminderSettings | None, diary: DiarySettings | None, language: str) -> Reply:
        text = _fill(
            self.texts.main,
            reminders=self.reminders_status(reminder),
            morning=self.morning_status(diary),
            weekly=self.weekly_status(diary),
            language=html.escape(self.names.get(language, language)),
        )
        page = cb.SettingsPage
        rows = [
            (
                _b(self.labels.settings_reminders, page(cb.Page.reminders)),
                _b(self.labels.settings_diary, page(cb.Page.diary)),
            ),
            (
                _b(self.labels.settings_language, page(cb.Page.language)),
                _b(self.labels.settings_privacy, page(cb.Page.privacy)),
            ),
        ]
        return self._reply(text, rows)

    def reminders(self, reminder: ReminderSettings | None) -> Reply:
        """Times (tap one to set it), the kinds of tips, pause or resume, the zone."""
        chosen = reminder.measures if reminder else frozenset()
        measures = [plain_label(m.label) for m in self.tips.measures if not chosen or m.id in chosen]
        text = _fill(
            self.texts.reminders,
            reminders=self.reminders_status(reminder),
            measures=html.escape(", ".join(measures)) if chosen else self.texts.all_measures,
        )
        times = [_b(format_minute(m), cb.SettingsTime(m)) for m in TIME_CHOICES]
        rows = list(button_rows(times, 4))
        if reminder is not None and reminder.status != Status.stopped:
            toggles = [
                _b(switch(self.labels, plain_label(m.label), not chosen or m.id in chosen), cb.SettingsMeasure(m.id))
                for m in self.tips.measures
            ]
            rows += button_rows(toggles, 2)
            pause = self.labels.settings_pause if reminder.status == Status.active else self.labels.settings_resume
            rows.append((_b(pause, cb.SettingsPause()), _b(self.labels.settings_zone, cb.SettingsZone())))
        else:
            rows.append((_b(self.labels.settings_zone, cb.SettingsZone()),))
        rows.append(self._back())
        return self._reply(text, rows)

    def diary(self, diary: DiarySettings | None, zone_known: bool) -> Reply:
        """Morning check-in times and weekly summary days, each with Off."""
        text = _fill(self.texts.diary, morning=self.morning_status(diary), weekly=self.weekly_status(diary))
        if not zone_known:
            text += "\n\n" + self.texts.diary_needs_zone
        rows: list[tuple[Button, ...]] = []
        if zone_known:
            rows += button_rows([_b(format_minute(m), cb.SettingsMorning(m)) for m in MORNING_CHOICES], 4)
            rows.append((_b(self.labels.morning_off, cb.SettingsMorningOff()),))
        days = [_b(name[:3], cb.SettingsWeekly(i)) for i, name in enumerate(WEEKDAYS)]
        rows += [tuple(days[:4]), (*days[4:], _b(self.labels.weekly_off, cb.SettingsWeeklyOff()))]
        rows.append(self._back())
        return self._reply(text, rows)

    def language(self, current: str) -> Reply:
        text = _fill(self.texts.language, language=html.escape(self.names.get(current, current)))
        choices = [
            _b(f"{name} ✓" if code == current else name, cb.SettingsLanguage(code)) for code, name in self.names.items()
        ]
        return self._reply(text, [*button_rows(choices, 2), self._back()])

    def privacy(self) -> Reply:
        rows = [
            (_b(self.labels.my_data, cb.SettingsMyData()), _b(self.labels.forget, cb.SettingsForget())),
            self._back(),
        ]
        return self._reply(self.texts.privacy, rows)
