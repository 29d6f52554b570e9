"""How common a word is, in English and in the six other languages people most often write to an
English bot in: wordfreq's Zipf values, kept in the model cache as one small table.

The bot asks wordfreq two things: is this word common English (so the speller leaves it alone),
and which language explains a message's words best. Importing wordfreq (langcodes, ftfy) and
decoding its lists cost ~0.4 s at every start; the answers need only the words and their values,
so wordfreq is imported to build the table once per wordfreq version and the table is loaded
after that (~20 ms). The table holds every word of the six small lists and of English's, and the
words of English's best list from COMMON_ENGLISH up; a word it lacks scores 0, as a word in no
list does in wordfreq. Words are looked up as wordfreq's lists spell them (NFKC, case-folded);
numbers are not estimated as wordfreq does ("10th" is folded into "00th"), so a caller asking about
a word with digits says itself which are common.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import tempfile
from bisect import bisect_left
from functools import cache
from pathlib import Path

import numpy as np

from bot.understanding.cache import cached, default_cache_dir

# Column 0: wordfreq's best English list (the speller's "is this a real word?"); then the small
# lists, which are what the language check compares (and all the slim image keeps of them).
ENGLISH = "en"
LATIN_LANGUAGES = ("es", "pt", "de", "fr", "it", "nl")
SMALL = ("en", *LATIN_LANGUAGES)
COLUMNS = (("en", "best"), *((language, "small") for language in SMALL))
_COLUMN = {column: index for index, column in enumerate(COLUMNS)}
# Real English words this common are never "corrected" into a domain word (math -> bath); rarer
# words of the best English list are left out of the table (unless a small list holds them).
COMMON_ENGLISH = 3.0
FORMAT = 1  # bump when the table's layout or columns change


class ZipfTable:
    """Zipf frequency of a word in each of COLUMNS, held in hundredths (wordfreq's own precision);
    0.0 where a list lacks the word."""

    def __init__(self, words: list[str], values: np.ndarray) -> None:
        self._words = words  # sorted: a lookup is a binary search (a dict of them took 40 ms to build)
        self._values = values

    def zipf(self, word: str, language: str, wordlist: str) -> float:
        row = bisect_left(self._words, word)
        if row == len(self._words) or self._words[row] != word:
            return 0.0
        return int(self._values[row, _COLUMN[language, wordlist]]) / 100  # the very float round(z, 2) gives

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            blob = "\n".join(self._words).encode()
            np.savez(handle, words=np.frombuffer(blob, dtype=np.uint8), values=self._values)
        os.replace(handle.name, path)  # readers never see half a file

    @classmethod
    def load(cls, path: Path) -> ZipfTable:
        with np.load(path) as data:
            words = data["words"].tobytes().decode().split("\n")
            values = data["values"]
        if values.shape != (len(words), len(COLUMNS)):
            raise ValueError("the frequency table does not match its word list")
        return cls(words, values)

    @classmethod
    def build(cls) -> ZipfTable:
        """Read wordfreq's lists; the only place wordfreq is imported."""
        from wordfreq import get_frequency_dict

        lists = [get_frequency_dict(language, wordlist) for language, wordlist in COLUMNS]
        common = (w for w, f in lists[0].items() if _centibels(f) >= COMMON_ENGLISH * 100)
        words = sorted({*common, *(w for found in lists[1:] for w in found)})
        values = np.array([[_centibels(found.get(w, 0.0)) for found in lists] for w in words], dtype=np.int16)
        return cls(words, values.reshape(len(words), len(COLUMNS)))


def _centibels(frequency: float) -> int:
    """wordfreq's zipf_frequency of a listed word, times 100: the frequency rounded to 3
    significant digits, on the Zipf scale rounded to hundredths; unlisted words score 0."""
    frequency = max(frequency, 1e-9)
    rounded = round(frequency, math.floor(-math.log10(frequency)) + 3)
    return round((math.log10(rounded) + 9) * 100)


def _path(directory: Path) -> Path:
    version = importlib.metadata.version("wordfreq")
    return directory / f"zipf-{FORMAT}-wordfreq-{version}-{'-'.join(SMALL)}-from-{COMMON_ENGLISH}.npz"


@cache
def table() -> ZipfTable:
    """The table from the cache, built and stored on the first start (a few seconds)."""
    return cached(_path(default_cache_dir()), ZipfTable.load, ZipfTable.build)


def common_english(word: str) -> bool:
    """Is this (lower-case, digit-free) word at least COMMON_ENGLISH in wordfreq's best English list?"""
    return zipf(word) >= COMMON_ENGLISH


def zipf(word: str, language: str = ENGLISH, wordlist: str = "best") -> float:
    """wordfreq's zipf_frequency of one lower-case word, without importing wordfreq. The pairs
    asked for must be in COLUMNS: English "best" or "small", the other languages "small"."""
    return table().zipf(word, language, wordlist)
