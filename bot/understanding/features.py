"""What the learned models read of a message: word stems and stem pairs, character n-grams of
the words as typed, and a static sentence embedding.

Stems carry the meaning the editors' words share with the message; character n-grams survive
typos the speller cannot place ("magnisum", "gabapenton"); the embedding (WordLlama's 256-d
static vectors, shipped inside its wheel) relates words no example used ("tonic water" and
"quinine"). The same function builds the features for training and for answering, so the two
can never drift apart.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from bot.understanding.text import STOPWORDS, Speller, Words, raw_tokens

log = logging.getLogger(__name__)

CHAR_SIZES = (3, 4, 5)
EMBEDDING_DIM = 256


@dataclass(frozen=True)
class Features:
    """One message, ready for a linear model: sparse terms with counts, and a dense vector."""

    terms: Counter[str]
    dense: np.ndarray
    # Each model's sparse view of these terms, kept while the message is read: the safety model
    # reads it twice (for danger and for scope), the ranker twice for a follow-up.
    views: dict[int, tuple[object, tuple[np.ndarray, np.ndarray]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @cached_property
    def order(self) -> tuple[list[str], np.ndarray]:
        """The terms in the message's order and their counts, listed once for all three models."""
        keys = list(self.terms)
        return keys, np.fromiter(self.terms.values(), dtype=np.float32, count=len(keys))


WORD = "w:"  # a content word's stem
STYLE_PREFIXES = ("s:", "p:", "d:")  # terms made of stop words only: how a message is written


def word_terms(words: Words) -> list[str]:
    """Stems and stem pairs. Stop words ("how much", "when") tell topics apart, but say nothing
    about whether a message is on the bot's subject at all, so they carry their own prefixes."""
    function = [t in STOPWORDS for t in words.tokens]
    terms = [f"{'s' if f else 'w'}:{s}" for s, f in zip(words.stems, function, strict=True)]
    pairs = zip(words.stems, words.stems[1:], function, function[1:], strict=False)
    terms += [f"{'p' if fa and fb else 'b'}:{a}_{b}" for a, b, fa, fb in pairs]
    return terms


def char_terms(text: str) -> list[str]:
    """Character n-grams inside each word as typed, padded with spaces (scikit-learn's char_wb)."""
    terms = []
    for token in raw_tokens(text):
        padded = f" {token} "
        prefix = "d" if token in STOPWORDS else "c"
        for size in CHAR_SIZES:
            if len(padded) < size:
                break
            terms += [f"{prefix}:{padded[i : i + size]}" for i in range(len(padded) - size + 1)]
    return terms


class _Embedder:
    """WordLlama loaded from its own installed package: nothing is downloaded, ever."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import wordllama
        from wordllama import WordLlama

        self._model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)

    def __call__(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._model.embed(texts, norm=True), dtype=np.float32)
        return np.nan_to_num(vectors)


@cache
def embedder() -> _Embedder:
    return _Embedder()


class Featurizer:
    """Message text -> Features, with the content's own speller."""

    def __init__(self, speller: Speller) -> None:
        self.speller = speller

    @property
    def signature(self) -> str:
        """What, beyond the texts, decides the features: the speller's vocabulary."""
        return self.speller.signature

    def words(self, text: str) -> Words:
        return self.speller.words(text)

    def features(self, texts: list[str], words: list[Words] | None = None) -> list[Features]:
        """`words`: the texts already read by the speller, if the caller has them."""
        dense = embedder()([t.casefold() or " " for t in texts])
        read = words if words is not None else [self.speller.words(t) for t in texts]
        return [
            Features(Counter(word_terms(w) + char_terms(text)), vector)
            for text, w, vector in zip(texts, read, dense, strict=True)
        ]


def sublinear_all(counts: np.ndarray) -> np.ndarray:
    """1 + log(count) per term: a word said three times is not three times the evidence."""
    return (1.0 + np.log(counts)).astype(np.float32)
