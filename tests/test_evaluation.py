"""Every labelled message's decision is pinned: an edit to content or to the models that moves an
answer fails here, and `rls-bot evaluate --diff tests/eval/*` shows which answers moved, for review.

tests/eval holds sets written by people who saw neither the content nor the code (phone typos, long
stories, non-native English, tempting off-topic, follow-up conversations). Their first-measure
figures are in the README; since then they are development sets: misses found in them were fixed as
categories (training data, stages), and the snapshot records where each message lands today.
"""

from __future__ import annotations

from bot.evaluation import Snapshot, decided_by, diff, evaluate, load_snapshot, read_examples, snapshot_problem
from bot.understanding import Intent

from .conftest import ROOT

EVAL = ROOT / "tests" / "eval"
SETS = sorted([*EVAL.glob("*.tsv"), *EVAL.glob("*.jsonl")])


def test_every_labelled_decision_matches_the_snapshot(responder):
    decisions: dict[str, str] = {}
    messages: dict[str, str] = {}
    danger_lost: list[str] = []
    for path in SETS:
        examples = read_examples(path)
        decisions.update(evaluate(responder.classifier, examples).decisions)
        messages.update({e.where: e.message for e in examples})
        danger_lost += [e.where for e in examples if e.intent is Intent.emergency and not _urgent(decisions[e.where])]
    snapshot = load_snapshot(EVAL / "decisions.snapshot")
    models = responder.classifier.models
    today = Snapshot(decisions, decided_by(ROOT / "content"), models.trained_on, models.weights())
    problem = snapshot_problem(snapshot, today, danger_lost)
    moved = diff(snapshot.decisions, decisions, messages)
    assert problem is None, "\n".join([problem or "", *danger_lost[:20], *moved[:60]])


def _urgent(decision: str) -> bool:
    return decision.startswith("emergency")


BEFORE = Snapshot({"a.tsv:1": "topic iron", "a.tsv:2": "emergency overdose"}, "setup", "trained", "weights")


def _today(decisions: dict[str, str], setup: str = "setup", weights: str = "weights") -> Snapshot:
    return Snapshot({**BEFORE.decisions, **decisions}, setup, "trained", weights)


def test_the_snapshot_is_exact_for_the_same_models_and_after_any_edit():
    moved = {"a.tsv:1": "topic foods"}
    assert snapshot_problem(BEFORE, _today({}), []) is None
    assert snapshot_problem(BEFORE, _today(moved), []) is not None  # same models: exact
    assert snapshot_problem(BEFORE, _today(moved, setup="edited", weights="w2"), []) is not None  # an edit


def test_an_edit_that_moves_nothing_still_needs_the_snapshot_header_rewritten():
    """A header naming old content, code or training is stale on any machine: another machine would
    then be held to the exact check and fail on its own arithmetic."""
    assert snapshot_problem(BEFORE, _today({}, setup="edited"), []) is not None
    assert snapshot_problem(BEFORE, _today({}, setup="edited", weights="cpu"), []) is not None
    retrained = Snapshot(dict(BEFORE.decisions), "setup", "trained on more", "w2")
    assert snapshot_problem(BEFORE, retrained, []) is not None


def test_the_header_changes_with_any_content_edit(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    (content / "scope.yaml").write_text("a: 1\n")
    before = decided_by(content)
    assert decided_by(content) == before
    (content / "scope.yaml").write_text("a: 2\n")
    assert decided_by(content) != before


def test_another_machines_arithmetic_may_move_a_few_decisions_but_never_a_danger_messages_advice():
    before = Snapshot({f"a.tsv:{i}": "topic iron" for i in range(100)}, "setup", "trained", "weights")
    few = Snapshot({**before.decisions, "a.tsv:1": "topic foods", "a.tsv:2": "topic foods"}, "setup", "trained", "cpu")
    many = Snapshot({k: "topic foods" for k in before.decisions}, "setup", "trained", "cpu")
    assert snapshot_problem(before, few, []) is None
    assert snapshot_problem(before, many, []) is not None
    assert snapshot_problem(before, few, ["a.tsv:2"]) is not None  # a danger message lost its advice
    fewer = Snapshot(dict(list(before.decisions.items())[1:]), "setup", "trained", "cpu")
    assert snapshot_problem(before, fewer, []) is not None  # a labelled message removed


def test_evaluation_sets_are_large_and_varied():
    examples = [e for path in SETS for e in read_examples(path)]
    assert len(examples) >= 800
    assert len({t for e in examples for t in e.topics}) >= 40
    assert {e.intent.value for e in examples} == {"topic", "emergency", "out_of_scope", "smalltalk", "reminders"}
