"""The labelled messages each model learns from, gathered from content/.

Four models, four views of the same material:
- the gate: is this message about the bot's subject at all ("in") or not ("out")?
- the ranker: which topic answers it (in-scope messages only)?
- the safety model: which danger, if any? Danger categories compete with every topic and with
  "out of scope", so a worried caregiver's question about ropinirole is explained by its topic
  instead of looking like danger for want of an alternative.
- the chat model: which kind of small talk, or a request about the reminders, or neither ("other":
  every topic, off-topic and danger message)? It reads what smalltalk.yaml's phrases and signals
  do not list ("do you ever sleep?", "give me a shout at 9 so I stretch").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from bot.knowledge.schema import Content
from bot.knowledge.training import CHAT_REMINDERS, NEAR_MISS

IN, OUT = "in", "out"
OUT_OF_SCOPE = "out_of_scope"
DANGER = "danger:"  # prefix of the safety model's danger classes
SAFE = "near-miss"  # the safety model's class for danger-sounding but ordinary messages
OTHER = "other"  # the chat model's class for a message that is not small talk or about the reminders


class Sample(NamedTuple):  # a tuple: ~50,000 are gathered at every start to find the cached models
    text: str
    label: str
    source: str  # the file it came from: cross-validation holds out whole files (writers)


def topic_samples(content: Content) -> list[Sample]:
    """Every in-scope message with its topic: examples, keywords and titles, labelled sets."""
    samples = []
    for topic in content.topics.values():
        source = f"topics/{topic.id}.yaml"
        samples += [Sample(text, topic.id, source) for text in (*topic.examples, *topic.keywords, topic.title)]
    for example in content.training.labelled:
        if example.topics and example.topics[0] in content.topics:
            samples.append(Sample(example.message, example.topics[0], example.where.file.name))
    return samples


def off_topic_samples(content: Content) -> list[Sample]:
    samples = [Sample(line.text, OUT_OF_SCOPE, line.file.name) for line in content.training.off_topic]
    for example in content.training.labelled:
        if example.intent == OUT_OF_SCOPE:
            samples.append(Sample(example.message, OUT_OF_SCOPE, example.where.file.name))
    return samples


def danger_samples(content: Content) -> list[Sample]:
    """Danger messages by rule, and near misses that must get the normal answer."""
    samples = []
    for rule, line in content.training.danger:
        label = SAFE if rule == NEAR_MISS else DANGER + rule
        samples.append(Sample(line.text, label, line.file.name))
    for example in content.training.labelled:
        if example.intent == "emergency" and example.label:
            samples.append(Sample(example.message, DANGER + example.label, example.where.file.name))
    return samples


def chat_samples(content: Content, others: list[Sample]) -> list[Sample]:
    """Small talk by kind and reminder requests, against `others`: everything else the bot reads."""
    samples = [Sample(p, k.id, "smalltalk.yaml") for k in content.smalltalk.kinds for p in k.phrases]
    for kind, line in content.training.chat:
        samples.append(Sample(line.text, OTHER if kind == NEAR_MISS else kind, line.file.name))
    for example in content.training.labelled:
        if example.intent == CHAT_REMINDERS:
            samples.append(Sample(example.message, CHAT_REMINDERS, example.where.file.name))
    return samples + [Sample(s.text, OTHER, s.source) for s in others]


@dataclass(frozen=True)
class Sets:
    """What each model learns from, gathered once: the topic examples feed all four."""

    gate: list[Sample]
    ranker: list[Sample]
    safety: list[Sample]
    chat: list[Sample]


def sets(content: Content) -> Sets:
    topics, off_topic, danger = topic_samples(content), off_topic_samples(content), danger_samples(content)
    gate = [Sample(s.text, IN, s.source) for s in topics] + [Sample(s.text, OUT, s.source) for s in off_topic]
    everything = topics + off_topic + danger
    return Sets(gate=gate, ranker=topics, safety=everything, chat=chat_samples(content, everything))


def safety_set(content: Content) -> list[Sample]:
    return sets(content).safety
