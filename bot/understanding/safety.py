"""The safety net: every message is checked for danger before anything else.

Two detectors, and either is enough:
1. The editors' rules in safety.yaml (word patterns such as "chest + pain|tight"): exact,
   readable, and reviewed by a clinician. A rule match is always an emergency.
2. The learned safety model, trained on hundreds of danger messages written the way frightened or
   ashamed people write, beside near misses and every topic's examples. The rules are also
   checked sentence by sentence, so a danger buried in a long story is not missed.

The model's danger probability has two thresholds, chosen by cross-validation for recall: above
`EMERGENCY` the urgent-care reply stands alone; between `CAUTION` and it, the reply starts with the
urgent-care advice and then answers the question, because a false alarm costs a line of text and a
miss may cost a life.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.knowledge.schema import Safety
from bot.understanding.datasets import DANGER
from bot.understanding.features import WORD, Features
from bot.understanding.linear import LinearModel
from bot.understanding.signals import Signal, parse_alternatives
from bot.understanding.text import Words, phrase_stems

EMERGENCY = 0.9  # danger probability at which only the urgent-care reply is sent
CAUTION = 0.15  # urgent-care advice first, then the answer (dev sets: 315/315 danger, 46 false cautions in 1,271)
SHORT = 12  # words: a message this short is read whole by the rules as well as sentence by sentence
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")


class Level(StrEnum):
    emergency = "emergency"
    caution = "caution"


@dataclass(frozen=True)
class Verdict:
    rule: str  # the safety.yaml rule whose reply is sent
    level: Level
    by: str  # "rule" or "model": what noticed it
    score: float  # the model's danger probability (1.0 for a rule)


@dataclass(frozen=True)
class _Rule:
    id: str
    personal: bool
    negatable: bool
    hypothetical_ok: bool
    signals: tuple[Signal, ...]


def _contains(stems: tuple[str, ...], phrases: list[tuple[str, ...]]) -> bool:
    present = set(stems)
    return any(
        stems[i : i + len(p)] == p for p in phrases if p and p[0] in present for i in range(len(stems) - len(p) + 1)
    )


class Rules:
    """safety.yaml's patterns, with its exceptions for general and hypothetical questions."""

    def __init__(self, safety: Safety) -> None:
        self._rules = [
            _Rule(r.id, r.personal, r.negatable, r.hypothetical_ok, tuple(Signal.parse(s) for s in r.signals))
            for r in safety.rules
        ]
        self._window = safety.window
        self._personal = parse_alternatives(safety.personal_markers)
        self._question = [phrase_stems(q) for q in safety.question_starts.split("|")]
        self._hypothetical = [phrase_stems(q) for q in safety.hypothetical.split("|")]
        self._negators = parse_alternatives(safety.negators)
        self._hearsay = [phrase_stems(q) for q in safety.hearsay.split("|") if q.strip()]
        # Which signals a stem can start: a signal matches only if a first stem of every part is in
        # the message, so each is filed under those of its part with the fewest, and a message is
        # checked against the few signals its words could complete (~10 of ~250), in rule order.
        self._by_stem: dict[str, set[int]] = {}  # stem -> id() of the signals (kept alive by the rules)
        for rule in self._rules:
            for signal in rule.signals:
                for stem in min(signal.firsts, key=len):
                    self._by_stem.setdefault(stem, set()).add(id(signal))

    def signal_words(self) -> set[str]:
        return {w for r in self._rules for s in r.signals for w in s.words()}

    def general_question(self, words: Words) -> bool:
        """A question about nobody in particular: 'can magnesium cause chest pain?'."""
        if any(s in self._personal for s in words.stems):
            return False
        stems = words.stems
        return any(stems[: len(q)] == q for q in self._question if q) or any(
            _contains(stems, [q]) for q in self._question if len(q) > 1
        )

    def reported_question(self, words: Words) -> bool:
        """A question about what was read, about nobody in particular: 'I read that ropinirole can
        cause sleep attacks, how common is that?'. Only the rules see it as general; the learned
        model reads it whole, since what follows the opening may still be a report."""
        stems = words.stems
        told = next((h for h in self._hearsay if stems[: len(h)] == h), None)
        if told is None:
            return False
        rest = stems[len(told) :]
        return not any(s in self._personal for s in rest) and any(_contains(rest, [q]) for q in self._question if q)

    def match(self, words: Words) -> str | None:
        candidates: set[int] = set()
        for stem in words.positions:
            candidates.update(self._by_stem.get(stem, ()))
        if not candidates:
            return None
        general = self.general_question(words) or self.reported_question(words)
        hypothetical = _contains(words.stems, self._hypothetical)
        for rule in self._rules:
            if rule.personal and general:
                continue
            if rule.hypothetical_ok and hypothetical:
                continue
            negators = self._negators if rule.negatable else frozenset()
            if any(s.matches(words, self._window, negators) for s in rule.signals if id(s) in candidates):
                return rule.id
        return None


def danger_of(model: LinearModel, features: Features) -> tuple[float, str | None]:
    """Total probability of the danger classes, and the likeliest one's rule id."""
    probabilities = model.probabilities(features)
    danger = {c.removeprefix(DANGER): p for c, p in probabilities.items() if c.startswith(DANGER)}
    if not danger:
        return 0.0, None
    return sum(danger.values()), max(danger, key=danger.__getitem__)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if len(s.split()) >= 2]


class SafetyNet:
    def __init__(self, rules: Rules, model: LinearModel) -> None:
        self.rules = rules
        self.model = model

    def check(self, words: Words, whole: Features, parts: list[Words]) -> Verdict | None:
        """`parts` are the sentences of a longer message (empty for a short one)."""
        # A pattern spans two sentences only in a message as short as "can't do another night. I'm done".
        pieces = [*parts, *([words] if len(words.tokens) <= SHORT else [])]
        for part_words in pieces or [words]:
            rule = self.rules.match(part_words)
            if rule:  # in a story that asks something else, the advice comes first, then the answer
                return Verdict(rule, Level.caution if parts else Level.emergency, "rule", 1.0)
        if self.rules.general_question(words):  # "can magnesium cause chest pain?": the normal answer
            return None
        if not self.model.knows_any(whole, WORD):  # "xyzzy plugh": no word it knows, nothing to judge
            return None
        score, rule = danger_of(self.model, whole)
        if rule is None or score < CAUTION:
            return None
        return Verdict(rule, Level.emergency if score >= EMERGENCY else Level.caution, "model", score)
