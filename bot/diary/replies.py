"""Diary messages as Replies (HTML and buttons), shared by Telegram and the tests.

The check-in is one message edited in place: score, then when symptoms started, then the
measures tried, then what was saved. Every step has a Skip button.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date, datetime

from bot.diary.actions import Action, Verb
from bot.diary.analysis import Association, OnsetShift
from bot.diary.medicines import CLASSES, Medicines
from bot.diary.nights import Night, Onset
from bot.diary.service import DiarySettings, Ferritin
from bot.diary.words import day, helps_lines, measure_names, shift_sentence
from bot.knowledge.schema import Content, Messages
from bot.reminders.replies import when
from bot.reminders.schedule import format_minute
from bot.replies import Button, Reply, button_rows, show_topic
from bot.understanding import Intent

MORNING_CHOICES = (6 * 60, 6 * 60 + 30, 7 * 60, 7 * 60 + 30, 8 * 60, 8 * 60 + 30, 9 * 60, 10 * 60)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CAPTION_CHARS = 1000  # Telegram allows 1024 characters in a caption, entities included
ONSET_CHOICES = (Onset.before_6pm, Onset.six_to_nine, Onset.nine_to_midnight, Onset.after_midnight, Onset.none)


def _b(label: str, verb: Verb, value: str = "", night: date | None = None) -> Button:
    return Button(label, Action(verb, value, night).encode())


class DiaryReplies:
    """The diary texts of one language (`messages`; English by default)."""

    def __init__(self, content: Content, messages: Messages | None = None) -> None:
        messages = messages or content.messages
        self.texts = messages.diary
        self.labels = messages.buttons.diary
        self.marks = messages.buttons
        self._titles = {t.id: t.title for t in content.topics.values()}
        self.names = {**measure_names(content.tips), **self.texts.measure_names}
        self.measures = [m.id for m in content.tips.measures]

    def _fill(self, text: str, **values: str) -> str:
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        return text

    def _reply(self, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> Reply:
        return Reply(Intent.reminders, text, None, buttons)

    def _ticked(self, label: str, on: bool) -> str:
        """A tickable button says its state in words ("Warm bath: yes ✅"), not in an emoji alone."""
        return (self.marks.ticked if on else self.marks.unticked).replace("{label}", label)

    def _chosen(self, label: str, on: bool) -> str:
        return self.marks.chosen.replace("{label}", label) if on else label

    def _topic(self, topic_id: str) -> Button:
        """A button to a topic of the content, under its own title."""
        return Button(self._titles[topic_id], show_topic(topic_id))

    # -- the check-in ------------------------------------------------------------------------

    def ask_score(self, night: Night) -> Reply:
        marks = [_b(self._chosen(str(s), night.score == s), Verb.score, str(s), night.night) for s in range(11)]
        rows = (tuple(marks[:6]), tuple(marks[6:]), (_b(self.labels.skip, Verb.skip, "s", night.night),))
        return self._reply(self._fill(self.texts.ask_score, night=day(night.night)), rows)

    def _score(self, night: Night) -> str:
        return "no score" if night.score is None else f"{night.score} out of 10"

    def ask_onset(self, night: Night) -> Reply:
        buttons = [
            _b(self._chosen(o.label.capitalize(), night.onset is o), Verb.onset, o.value, night.night)
            for o in ONSET_CHOICES
        ]
        rows = (*button_rows(buttons, 2), (_b(self.labels.skip, Verb.skip, "o", night.night),))
        text = self._fill(self.texts.ask_onset, night=day(night.night), score=self._score(night))
        return self._reply(text, rows)

    def ask_measures(self, night: Night) -> Reply:
        buttons = []
        for m in self.measures:
            name = self.marks.from_tip.replace("{label}", self.names[m]) if m in night.from_tips else self.names[m]
            buttons.append(_b(self._ticked(name, m in night.tried), Verb.measure, m, night.night))
        rows = (
            *button_rows(buttons, 2),
            (_b(self.labels.done, Verb.done, "", night.night), _b(self.labels.skip, Verb.skip, "m", night.night)),
        )
        text = self._fill(self.texts.ask_measures, night=day(night.night), score=self._score(night))
        return self._reply(text, rows)

    def saved(self, night: Night, offer_morning: bool) -> Reply:
        details = [f"Score: {self._score(night)}"]
        details.append(f"Started: {night.onset.label}" if night.onset else "Started: not noted")
        tried = [self.names[m] for m in self.measures if m in night.tried]
        details.append("Tried: " + (", ".join(tried).lower().capitalize() if tried else "nothing noted"))
        text = self._fill(self.texts.saved, night=day(night.night), details=html.escape("\n".join(details)))
        if not offer_morning:
            return self._reply(text)
        times = [_b(format_minute(m), Verb.morning, str(m)) for m in MORNING_CHOICES[1:6]]
        return self._reply(f"{text}\n\n{self.texts.offer_morning}", button_rows(times, 5))

    def stale(self) -> Reply:
        return self._reply(self.texts.stale, ((_b(self.labels.check_in, Verb.checkin),),))

    def private_only(self) -> Reply:
        return self._reply(self.texts.private_only)

    # -- morning and weekly ------------------------------------------------------------------

    def morning_pick(self, zone: str) -> Reply:
        times = [_b(format_minute(m), Verb.morning, str(m)) for m in MORNING_CHOICES]
        rows = (*button_rows(times, 4), (_b(self.labels.off, Verb.morning, "off"),))
        return self._reply(self._fill(self.texts.morning_pick, zone=html.escape(zone)), rows)

    def morning_ask_zone(self) -> Reply:
        return self._reply(self.texts.morning_ask_zone)

    def morning_set(self, settings: DiarySettings, now: datetime) -> Reply:
        assert settings.checkin_minute is not None and settings.zone is not None
        text = self._fill(
            self.texts.morning_set,
            time=format_minute(settings.checkin_minute),
            zone=html.escape(settings.zone),
            next=when(settings.checkin_due_at, settings.zone, now),
        )
        return self._reply(text)

    def morning_off(self) -> Reply:
        return self._reply(self.texts.morning_off)

    def morning_bad(self) -> Reply:
        return self._reply(self.texts.morning_bad)

    def weekly_pick(self, zone: str) -> Reply:
        days = [_b(name[:3], Verb.weekly, str(i)) for i, name in enumerate(WEEKDAYS)]
        rows = (tuple(days[:4]), (*days[4:], _b(self.labels.off, Verb.weekly, "off")))
        return self._reply(self._fill(self.texts.weekly_pick, zone=html.escape(zone)), rows)

    def weekly_set(self, settings: DiarySettings, now: datetime) -> Reply:
        assert settings.weekly_day is not None and settings.zone is not None
        text = self._fill(
            self.texts.weekly_set,
            day=WEEKDAYS[settings.weekly_day],
            zone=html.escape(settings.zone),
            next=when(settings.weekly_due_at, settings.zone, now),
        )
        return self._reply(text)

    def weekly_off(self) -> Reply:
        return self._reply(self.texts.weekly_off)

    def weekly_bad(self) -> Reply:
        return self._reply(self.texts.weekly_bad)

    def weekly_caption(self, lines: Sequence[str]) -> str:
        return self.texts.weekly_header + "\n" + html.escape("\n".join(lines))

    # -- seeing it ---------------------------------------------------------------------------

    def empty(self) -> Reply:
        return self._reply(self.texts.empty, ((_b(self.labels.check_in, Verb.checkin),),))

    def chart_caption(self, sentences: Sequence[str]) -> str:
        return html.escape(" ".join(sentences)[:CAPTION_CHARS])  # cut before escaping: no half entities

    def chart_buttons(self) -> tuple[tuple[Button, ...], ...]:
        return (
            (_b(self.labels.nights_14, Verb.chart, "14"), _b(self.labels.nights_30, Verb.chart, "30")),
            (_b(self.labels.report_30, Verb.report, "30"), _b(self.labels.report_90, Verb.report, "90")),
        )

    def helps(self, found: Sequence[Association], nights: int) -> Reply:
        if not found:
            return self._reply(self.texts.helps_none)
        lines = "\n".join(f"• {html.escape(line)}" for line in helps_lines(found, self.names))
        header = self._fill(self.texts.helps_header, nights=str(nights))
        return self._reply(f"{header}\n{lines}\n\n{self.texts.helps_caveat}")

    def augmentation(self, shift: OnsetShift) -> Reply:
        text = self._fill(self.texts.augmentation, shift=html.escape(shift_sentence(shift)))
        return self._reply(text, ((self._topic("dependence-augmentation"),),))

    def report_caption(self, days: int) -> str:
        return self._fill(self.texts.report_caption, days=str(days))

    # -- ferritin and medicines --------------------------------------------------------------

    def ferritin_usage(self, results: Sequence[Ferritin]) -> Reply:
        if not results:
            return self._reply(self.texts.ferritin_usage)
        listed = "\n".join(f"• {r.tested_on:%d %b %Y}: {r.ng_ml:g} ng/mL" for r in results[-10:])
        text = self._fill(self.texts.ferritin_list, list=listed) + "\n\n" + self.texts.ferritin_usage
        return self._reply(text, ((_b(self.labels.remove_last, Verb.ferritin_undo),),))

    def ferritin_bad(self) -> Reply:
        return self._reply(self.texts.ferritin_bad)

    def ferritin_unit(self) -> Reply:
        return self._reply(self.texts.ferritin_unit)

    def ferritin_range(self, value: str) -> Reply:
        return self._reply(self._fill(self.texts.ferritin_range, value=html.escape(value)))

    def ferritin_saved(self, result: Ferritin) -> Reply:
        text = self._fill(self.texts.ferritin_saved, value=f"{result.ng_ml:g}", date=f"{result.tested_on:%d %b %Y}")
        rows = ((self._topic("iron"), _b(self.labels.undo, Verb.ferritin_undo)),)
        return self._reply(text, rows)

    def ferritin_removed(self) -> Reply:
        return self._reply(self.texts.ferritin_removed)

    def meds_ask(self, current: Medicines) -> Reply:
        buttons = [
            _b(self._ticked(label, key in current.classes), Verb.medicine, key) for key, label in CLASSES.items()
        ]
        done, clear = _b(self.labels.done, Verb.medicine, "done"), _b(self.labels.clear, Verb.medicine, "clear")
        rows = (*button_rows(buttons, 1), (done, clear))
        return self._reply(self.texts.meds_ask, rows)

    def meds_saved(self, medicines: Medicines) -> Reply:
        listed = medicines.labels() + ([medicines.note] if medicines.note else [])
        text = self._fill(self.texts.meds_saved, list=html.escape("; ".join(listed) or "nothing"))
        return self._reply(text, ((self._topic("medications"),),))

    def meds_cleared(self) -> Reply:
        return self._reply(self.texts.meds_cleared)
