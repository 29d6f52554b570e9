"""Content rules from the content guide, and loader errors that point editors at file and line."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.knowledge import ContentError, load_content
from bot.knowledge.schema import MAX_ANSWER_CHARS

from .conftest import CONTENT_DIR

pytestmark = pytest.mark.usefixtures("models_cached")  # processes load, never train, the models


def test_every_topic_has_sources_related_topics_and_fits_a_phone_screen(content):
    assert len(content.topics) >= 20
    for topic in content.topics.values():
        assert topic.sources, topic.id
        assert len(topic.answer) <= MAX_ANSWER_CHARS, topic.id
        assert all(r in content.topics for r in topic.related), topic.id


def test_the_guides_topics_are_all_covered(content):
    required = {
        "symptoms",
        "magnesium-rls",
        "doses",
        "forms",
        "foods",
        "magnesium-side-effects",
        "overdose",
        "kidney",
        "pregnancy",
        "interactions",
        "lifestyle",
        "medications",
        "dependence-augmentation",
        "see-doctor",
        "iron",
        "about-rls",
        "worsening-medicines",
    }
    assert required <= set(content.topics)


def test_magnesium_is_never_oversold(content):
    overselling = re.compile(r"\b(proven|strong evidence|strong link|most effective|cures?)\b", re.I)
    for topic in content.topics.values():
        for sentence in re.split(r"(?<=[.!?])\s", topic.answer):
            if "magnesium" in sentence.lower():
                assert not overselling.search(sentence), (topic.id, sentence)
    assert "could not say whether magnesium helps" in content.topics["magnesium-rls"].answer


def test_upper_limit_is_stated_correctly(content):
    doses = content.topics["doses"].answer
    assert "350 mg" in doses and "not food" in doses


def test_no_sentence_is_copied_from_the_seed_article(content):
    article = Path(__file__).resolve().parents[2] / "shared" / "seed-article.txt"
    if not article.exists():
        pytest.skip("shared/seed-article.txt is not beside this checkout")

    def sentences(text: str) -> set[str]:
        return {" ".join(s.lower().split()) for s in re.split(r"[.!?\n]", text) if len(s.split()) >= 6}

    ours = set().union(*(sentences(t.answer) for t in content.topics.values()))
    assert not ours & sentences(article.read_text())


def _copy_content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    root = _copy_content(tmp_path)
    file = root / "topics" / "foods.yaml"
    lines = file.read_text().splitlines()
    lines[3] = "title: [unclosed"
    file.write_text("\n".join(lines) + "\n")
    with pytest.raises(ContentError) as caught:
        load_content(root)
    [problem] = caught.value.problems
    assert problem.file == file and problem.line in (4, 5)
    assert "YAML syntax error" in problem.reason


def test_missing_field_and_bad_reference_point_at_lines(tmp_path):
    root = _copy_content(tmp_path)
    file = root / "topics" / "iron.yaml"
    text = file.read_text()
    file.write_text(re.sub(r"(?ms)^sources:.*?(?=^related:)", "", text))  # drop the sources block
    other = root / "topics" / "foods.yaml"
    text = other.read_text().replace("related: [doses,", "related: [dosez,")
    other.write_text(text)
    with pytest.raises(ContentError) as caught:
        load_content(root)
    reasons = [str(p) for p in caught.value.problems]
    assert any(r.startswith(f"{file}:1: sources: this field is required") for r in reasons), reasons
    related_line = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("related:"))
    assert f'{other}:{related_line}: related: no topic has the id "dosez"' in reasons


def test_yes_no_words_get_a_quote_them_hint(tmp_path):
    root = _copy_content(tmp_path)
    file = root / "scope.yaml"
    file.write_text(file.read_text().replace("chat_words:\n", "chat_words:\n  - yes\n"))
    with pytest.raises(ContentError) as caught:
        load_content(root)
    assert "put it in quotes" in str(caught.value)


def test_a_signal_with_an_empty_part_points_at_its_line(tmp_path):
    root = _copy_content(tmp_path)
    file = root / "smalltalk.yaml"
    text = file.read_text().replace("      - good bot|bad bot|", "      - good bot + |bad bot|", 1)
    file.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "good bot + |bad bot" in row)
    with pytest.raises(ContentError) as caught:
        load_content(root)
    [problem] = caught.value.problems
    assert problem.file == file and problem.line == line, str(caught.value)
    assert "empty alternative" in problem.reason


def test_a_chat_training_line_with_an_unknown_kind_points_at_its_line(tmp_path):
    root = _copy_content(tmp_path)
    file = root / "training" / "chat" / "extra.tsv"
    file.parent.mkdir(exist_ok=True)
    file.write_text("# style: a test\ngreeting\thello there\ngreting\thiya\nthanks no tab here\n")
    with pytest.raises(ContentError) as caught:
        load_content(root)
    reasons = [str(p) for p in caught.value.problems]
    assert any(r.startswith(f'{file}:3: "greting" is not a small-talk kind') for r in reasons), reasons
    assert f"{file}:4: needs two tab-separated fields: kind (or none), message" in reasons


def test_bad_html_in_an_answer_is_rejected(tmp_path):
    root = _copy_content(tmp_path)
    file = root / "topics" / "kidney.yaml"
    file.write_text(file.read_text().replace("<b>If you have", "<b>If you <script>have", 1))
    with pytest.raises(ContentError, match=r"kidney\.yaml:.*tag <script> is not allowed"):
        load_content(root)


@pytest.mark.parametrize("command", [["check-content"], ["run"]])
def test_cli_exits_non_zero_with_file_line_and_reason(tmp_path, command):
    root = _copy_content(tmp_path)
    (root / "topics" / "exercise.yaml").write_text("id: exercise\ntitle: Exercise\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--content", str(root), *command],
        capture_output=True,
        text=True,
        timeout=60,
        env={"BOT_TOKEN": "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "PATH": ""},
    )
    assert result.returncode == 2
    assert f"{root / 'topics' / 'exercise.yaml'}:1: menu_order: this field is required" in result.stderr


def test_check_content_passes_on_the_shipped_content():
    result = subprocess.run([sys.executable, "-m", "bot", "check-content"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Content OK" in result.stdout


def test_a_language_overlay_points_its_mistakes_at_its_own_file_and_line(content, tmp_path):
    from bot.knowledge.loader import with_locales

    folder = tmp_path / "locales" / "de"
    folder.mkdir(parents=True)
    (folder / "messages.yaml").write_text(
        "language_name: Deutsch\nwelcom: Hallo\nbuttons:\n  topics: ☰ Themen\nhelp: <b>Hilfe\n", encoding="utf-8"
    )
    with pytest.raises(ContentError) as caught:
        with_locales(content, tmp_path / "locales", CONTENT_DIR / "messages.yaml")
    problems = [str(p) for p in caught.value.problems]
    assert any(
        p.endswith("messages.yaml:2: welcom: unknown field (check the spelling; see content/README.md)")
        for p in problems
    )
    assert any("messages.yaml:4: buttons.topics: a label starts with a word" in p for p in problems)
    assert any("messages.yaml:5: help: <b> is never closed" in p for p in problems)


def test_content_that_passed_the_checks_is_not_checked_again_until_a_file_changes(tmp_path, monkeypatch):
    from bot.knowledge import lint

    monkeypatch.setenv("RLS_BOT_CACHE", str(tmp_path / "cache"))
    root = _copy_content(tmp_path)
    checked: list[int] = []
    real = lint.content_problems
    monkeypatch.setattr(lint, "content_problems", lambda *args: checked.append(1) or real(*args))
    load_content(root)
    load_content(root)
    assert checked == [1]  # the second start skips the ~11,000-line check
    with (root / "training" / "off_topic" / "everyday.txt").open("a", encoding="utf-8") as extra:
        extra.write("what foods have magnesium\n")  # also a foods example: it teaches two things
    with pytest.raises(ContentError, match="also taught"):
        load_content(root)
