"""Checks for the silent mistakes an editor can make: content that loads but quietly does nothing,
contradicts itself, or describes behaviour the bot does not have. `load_content` runs them all
(the content checks once per version of the files: a clean run is remembered in the model cache).

- a keyword made only of stop words ("how to", "is it") teaches the models nothing;
- the same message taught as two different things (a topic example that is also an off-topic
  line, a danger message, or another topic's example) pulls the models both ways;
- a comment in a YAML file that names a field the file does not have promises behaviour that is
  not there (the comment outlived the feature);
- a link in an answer that is not https.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from bot.knowledge.schema import Content, Messages, Safety, Scope, Smalltalk, Tips, Topic
from bot.understanding import text
from bot.understanding.text import STOPWORDS, raw_tokens

Problem = tuple[Path, int, str]
_COMMENT_FIELD = re.compile(r"^#\s*([a-z][a-z_]{2,}):")
_LINK = re.compile(r'<a href="([^"]+)"')
MODELS: dict[str, type[BaseModel]] = {
    "safety.yaml": Safety,
    "scope.yaml": Scope,
    "smalltalk.yaml": Smalltalk,
    "messages.yaml": Messages,
    "tips.yaml": Tips,
}


def _key(text: str) -> str:
    return " ".join(raw_tokens(text))


def _fields(model: type[BaseModel]) -> set[str]:
    """Every field name of a model and of the models nested in it."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        for inner in _nested(info.annotation):
            names |= _fields(inner)
    return names


def _nested(annotation: object) -> Iterable[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in getattr(annotation, "__args__", ()):
        yield from _nested(argument)


def comment_problems(root: Path) -> list[Problem]:
    """`# field: explanation` comments must name a field the file really has."""
    problems = []
    targets = [(root / name, _fields(model)) for name, model in MODELS.items()]
    targets += [(file, _fields(Topic)) for file in sorted((root / "topics").glob("*.yaml"))]
    for file, known in targets:
        if not file.exists():
            continue
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            found = _COMMENT_FIELD.match(line.strip())
            if found and found.group(1) not in known:
                reason = f'the comment describes "{found.group(1)}", which this file does not have (remove or fix it)'
                problems.append((file, number, reason))
    return problems


def content_problems(content: Content, lines: dict[str, tuple[Path, dict[tuple[str, int], int]]]) -> list[Problem]:
    """`lines` maps a topic id to its file and the line of each (field, index) entry."""
    problems: list[Problem] = []
    taught: dict[str, tuple[str, Path, int]] = {}  # message -> (what it teaches, where)

    def teach(text: str, label: str, file: Path, line: int) -> None:
        key = _key(text)
        if not key:
            return
        first = taught.setdefault(key, (label, file, line))
        if first[0] != label:
            where = f"{first[1].name}:{first[2]}"
            problems.append((file, line, f'"{text}" is also taught as {first[0]} at {where}'))

    for topic in content.topics.values():
        file, positions = lines[topic.id]
        for index, keyword in enumerate(topic.keywords):
            line = positions.get(("keywords", index), 1)
            if all(t in STOPWORDS for t in raw_tokens(keyword)):
                problems.append((file, line, f'keyword "{keyword}" is only stop words, so it does nothing'))
            teach(keyword, f"topic {topic.id}", file, line)
        for index, example in enumerate(topic.examples):
            teach(example, f"topic {topic.id}", file, positions.get(("examples", index), 1))
        for url in _LINK.findall(topic.answer):
            if not url.startswith("https://"):
                problems.append((file, positions.get(("answer", 0), 1), f"link {url} is not https"))
    for said in content.training.off_topic:
        teach(said.text, "off-topic", said.file, said.number)
    for rule, said in content.training.danger:
        teach(said.text, "a near miss" if rule == "none" else f"danger ({rule})", said.file, said.number)
    return problems


def checked_stamp(root: Path) -> Path:
    """Where a clean run of content_problems over exactly these files (and this checking code) is
    recorded: the check reads ~11,000 training lines, a third of loading the content, and gives
    the same answer until a file or the code changes."""
    from bot.understanding.cache import default_cache_dir, files_digest

    digest = files_digest(root)
    for module in (__file__, text.__file__):
        digest.update(Path(module).read_bytes())
    return default_cache_dir() / f"content-checked-{digest.hexdigest()[:24]}"
