"""Turns raw chat text into comparable word stems, forgiving typos and casual spelling."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.understanding.frequency import common_english

NUMBER = "<n>"  # 0-4
SEVERAL = "<several>"  # 5-9: "took 8 pills" is not "took 2 pills"
MANY = "<many>"  # 10 and up: "took 30 pills"
SEVERAL_FROM, MANY_FROM = 5, 10
# Words so frequent they say nothing about the topic. Negations ("no", "not", "dont") are
# kept out on purpose: they change what a message means.
STOPWORDS = frozenset(
    """a an the and or but if so of to in on at by for from with about into over after before
    is am are was were be been being do does did done doing have has had having
    i me my mine myself you your yours we our us he him his she her they them their it its
    this that these those there here then than too very just really also some any
    can could would should will shall may might must get got gets getting
    what which who whom whose why where how when
    im ive id ill youre its thats theres whats hows
    up out as all one ok okay pls please hi hello hey""".split()
)
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_UNIT = re.compile(r"(\d)(mg|mcg|g|ml|ng|oz|h|hr|hrs|pm|am|yo|yr|yrs|wk|wks|kg)\b")
_SPLIT_NEGATION = re.compile(r"\b(can|do|does|did|is|are|was|will|would|could) not\b")
_JOINED = {
    "can": "cannot",
    "do": "dont",
    "does": "doesnt",
    "did": "didnt",
    "is": "isnt",
    "are": "arent",
    "was": "wasnt",
    "will": "wont",
    "would": "wouldnt",
    "could": "couldnt",
}
_OVERDOSED = re.compile(r"\bod(?:'d|'ed|ed)\b")  # "I OD'd": the apostrophe would leave "odd"
_WITHOUT = re.compile(r"\bw/o\b")  # "better off w/o me": the slash would leave "with o"
_TOKEN = re.compile(r"[^\W_]+")
_DIGIT = re.compile(r"\d")
_STRETCHED = re.compile(r"([a-z])\1{2,}")  # "hiii", "sooo", "thxxx": one letter said longer
_STEMMER = snowballstemmer.stemmer("english")
# The frequency table holds words, not numbers: of the words with digits, only ordinals are
# common English ("10th", "21st"); "any1" or "b12" may still be a typo or a code.
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)")


# Words the Snowball stemmer folds into another meaning: "effective" is not "effects",
# "medical" is not "medication".
_KEEP_APART = {
    "effective": "effectiv",
    "effectively": "effectiv",
    "effectiveness": "effectiv",
    "ineffective": "effectiv",
    "medical": "medical",
    "medically": "medical",
    "difference": "difference",  # "make a difference" is not about different kinds
    "fitting": "fitting",  # "he's fitting" is a seizure; "fit", "fitness" and "fitted" are not
    "fitted": "fitted",
    "fitness": "fitness",
}


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return _KEEP_APART.get(word) or _STEMMER.stemWord(word)


def clean(text: str) -> str:
    """Lower-case, strip invisible characters and apostrophes, split numbers from units."""
    # Each rewrite is tried only where it can apply: at start-up ~11,000 training messages are
    # cleaned for the content checks, and scanning each one six times was most of that time.
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = _INVISIBLE.sub("", text)
        text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = text.casefold().replace("`", "'")
    if "od" in text:
        text = _OVERDOSED.sub("overdosed", text)
    if "w/o" in text:
        text = _WITHOUT.sub(" without ", text)
    text = text.replace("'", "").replace("+", " with ").replace("&", " and ")
    if " not" in text:
        text = _SPLIT_NEGATION.sub(lambda m: _JOINED[m.group(1)], text)
    text = _STRETCHED.sub(r"\1", text)
    return _UNIT.sub(r"\1 \2", text) if _DIGIT.search(text) else text


def _number(token: str) -> str:
    if len(token) > 6 or int(token) >= MANY_FROM:
        return MANY
    return SEVERAL if int(token) >= SEVERAL_FROM else NUMBER


def raw_tokens(text: str) -> list[str]:
    """Words of a message; every number becomes NUMBER or MANY, in messages and in content alike."""
    return [_number(t) if t.isdecimal() and t.isascii() else t for t in _TOKEN.findall(clean(text))]


def _max_typos(word: str) -> int:
    if len(word) < 4:
        return 0
    return 1 if len(word) < 7 else 2


@dataclass(frozen=True)
class Words:
    """One message as the matcher sees it."""

    tokens: tuple[str, ...]  # corrected surface words, in order
    stems: tuple[str, ...]  # stems of `tokens`, same order
    unknown: tuple[str, ...]  # words outside every list we know (not stopwords)

    @cached_property
    def positions(self) -> dict[str, list[int]]:
        """Where each stem occurs, so phrase lookups skip the rest of a long message."""
        found: dict[str, list[int]] = {}
        for index, s in enumerate(self.stems):
            found.setdefault(s, []).append(index)
        return found

    @property
    def content_stems(self) -> list[str]:
        return [s for s, t in zip(self.stems, self.tokens, strict=True) if t not in STOPWORDS]


class Speller:
    """Maps misspelt words onto the known vocabulary, leaving real English words alone."""

    def __init__(self, vocabulary: Iterable[str], spellings: dict[str, str]) -> None:
        self.known = frozenset(vocabulary) | STOPWORDS
        self._known_stems = frozenset(stem(w) for w in self.known)
        self._candidates = sorted(w for w in self.known if len(w) >= 3 and not w.isdigit())
        self.spellings = {clean(k).strip(): clean(v).strip() for k, v in spellings.items()}
        self._cache: dict[str, str] = {}

    @cached_property
    def signature(self) -> str:
        """Changes whenever the vocabulary or the spellings do: a trained model's features depend
        on them (a new safety signal word changes how typos are corrected), so it is part of the
        model cache's key."""
        digest = hashlib.sha256("\n".join(sorted(self.known)).encode())
        digest.update(repr(sorted(self.spellings.items())).encode())
        return digest.hexdigest()[:16]

    def correct(self, word: str) -> str:
        if word in self.spellings:
            return self.spellings[word]
        if word in self.known or word in (NUMBER, SEVERAL, MANY):
            return word
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        best = word
        limit = _max_typos(word)
        # "massaging" is not a typo of "managing": another form of a known word stays as it is.
        if limit and stem(word) not in self._known_stems and not self._common(word):
            found = process.extractOne(word, self._candidates, scorer=OSA.distance, score_cutoff=limit)
            if found is not None:
                best = found[0]
        if len(self._cache) < 100_000:
            self._cache[word] = best
        return best

    @staticmethod
    def _common(word: str) -> bool:
        return _ORDINAL.fullmatch(word) is not None or common_english(word)

    def words(self, text: str) -> Words:
        tokens: list[str] = []
        for token in raw_tokens(text):
            corrected = self.correct(token)
            tokens.extend(corrected.split())
        stems = tuple(stem(t) for t in tokens)
        unknown = tuple(t for t in tokens if t not in self.known and t not in (NUMBER, SEVERAL, MANY))
        return Words(tuple(tokens), stems, unknown)


def phrase_stems(phrase: str) -> tuple[str, ...]:
    """Stems of a phrase written by an editor, without spelling correction."""
    return tuple(stem(t) for t in raw_tokens(phrase))
