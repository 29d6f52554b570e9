"""Answers to share into any chat ("@bot magnesium foods"), from the same understanding as a
private question, with no Telegram types.

A shared answer travels without the bot around it, so each one carries its own sources and the
disclaimer line. Danger is checked first, as everywhere: a query the safety layer reads as
danger, even only possibly, offers the urgent-care text and nothing else.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.replies import Responder, to_plain, topic_html
from bot.understanding import Intent

MAX_RESULTS = 5
BROWSE_RESULTS = 8  # an empty query offers the first topics of the menu
DESCRIPTION_CHARS = 100


@dataclass(frozen=True)
class Shareable:
    """One result: `key` is unique within the list, `topic` is None for urgent care."""

    key: str
    title: str
    description: str
    html: str
    topic: str | None = None


def _describe(text: str) -> str:
    plain = " ".join(to_plain(text).split())
    return plain if len(plain) <= DESCRIPTION_CHARS else plain[: DESCRIPTION_CHARS - 1].rstrip() + "…"


class InlineAnswers:
    def __init__(self, responder: Responder) -> None:
        self.responder = responder

    def topic(self, topic_id: str) -> Shareable:
        content, messages = self.responder.content, self.responder.messages
        topic = content.topics[topic_id]
        header = messages.sources_header.strip().replace("{title}", html.escape(topic.title))
        links = [f'• <a href="{html.escape(s.url, quote=True)}">{html.escape(s.name)}</a>' for s in topic.sources]
        body = "\n\n".join(
            [topic_html(content, topic, messages), "\n".join([header, *links]), messages.disclaimer.strip()]
        )
        return Shareable(topic.id, topic.title, _describe(topic.answer), body, topic.id)

    def for_query(self, query: str) -> list[Shareable]:
        """What to offer for `query`: urgent care alone, matching topics, or nothing."""
        query = query.strip()
        responder = self.responder
        if not query:
            return [self.topic(t.id) for t in responder.content.menu()[:BROWSE_RESULTS]]
        found = responder.classifier.classify(query)
        if found.intent is Intent.emergency:
            urgent = responder.urgent_reply(found.rule)
            texts = responder.messages.inline
            return [Shareable("urgent", texts.urgent_title, texts.urgent_description, urgent.html)]
        if found.intent is not Intent.topic or found.topic is None:
            return []
        topics = dict.fromkeys([found.topic, *found.alternatives])
        return [self.topic(t) for t in topics if t in responder.content.topics][:MAX_RESULTS]
