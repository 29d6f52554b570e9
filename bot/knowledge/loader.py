"""Loads content/ and reports any problem as `file:line: what is wrong`, for editors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.knowledge import lint
from bot.knowledge.schema import ENGLISH, Content, Messages, Safety, Scope, Smalltalk, Tips, Topic
from bot.knowledge.training import CHAT_REMINDERS, NEAR_MISS, Training, load_training

# libyaml's parser where PyYAML was built with it: content load is most of start-up in pure Python.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path_ = tuple[str | int, ...]
_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class ContentError(Exception):
    """Raised with every problem found, so an editor can fix them all in one go."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class _Document:
    file: Path
    data: Any
    lines: dict[Path_, int]

    def line_of(self, path: Path_) -> int:
        """Line of the deepest part of `path` we know, so errors point at the field."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def _record_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            _record_lines(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines)


def _read(file: Path) -> _Document:
    text = file.read_text(encoding="utf-8")
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ContentError([Problem(file, line, f"YAML syntax error: {reason}")]) from None
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    if not isinstance(data, dict):
        raise ContentError([Problem(file, 1, "the file must hold a mapping of fields (key: value)")])
    return _Document(file, data, lines)


def _read_reporting(file: Path, problems: list[Problem]) -> _Document | None:
    """The file's document; or None, its problems added, so loading goes on to report the rest."""
    try:
        return _read(file)
    except ContentError as exc:
        problems.extend(exc.problems)
        return None


def _describe(loc: Path_) -> str:
    parts = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts) or "file"


def _validate(doc: _Document, model: type[BaseModel]) -> tuple[BaseModel | None, list[Problem]]:
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                message = "this field is required"
            elif err["type"] == "extra_forbidden":
                message = "unknown field (check the spelling; see content/README.md)"
            elif err["type"] == "string_type" and isinstance(err.get("input"), bool | int | float):
                message = f'YAML reads this as {err["input"]!r}, not as text; put it in quotes, like "yes"'
            problems.append(Problem(doc.file, doc.line_of(loc), f"{_describe(loc)}: {message}"))
        return None, problems


def _cross_check(topics: dict[str, tuple[Topic, _Document]], known_ids: set[str]) -> list[Problem]:
    """Checks that need every topic at once: references, unique orders and examples."""
    problems: list[Problem] = []
    orders: dict[int, str] = {}
    example_owner: dict[str, str] = {}
    for topic_id, (topic, doc) in topics.items():
        for index, related in enumerate(topic.related):
            if related not in topics and related not in known_ids:
                line = doc.line_of(("related", index))
                problems.append(Problem(doc.file, line, f'related: no topic has the id "{related}"'))
            elif related == topic_id:
                line = doc.line_of(("related", index))
                problems.append(Problem(doc.file, line, "related: a topic cannot be related to itself"))
        if topic.menu_order in orders:
            problems.append(
                Problem(
                    doc.file,
                    doc.line_of(("menu_order",)),
                    f"menu_order {topic.menu_order} is also used by topic {orders[topic.menu_order]}",
                )
            )
        orders[topic.menu_order] = topic_id
        for field in ("keywords", "examples"):
            first_seen: dict[str, int] = {}
            for index, entry in enumerate(getattr(topic, field)):
                key = " ".join(entry.lower().split())
                if key in first_seen:
                    line = doc.line_of((field, index))
                    earlier = doc.line_of((field, first_seen[key]))
                    problems.append(Problem(doc.file, line, f'{field}: "{entry}" is already listed on line {earlier}'))
                first_seen.setdefault(key, index)
        for index, example in enumerate(topic.examples):
            key = " ".join(example.lower().split())
            owner = example_owner.setdefault(key, topic_id)
            if owner != topic_id:
                problems.append(
                    Problem(
                        doc.file,
                        doc.line_of(("examples", index)),
                        f'example "{example}" is also an example of topic {owner}',
                    )
                )
    return problems


def _check_tips(tips: Tips, file: Path, lines: dict[Path_, int]) -> list[Problem]:
    """Every tip belongs to a declared measure, ids are unique, every measure has tips."""
    doc = _Document(file, None, lines)
    problems = []
    measures = {m.id for m in tips.measures}
    seen: set[str] = set()
    for index, tip in enumerate(tips.tips):
        if tip.measure not in measures:
            problems.append(
                Problem(
                    file,
                    doc.line_of(("tips", index, "measure")),
                    f'tips[{index}].measure: "{tip.measure}" is not one of the measures',
                )
            )
        if tip.id in seen:
            problems.append(
                Problem(file, doc.line_of(("tips", index, "id")), f'tips[{index}].id: "{tip.id}" is used twice')
            )
        seen.add(tip.id)
    for index, measure in enumerate(tips.measures):
        if not any(t.measure == measure.id for t in tips.tips):
            problems.append(Problem(file, doc.line_of(("measures", index)), f'measure "{measure.id}" has no tips'))
    return problems


def load_content(directory: Path | str) -> Content:
    """Load and validate all of content/; raise ContentError listing every problem."""
    root = Path(directory)
    problems: list[Problem] = []
    topic_files = sorted((root / "topics").glob("*.yaml"))
    if not topic_files:
        raise ContentError([Problem(root / "topics", 1, "no topic files (*.yaml) found")])

    topics: dict[str, tuple[Topic, _Document]] = {}
    known_ids: set[str] = set()  # ids of topics with errors, so references to them still resolve
    for file in topic_files:
        doc = _read_reporting(file, problems)
        if doc is None:
            known_ids.add(file.stem)
            continue
        topic, found = _validate(doc, Topic)
        problems.extend(found)
        if topic is None:
            known_ids.add(str(doc.data.get("id", file.stem)))
            continue
        assert isinstance(topic, Topic)
        if topic.id != file.stem:
            problems.append(
                Problem(file, doc.line_of(("id",)), f'id "{topic.id}" must match the file name "{file.stem}"')
            )
        topics[topic.id] = (topic, doc)

    parts: dict[str, BaseModel] = {}
    tips_lines: dict[Path_, int] = {}
    english: dict[str, Any] = {}
    parts_to_load = (
        ("safety", Safety),
        ("smalltalk", Smalltalk),
        ("scope", Scope),
        ("messages", Messages),
        ("tips", Tips),
    )
    for name, model in parts_to_load:
        file = root / f"{name}.yaml"
        if not file.exists():
            problems.append(Problem(file, 1, "file is missing"))
            continue
        doc = _read_reporting(file, problems)
        if doc is None:
            continue
        value, found = _validate(doc, model)
        problems.extend(found)
        if name == "tips":
            tips_lines = doc.lines
        if name == "messages":
            english = doc.data
        if value is not None:
            parts[name] = value

    locales, gaps, found = _load_locales(root / "locales", english) if english else ({}, {}, [])
    problems.extend(found)
    problems.extend(_cross_check(topics, known_ids))
    tips = parts.get("tips")
    if isinstance(tips, Tips):
        problems.extend(_check_tips(tips, root / "tips.yaml", tips_lines))
    training = load_training(root / "training")
    problems += [Problem(file, line, reason) for file, line, reason in training.problems]
    problems.extend(_check_training(training, set(topics) | known_ids, parts.get("safety"), parts.get("smalltalk")))
    problems += [Problem(*found) for found in lint.comment_problems(root)]
    if problems:
        raise ContentError(problems)
    content = Content(
        topics={k: v[0] for k, v in topics.items()},
        training=training,
        safety=_part(parts, "safety", Safety),
        smalltalk=_part(parts, "smalltalk", Smalltalk),
        scope=_part(parts, "scope", Scope),
        messages=_part(parts, "messages", Messages),
        tips=_part(parts, "tips", Tips),
        locales=locales,
        locale_gaps=gaps,
    )
    stamp = lint.checked_stamp(root)
    if stamp.exists():  # these very files passed the checks before
        return content
    lines = {tid: (doc.file, _entry_lines(doc.lines)) for tid, (_, doc) in topics.items()}
    problems += [Problem(*found) for found in lint.content_problems(content, lines)]
    if problems:
        raise ContentError(problems)
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    except OSError:  # a read-only cache: the next start checks again
        pass
    return content


def _part(parts: dict[str, BaseModel], name: str, model: type[_Model]) -> _Model:
    """A part that loaded: with no problems reported, every part did, as the model it was read as."""
    part = parts[name]
    assert isinstance(part, model)
    return part


def _entry_lines(lines: dict[Path_, int]) -> dict[tuple[str, int], int]:
    """The lines of list entries at the top of a file: (field, index) -> line."""
    entries: dict[tuple[str, int], int] = {}
    for path, line in lines.items():
        match path:
            case (str() as field, int() as index):
                entries[field, index] = line
    return entries


def _check_training(
    training: Training, topic_ids: set[str], safety: BaseModel | None, smalltalk: BaseModel | None = None
) -> list[Problem]:
    """Labels in the training corpora must name topics, safety rules and small-talk kinds that exist."""
    rules = {r.id for r in safety.rules} if isinstance(safety, Safety) else set()
    problems = []
    if isinstance(smalltalk, Smalltalk):
        kinds = {k.id for k in smalltalk.kinds} | {CHAT_REMINDERS, NEAR_MISS}
        for kind, line in training.chat:
            if kind not in kinds:
                known = ", ".join(sorted(kinds))
                problems.append(Problem(line.file, line.number, f'"{kind}" is not a small-talk kind (one of: {known})'))
    for rule, line in training.danger:
        if rules and rule != NEAR_MISS and rule not in rules:
            problems.append(Problem(line.file, line.number, f'"{rule}" is not a safety rule id (or "{NEAR_MISS}")'))
    for example in training.labelled:
        where = example.where
        unknown = [t for t in example.topics if t not in topic_ids]
        if unknown:
            problems.append(Problem(where.file, where.number, f'no topic has the id "{unknown[0]}"'))
        if example.intent == "emergency" and rules and example.label and example.label not in rules:
            problems.append(Problem(where.file, where.number, f'"{example.label}" is not a safety rule id'))
    return problems


LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def _overlay(english: Any, local: Any) -> Any:
    """English with every text the language has put over it; a text it lacks stays English."""
    if isinstance(english, dict) and isinstance(local, dict):
        return {key: _overlay(value, local[key]) if key in local else value for key, value in english.items()} | {
            key: value for key, value in local.items() if key not in english
        }
    return local


def missing_keys(english: Any, local: Any, prefix: str = "") -> list[str]:
    """Dotted names of the English texts a language does not have (yet)."""
    if not isinstance(english, dict):
        return [] if local is not None else [prefix]
    local = local if isinstance(local, dict) else {}
    found: list[str] = []
    for key, value in english.items():
        found += missing_keys(value, local.get(key), f"{prefix}.{key}" if prefix else str(key))
    return found


def _load_locales(
    folder: Path, english: dict[str, Any]
) -> tuple[dict[str, Messages], dict[str, list[str]], list[Problem]]:
    """content/locales/<code>/messages.yaml: each a catalogue over the English one."""
    locales: dict[str, Messages] = {}
    gaps: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for file in sorted(folder.glob("*/messages.yaml")) if folder.is_dir() else []:
        code = file.parent.name
        if not LANGUAGE_CODE.match(code) or code == ENGLISH:
            reason = f'"{code}" is not a language code other than English (two or three letters, like "de")'
            problems.append(Problem(file, 1, reason))
            continue
        doc = _read_reporting(file, problems)
        if doc is None:
            continue
        merged = _Document(file, _overlay(english, doc.data), doc.lines)
        value, found = _validate(merged, Messages)
        problems.extend(found)
        if isinstance(value, Messages):
            locales[code] = value
            gaps[code] = missing_keys(english, doc.data)
    return locales, gaps, problems


def with_locales(content: Content, folder: Path, english_file: Path) -> Content:
    """`content` with the catalogues of another locales folder (tests use a small one)."""
    locales, gaps, problems = _load_locales(folder, _read(english_file).data)
    if problems:
        raise ContentError(problems)
    return content.model_copy(update={"locales": locales, "locale_gaps": gaps})
