"""Is a message written in another language? The models know English only, so a question in
Spanish or German would be read as off-topic noise and refused as if it were not about RLS;
saying "I only read English so far" is the honest answer. Word frequencies come from wordfreq's
lists (see frequency.py), which the speller reads too.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.understanding.frequency import LATIN_LANGUAGES, zipf

# LATIN_LANGUAGES are the ones written in Latin letters that people most often write to an
# English bot in; other scripts are told apart by their letters alone. wordfreq's small lists
# (the top words of each language) are enough here.
WORDLIST = "small"
MIN_WORDS = 3  # fewer words say too little ("gracias", "ok danke")
MARGIN = 1.6  # the other language must explain the words this much better than English
FOREIGN_SCRIPT = 0.5  # share of letters outside the Latin alphabet that means another script

_WORD = re.compile(r"[^\W\d_]+")


def other_language(text: str) -> str | None:
    """The language code ("es", "de", "script") when the text is clearly not English, else None."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return None
    foreign = sum(1 for ch in letters if not latin_letter(ch))
    if foreign / len(letters) >= FOREIGN_SCRIPT:
        return "script"
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < MIN_WORDS:
        return None
    english = sum(_zipf(w, "en") for w in words)
    best, score = max(((lang, sum(_zipf(w, lang) for w in words)) for lang in LATIN_LANGUAGES), key=lambda x: x[1])
    return best if score > MARGIN * english else None


def latin_letter(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("LATIN")


def in_latin_letters(text: str) -> bool:
    """Every letter of `text` is Latin (none: True)."""
    return all(latin_letter(ch) for ch in text if ch.isalpha())


@lru_cache(maxsize=65536)
def _zipf(word: str, language: str) -> float:
    return zipf(unicodedata.normalize("NFKC", word).casefold(), language, WORDLIST)  # as the lists spell it
