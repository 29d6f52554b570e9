"""Accuracy floors on the labelled evaluation sets; `rls-bot evaluate` prints the same figures.

dev.tsv was written first and tuned on; holdout, fresh, blind, final and round6 to round10 were each
measured once before any tuning on them (85%, 86%, 90%, 92%, 90%, 95%, 79%, 75% and 68% of all
messages right; topics alone 82%, 86%, 88%, 92%, 90%, 95%, 80%, 75% and 61%; rounds 8-10 are long
stories and indirect wording) and then used to find failure categories, which were fixed in the
mechanism or in content, not message by message. round11 (stories again) was measured and left
untuned: topics 71%, emergency 100%, off-topic 100%. The floors sit a little under the measured
figures so that a content edit that makes things worse fails here.
"""

from __future__ import annotations

import pytest

from bot.evaluation import confusion, evaluate, read_examples

from .conftest import ROOT

FLOORS = {
    "dev.tsv": {"topic": 0.93, "emergency": 1.0, "out_of_scope": 0.98, "smalltalk": 1.0, "reminders": 1.0},
    "holdout.tsv": {"topic": 0.93, "emergency": 1.0, "out_of_scope": 0.96, "smalltalk": 1.0, "reminders": 1.0},
    "fresh.tsv": {"topic": 0.93, "emergency": 1.0, "out_of_scope": 0.95, "smalltalk": 1.0, "reminders": 1.0},
    "blind.tsv": {"topic": 0.95, "emergency": 1.0, "out_of_scope": 0.95, "smalltalk": 1.0, "reminders": 1.0},
    "final.tsv": {"topic": 0.95, "emergency": 1.0, "out_of_scope": 0.95, "smalltalk": 1.0, "reminders": 1.0},
    "round6.tsv": {"topic": 0.95, "emergency": 1.0, "out_of_scope": 0.95, "smalltalk": 1.0, "reminders": 1.0},
    "round7.tsv": {"topic": 0.95, "emergency": 1.0, "out_of_scope": 0.95, "smalltalk": 1.0, "reminders": 1.0},
    "round8.tsv": {"topic": 0.93, "emergency": 1.0, "out_of_scope": 0.9, "smalltalk": 1.0, "reminders": 1.0},
    "round9.tsv": {"topic": 0.95, "emergency": 1.0, "out_of_scope": 0.75},
    "round10.tsv": {"topic": 0.83, "emergency": 1.0, "out_of_scope": 1.0},
    "round11.tsv": {"topic": 0.71, "emergency": 1.0, "out_of_scope": 1.0},
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_accuracy_per_intent_stays_above_the_floor(responder, name):
    report = evaluate(responder.classifier, read_examples(ROOT / "tests" / "eval" / name))
    below = {i: round(report.accuracy(i), 3) for i, floor in FLOORS[name].items() if report.accuracy(i) < floor}
    assert not below, "\n".join(["below the floor: " + str(below), *confusion(report)])


def test_evaluation_sets_are_large_and_varied():
    examples = [e for name in FLOORS for e in read_examples(ROOT / "tests" / "eval" / name)]
    assert len(examples) >= 500
    assert len({e.topic for e in examples if e.topic}) >= 20
