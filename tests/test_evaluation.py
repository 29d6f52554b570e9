"""Every labelled message's decision is pinned: an edit to content or to the models that moves an
answer fails here, and `rls-bot evaluate --diff tests/eval/*` shows which answers moved, for review.

tests/eval holds sets written by people who saw neither the content nor the code (phone typos, long
stories, non-native English, tempting off-topic, follow-up conversations). Their first-measure
figures are in the README; since then they are development sets: misses found in them were fixed as
categories (training data, stages), and the snapshot records where each message lands today.
"""

from __future__ import annotations

from bot.evaluation import Snapshot, diff, evaluate, load_snapshot, read_examples, snapshot_problem
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
    moved = diff(snapshot.decisions, decisions, messages)
    models = responder.classifier.models
    problem = snapshot_problem(snapshot, models.trained_on, models.weights(), moved, danger_lost, len(decisions))
    assert problem is None, "\n".join([problem or "", *danger_lost[:20], *moved[:60]])


def _urgent(decision: str) -> bool:
    return decision.startswith("emergency")


def _snapshot(trained_on: str = "k", weights: str = "w") -> Snapshot:
    return Snapshot({"a.tsv:1": "topic iron"}, trained_on, weights)


def test_the_snapshot_is_exact_for_the_same_models_and_after_an_edit():
    moved = ["a.tsv:1: 'iron?': topic iron -> topic foods"]
    assert snapshot_problem(_snapshot(), "k", "w", [], [], 1000) is None
    assert snapshot_problem(_snapshot(), "k", "w", moved, [], 1000) is not None  # code change, same models
    assert snapshot_problem(_snapshot(), "edited", "w2", moved, [], 1000) is not None  # content edit


def test_another_machines_arithmetic_may_move_a_few_decisions_but_never_a_danger_message():
    few, many = ["x"] * 20, ["x"] * 40  # of 1,000 decisions: 2% and 4%
    assert snapshot_problem(_snapshot(), "k", "other-cpu", few, [], 1000) is None
    assert snapshot_problem(_snapshot(), "k", "other-cpu", many, [], 1000) is not None
    assert snapshot_problem(_snapshot(), "k", "other-cpu", few, ["danger.tsv:3"], 1000) is not None


def test_evaluation_sets_are_large_and_varied():
    examples = [e for path in SETS for e in read_examples(path)]
    assert len(examples) >= 800
    assert len({t for e in examples for t in e.topics}) >= 40
    assert {e.intent.value for e in examples} == {"topic", "emergency", "out_of_scope", "smalltalk", "reminders"}
