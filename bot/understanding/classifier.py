"""Decides what a message is: danger first, then reminders, small talk, and topics.

Every decision is made from content/ (topics, safety.yaml, scope.yaml, smalltalk.yaml),
so editors can correct the bot without touching code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from rapidfuzz import fuzz, process
from wordfreq import zipf_frequency

from bot.knowledge.schema import Content, Needs, SafetyRule
from bot.understanding.matcher import TopicIndex, TopicScore
from bot.understanding.signals import Signal, parse_alternatives
from bot.understanding.text import STOPWORDS, Speller, Words, phrase_stems, raw_tokens, stem

MAX_READ_CHARS = 2000  # the question is nearly always in the first lines of a long story
MIN_TOPIC_SCORE = 0.20  # below this nothing fits well enough to answer
SUBJECT_SPREAD = 4  # an anchor in examples of this many topics names the subject
CLOSE_EXAMPLE = 0.5  # similarity to an example question that counts as "asked like that"
FUNCTION_WORD_ZIPF = 5.6  # words this frequent in English ("each", "every", "people") name no subject
SMALLTALK_FILLER = frozenset(
    {
        "bot",
        "there",
        "so",
        "much",
        "again",
        "very",
        "please",
        "you",
        "guys",
        "mate",
        "buddy",
        "lol",
        "haha",
        "dear",
        "sir",
        "a",
        "real",
        "actually",
        "just",
        "really",
        "the",
    }
)
THANKS_EMOJI = set("👍🙏❤♥😊🙂👌💙💚💜")
NARRATIVE_DISCOUNT = 0.6  # a story's own description of symptoms and nights, when it asks something else
QUESTION_FOCUS = 0.6  # in a story with a question in it, how much the question itself counts
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")


class Intent(StrEnum):
    topic = "topic"
    emergency = "emergency"
    out_of_scope = "out_of_scope"
    smalltalk = "smalltalk"
    reminders = "reminders"


@dataclass(frozen=True)
class Interpretation:
    intent: Intent
    topic: str | None = None
    rule: str | None = None  # safety rule, smalltalk kind, or why it was out of scope
    score: float = 0.0
    ranking: tuple[TopicScore, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class _Rule:
    rule: SafetyRule
    signals: tuple[Signal, ...]


def _smalltalk_key(tokens: list[str] | tuple[str, ...]) -> str:
    return " ".join(t for t in tokens if t not in SMALLTALK_FILLER)


def _subject_stems(content: Content) -> frozenset[str]:
    """Anchor words used across many topics' examples: they name the subject, not a topic."""
    every = [
        a
        for a in (*content.scope.anchors.rls, *content.scope.anchors.body, *content.scope.anchors.magnesium)
        if not any(t in STOPWORDS for t in raw_tokens(a))  # "take it" points at magnesium; "take" is no subject
    ]
    anchors = {s for a in every for s in phrase_stems(a)}
    spread: dict[str, set[str]] = {}
    for topic in content.topics.values():
        for example in topic.examples:
            for s in phrase_stems(example):
                if s in anchors:
                    spread.setdefault(s, set()).add(topic.id)
    subject = {s for s, owners in spread.items() if len(owners) >= SUBJECT_SPREAD}
    for anchor in every:
        stems = phrase_stems(anchor)
        if subject.intersection(stems):  # "restless leg syndrome": all of it names the subject
            subject.update(stems)
    return frozenset(subject)


class Classifier:
    """Built once at start-up from the content; classify() is pure and fast."""

    def __init__(self, content: Content) -> None:
        topics = content.menu()
        scope = content.scope
        chat = {s for w in scope.chat_words for s in phrase_stems(w)}
        self._subject = _subject_stems(content)
        self.index = TopicIndex(topics, self._subject, chat)
        self._needs = {t.id: t.needs for t in topics}
        safety = content.safety
        self._rules = [_Rule(r, tuple(Signal.parse(s) for s in r.signals)) for r in safety.rules]
        self._window = safety.window
        self._personal = parse_alternatives(safety.personal_markers)
        self._question = [phrase_stems(q) for q in safety.question_starts.split("|")]
        self._hypothetical = [phrase_stems(q) for q in safety.hypothetical.split("|")]
        self._pairing = [Signal.parse(s) for s in content.scope.pairing]
        self._pairing_topic = content.scope.pairing_topic
        self._fallback_topic = content.scope.fallback_topic
        self._negators = parse_alternatives(safety.negators)
        self._reminders = [Signal.parse(s) for s in content.scope.reminders]
        self._smalltalk: dict[str, str] = {}
        self._smalltalk_words: dict[str, frozenset[str]] = {}
        for kind in content.smalltalk.kinds:
            for phrase in kind.phrases:
                key = _smalltalk_key(raw_tokens(phrase))
                if key:
                    self._smalltalk.setdefault(key, kind.id)
            self._smalltalk_words[kind.id] = (
                frozenset(t for p in kind.phrases for t in raw_tokens(p)) | SMALLTALK_FILLER
            )
        self._rls_anchors = [phrase_stems(a) for a in scope.anchors.rls]
        self._body_anchors = [phrase_stems(a) for a in scope.anchors.body]
        self._body_qualifiers = {s for a in scope.anchors.body_qualifiers for s in phrase_stems(a)}
        self._contexts = {t.id: t.context for t in topics}
        self._narrative = {t.id: t.narrative for t in topics}
        self._mg_anchors = [phrase_stems(a) for a in scope.anchors.magnesium]
        self._off_topic = [phrase_stems(a) for a in scope.off_topic]
        self._other_medicines = [phrase_stems(a) for a in scope.other_medicines]
        self._neutral = {stem(w) for w in STOPWORDS} | chat

        vocabulary: set[str] = set()
        texts = [w for t in topics for w in (*t.keywords, *t.examples, t.title)]
        texts += [*scope.anchors.rls, *scope.anchors.body, *scope.anchors.magnesium, *scope.off_topic]
        texts += list(scope.other_medicines)
        texts += list(scope.chat_words) + list(scope.spellings.values())
        texts += [p for k in content.smalltalk.kinds for p in k.phrases]
        texts += [safety.personal_markers.replace("|", " "), safety.negators.replace("|", " ")]
        for text in texts:
            vocabulary.update(raw_tokens(text))
        for signal in [s for r in self._rules for s in r.signals] + self._reminders:
            vocabulary.update(w for word in signal.words() for w in raw_tokens(word))
        self.speller = Speller(vocabulary, scope.spellings)

    # -- the pieces, in the order classify() asks them ------------------------------------

    def _general_question(self, words: Words) -> bool:
        """A question about nobody in particular: 'can magnesium cause chest pain?'."""
        if any(s in self._personal for s in words.stems):
            return False
        stems = words.stems
        return any(stems[: len(q)] == q for q in self._question if q) or any(
            self._contains(stems, [q]) for q in self._question if len(q) > 1
        )

    def _danger(self, words: Words) -> str | None:
        general = self._general_question(words)
        hypothetical = self._contains(words.stems, self._hypothetical)
        for entry in self._rules:
            if entry.rule.personal and general:
                continue
            if entry.rule.hypothetical_ok and hypothetical:
                continue
            negators = self._negators if entry.rule.negatable else frozenset()
            if any(sig.matches(words, self._window, negators) for sig in entry.signals):
                return entry.rule.id
        return None

    def _smalltalk_kind(self, words: Words) -> str | None:
        key = _smalltalk_key(words.tokens)
        if not key or len(key.split()) > 6:
            return None
        if key in self._smalltalk:
            return self._smalltalk[key]
        for kind, known in self._smalltalk_words.items():
            if all(t in known or t in STOPWORDS for t in words.tokens):  # "thanks so much, that helps"
                return kind
        found = process.extractOne(key, list(self._smalltalk), scorer=fuzz.ratio, score_cutoff=88)
        return self._smalltalk[found[0]] if found else None

    @staticmethod
    def _contains(stems: tuple[str, ...], phrases: list[tuple[str, ...]]) -> bool:
        present = set(stems)
        return any(
            stems[i : i + len(p)] == p for p in phrases if p and p[0] in present for i in range(len(stems) - len(p) + 1)
        )

    def _foreign(self, words: Words, topic: str) -> list[str]:
        """Words of the message that neither this topic nor everyday English account for."""
        vocabulary = self.index.vocabulary(topic)
        return [
            s
            for s, t in zip(words.stems, words.tokens, strict=True)
            if t not in STOPWORDS
            and s not in self._neutral
            and s not in vocabulary
            and zipf_frequency(t, "en") < FUNCTION_WORD_ZIPF
        ]

    def _medicine_or_context(self, ranking: tuple[TopicScore, ...]) -> bool:
        """A keyword of the interactions topic or of a context topic (pregnancy, kidneys, children)."""
        return any(
            (c.topic == self._pairing_topic or self._contexts.get(c.topic)) and self._specific(c) for c in ranking
        )

    def _specific(self, candidate: TopicScore) -> bool:
        """True when a keyword beyond the subject words ("magnesium", "RLS") matched."""
        return any(any(s not in self._subject and s not in STOPWORDS for s in k) for k in candidate.keywords)

    def _choose(self, words: Words, ranking: tuple[TopicScore, ...]) -> tuple[str | None, str]:
        """The best topic this message may be answered with, or None and the reason why not."""
        has_body = self._contains(words.stems, self._body_anchors)
        names_rls = self._contains(words.stems, self._rls_anchors) or (
            has_body and any(s in self._body_qualifiers for s in words.stems)  # "legs so restless"
        )
        has_rls = names_rls or has_body
        has_mg = self._contains(words.stems, self._mg_anchors)
        off_topic = self._contains(words.stems, self._off_topic)
        other_medicine = self._contains(words.stems, self._other_medicines)
        context = any(self._contexts.get(c.topic) and self._specific(c) for c in ranking)
        if (
            has_mg
            and not context
            and self._pairing_topic
            and any(sig.matches(words, self._window) for sig in self._pairing)
        ):
            unlisted = other_medicine or (not off_topic and bool(self._foreign(words, self._pairing_topic)))
            if unlisted:  # "can I take magnesium with amoxicillin / my statin?" (not "with vitamin D")
                return self._pairing_topic, ""
        if not names_rls and (off_topic or other_medicine) and not (has_mg and self._medicine_or_context(ranking)):
            # "magnesium for migraines" is declined; "doxycycline for acne, and my magnesium?" is not
            return None, "off-topic-subject"
        allowed = {Needs.nothing} | ({Needs.any} if has_rls or has_mg else set())
        allowed |= {Needs.rls} if has_rls else set()
        for candidate in ranking:
            if candidate.score < MIN_TOPIC_SCORE:
                break
            if self._needs[candidate.topic] not in allowed:
                continue
            if names_rls or (has_mg and has_body):  # "RLS", "legs so restless", "magnesium for my legs"
                return candidate.topic, ""
            foreign = self._foreign(words, candidate.topic)
            if has_rls and not has_mg:
                # "legs" alone is not RLS: "my legs hurt after hiking" needs an RLS-specific word
                if foreign and not self._specific(candidate):
                    return None, "unknown-subject"
                return candidate.topic, ""
            if foreign and not has_mg:
                return None, "unknown-subject"
            if not has_mg and not self._specific(candidate):
                # "how do I lower my blood pressure" is like an overdose example only once the
                # example's "magnesium" is set aside: without it, a keyword must say which topic
                return None, "weak-match"
            if foreign and not self._specific(candidate) and candidate.example_score < CLOSE_EXAMPLE:
                # "magnesium for hair growth": only the subject word fits, the rest is foreign
                return None, "unknown-subject"
            return candidate.topic, ""
        if names_rls and self._fallback_topic:  # about RLS, but no topic fits: the general answer
            return self._fallback_topic, ""
        return None, "no-match"

    def _rank(self, text: str, words: Words) -> tuple[TopicScore, ...]:
        """Rank topics; in a story, the sentences that ask something weigh most."""
        ranking = self.index.rank(words)
        sentences = [m.group(0) for m in _SENTENCE.finditer(text)]
        asked = " ".join(x for x in sentences if "?" in x)
        if len(sentences) < 2 or not asked:
            return tuple(ranking)
        focused_ranking = self.index.rank(self.speller.words(asked))
        if not focused_ranking or not focused_ranking[0].keywords or focused_ranking[0].score < MIN_TOPIC_SCORE:
            return tuple(ranking)  # "What's happening?" says nothing: the story decides
        focused = {r.topic: r for r in focused_ranking}
        merged = []
        for whole in ranking:
            part = focused.get(whole.topic)
            story = whole.score * (NARRATIVE_DISCOUNT if self._narrative.get(whole.topic) else 1.0)
            score = (1 - QUESTION_FOCUS) * story + QUESTION_FOCUS * (part.score if part else 0.0)
            merged.append(replace(whole, score=score))
        merged.sort(key=lambda r: -r.score)
        return tuple(merged)

    # -- the decision ----------------------------------------------------------------------

    def classify(self, text: str) -> Interpretation:
        words = self.speller.words(text[:MAX_READ_CHARS])
        if not words.tokens:
            if any(ch in THANKS_EMOJI for ch in text):
                return Interpretation(Intent.smalltalk, rule="thanks")
            return Interpretation(Intent.out_of_scope, rule="empty")
        danger = self._danger(words)
        if danger:
            return Interpretation(Intent.emergency, rule=danger, score=1.0)
        if any(sig.matches(words, self._window) for sig in self._reminders):
            return Interpretation(Intent.reminders, score=1.0)
        kind = self._smalltalk_kind(words)
        if kind:
            return Interpretation(Intent.smalltalk, rule=kind, score=1.0)
        ranking = self._rank(text[:MAX_READ_CHARS], words)
        topic, reason = self._choose(words, ranking)
        score = ranking[0].score if ranking else 0.0
        if topic is None:
            return Interpretation(Intent.out_of_scope, rule=reason, score=score, ranking=ranking)
        return Interpretation(Intent.topic, topic=topic, score=score, ranking=ranking)
