"""Measures the classifier on labelled messages, so content edits can be checked by number."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.understanding import Classifier, Intent


@dataclass(frozen=True)
class Example:
    intent: Intent
    topic: str | None
    message: str
    line: int


@dataclass
class Report:
    total: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)
    mistakes: list[tuple[Example, str]] = field(default_factory=list)

    def accuracy(self, intent: str) -> float:
        return self.correct[intent] / self.total[intent] if self.total[intent] else 1.0

    def overall(self) -> float:
        total = sum(self.total.values())
        return sum(self.correct.values()) / total if total else 1.0

    def lines(self) -> list[str]:
        out = [f"{'intent':<14}{'right':>7}{'of':>6}{'accuracy':>10}"]
        for intent in Intent:
            if self.total[intent.value]:
                out.append(
                    f"{intent.value:<14}{self.correct[intent.value]:>7}"
                    f"{self.total[intent.value]:>6}{self.accuracy(intent.value):>10.1%}"
                )
        out.append(f"{'all':<14}{sum(self.correct.values()):>7}{sum(self.total.values()):>6}{self.overall():>10.1%}")
        return out


def read_examples(path: Path | str) -> list[Example]:
    """Tab-separated: intent, topic (empty unless intent is topic), message. '#' starts a comment."""
    examples = []
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        intent, topic, message = raw.split("\t", 2)
        examples.append(Example(Intent(intent), topic or None, message, number))
    return examples


def evaluate(classifier: Classifier, examples: list[Example]) -> Report:
    report = Report()
    for example in examples:
        got = classifier.classify(example.message)
        key = example.intent.value
        report.total[key] += 1
        right = got.intent == example.intent and (example.intent is not Intent.topic or got.topic == example.topic)
        if right:
            report.correct[key] += 1
        else:
            detail = got.topic or got.rule or ""
            report.mistakes.append((example, f"{got.intent.value} {detail}".strip()))
    return report


def confusion(report: Report) -> list[str]:
    by_kind: dict[str, list[str]] = defaultdict(list)
    for example, got in report.mistakes:
        wanted = f"{example.intent.value} {example.topic or ''}".strip()
        by_kind[wanted].append(f"  line {example.line}: {example.message!r} -> {got}")
    return [line for kind in sorted(by_kind) for line in [kind, *by_kind[kind]]]
