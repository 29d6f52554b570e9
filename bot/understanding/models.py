"""The four trained models, built from content/ or loaded from the cache.

A model is retrained only when what it learns from changes: the cache key hashes the training
messages, their labels, the hyper-parameters and the feature format. Editors therefore never run a
training step by hand; the first start after an edit trains (a few seconds) and later starts load.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.knowledge.schema import Content
from bot.understanding import datasets
from bot.understanding.cache import Job, cached_all, default_cache_dir
from bot.understanding.datasets import Sample
from bot.understanding.features import EMBEDDING_DIM, STYLE_PREFIXES, Features, Featurizer
from bot.understanding.linear import Hyper, Lexicon, LinearModel, fingerprint, train
from bot.understanding.neighbours import Neighbours

log = logging.getLogger(__name__)

GATE = Hyper(c=10.0, skip=STYLE_PREFIXES, normalise=False)  # the gate judges the subject, not the phrasing
RANKER = Hyper(c=10.0)
SAFETY = Hyper(c=10.0, class_weight=None)  # natural frequencies: danger is the rarer thing
CHAT = Hyper(c=10.0, class_weight=None)  # natural frequencies: most messages are neither


@dataclass(frozen=True)
class Models:
    gate: LinearModel  # "in" / "out" of the bot's subject
    ranker: LinearModel  # topic ids
    safety: LinearModel  # danger:<rule>, topic ids, out_of_scope, near-miss
    chat: LinearModel  # small-talk kinds, "reminders", or "other"
    neighbours: Neighbours  # the gate's messages by embedding: the nearest ones vote in or out
    trained_on: str = ""  # the cache keys together: what the models learnt from, and how

    def weights(self) -> str:
        """A digest of the learnt numbers. The same training gives other last bits on another CPU
        (numpy's and OpenBLAS's vector code round differently), so the evaluation snapshot tells
        an edit (`trained_on` moved) from another machine's arithmetic (only this moved)."""
        digest = hashlib.sha256()
        for model in (self.gate, self.ranker, self.safety, self.chat):
            digest.update(np.ascontiguousarray(model.coef).tobytes())
            digest.update(np.ascontiguousarray(model.intercept).tobytes())
        digest.update(np.ascontiguousarray(self.neighbours.vectors).tobytes())
        return digest.hexdigest()[:16]


class _FeatureMemo:
    """Features of each training text, computed once although several models read it."""

    def __init__(self, featurizer: Featurizer) -> None:
        self._featurizer = featurizer
        self._done: dict[str, Features] = {}
        self.signature = featurizer.signature

    def __call__(self, texts: list[str]) -> list[Features]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._done))
        if missing:
            self._done.update(zip(missing, self._featurizer.features(missing), strict=True))
        return [self._done[t] for t in texts]


def _model(
    name: str, samples: list[Sample], hyper: Hyper, features: _FeatureMemo, cache: Path | None
) -> tuple[str, Job]:
    """The cache key of a model, and how to load or train it."""
    texts = [s.text for s in samples]
    labels = [s.label for s in samples]
    key = fingerprint(name, texts, labels, hyper, features.signature)

    def trained() -> LinearModel:
        started = time.perf_counter()
        model = train(features(texts), labels, hyper)
        log.info("trained the %s model on %d messages in %.1f s", name, len(samples), time.perf_counter() - started)
        return model

    return key, Job(cache / f"{name}-{key}.npz" if cache else None, LinearModel.load, trained)


def _neighbours(samples: list[Sample], features: _FeatureMemo, cache: Path | None) -> tuple[str, Job]:
    texts = [s.text for s in samples]
    labels = [s.label for s in samples]
    key = fingerprint("neighbours", texts, labels, Hyper(), f"wordllama-{EMBEDDING_DIM}")

    def gathered() -> Neighbours:
        return Neighbours.of([f.dense for f in features(texts)], [label == datasets.IN for label in labels])

    return key, Job(cache / f"neighbours-{key}.npz" if cache else None, Neighbours.load, gathered)


def load_models(
    content: Content,
    featurizer: Featurizer,
    cache: Path | None = None,
    *,
    keep: Callable[[Sample], bool] | None = None,
) -> Models:
    """`keep` leaves samples out (cross-validation holds out one writer's file at a time)."""
    cache = cache if cache is not None else default_cache_dir()
    features = _FeatureMemo(featurizer)

    def chosen(samples: list[Sample]) -> list[Sample]:
        return [s for s in samples if keep(s)] if keep else samples

    samples = datasets.sets(content)
    planned = {
        "gate": _model("gate", chosen(samples.gate), GATE, features, cache),
        "ranker": _model("ranker", chosen(samples.ranker), RANKER, features, cache),
        "safety": _model("safety", chosen(samples.safety), SAFETY, features, cache),
        "chat": _model("chat", chosen(samples.chat), CHAT, features, cache),
        "neighbours": _neighbours(chosen(samples.gate), features, cache),
    }
    # The longest to train first: a second process starting at once takes the others meanwhile.
    order = ("safety", "chat", "gate", "ranker", "neighbours")
    built = cached_all({name: planned[name][1] for name in order})
    lexicon = Lexicon()  # a message's terms are looked up once for the four models
    return Models(
        gate=built["gate"].sharing(lexicon),
        ranker=built["ranker"].sharing(lexicon),
        safety=built["safety"].sharing(lexicon),
        chat=built["chat"].sharing(lexicon),
        neighbours=built["neighbours"],
        trained_on="-".join(key for key, _ in planned.values()),
    )
