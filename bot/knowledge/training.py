"""The training corpora in content/training/: plain text and TSV files that editors extend.

- `off_topic/*.txt`: one message per line that the bot must decline (everyday requests, other
  illnesses and medicines, other senses of "restless", "iron", "magnesium").
- `danger/*.tsv`: `rule<TAB>message`; rule is a safety.yaml rule id, or `none` for a near miss
  that must get the normal answer ("what are the signs of too much magnesium?").
- `labelled/*.tsv`: `intent<TAB>label<TAB>message`, whole labelled conversations of messages
  (older evaluation sets, now learned from).
- `chat/*.tsv`: `kind<TAB>message`; kind is a smalltalk.yaml kind id, `reminders` for a request
  about the evening reminders, or `none` for a message that is neither ("hi, is magnesium safe?").

Lines starting with `#` and blank lines are skipped. Every problem is reported as file:line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

INTENTS = ("topic", "emergency", "out_of_scope", "smalltalk", "reminders")
NEAR_MISS = "none"
CHAT_REMINDERS = "reminders"  # the chat corpus's kind for a request about the evening reminders
MAX_MESSAGE_CHARS = 4096


@dataclass(frozen=True)
class Line:
    file: Path
    number: int
    text: str


@dataclass(frozen=True)
class Labelled:
    intent: str
    label: str  # topic ids joined by "|" for topics, a danger rule for emergencies, else ""
    message: str
    where: Line

    @cached_property
    def topics(self) -> tuple[str, ...]:  # read for each of ~15,000 messages at every start
        return tuple(self.label.split("|")) if self.intent == "topic" and self.label else ()


@dataclass(frozen=True)
class Training:
    off_topic: tuple[Line, ...] = ()
    danger: tuple[tuple[str, Line], ...] = ()  # (rule id or "none", message)
    labelled: tuple[Labelled, ...] = ()
    chat: tuple[tuple[str, Line], ...] = ()  # (small-talk kind, "reminders" or "none"; the message)
    problems: tuple[tuple[Path, int, str], ...] = field(default=(), compare=False)


def _lines(file: Path) -> list[Line]:
    out = []
    for number, raw in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        if text and not text.startswith("#"):
            out.append(Line(file, number, raw.rstrip("\r\n")))
    return out


def read_labelled(file: Path, problems: list[tuple[Path, int, str]]) -> list[Labelled]:
    """`intent<TAB>label<TAB>message` lines; shared by training files and evaluation sets."""
    found = []
    for line in _lines(file):
        parts = line.text.split("\t", 2)
        if len(parts) != 3:
            problems.append((file, line.number, "needs three tab-separated fields: intent, label, message"))
            continue
        intent, label, message = (p.strip() for p in parts)
        if intent not in INTENTS:
            problems.append((file, line.number, f'unknown intent "{intent}" (one of: {", ".join(INTENTS)})'))
            continue
        if intent == "topic" and not label:
            problems.append((file, line.number, "a topic line needs the topic id in the second field"))
            continue
        if not message or len(message) > MAX_MESSAGE_CHARS:
            problems.append((file, line.number, "the message is empty or longer than Telegram allows"))
            continue
        found.append(Labelled(intent, label, message, line))
    return found


def _read_pairs(folder: Path, first: str, problems: list[tuple[Path, int, str]]) -> list[tuple[str, Line]]:
    """`<first><TAB>message` lines of every TSV file in a folder (danger/ and chat/)."""
    pairs = []
    for file in sorted(folder.glob("*.tsv")):
        for line in _lines(file):
            label, tab, message = line.text.partition("\t")
            if not tab or not message.strip() or "\t" in message:
                problems.append((file, line.number, f"needs two tab-separated fields: {first}, message"))
                continue
            if len(message) > MAX_MESSAGE_CHARS:
                problems.append((file, line.number, "the message is longer than Telegram allows"))
                continue
            pairs.append((label.strip(), Line(file, line.number, message.strip())))
    return pairs


def load_training(root: Path) -> Training:
    problems: list[tuple[Path, int, str]] = []
    off_topic: list[Line] = []
    seen: dict[str, Line] = {}
    for file in sorted((root / "off_topic").glob("*.txt")):
        for line in _lines(file):
            key = " ".join(line.text.casefold().split())
            if key in seen:
                first = seen[key]
                problems.append((file, line.number, f"also listed at {first.file.name}:{first.number}"))
                continue
            seen[key] = line
            off_topic.append(Line(file, line.number, line.text.strip()))
    danger = _read_pairs(root / "danger", "rule id (or none)", problems)
    labelled: list[Labelled] = []
    for file in sorted((root / "labelled").glob("*.tsv")):
        labelled += read_labelled(file, problems)
    chat = _read_pairs(root / "chat", "kind (or none)", problems)
    return Training(tuple(off_topic), tuple(danger), tuple(labelled), tuple(chat), tuple(problems))
