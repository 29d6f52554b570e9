"""The gate's third vote: are the training messages most like this one about our subject or not?

A linear model weighs words one at a time, so "is keto safe for someone over 60?" is pulled in by
"safe" and "over 60" that many dose questions share. The nearest written examples, by the
sentence embedding, are other diet and weight questions, all out of scope. Measured on the
development sets (3,340 messages): at the same topic recall, the mean of the gate, the safety
model's topic share and this vote admitted 7 off-topic messages where the first two alone
admitted 18; a vote over word and character terms did no better and cost 60 ms a message.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from bot.understanding.features import EMBEDDING_DIM

K = 5  # neighbours that vote; more blur the boundary (k=15 admitted 13 of the same 18)
# Reading all ~17,000 vectors costs ~1 ms a message, most of it memory traffic. WordLlama's vectors
# are Matryoshka-trained (their leading dimensions carry most of the meaning), so the first 64
# pick a shortlist and the full vectors rank it: 0.4 ms, and the same off-topic figures on the
# development sets (the shortlist of 200 holds the exact five for all but 2% of messages).
COARSE, SHORTLIST = 64, 200


@dataclass(frozen=True, eq=False)  # arrays: compared and hashed by identity
class Neighbours:
    """Unit-length embeddings of the gate's training messages, and which of them are in scope."""

    vectors: np.ndarray  # (messages, dimensions), float32, rows of length 1 (or 0)
    inside: np.ndarray  # (messages,), float32: 1.0 in scope, 0.0 out

    @cached_property
    def _leading(self) -> np.ndarray:
        return np.ascontiguousarray(self.vectors[:, :COARSE])

    @classmethod
    def of(cls, dense: Sequence[np.ndarray], inside: Sequence[bool]) -> Neighbours:
        raw = np.vstack(dense) if len(dense) else np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        lengths = np.linalg.norm(raw, axis=1, keepdims=True)
        unit = (raw / np.where(lengths > 0, lengths, 1.0)).astype(np.float32)
        return cls(unit, np.asarray(inside, dtype=np.float32))

    def share_inside(self, dense: np.ndarray) -> float:
        """The in-scope share of the K most similar messages, each weighed by its squared cosine:
        a near copy outvotes four loose relatives."""
        length = float(np.linalg.norm(dense))
        if not length or len(self.inside) <= K:
            return 0.5
        unit = (dense / length).astype(np.float32)
        if len(self.inside) > SHORTLIST:
            shortlist = np.argpartition(self._leading @ unit[:COARSE], -SHORTLIST)[-SHORTLIST:]
        else:
            shortlist = np.arange(len(self.inside))
        similarity = self.vectors[shortlist] @ unit
        nearest = np.argpartition(similarity, -K)[-K:]
        weights = np.maximum(similarity[nearest], 0.0) ** 2
        total = float(weights.sum())
        return float(weights @ self.inside[shortlist[nearest]]) / total if total else 0.5

    # -- storing ----------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            try:
                np.savez(handle, vectors=self.vectors, inside=self.inside)
            except BaseException:
                Path(handle.name).unlink(missing_ok=True)
                raise
        os.replace(handle.name, path)  # readers never see half a file

    @classmethod
    def load(cls, path: Path) -> Neighbours:
        with np.load(path) as data:
            vectors, inside = data["vectors"], data["inside"]
        if vectors.ndim != 2 or len(vectors) != len(inside) or vectors.shape[1] != EMBEDDING_DIM:
            raise ValueError("vectors and labels disagree, or the vectors are of another embedding")
        return cls(vectors, inside)
