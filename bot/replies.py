"""Turns an interpretation into what the user sees: HTML text plus buttons, with no Telegram types.

The Telegram adapter renders `Reply` as a message with an inline keyboard; the command line
prints `Reply.text`. Both therefore show the same words.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime

from bot.knowledge.schema import ENGLISH, Content, Messages, Topic
from bot.understanding import Classifier, Context, Intent, Interpretation
from bot.understanding.classifier import MAX_READ_CHARS

MENU_COLUMNS = 2
RELAXING_TOPICS = ("lifestyle", "relief-now", "sleep-routine", "exercise", "caffeine-alcohol")
SMALLTALK_WITH_MENU = {"greeting", "about-bot", "feedback"}  # these get a few suggested topics and "Topics"
SUGGESTED_TOPICS = 3  # how many topics a greeting or a refusal suggests; /topics shows them all


@dataclass(frozen=True)
class Button:
    """A button the user can press; `action` is short enough for Telegram callback data."""

    label: str
    action: str


def show_topic(topic_id: str) -> str:
    return f"t:{topic_id}"


def show_sources(topic_id: str) -> str:
    return f"s:{topic_id}"


SHOW_MENU = "m"


def parse_action(data: str) -> tuple[str, str | None]:
    """('topic'|'sources'|'menu'|'unknown', topic id) for callback data, forged data included."""
    if data == SHOW_MENU:
        return "menu", None
    kind, _, value = data.partition(":")
    if kind == "t" and value:
        return "topic", value
    if kind == "s" and value:
        return "sources", value
    return "unknown", None


_EDGE_SYMBOLS = re.compile(r"^[^\w(]+|[^\w)]+$")


def plain_label(label: str) -> str:
    """A button label without its emoji: charts and PDFs use fonts without emoji, and a ticked
    button's state is said in words around it."""
    return _EDGE_SYMBOLS.sub("", label).strip()


_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r'<a href="([^"]+)">(.*?)</a>')


def to_plain(markup: str) -> str:
    """Telegram HTML as plain text: links keep their address, tags go, entities decode."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", markup)
    return html.unescape(_TAG.sub("", text)).strip()


@dataclass(frozen=True)
class Reply:
    intent: Intent
    html: str
    topic: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    rule: str | None = None  # which safety rule an emergency reply answers, for metrics
    confident: bool = True  # False: the understanding was unsure (a flow's answer may be meant)

    @property
    def text(self) -> str:
        return to_plain(self.html)

    def plain(self) -> str:
        """The text as the command line shows it; where the buttons are a menu, their labels too."""
        if self.intent is Intent.topic or not self.buttons:
            return self.text
        labels = " · ".join(b.label for row in self.buttons for b in row)
        return f"{self.text}\n{labels}"


def topic_html(content: Content, topic: Topic, messages: Messages | None = None) -> str:
    """A topic as sent: title, answer, and one line with the evidence (and the supplement note)."""
    messages = messages or content.messages
    evidence = f"<i>{html.escape(messages.evidence_labels[topic.evidence])}</i>"
    note = f" {messages.supplement_note.strip()}" if topic.supplement else ""
    return "\n\n".join([f"<b>{html.escape(topic.title)}</b>", topic.answer.strip(), evidence + note])


def button_rows(buttons: list[Button], columns: int = MENU_COLUMNS) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + columns]) for i in range(0, len(buttons), columns))


class Responder:
    """The bot's whole conversational behaviour, usable from Telegram, the CLI or tests."""

    def __init__(self, content: Content, classifier: Classifier | None = None, language: str | None = None) -> None:
        self.content = content
        self.messages = content.messages_in(language)
        self.language = language if language in content.locales else ENGLISH
        self.classifier = classifier or Classifier(content)
        self._others: dict[str, Responder] = {self.language: self}
        self._urgent_marks = [to_plain(r.reply).splitlines()[0][:60] for r in content.safety.rules]

    def in_language(self, language: str) -> Responder:
        """The same behaviour with the texts of `language` (English where it has none); the
        classifier is shared, topic answers stay English until content has translations."""
        if language not in self._others:
            self._others[language] = Responder(self.content, self.classifier, language)
            self._others[language]._others = self._others
        return self._others[language]

    # -- building blocks -------------------------------------------------------------------

    @property
    def topics_button(self) -> Button:
        return Button(self.messages.buttons.topics, SHOW_MENU)

    @property
    def all_topics_button(self) -> Button:
        return Button(self.messages.buttons.all_topics, SHOW_MENU)

    def menu_buttons(self, topics: list[Topic] | None = None) -> tuple[tuple[Button, ...], ...]:
        chosen = topics if topics is not None else self.content.menu()
        return button_rows([Button(t.title, show_topic(t.id)) for t in chosen])

    def short_menu(self) -> tuple[tuple[Button, ...], ...]:
        """A few topics to start with and the way to all of them: not a whole menu per message."""
        return (*self.menu_buttons(self.content.menu()[:SUGGESTED_TOPICS]), (self.topics_button,))

    def topic_reply(self, topic_id: str) -> Reply | None:
        topic = self.content.topics.get(topic_id)
        if topic is None:
            return None
        related = [self.content.topics[r] for r in topic.related]
        buttons: list[tuple[Button, ...]] = [(Button(self.messages.buttons.sources, show_sources(topic.id)),)]
        buttons += list(button_rows([Button(t.title, show_topic(t.id)) for t in related]))
        buttons.append((self.all_topics_button,))
        return Reply(Intent.topic, topic_html(self.content, topic, self.messages), topic.id, tuple(buttons))

    def sources_reply(self, topic_id: str) -> Reply | None:
        topic = self.content.topics.get(topic_id)
        if topic is None:
            return None
        header = self.messages.sources_header.strip().replace("{title}", html.escape(topic.title))
        lines = [header, html.escape(self.messages.evidence_labels[topic.evidence]), ""]
        for source in topic.sources:
            lines.append(f'• <a href="{html.escape(source.url, quote=True)}">{html.escape(source.name)}</a>')
        back = self.messages.buttons.back_to.replace("{title}", topic.title)
        buttons = ((Button(back, show_topic(topic.id)), self.all_topics_button),)
        return Reply(Intent.topic, "\n".join(lines), topic.id, buttons)

    def menu_reply(self) -> Reply:
        return Reply(Intent.smalltalk, self.messages.topics_header.strip(), None, self.menu_buttons())

    def welcome_reply(self, first_name: str | None = None, *, menu: bool = True, unknown_link: bool = False) -> Reply:
        """The welcome with the whole topic menu; without it when a deep link's topic follows,
        with a line about the link when the link named no topic."""
        name = f", {html.escape(first_name)}" if first_name else ""
        parts = [self.messages.welcome.strip().replace("{name}", name), self.messages.disclaimer.strip()]
        if unknown_link:
            parts.append(self.messages.unknown_link.strip())
        return Reply(Intent.smalltalk, "\n\n".join(parts), None, self.menu_buttons() if menu else ())

    def help_reply(self) -> Reply:
        return Reply(Intent.smalltalk, self.messages.help.strip(), None, ((self.all_topics_button,),))

    def privacy_reply(self) -> Reply:
        return Reply(Intent.smalltalk, self.messages.privacy.strip())

    def non_text_reply(self) -> Reply:
        return Reply(Intent.out_of_scope, self.messages.non_text.strip())

    def error_reply(self) -> Reply:
        return Reply(Intent.out_of_scope, self.messages.error.strip())

    def stale_button_reply(self) -> Reply:
        return Reply(
            Intent.out_of_scope,
            self.messages.stale_button.strip(),
            None,
            self.short_menu(),
        )

    # -- free text -------------------------------------------------------------------------

    def holds_urgent_care(self, shown_text: str) -> bool:
        """Whether a message as Telegram shows it (plain text) carries urgent-care advice: such a
        message is never edited into something else, whatever button under it is pressed."""
        return any(mark in shown_text for mark in self._urgent_marks)

    def urgent_reply(self, rule_id: str | None) -> Reply:
        """A safety rule's urgent-care text and nothing else that could distract."""
        rule = next((r for r in self.content.safety.rules if r.id == rule_id), self.content.safety.rules[0])
        return Reply(Intent.emergency, rule.reply.strip(), rule=rule.id)  # nothing else that could distract

    def _answer(self, found: Interpretation) -> Reply:
        """A topic answer, as sure as the understanding was."""
        reply = self.topic_reply(found.topic or "")
        if reply is None:
            return self._out_of_scope()
        if found.alternatives and not found.confident:
            options = [self.content.topics[t] for t in (found.topic, *found.alternatives) if t in self.content.topics]
            buttons = button_rows([Button(t.title, show_topic(t.id)) for t in options])
            clarify = self.messages.clarify.strip()
            return Reply(Intent.topic, clarify, found.topic, (*buttons, (self.topics_button,)), confident=False)
        html_text, buttons = reply.html, reply.buttons
        if found.alternatives:
            others = [self.content.topics[t] for t in found.alternatives if t in self.content.topics]
            buttons = ((*(Button(t.title, show_topic(t.id)) for t in others),), *buttons)
            html_text += "\n\n" + self.messages.did_you_mean.strip()
        if not found.confident:
            html_text += "\n\n" + self.messages.safety_line.strip()
        return Reply(Intent.topic, html_text, reply.topic, buttons, confident=found.confident)

    def _reminders(self) -> Reply:
        """What the evening reminders are and the commands that set, change and stop them."""
        relaxing = [self.content.topics[t] for t in RELAXING_TOPICS if t in self.content.topics]
        return Reply(Intent.reminders, self.messages.reminders_coming.strip(), None, self.menu_buttons(relaxing))

    def _out_of_scope(self) -> Reply:
        return Reply(Intent.out_of_scope, self.messages.out_of_scope.strip(), None, ((self.topics_button,),))

    def for_interpretation(self, found: Interpretation) -> Reply:
        if found.intent is Intent.emergency and not found.caution:
            return self.urgent_reply(found.rule)
        if found.intent is Intent.emergency:  # danger was possible: urgent care first, then the answer
            urgent = self.urgent_reply(found.rule)
            if found.also is Intent.reminders:
                rest = self._reminders()
            else:
                rest = self._answer(found) if found.topic else self._out_of_scope()
            body = f"{urgent.html}\n\n{self.messages.caution_divider.strip()}\n\n{rest.html}"
            return Reply(Intent.emergency, body, found.topic, rest.buttons, rule=urgent.rule)
        if found.intent is Intent.topic and found.topic:
            return self._answer(found)
        if found.intent is Intent.smalltalk:
            kind = next((k for k in self.content.smalltalk.kinds if k.id == found.rule), None)
            text = kind.reply.strip() if kind else self.messages.help.strip()
            buttons = self.short_menu() if found.rule in SMALLTALK_WITH_MENU else ()
            return Reply(Intent.smalltalk, text, None, buttons)
        if found.intent is Intent.reminders:
            return self._reminders()
        if found.rule == "empty":
            return Reply(Intent.out_of_scope, self.messages.empty.strip(), None, ())
        if found.rule == "other-language":
            return Reply(Intent.out_of_scope, self.messages.other_language.strip(), None, ((self.topics_button,),))
        return self._out_of_scope()

    def answer(self, message: str, context: Context | None = None, now: datetime | None = None) -> Reply:
        return self.reply_to(message, self.classifier.classify(message, context, now))

    def reply_to(self, message: str, found: Interpretation) -> Reply:
        """The reply to `message` as `found` understood it (a note when only its start was read)."""
        reply = self.for_interpretation(found)
        if len(message) > MAX_READ_CHARS and reply.intent is not Intent.emergency:
            note = self.messages.too_long.strip()
            return Reply(reply.intent, f"{note}\n\n{reply.html}", reply.topic, reply.buttons)
        return reply
