"""Ranks topics for a message: editor keywords plus similarity to example questions."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from bot.knowledge.schema import Topic
from bot.understanding.text import STOPWORDS, Words, phrase_stems, raw_tokens, stem

# How much keyword hits and example similarity each count; tuned on tests/eval (dev part).
KEYWORD_WEIGHT = 0.4
EXAMPLE_WEIGHT = 0.6
KEYWORD_SATURATION = 4.0
PHRASE_BONUS = 0.5  # extra weight per additional word in a multi-word keyword
CONTEXT_BOOST = 2.0  # keywords of context topics (pregnancy, children, kidneys) count this much more
SUBJECT_DISCOUNT = 0.2  # "magnesium" or "RLS" says little about which topic is meant


@dataclass(frozen=True)
class TopicScore:
    topic: str
    score: float
    keyword_score: float
    example_score: float
    keywords: tuple[tuple[str, ...], ...]


def content_stems(text: str) -> frozenset[str]:
    return frozenset(stem(t) for t in raw_tokens(text) if t not in STOPWORDS)


class TopicIndex:
    def __init__(
        self,
        topics: list[Topic],
        subject: set[str] | frozenset[str] = frozenset(),
        neutral: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """`subject`: stems naming the bot's subject (weak evidence for any one topic);
        `neutral`: everyday stems ("actually", "really") that say nothing about the topic."""
        self._neutral = frozenset(neutral)
        self.topic_ids = [t.id for t in topics]
        owners: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for topic in topics:
            for keyword in topic.keywords:
                stems = phrase_stems(keyword)
                if stems and not all(s in STOPWORDS for s in stems):
                    owners[stems].add(topic.id)
        count = len(topics)
        contexts = {t.id for t in topics if t.context}
        self._keywords_by_first: dict[str, list[tuple[tuple[str, ...], frozenset[str], float]]] = defaultdict(list)
        for stems, topic_ids in owners.items():
            weight = math.log(1 + count / len(topic_ids)) * (1 + PHRASE_BONUS * (len(stems) - 1))
            if all(s in subject for s in stems):  # "magnesium", "restless legs syndrome"; not "magnesium with my"
                weight *= SUBJECT_DISCOUNT
            if any(t in contexts for t in topic_ids):
                weight *= CONTEXT_BOOST
            self._keywords_by_first[stems[0]].append((stems, frozenset(topic_ids), weight))

        self._vocabulary: dict[str, frozenset[str]] = {
            topic.id: frozenset(s for text in (*topic.keywords, *topic.examples) for s in phrase_stems(text))
            for topic in topics
        }
        self._examples: list[tuple[str, frozenset[str]]] = []
        for topic in topics:
            for example in topic.examples:
                stems = content_stems(example)
                if stems:
                    self._examples.append((topic.id, stems))
        frequency: dict[str, int] = defaultdict(int)
        documents = [stems for _, stems in self._examples]
        documents += [content_stems(k) for t in topics for k in t.keywords]
        for stems in documents:
            for s in stems:
                frequency[s] += 1
        total = len(documents)
        self._idf = {
            s: math.log(1 + total / n) * (SUBJECT_DISCOUNT if s in subject else 1.0) for s, n in frequency.items()
        }
        self._rare_idf = math.log(1 + total)
        self._postings: dict[str, list[int]] = defaultdict(list)
        for index, (_, stems) in enumerate(self._examples):
            for s in stems:
                self._postings[s].append(index)
        self._norms = [math.sqrt(sum(self._idf[s] ** 2 for s in stems)) for _, stems in self._examples]

    def vocabulary(self, topic_id: str) -> frozenset[str]:
        """Every stem an editor used for this topic; other words are foreign to it."""
        return self._vocabulary[topic_id]

    def _keyword_hits(self, stems: tuple[str, ...]) -> dict[str, list[tuple[tuple[str, ...], float]]]:
        """Keywords found in the message, longest first: a word inside a longer keyword does not
        count again for a shorter one ("habit forming" is not about forms of magnesium)."""
        found: list[tuple[int, tuple[str, ...], frozenset[str], float]] = []
        for start, first in enumerate(stems):
            for keyword, topic_ids, weight in self._keywords_by_first.get(first, ()):
                if stems[start : start + len(keyword)] == keyword:
                    found.append((start, keyword, topic_ids, weight))
        hits: dict[str, list[tuple[tuple[str, ...], float]]] = defaultdict(list)
        claimed: dict[int, int] = {}  # word position -> length of the keyword that claimed it
        seen: set[tuple[str, ...]] = set()
        for start, keyword, topic_ids, weight in sorted(found, key=lambda m: -len(m[1])):
            span = range(start, start + len(keyword))
            if keyword in seen or any(claimed.get(i, 0) > len(keyword) for i in span):
                continue
            for i in span:
                claimed[i] = len(keyword)
            seen.add(keyword)
            for topic_id in topic_ids:
                hits[topic_id].append((keyword, weight))
        return hits

    def _example_similarity(self, query: set[str]) -> dict[str, float]:
        known = [s for s in query if s in self._postings]
        if not known:
            return {}
        # Words no example uses still count in the query's length, as the rarest words do,
        # so a question sharing only "take magnesium" with an example is not a close match.
        query_norm = math.sqrt(sum(self._idf.get(s, self._rare_idf) ** 2 for s in query))
        dots: dict[int, float] = defaultdict(float)
        for s in known:
            weight = self._idf[s] ** 2
            for index in self._postings[s]:
                dots[index] += weight
        best: dict[str, float] = {}
        for index, dot in dots.items():
            topic_id = self._examples[index][0]
            similarity = dot / (query_norm * self._norms[index])
            if similarity > best.get(topic_id, 0.0):
                best[topic_id] = similarity
        return best

    def rank(self, words: Words) -> list[TopicScore]:
        hits = self._keyword_hits(words.stems)
        similarity = self._example_similarity({s for s in words.content_stems if s not in self._neutral})
        scores = []
        for topic_id in set(hits) | set(similarity):
            keyword_total = sum(w for _, w in hits.get(topic_id, ()))
            keyword_part = 1 - math.exp(-keyword_total / KEYWORD_SATURATION)
            example_part = similarity.get(topic_id, 0.0)
            score = KEYWORD_WEIGHT * keyword_part + EXAMPLE_WEIGHT * example_part
            scores.append(
                TopicScore(topic_id, score, keyword_total, example_part, tuple(k for k, _ in hits.get(topic_id, ())))
            )
        scores.sort(key=lambda s: (-s.score, self.topic_ids.index(s.topic)))
        return scores
