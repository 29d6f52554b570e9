"""Editor-written word patterns ("chest + pain|tight") matched against a message.

Used for danger messages and reminder requests, where a fixed, readable rule is safer
than a score: an editor can see exactly why a message matched.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.understanding.text import Words, phrase_stems

NEGATION_REACH = 3  # how many words before a match a "no"/"not" still negates it


@dataclass(frozen=True)
class Signal:
    """All parts must occur within `window` words; each part lists alternative phrases."""

    text: str
    parts: tuple[tuple[tuple[str, ...], ...], ...]
    firsts: tuple[frozenset[str], ...] = ()  # each part's possible first stems: most signals fail on these

    def __post_init__(self) -> None:
        object.__setattr__(self, "firsts", tuple(frozenset(a[0] for a in part) for part in self.parts))

    @classmethod
    def parse(cls, text: str) -> Signal:
        parts = []
        for part in text.split("+"):
            alternatives = tuple(phrase_stems(a) for a in part.split("|"))
            alternatives = tuple(a for a in alternatives if a)
            if not alternatives:
                raise ValueError(f'signal "{text}" has an empty part')
            parts.append(alternatives)
        return cls(text, tuple(parts))

    def words(self) -> set[str]:
        """Surface words the speller must know, so typos of them are corrected."""
        return {w for part in self.text.split("+") for alt in part.split("|") for w in alt.split()}

    def _positions(self, words: Words, part: tuple[tuple[str, ...], ...], negators: frozenset[str]) -> list[int]:
        stems = words.stems
        found = []
        for alternative in part:
            size = len(alternative)
            for start in words.positions.get(alternative[0], ()):
                if stems[start : start + size] != alternative:
                    continue
                before = stems[max(0, start - NEGATION_REACH) : start]
                if negators and any(s in negators for s in before):
                    continue
                found.append(start)
        return found

    def matches(self, words: Words, window: int, negators: frozenset[str] = frozenset()) -> bool:
        if any(first.isdisjoint(words.positions) for first in self.firsts):  # a set test, before any scanning
            return False
        positions = []
        for part in self.parts:
            found = self._positions(words, part, negators)
            if not found:
                return False
            positions.append(found)
        return any(
            all(any(abs(other - anchor) <= window for other in later) for later in positions[1:])
            for anchor in positions[0]
        )


def parse_alternatives(text: str) -> frozenset[str]:
    """'a|b|c' lists as used for personal markers and negators, stemmed."""
    return frozenset(s for item in text.split("|") for s in phrase_stems(item.strip()))
