"""What the learned models read of a message: word stems and stem pairs, character n-grams of
the words as typed, and a static sentence embedding.

Stems carry the meaning the editors' words share with the message; character n-grams survive
typos the speller cannot place ("magnisum", "gabapenton"); the embedding (WordLlama's 256-d
static vectors, shipped inside its wheel) relates words no example used ("tonic water" and
"quinine"). The same function builds the features for training and for answering, so the two
can never drift apart.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.understanding.text import STOPWORDS, Speller, Words, raw_tokens

CHAR_SIZES = (3, 4, 5)
EMBEDDING_DIM = 256
WORDLLAMA = "l2_supercat"  # the model whose weights the wordllama wheel ships


@dataclass(frozen=True)
class Features:
    """One message, ready for a linear model: sparse terms with counts, and a dense vector."""

    terms: Counter[str]
    dense: np.ndarray
    # Each model's sparse view of these terms, kept while the message is read (the safety model
    # reads it twice, for danger and for scope; the ranker twice for a follow-up), and the
    # lexicon's numbers of them: keyed by the id of the model or lexicon, which is kept beside.
    views: dict[int, tuple[object, Any]] = field(default_factory=dict, compare=False, repr=False)

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
    terms: list[str] = []
    for token in raw_tokens(text):
        terms += _word_char_terms(token) if len(token) <= CACHED_WORD else _char_terms(token)
    return terms


CACHED_WORD = 24  # longer "words" (a pasted link, a key held down) are rare and large: not kept


@lru_cache(maxsize=20_000)
def _word_char_terms(token: str) -> tuple[str, ...]:
    """One word's n-grams, kept: most words of a message were seen before, and the kept strings
    keep their hashes for the lexicon's lookup (a third of featurising a long message)."""
    return _char_terms(token)


def _char_terms(token: str) -> tuple[str, ...]:
    padded = f" {token} "
    prefix = "d" if token in STOPWORDS else "c"
    terms: list[str] = []
    for size in CHAR_SIZES:
        if len(padded) < size:
            break
        terms += [f"{prefix}:{padded[i : i + size]}" for i in range(len(padded) - size + 1)]
    return tuple(terms)


class _Embedder:
    """WordLlama's static vectors (l2_supercat, 256-d), read from the files its wheel ships.

    The package's own loader costs ~0.2 s of every start (it imports requests, its clustering
    and text-splitting tools, and sets up the root logger) for what is a lookup and an average:
    so this reads the same tokenizer and weights with the same libraries (tokenizers,
    safetensors) and does the package's arithmetic, batch for batch (a test checks the vectors
    are identical). Nothing is ever downloaded.
    """

    BATCH = 64  # WordLlamaInference.embed's batches: the same padding, so the same sums

    def __init__(self) -> None:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        spec = importlib.util.find_spec("wordllama")  # finds the package without running it
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("the wordllama package is not installed")
        package = Path(next(iter(spec.submodule_search_locations)))
        self._tokenizer = Tokenizer.from_file(str(package / "tokenizers" / f"{WORDLLAMA}_tokenizer_config.json"))
        self._tokenizer.enable_padding()
        self._tokenizer.no_truncation()
        with safe_open(str(package / "weights" / f"{WORDLLAMA}_{EMBEDDING_DIM}.safetensors"), framework="np") as f:
            self._weights = f.get_tensor("embedding.weight")  # float16; widened row by row, exactly

    def __call__(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:  # a message being answered: no padding, so no mask to apply
            return self._one(texts[0])[np.newaxis]
        vectors = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for start in range(0, len(texts), self.BATCH):
            encoded = self._tokenizer.encode_batch(texts[start : start + self.BATCH], add_special_tokens=False)
            ids = np.array([e.ids for e in encoded], dtype=np.int32)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
            np.clip(ids, 0, len(self._weights) - 1, out=ids)
            tokens = self._weights[ids].astype(np.float32)
            count = np.maximum(mask.sum(axis=1, keepdims=True), 1.0).astype(np.float32)
            pooled = np.sum(tokens * mask[..., np.newaxis], axis=1, dtype=np.float32) / count
            with np.errstate(invalid="ignore", divide="ignore"):  # a text of no tokens: zeros, below
                pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors[start : start + len(encoded)] = pooled
        return np.nan_to_num(vectors)

    def _one(self, text: str) -> np.ndarray:
        """The batch arithmetic for a batch of one, without its padding mask: the same sums (a
        mask of ones changes nothing), at half the cost of a short message's embedding."""
        ids = np.array(self._tokenizer.encode(text, add_special_tokens=False).ids, dtype=np.int32)
        if not len(ids):
            return np.zeros(EMBEDDING_DIM, dtype=np.float32)
        np.clip(ids, 0, len(self._weights) - 1, out=ids)
        tokens = self._weights[ids].astype(np.float32)
        pooled = np.sum(tokens, axis=0, dtype=np.float32) / np.float32(len(ids))
        length = np.sqrt(np.add.reduce(pooled * pooled))  # as norm(axis=1) sums, not as dot()
        return pooled / length if length else np.zeros(EMBEDDING_DIM, dtype=np.float32)


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
