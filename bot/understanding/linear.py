"""Linear models over message features: trained with scikit-learn, answered with numpy.

Training uses scikit-learn's LogisticRegression, imported only when a model must be (re)built:
importing scikit-learn costs more than a second, which would be most of the start-up budget.
A trained model is a few arrays (vocabulary, idf, coefficients), kept in a cache keyed by a hash
of everything it was trained from, so a restart with unchanged content loads it in milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import repeat
from pathlib import Path

import numpy as np

from bot.understanding.features import Features, sublinear_all

log = logging.getLogger(__name__)

FORMAT_VERSION = 6  # bump when features or training change, so old caches are not reused


@dataclass(frozen=True)
class Hyper:
    """What a model is trained with; part of the cache key."""

    c: float = 10.0  # inverse regularisation strength
    dense_weight: float = 1.0  # how much the embedding counts beside the sparse terms
    min_count: int = 2  # a term must appear in this many training messages
    class_weight: str | None = "balanced"
    skip: tuple[str, ...] = ()  # term prefixes this model does not read (features.STYLE_PREFIXES)
    normalise: bool = True  # False: evidence adds up, so a long story keeps the weight of its key words
    intercept: bool = True  # False: a message with no evidence either way sits on the boundary
    # lbfgs stops when its steps get this small. At 1e-3 it stopped far enough from the optimum
    # that one added training line moved 90 of 6,456 evaluation decisions; at 1e-4, 16. Another
    # CPU's rounding moved 91 and 27 of 5,239. The safety model trains about twice as long.
    tol: float = 1e-4


class Lexicon:
    """Every term the loaded models know, numbered once. A message's ~500 terms are looked up in
    this one dict and each model maps the numbers onto its own columns with an array: three
    lookups in dicts of 36-70,000 terms, mostly cache misses, were a quarter of answering a long
    message."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def add(self, terms: Sequence[str]) -> np.ndarray:
        """The numbers of `terms`, new terms numbered on."""
        ids = self.ids
        return np.fromiter((ids.setdefault(t, len(ids)) for t in terms), dtype=np.int64, count=len(terms))

    def of(self, features: Features) -> np.ndarray:
        """The numbers of a message's terms in Features.order (-1: no model knows it), once a
        message, or again if a model has added terms since."""
        seen = features.views.get(id(self))  # the lexicon is kept beside its id, so the id is not reused
        if seen is not None and seen[0] is self and seen[1][0] == len(self.ids):
            return seen[1][1]
        keys, _ = features.order
        found = np.fromiter(map(self.ids.get, keys, repeat(-1)), dtype=np.int64, count=len(keys))
        features.views[id(self)] = (self, (len(self.ids), found))
        return found


@dataclass(frozen=True, eq=False)  # arrays: compared and hashed by identity
class LinearModel:
    classes: tuple[str, ...]
    terms: tuple[str, ...]  # the vocabulary, in column order
    idf: np.ndarray  # per vocabulary column
    # (vocabulary + dense) x (classes or 1): a term's weights for every class lie together, so a
    # message's ~500 terms read ~500 rows; stored the other way they were ~500 x classes scattered
    # reads of a 17 MB array, a third of answering a long message. Saved as scikit-learn has it.
    coef: np.ndarray
    intercept: np.ndarray
    dense_weight: float
    normalise: bool = True
    lexicon: Lexicon = field(default_factory=Lexicon)  # shared by the models answering together
    _maps: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _numbers: np.ndarray | None = field(default=None, repr=False)  # its terms' numbers in the lexicon

    def sharing(self, lexicon: Lexicon) -> LinearModel:
        """This model, reading its terms through `lexicon`, which numbers the ones it lacks now:
        once the models are loaded the lexicon no longer changes while messages are read."""
        return replace(self, lexicon=lexicon, _maps={}, _numbers=lexicon.add(self.terms))

    # -- answering -----------------------------------------------------------------------

    def _columns(self) -> np.ndarray:
        """Lexicon number -> this model's column, or -1; the last entry (-1) is where unknown
        terms (numbered -1) land. Rebuilt if another model has since added terms."""
        size = len(self.lexicon.ids)
        found = self._maps.get(size)
        if found is None:  # a term's number never changes, so those given when sharing still hold
            ids = self._numbers if self._numbers is not None else self.lexicon.add(self.terms)
            size = len(self.lexicon.ids)
            found = np.full(size + 1, -1, dtype=np.int64)
            found[ids] = np.arange(len(self.terms))
            self._maps.clear()
            self._maps[size] = found
        return found

    def _sparse(self, features: Features) -> tuple[np.ndarray, np.ndarray]:
        seen = features.views.get(id(self))
        if seen is not None and seen[0] is self:  # the model itself is kept, so its id is never reused
            return seen[1]
        view = self._view(features)
        features.views[id(self)] = (self, view)
        return view

    def _found(self, features: Features) -> np.ndarray:
        """This model's column of each of the message's terms (in Features.order), or -1."""
        return self._columns()[self.lexicon.of(features)]

    def _view(self, features: Features) -> tuple[np.ndarray, np.ndarray]:
        _, all_counts = features.order  # in the message's order: sums are reproducible
        found = self._found(features)
        known = found >= 0
        if not known.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        columns, counts = found[known], all_counts[known]
        values = sublinear_all(counts) * self.idf[columns]
        if not self.normalise:
            return columns, values / 10.0
        norm = float(np.linalg.norm(values))
        return columns, values / norm if norm else values

    def knows_any(self, features: Features, prefix: str = "") -> bool:
        """Has this model seen any of the message's terms (of one kind)? If not, it cannot judge."""
        keys, _ = features.order
        return any(keys[i].startswith(prefix) for i in np.flatnonzero(self._found(features) >= 0))

    @cached_property
    def _dense_coef(self) -> np.ndarray:
        return np.ascontiguousarray(self.coef[len(self.terms) :].T)

    def decision(self, features: Features) -> np.ndarray:
        columns, values = self._sparse(features)
        if len(columns):  # classes x terms, laid out as before the transpose: the same sums, bit for bit
            scores = np.ascontiguousarray(self.coef[columns].T) @ values
        else:
            scores = np.zeros(self.coef.shape[1], np.float32)
        return scores + self._dense_coef @ (features.dense * self.dense_weight) + self.intercept

    def probabilities(self, features: Features) -> dict[str, float]:
        """Class -> probability; a binary model gives its positive class (classes[1]) and the other."""
        scores = self.decision(features)
        if len(self.classes) == 2 and scores.shape[0] == 1:
            positive = 1.0 / (1.0 + math.exp(-float(scores[0])))
            return {self.classes[0]: 1.0 - positive, self.classes[1]: positive}
        shifted = np.exp(scores - scores.max())
        shares = shifted / shifted.sum()
        return {c: float(p) for c, p in zip(self.classes, shares, strict=True)}

    # -- storing ----------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = json.dumps(
            {
                "classes": list(self.classes),
                "terms": list(self.terms),
                "dense_weight": self.dense_weight,
                "normalise": self.normalise,
            }
        )
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            np.savez(  # uncompressed: zlib was a third of loading the models at start-up
                handle,
                meta=np.frombuffer(meta.encode(), dtype=np.uint8),
                idf=self.idf,
                coef=self.coef.T,
                intercept=self.intercept,
            )
        os.replace(handle.name, path)  # readers never see half a file

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        with np.load(path) as data:
            meta = json.loads(data["meta"].tobytes().decode())
            return cls(
                classes=tuple(meta["classes"]),
                terms=tuple(meta["terms"]),
                idf=data["idf"],
                coef=np.ascontiguousarray(data["coef"].T),
                intercept=data["intercept"],
                dense_weight=float(meta["dense_weight"]),
                normalise=bool(meta["normalise"]),
            )


# -- training ---------------------------------------------------------------------------------


def _vocabulary(samples: Sequence[Features], hyper: Hyper) -> tuple[tuple[str, ...], np.ndarray]:
    documents: dict[str, int] = {}
    for sample in samples:
        for term in sample.terms:
            documents[term] = documents.get(term, 0) + 1
    kept = sorted(t for t, n in documents.items() if n >= hyper.min_count and not t.startswith(hyper.skip))
    total = len(samples)
    idf = np.array([math.log((1 + total) / (1 + documents[t])) + 1.0 for t in kept], dtype=np.float32)
    return tuple(kept), idf


def matrix(model: LinearModel, samples: Sequence[Features]):
    """The training matrix, built with the very code that answers (LinearModel._view)."""
    from scipy import sparse

    pieces = [model._view(sample) for sample in samples]  # each read once (only the lexicon's numbers are kept)
    counts = np.fromiter((len(c) for c, _ in pieces), dtype=np.int64, count=len(pieces))
    rows = np.repeat(np.arange(len(pieces)), counts)
    cols = np.concatenate([c for c, _ in pieces]) if pieces else np.zeros(0, np.int64)
    vals = np.concatenate([v for _, v in pieces]) if pieces else np.zeros(0, np.float32)
    width = len(model.terms)
    terms = sparse.csr_matrix((vals, (rows, cols)), shape=(len(samples), width), dtype=np.float32)
    dense = np.vstack([s.dense for s in samples]) * model.dense_weight
    return sparse.hstack([terms, sparse.csr_matrix(dense)]).tocsr()


def train(samples: Sequence[Features], labels: Sequence[str], hyper: Hyper = Hyper()) -> LinearModel:
    """Fit a logistic regression; imports scikit-learn here, and only here."""
    from sklearn.linear_model import LogisticRegression

    vocabulary, idf = _vocabulary(samples, hyper)
    shell = LinearModel((), vocabulary, idf, np.zeros((0, 0)), np.zeros(0), hyper.dense_weight, hyper.normalise)
    features = matrix(shell, samples)
    fitted = LogisticRegression(
        C=hyper.c, max_iter=1000, tol=hyper.tol, class_weight=hyper.class_weight, fit_intercept=hyper.intercept
    )
    fitted.fit(features, list(labels))
    return LinearModel(
        classes=tuple(str(c) for c in fitted.classes_),
        terms=vocabulary,
        idf=idf,
        coef=np.ascontiguousarray(fitted.coef_.T, dtype=np.float32),
        intercept=np.asarray(fitted.intercept_, dtype=np.float32).reshape(-1),
        dense_weight=hyper.dense_weight,
        normalise=hyper.normalise,
    )


def fingerprint(name: str, texts: Sequence[str], labels: Sequence[str], hyper: Hyper, features: str = "") -> str:
    """The cache key of a model: everything its training reads (`features`: the featurizer's own
    signature, since the same texts give other features under another vocabulary)."""
    digest = hashlib.sha256(f"{name}|{FORMAT_VERSION}|{hyper}|{features}".encode())
    digest.update(  # one update: the same key as one per message, in a third of the time
        "".join(f"{label}\t{text}\n" for text, label in zip(texts, labels, strict=True)).encode()
    )
    return digest.hexdigest()[:24]
