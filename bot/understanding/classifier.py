"""Decides what a message is, in named stages that can each be tested and explained:

1. normalise: lower-case, typo correction against the content's own words, stems;
2. safety: the editors' danger rules and the learned safety model (safety.py);
3. reminder requests and small talk: editor-written patterns and phrases;
4. scope gate: three votes on the whole message: a learned in/out model trained on thousands of
   everyday and other-health messages, the safety model's topic classes, and the nearest written
   examples (neighbours.py);
5. topic ranker: a learned model over the topics, reading a long story whole;
6. confidence: answer, answer with a safety line, or ask which of two close topics was meant.

A short follow-up ("and citrate?") that cannot stand alone is read together with the previous
message of the conversation, if there was one a few minutes ago; danger is always read alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.knowledge.schema import Content
from bot.knowledge.training import CHAT_REMINDERS
from bot.understanding import frequency
from bot.understanding.datasets import IN, OTHER, OUT_OF_SCOPE
from bot.understanding.features import WORD, Features, Featurizer
from bot.understanding.language import in_latin_letters, other_language
from bot.understanding.models import Models, load_models
from bot.understanding.safety import Level, Rules, SafetyNet, Verdict, sentences
from bot.understanding.signals import Signal
from bot.understanding.text import STOPWORDS, Speller, Words, clean, raw_tokens

MAX_READ_CHARS = 2000  # the question is nearly always in the first lines of a long story
IN_SCOPE = 0.5  # mean of the three scope votes from which a message is about the bot's subject
# A topic the ranker is sure of is evidence of scope too: "14 hour flight, last time I nearly lost
# my mind in the window seat, tips?" names nothing of RLS but reads as nothing else.
# A short message carries too little for that ("how much coffee is too much" is sure of doses).
IN_SCOPE_IF_SURE, SURE, SURE_WORDS = 0.4, 0.75, 8
CHAT_SURE = 0.5  # the chat model's probability from which a message is small talk or about reminders
# ...and from which it is so even when a topic is sure: on the dev sets every rightly answered topic
# message had at most 0.09, while 12 small-talk and reminder messages read as sure topics had 0.6-0.95
CHAT_OVER_TOPIC = 0.6
CONFIDENT = 0.45  # ranker probability from which the top topic is answered without a safety line
CLOSE = 0.12  # two topics this close, both above ALTERNATIVE, are offered as a question
ALTERNATIVE = 0.25
FOLLOW_UP_WINDOW = timedelta(minutes=10)  # how long the previous message still frames a new one
# Scope votes this low: the message stands alone, even after "also" (dev: off-topic follow-ups
# score 0.09 or less, real ones 0.16 or more).
FOLLOW_UP_FLOOR = 0.12
FOLLOW_UP_WORDS = 12  # longer messages stand on their own
# Questions up to this many words, unless the ranker is this sure of them alone, are read with the
# context too. Development follow-up turns read right (503): 406 without; at 5 words and any
# certainty 414, and a short clear new question after an unrelated one (3,802 such pairs) kept its
# own topic 89.8% instead of 95.4% of the time ("does coffee make rls worse" after a foods question
# became foods). Capped at 0.7: 415 turns, and 94.6% of the new questions kept.
SHORT_FOLLOW_UP = 5
SHORT_SURE = 0.7
# A follow-up that pulls the conversation this far out of scope is a new subject ("how to get a six
# pack in 30 days" after a bath question). Measured on development data (every short off-topic
# message after each of 60 opening questions, 9,000 pairs; and the 387 follow-up turns of the
# conversation sets), with the models trained to tol 1e-4: unrelated follow-ups answered / turns
# read right were 13.2% / 318 at a drop of 0.25, 10.7% / 320 at 0.15, 9.2% / 319 at 0.1, 7.6% / 315
# at 0.05 and 3.7% / 270 at 0. It costs "what can i take for nausea then" after an antihistamine
# question; keeping the context when its topic is in the message's own top 3, or first in the
# joined reading, saves it but answers 9.6% / 12.1% of the unrelated ones, with no turn gained.
NEW_SUBJECT_DROP = 0.1
# Openings and words that lean on the previous message: "and citrate?", "what about kids", "is that ok"
_LEANING = re.compile(
    r"^(and|or|but|also|so|then|what about|how about|same for|even)\b"
    r"|\b(it|that|this|those|them|these|one|ones|there)\b"
)
SMALLTALK_FILLER = frozenset(
    """bot there so much again very please you guys mate buddy lol haha dear sir a real actually
    just really the po""".split()  # "po": the Filipino courtesy word ("hello po, good evening")
)
THANKS_EMOJI = set("👍🙏❤♥😊🙂👌💙💚💜")
SIGN_OFF_KINDS = ("thanks", "goodbye")  # may close a longer message that asks nothing
CHAT_KINDS = ("greeting", "thanks", "goodbye")  # never the answer to a question
ADDRESSING = frozenset("you u ya yourself bot".split())  # a message about the bot speaks to it
SIGN_OFF_WORDS = frozenset("thanks thank thx ty cheers bye goodbye ttyl gn".split())
_QUESTION = re.compile(
    r"\?|^(what|whats|how|hows|why|when|where|wheres|who|whos|which|can|could|is|are|does|do|should|will|would|any)\b"
)


class Intent(StrEnum):
    topic = "topic"
    emergency = "emergency"
    out_of_scope = "out_of_scope"
    smalltalk = "smalltalk"
    reminders = "reminders"


@dataclass(frozen=True)
class Context:
    """The previous question of a conversation, as far as reading the next message needs it."""

    text: str
    topic: str | None
    at: datetime
    rule: str | None = None  # the safety rule its reply answered, if it was a danger message


def remember(found: Interpretation, text: str, now: datetime, before: Context | None) -> Context | None:
    """What a chat keeps after a message, to read the next one: the last question answered (joined
    with the one before when it was a follow-up), and the safety rule if danger was met."""
    if found.intent not in (Intent.topic, Intent.emergency):
        return before
    joined = f"{before.text}. {text}" if found.follow_up and before is not None else text
    rule = found.rule if found.intent is Intent.emergency else None
    return Context(joined[-MAX_READ_CHARS:], found.topic, now, rule=rule)


@dataclass(frozen=True)
class Stage:
    """One stage's decision, for `rls-bot explain`."""

    name: str
    decision: str
    scores: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Interpretation:
    intent: Intent
    topic: str | None = None
    rule: str | None = None  # safety rule (emergency), small-talk kind, or why it was out of scope
    score: float = 0.0
    confident: bool = True  # False: the reply carries a safety line and an offer of the topics
    alternatives: tuple[str, ...] = ()  # close second topics: ask which one was meant
    caution: bool = False  # danger was possible: urgent-care advice first, then the answer
    follow_up: bool = False  # read together with the previous message
    also: Intent | None = None  # under a caution: the reminders request it also made, answered after
    trace: tuple[Stage, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class _Reading:
    """One text through the featurizer: whole and, for a story, sentence by sentence."""

    text: str
    words: Words
    whole: Features
    parts: list[Words]  # a story's sentences, for the danger rules (empty for one sentence)

    @cached_property
    def language(self) -> str | None:
        """Another language the text is written in, if any: asked at most once per reading."""
        return other_language(self.text)


def _asks(text: str) -> bool:
    return any(_QUESTION.search(s.strip().casefold()) for s in re.split(r"[.!\n]+", text) if s.strip())


# A question inside a run-on message: "hello this is Margaret what foods have magnesium ... Thank you"
# (not in a thank-you that says what helped: "thanks for explaining how much is safe")
_ASKING_INSIDE = re.compile(
    r"\b(what|which|how) (?!(?:i|you|we)\b)(\w+ )?(is|are|do|does|can|should|foods?|much|many|long|often)\b"
    r"|\b(can|could|should|may) i\b|\bis (it|this|that) (ok|okay|safe|normal|bad)\b"
)
_WHAT_ABOUT = re.compile(r"\W*(?:what|how) about\b")  # a question even without its "?"
SMALLTALK_WORDS = 40  # longer messages are not read sentence by sentence for small talk
_PIECES = re.compile(r"[^.!?\n]+")  # sentences, however short
THANKS_OPENINGS = frozenset(
    "thanks thank thx ty cheers brilliant great perfect ok okay cool nice awesome lovely wonderful".split()
)


def _opening(words: Iterable[str]) -> str:
    """A pattern for these words at the start of a cleaned message, with any punctuation between."""
    return r"\W*" + r"\W+".join(map(re.escape, words))


def _contains_phrase(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    return any(tokens[i : i + len(phrase)] == phrase for i in range(len(tokens) - len(phrase) + 1))


def _smalltalk_key(tokens: list[str] | tuple[str, ...]) -> str:
    return " ".join(t for t in tokens if t not in SMALLTALK_FILLER)


def _answered_surely(found: Interpretation) -> bool:
    """A topic answered without doubt: no safety line, no "Do you mean...?" question."""
    return found.intent is Intent.topic and found.confident and not found.alternatives


def _stale(context: Context, now: datetime | None) -> bool:
    """Too long ago for the previous message to shape how this one is read."""
    return now is not None and now - context.at > FOLLOW_UP_WINDOW


def _top(scores: dict[str, float], n: int = 3) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(scores.items(), key=lambda kv: -kv[1])[:n])


class Classifier:
    """Built once at start-up from the content (models trained or loaded from the cache)."""

    def __init__(self, content: Content, models: Models | None = None, cache: Path | None = None) -> None:
        scope = content.scope
        self._rules = Rules(content.safety)
        vocabulary: set[str] = set()
        texts = [w for t in content.topics.values() for w in (*t.keywords, *t.examples, t.title)]
        texts += list(scope.chat_words) + list(scope.spellings.values())
        texts += [p for k in content.smalltalk.kinds for p in k.phrases]
        for text in texts:
            vocabulary.update(raw_tokens(text))
        self._reminders = [Signal.parse(s) for s in scope.reminders]
        self._smalltalk_signals = [(Signal.parse(s), k.id) for k in content.smalltalk.kinds for s in k.signals]
        for signal in [*self._reminders, *(sig for sig, _ in self._smalltalk_signals)]:
            vocabulary.update(w for word in signal.words() for w in raw_tokens(word))
        for word in self._rules.signal_words():
            vocabulary.update(raw_tokens(word))
        frequency.table()  # loaded (or, once, built) at start-up, not in the first message's handler
        self.speller = Speller(vocabulary, scope.spellings)
        self.featurizer = Featurizer(self.speller)
        self.models = models or load_models(content, self.featurizer, cache)
        self.safety = SafetyNet(self._rules, self.models.safety)
        self._window = content.safety.window
        self._topics = set(content.topics)
        self._foreign_greetings = [  # longest first: "guten morgen" before a shorter one
            re.compile(_opening(words) + r"(?!\w)\W*")
            for words in sorted(
                {tuple(raw_tokens(g)) for g in content.smalltalk.greetings_in_other_languages} - {()},
                key=len,
                reverse=True,
            )
        ]
        self._smalltalk: dict[str, str] = {}
        self._smalltalk_words: dict[str, frozenset[str]] = {}
        self._greetings = [  # longest first: "good morning" before "good"; each with how it is typed
            (greeting, re.compile(_opening(greeting.split()) + r"\b"))
            for greeting in sorted(
                {
                    _smalltalk_key(raw_tokens(p))
                    for k in content.smalltalk.kinds
                    if k.id == "greeting"
                    for p in k.phrases
                    if len(raw_tokens(p)) <= 2
                }
                - {""},
                key=len,
                reverse=True,
            )
        ]
        for kind in content.smalltalk.kinds:
            for phrase in kind.phrases:
                key = _smalltalk_key(raw_tokens(phrase))
                if key:
                    self._smalltalk.setdefault(key, kind.id)
            words = frozenset(t for p in kind.phrases for t in raw_tokens(p))
            self._smalltalk_words[kind.id] = words | SMALLTALK_FILLER
        self._sign_offs = [
            (tuple(raw_tokens(p)), k.id)
            for k in content.smalltalk.kinds
            if k.id in SIGN_OFF_KINDS
            for p in k.phrases
            if SIGN_OFF_WORDS.intersection(raw_tokens(p))
        ]

    # -- stages ------------------------------------------------------------------------------

    def _read(self, text: str) -> _Reading:
        text = text[:MAX_READ_CHARS]
        pieces = sentences(text)
        pieces = pieces if len(pieces) >= 2 else []
        words = self.speller.words(text)
        whole = self.featurizer.features([text], [words])[0]  # the sentences need only their words
        return _Reading(text, words, whole, [self.speller.words(p) for p in pieces])

    def _smalltalk_kind(self, words: Words, text: str) -> str | None:
        key = _smalltalk_key(words.tokens)
        if not key:
            return None
        if key in self._smalltalk:
            return self._smalltalk[key]
        # "Good morning. Who am I speaking to?", "hiya, am i talking to a real person or a bot?": a
        # greeting before another kind of small talk, read as if the greeting were not there
        for greeting, typed in self._greetings:
            rest = key.removeprefix(greeting + " ")
            if rest != key:
                cleaned = clean(text)
                opening = typed.match(cleaned)  # as typed: a corrected typo ("helo") is not found
                after = cleaned[opening.end() :] if opening else ""
                inner = self._smalltalk_kind(self.speller.words(after), after) if after.strip() else None
                if inner is not None and inner not in CHAT_KINDS:
                    return inner
                break
        # "morning or night?" and "what about in the evening" are questions, not greetings
        asking = (_asks(text) and "?" in text) or bool(_WHAT_ABOUT.match(clean(text)))
        if len(key.split()) <= 6:
            content_words = [t for t in words.tokens if t not in STOPWORDS]
            # Words about the bot are also words of questions ("what questions should i ask", "what
            # should he ask the doctor then"): only a message to the bot is about it.
            addressed = not ADDRESSING.isdisjoint(words.tokens)
            for kind, known in self._smalltalk_words.items():
                if asking and kind in CHAT_KINDS:
                    continue
                if not content_words or not all(t in known for t in content_words):
                    continue
                if set(content_words) <= SMALLTALK_FILLER:
                    continue  # "how much then": a filler word alone ("so much") says nothing
                if kind in CHAT_KINDS or addressed:
                    return kind  # "thanks so much, that helps", "you a doctor?"
            choices = [
                p
                for p, k in self._smalltalk.items()
                if not (asking and k in CHAT_KINDS) and (addressed or k in CHAT_KINDS)
            ]
            found = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=88)
            if found:
                return self._smalltalk[found[0]]
        # "Merhaba, who is this bot? What you can do for me?", "Hi. Who are you? Bye.": small talk
        # sentence by sentence; "Hi there. Iron? Thanks" asks something between them
        pieces = [p.strip() for p in _PIECES.findall(text) if p.strip()] if len(words.tokens) <= SMALLTALK_WORDS else []
        if len(pieces) >= 2:
            kinds: list[str] = []
            for piece in pieces:  # a story stops at its first sentence that is not small talk
                said = self._smalltalk_kind(self.speller.words(piece), piece)
                if said is None:
                    break
                kinds.append(said)
            else:
                return next((k for k in kinds if k not in CHAT_KINDS), kinds[-1])
        thanking = bool(words.tokens) and words.tokens[0] in THANKS_OPENINGS
        if _asks(text) or (not thanking and _ASKING_INSIDE.search(clean(text))):
            return None
        # "walked round the house and it's easing, thanks!": a sign-off after a statement
        for phrase, kind in self._sign_offs:
            if _contains_phrase(words.tokens, phrase):
                return kind
        return None

    def _after_foreign_greeting(self, text: str) -> str | None:
        """The rest of a message that opens with a greeting in another language, else None."""
        cleaned = clean(text)
        for greeting in self._foreign_greetings:
            found = greeting.match(cleaned)
            if found:
                return cleaned[found.end() :]
        return None

    def _in_scope(self, reading: _Reading) -> float:
        """Is the message about our subject? Three votes of equal weight on the whole message: the
        gate (in/out, subject words only), the safety model (its topic classes compete with "out of
        scope" directly) and the nearest written examples. A story's asking sentence read alone
        once raised this; beside the neighbours' vote it only let more off-topic messages in
        ("Is it dangerous?" has in-scope neighbours whatever it is about)."""
        features = reading.whole
        gate = self.models.gate.probabilities(features)[IN]
        joint = self.models.safety.probabilities(features)
        topics = sum(p for c, p in joint.items() if c in self._topics)
        share = topics / max(1e-9, topics + joint[OUT_OF_SCOPE])
        return (gate + share + self.models.neighbours.share_inside(features.dense)) / 3

    def _rank(self, reading: _Reading, focus: _Reading | None = None) -> dict[str, float]:
        """Topic probabilities of the whole message: in a story, the asking sentence alone lacks
        what it refers to ("is that why my legs are so bad?" after "ferritin came back at 9").
        A follow-up read with the previous question gives the new message as much weight as both."""
        whole = self.models.ranker.probabilities(reading.whole)
        if focus is None:
            return {t: p for t, p in whole.items() if t in self._topics}
        new = self.models.ranker.probabilities(focus.whole)
        return {t: (p + new[t]) / 2 for t, p in whole.items() if t in self._topics}

    # -- the decision ------------------------------------------------------------------------

    def classify(self, text: str, context: Context | None = None, now: datetime | None = None) -> Interpretation:
        reading = self._read(text)
        trace: list[Stage] = [Stage("normalise", " ".join(reading.words.tokens)[:200])]
        # Right after a danger message, small talk or a reminders request ("is anyone there?",
        # "thanks", "turn my reminders off") gets that message's urgent-care advice again.
        earlier = context.rule if context is not None and context.rule and not _stale(context, now) else None
        if not reading.words.tokens:
            if earlier:
                return Interpretation(Intent.emergency, rule=earlier, follow_up=True, trace=tuple(trace))
            if any(ch in THANKS_EMOJI for ch in text):
                return Interpretation(Intent.smalltalk, rule="thanks", trace=(*trace, Stage("smalltalk", "thanks")))
            return Interpretation(Intent.out_of_scope, rule="empty", trace=(*trace, Stage("normalise", "empty")))
        verdict = self.safety.check(reading.words, reading.whole, reading.parts)
        trace.append(
            Stage(
                "safety",
                f"{verdict.level} {verdict.rule} by {verdict.by}" if verdict else "no danger",
                (("danger", verdict.score),) if verdict else (),
            )
        )
        if verdict is not None and verdict.level is Level.emergency:
            return Interpretation(Intent.emergency, rule=verdict.rule, score=verdict.score, trace=tuple(trace))
        # A possible danger is never answered only as a reminder request or a "thank you": its
        # urgent-care advice comes first ("I won't be a burden much longer... thank you for the tips").
        if any(sig.matches(reading.words, self._window) for sig in self._reminders):
            trace.append(Stage("reminders", "request"))
            if verdict is None and earlier is None:
                return Interpretation(Intent.reminders, score=1.0, trace=tuple(trace))
            rule = verdict.rule if verdict is not None else earlier
            # "turn the reminders off, won't need them": the way to change them follows the
            # urgent-care advice; nothing is switched off by a message that may be a goodbye
            return Interpretation(Intent.emergency, rule=rule, caution=True, also=Intent.reminders, trace=tuple(trace))
        greeted = self._after_foreign_greeting(text)
        kind: str | None = None
        if greeted is not None:  # "Bonjour, is magnesium safe in pregnancy?": read without the greeting
            rest = self.speller.words(greeted)
            # "namaste ji", "kumusta po kayo", or nothing; not "你好，我想自杀", one token in a
            # script the bot cannot read, which gets the other-language reply with its safety line
            if len(rest.unknown) == len(rest.tokens) <= 2 and in_latin_letters(greeted):
                kind = "greeting"
            else:
                text, reading = greeted, self._read(greeted)
                trace.append(Stage("normalise", "without a greeting in another language"))
        if verdict is not None:  # a possible danger is never answered as small talk
            kind = None
        elif kind is None:
            kind = self._smalltalk_kind(reading.words, reading.text)
        if kind and earlier:  # the advice alone; the chat keeps the danger message as its context
            trace += [Stage("smalltalk", kind), Stage("context", f"follows a danger message: {earlier}")]
            return Interpretation(Intent.emergency, rule=earlier, follow_up=True, trace=tuple(trace))
        if kind:
            return Interpretation(Intent.smalltalk, rule=kind, score=1.0, trace=(*trace, Stage("smalltalk", kind)))
        found = self._understand(reading, trace)
        said = self._said_about_bot(reading, found) if verdict is None and earlier is None else None
        if said:
            return Interpretation(Intent.smalltalk, rule=said, score=1.0, trace=(*trace, Stage("smalltalk", said)))
        if context is not None and self._follows(found, reading, context, now):
            if context.rule and verdict is None:  # after a danger message, its urgent-care advice comes first
                trace.append(Stage("context", f"follows a danger message: {context.rule}"))
                verdict = Verdict(context.rule, Level.caution, "context", 0.0)
            trace.append(Stage("context", "read together with the previous question"))
            together = self._read(f"{context.text.rstrip('.?! ')}. {text}")
            joined = self._understand(together, trace, focus=reading)
            if joined.intent is Intent.topic and not self._new_subject(context, reading, together, trace):
                found = replace(joined, follow_up=True)
        chat = self._chat(reading, found, trace) if verdict is None and earlier is None else None
        if chat == CHAT_REMINDERS:
            return Interpretation(Intent.reminders, score=1.0, trace=tuple(trace))
        if chat:
            return Interpretation(Intent.smalltalk, rule=chat, score=1.0, trace=tuple(trace))
        if verdict is not None:  # caution: the urgent-care advice comes first, then this answer
            topic = found.topic if found.intent is Intent.topic else None
            found = replace(found, intent=Intent.emergency, rule=verdict.rule, caution=True, topic=topic)
        return replace(found, trace=tuple(trace))

    def _said_about_bot(self, reading: _Reading, found: Interpretation) -> str | None:
        """The small-talk kind of a longer message to the bot itself ("are you a real person or a
        computer, my grandson set you up"), where no topic is a sure answer: "are you a doctor?
        what dose of magnesium for rls" keeps its answer."""
        if _answered_surely(found):
            return None
        return next((kind for sig, kind in self._smalltalk_signals if sig.matches(reading.words, self._window)), None)

    def _chat(self, reading: _Reading, found: Interpretation, trace: list[Stage]) -> str | None:
        """Small talk or a reminders request in words no phrase or signal lists ("is this free?",
        "give me a shout at 9 so I stretch"), as the chat model reads it; over a sure topic only
        when the model is surer still ("ok night night, off to attempt sleep" is not sleep advice)."""
        sure = _answered_surely(found)
        if reading.language is not None:  # it reads English: "hola bot, como estas" is told so
            return None
        if not any(t.isalpha() for t in reading.words.tokens):  # "21:30" alone: no words to judge
            return None
        chances = self.models.chat.probabilities(reading.whole)
        kind, p = max(((k, v) for k, v in chances.items() if k != OTHER), key=lambda kv: kv[1], default=("", 0.0))
        if p < (CHAT_OVER_TOPIC if sure else CHAT_SURE):
            return None
        trace.append(Stage("chat model", kind, ((kind, p), (OTHER, chances.get(OTHER, 0.0)))))
        return kind

    def _follows(self, found: Interpretation, reading: _Reading, context: Context, now: datetime | None) -> bool:
        """Does this message lean on the previous one? Short, recent, and either unclear alone or
        worded as a continuation; a clear new question stands on its own."""
        if len(reading.words.tokens) > FOLLOW_UP_WORDS:
            return False
        if _stale(context, now):
            return False
        if not context.rule:  # after a danger message, its advice comes first, in any language
            if found.rule == "other-language":  # the models cannot join what they cannot read
                return False
            if found.rule == "unknown-words" and not set(reading.words.tokens) <= STOPWORDS:
                return False  # "xyzzy plugh"; but "what do i do about it" is all leaning
            if found.rule == "off-topic" and found.score < FOLLOW_UP_FLOOR:
                return False  # "also, tips for my backhand?"
        leaning = bool(_LEANING.search(" ".join(reading.words.tokens)))
        unclear = found.intent is not Intent.topic or not found.confident
        # "any side effects?" after an iron-drip question, "with food or without" after a timing one:
        # a question this short is read with the context too (the message keeps half the weight)
        short = (
            len(reading.words.tokens) <= SHORT_FOLLOW_UP
            and found.intent is Intent.topic
            and found.score < SHORT_SURE
            and not context.rule
        )
        return unclear or leaning or short

    def _new_subject(self, context: Context, reading: _Reading, together: _Reading, trace: list[Stage]) -> bool:
        """Does the message, read with the previous question, take it out of our subject? Not if,
        alone, it ranks the previous question's topic first ("how hot" after a bath question)."""
        if not self.models.gate.knows_any(reading.whole, WORD):  # "what can i do about that": nothing of its own
            return False
        alone = _top(self._rank(reading), 1)
        if alone and alone[0][0] == context.topic:
            return False
        drop = self._in_scope(self._read(context.text)) - self._in_scope(together)
        if drop > NEW_SUBJECT_DROP:
            trace.append(Stage("context", "a new subject: read alone", (("drop", drop),)))
            return True
        return False

    def _understand(self, reading: _Reading, trace: list[Stage], focus: _Reading | None = None) -> Interpretation:
        if not self.models.gate.knows_any(reading.whole, WORD):  # "xyzzy plugh": not one word it knows
            trace.append(Stage("scope gate", "no known words"))
            return self._declined(reading, trace, "unknown-words")
        inside = self._in_scope(reading)
        ranking = self._rank(reading, focus)
        top = _top(ranking)
        sure = (
            inside < IN_SCOPE
            and bool(top)
            and top[0][1] >= SURE
            and inside >= IN_SCOPE_IF_SURE
            and len(reading.words.tokens) >= SURE_WORDS
            and reading.language is None  # the ranker reads English: sure of nothing else
        )
        verdict = "in scope" if inside >= IN_SCOPE else ("in scope: a topic is sure" if sure else "out of scope")
        trace.append(Stage("scope gate", verdict, (("in", inside),)))
        trace.append(Stage("ranker", top[0][0] if top else "-", top))
        if not top or (inside < IN_SCOPE and not sure):
            return self._declined(reading, trace, "off-topic", inside)
        (best, p1), *rest = top
        confident = p1 >= CONFIDENT
        if not confident and reading.language is not None:  # a guess at a language it can't read
            return self._declined(reading, trace, "off-topic", inside)
        close = tuple(t for t, p in rest if p >= ALTERNATIVE and p1 - p < CLOSE)
        trace.append(Stage("confidence", "ask" if close else ("answer" if confident else "answer, low confidence")))
        return Interpretation(Intent.topic, best, score=p1, confident=confident, alternatives=close)

    @staticmethod
    def _declined(reading: _Reading, trace: list[Stage], rule: str, score: float = 0.0) -> Interpretation:
        """Out of scope; a message in another language is told so (the models read English only).
        Checked only for a declined or unsure message, so an English question with typos that the
        ranker reads well is never mistaken for Danish."""
        if reading.language is not None:
            trace.append(Stage("language", f"not English ({reading.language})"))
            return Interpretation(Intent.out_of_scope, rule="other-language", score=score)
        return Interpretation(Intent.out_of_scope, rule=rule, score=score)

    def explain(self, text: str, context: Context | None = None) -> list[Stage]:
        return list(self.classify(text, context).trace)
