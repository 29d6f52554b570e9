"""Measures the understanding on labelled messages, so content and model edits are checked by number.

Sets are TSV (`intent<TAB>label<TAB>message`, label = topic id(s) joined by "|", a danger rule, or
empty) or JSON Lines of conversations (`{"turns": [...], "labels": [[intent, label], ...]}`), where
each turn is read with the conversation so far, as the bot reads it in a chat.

A topic message is right when its topic is answered (also when urgent-care advice comes first); a
danger message when it gets urgent-care advice; the others when their intent matches. A snapshot of
every message's decision (`tests/eval/decisions.snapshot`) shows exactly which answers an edit moved.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.knowledge.training import read_labelled
from bot.understanding import Classifier, Context, Intent, Interpretation
from bot.understanding.classifier import remember

TURN_GAP = timedelta(seconds=30)  # time between two turns of an evaluated conversation


@dataclass(frozen=True)
class Example:
    intent: Intent
    label: str
    message: str
    where: str  # file:line (and :turn for conversations), the snapshot key
    before: tuple[str, ...] = ()  # earlier turns of the conversation

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(self.label.split("|")) if self.intent is Intent.topic and self.label else ()


def read_examples(path: Path | str) -> list[Example]:
    path = Path(path)
    if path.suffix == ".jsonl":
        return list(_conversations(path))
    problems: list[tuple[Path, int, str]] = []
    found = read_labelled(path, problems)
    if problems:
        file, line, reason = problems[0]
        raise ValueError(f"{file}:{line}: {reason}")
    return [Example(Intent(e.intent), e.label, e.message, f"{path.name}:{e.where.number}") for e in found]


def _conversations(path: Path) -> Iterator[Example]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        record = json.loads(line)
        turns, labels = record["turns"], record["labels"]
        if len(turns) != len(labels):
            raise ValueError(f"{path}:{number}: {len(turns)} turns but {len(labels)} labels")
        for index, (turn, (intent, label)) in enumerate(zip(turns, labels, strict=True)):
            yield Example(Intent(intent), label, turn, f"{path.name}:{number}:{index + 1}", tuple(turns[:index]))


def interpret(classifier: Classifier, example: Example) -> Interpretation:
    """Read a message as the bot would in a chat: with the conversation before it, if any."""
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    context: Context | None = None
    for turn in example.before:
        context = remember(classifier.classify(turn, context, now), turn, now, context)
        now += TURN_GAP
    return classifier.classify(example.message, context, now)


def is_right(example: Example, got: Interpretation) -> bool:
    if example.intent is Intent.topic:
        asked_only = bool(got.alternatives) and not got.confident
        return got.topic in example.topics and not asked_only and got.intent in (Intent.topic, Intent.emergency)
    return got.intent is example.intent


def decision(got: Interpretation) -> str:
    """One line that changes whenever the reply would: the snapshot's unit."""
    parts = [got.intent.value, got.topic or got.rule or "-"]
    if got.caution:
        parts.append(f"caution:{got.rule}")
    if got.alternatives:
        parts.append("or:" + ",".join(got.alternatives))
    if not got.confident:
        parts.append("low")
    if got.also:
        parts.append(f"also:{got.also.value}")
    if got.follow_up:
        parts.append("follow-up")
    return " ".join(parts)


@dataclass
class Report:
    total: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)
    mistakes: list[tuple[Example, str]] = field(default_factory=list)
    decisions: dict[str, str] = field(default_factory=dict)

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


def evaluate(classifier: Classifier, examples: Iterable[Example]) -> Report:
    report = Report()
    for example in examples:
        got = interpret(classifier, example)
        key = example.intent.value
        report.total[key] += 1
        report.decisions[example.where] = decision(got)
        if is_right(example, got):
            report.correct[key] += 1
        else:
            report.mistakes.append((example, decision(got)))
    return report


def confusion(report: Report) -> list[str]:
    by_kind: dict[str, list[str]] = defaultdict(list)
    for example, got in report.mistakes:
        wanted = f"{example.intent.value} {example.label}".strip()
        by_kind[wanted].append(f"  {example.where}: {example.message!r} -> {got}")
    return [line for kind in sorted(by_kind) for line in [kind, *by_kind[kind]]]


# -- the snapshot -----------------------------------------------------------------------------


SNAPSHOT_HEADER = "# where<TAB>decision, rewritten by `rls-bot evaluate --update-snapshot`"
# Another CPU rounds the same training differently in the last bits (numpy's and OpenBLAS's vector
# code), and the trained models come out slightly different. Measured here with numpy's AVX2 code
# switched off: 91 of 5,239 decisions moved (1.7%); every danger message still got urgent-care
# advice (2 of them another rule's). So with the same content, code and libraries and only other
# weights, up to this share may move; a danger message losing its advice fails everywhere.
PLATFORM_DRIFT = 0.025
# The libraries whose arithmetic or text handling decides answers: a new version may move them.
LIBRARIES = ("numpy", "scipy", "scikit-learn", "wordllama", "tokenizers", "wordfreq", "snowballstemmer", "rapidfuzz")


@dataclass(frozen=True)
class Snapshot:
    decisions: dict[str, str]
    decided_by: str = ""  # decided_by() when it was written: content, code and library versions
    trained_on: str = ""  # Models.trained_on when it was written
    weights: str = ""  # Models.weights() when it was written


def decided_by(content_dir: Path) -> str:
    """A digest of everything but the machine that decides the answers: the content, the code
    that reads it and the messages (understanding, knowledge, this module) and the versions of the
    libraries above. The rest of the bot (diary, reminders, Telegram) decides no answer, so an edit
    there leaves the snapshot's header current."""
    from importlib.metadata import PackageNotFoundError, version

    from bot.understanding.cache import files_digest

    digest = hashlib.sha256()
    code = Path(__file__).resolve().parent
    files_digest(Path(content_dir), "content/", _READ, digest)
    for package in _DECIDING:
        files_digest(code / package, f"bot/{package}/", _READ, digest)
    digest.update(Path(__file__).read_bytes())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}={version(name)}\n".encode())
        except PackageNotFoundError:
            digest.update(f"{name}=-\n".encode())
    return digest.hexdigest()[:16]


_DECIDING = ("understanding", "knowledge")
_READ = frozenset({".py", ".yaml", ".yml", ".tsv", ".txt", ".json"})


def load_snapshot(path: Path) -> Snapshot:
    if not path.exists():
        return Snapshot({})
    decisions: dict[str, str] = {}
    about: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# ") and "\t" in line:  # "# trained-on<TAB>key", "# weights<TAB>digest"
            name, value = line[2:].split("\t", 1)
            about[name] = value
        elif "\t" in line and not line.startswith("#"):
            key, value = line.split("\t", 1)
            decisions[key] = value
    return Snapshot(decisions, about.get("decided-by", ""), about.get("trained-on", ""), about.get("weights", ""))


def write_snapshot(path: Path, decisions: dict[str, str], written: Snapshot | None = None) -> None:
    """`written`: its decided_by, trained_on and weights go in the header (its decisions are not used)."""
    head = [SNAPSHOT_HEADER]
    if written is not None:
        head += [f"# decided-by\t{written.decided_by}", f"# trained-on\t{written.trained_on}"]
        head += [f"# weights\t{written.weights}"]
    body = "".join(f"{key}\t{decisions[key]}\n" for key in sorted(decisions))
    path.write_text("\n".join(head) + "\n" + body, "utf-8")


def snapshot_problem(snapshot: Snapshot, today: Snapshot, danger_lost: list[str]) -> str | None:
    """Why today's decisions do not match the snapshot, or None. Exact, unless only the machine's
    arithmetic differs (same content, code, libraries and training; other weights): then up to
    PLATFORM_DRIFT of the decisions may move. A danger message must keep its advice everywhere."""
    hint = "review with `rls-bot evaluate --diff`, then `--update-snapshot` if they are right"
    if danger_lost:
        return f"{len(danger_lost)} danger message(s) no longer get urgent-care advice; {hint}"
    unmatched = set(snapshot.decisions) ^ set(today.decisions)
    if unmatched:
        return f"{len(unmatched)} labelled message(s) added or removed since the snapshot; {hint}"
    moved = sum(1 for key, value in today.decisions.items() if snapshot.decisions[key] != value)
    same_setup = (snapshot.decided_by, snapshot.trained_on) == (today.decided_by, today.trained_on)
    if not moved and not same_setup and snapshot.decided_by:
        # An edit that moved nothing here: a stale header would deny another machine its drift
        # allowance, so CI there would fail. (What decided and trained is the same on every machine.)
        return "the snapshot's header is stale (content, code, training or libraries changed); run `--update-snapshot`"
    if not moved:
        return None
    if same_setup and snapshot.decided_by and snapshot.weights != today.weights:
        if moved <= PLATFORM_DRIFT * len(today.decisions):
            return None
        share = f"{moved} of {len(today.decisions)}"
        return f"{share} decisions moved, more than another machine's arithmetic explains; {hint}"
    return f"{moved} answers moved; {hint}"


def diff(before: dict[str, str], after: dict[str, str], messages: dict[str, str]) -> list[str]:
    """Every message whose decision moved, as `where: message: old -> new`."""
    lines = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, "(new)"), after.get(key, "(gone)")
        if old != new:
            lines.append(f"{key}: {messages.get(key, '')[:90]!r}: {old} -> {new}")
    return lines
