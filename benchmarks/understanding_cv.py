"""Cross-validation of the understanding by writer: each fold holds out one source of training
messages (a writer's file, or all the topics' own examples), trains on the rest, and reads the
held-out messages with the whole pipeline, as the bot would meet messages from a new writer.
Prints figures; not a test. Takes one to two minutes per fold on a 2-core machine; with ~40
sources, `--folds 5` holds out every fifth source together (grouped 5-fold) in five folds.

    python benchmarks/understanding_cv.py [--only SOURCE ...] [--folds K] [--json]

Per fold and overall: topics answered right, off-topic declined, danger met with urgent care
(recall), near misses left alone, and the same figures for one multi-class model alone (the
safety model's argmax: topics, out of scope and dangers in one logistic regression).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import load_content  # noqa: E402
from bot.understanding import Classifier, Intent  # noqa: E402
from bot.understanding.datasets import DANGER, OUT, OUT_OF_SCOPE, SAFE, Sample, safety_set  # noqa: E402
from bot.understanding.models import load_models  # noqa: E402


def group_of(source: str) -> str:
    if source.startswith("topics/"):
        return "topic examples (content/topics)"
    if source.startswith("old-"):
        return "earlier evaluation sets (old-*.tsv)"
    return source


def expected(sample: Sample) -> str:
    if sample.label.startswith(DANGER):
        return "danger"
    if sample.label == SAFE:
        return "near-miss"
    if sample.label in (OUT, OUT_OF_SCOPE):
        return "off-topic"
    return "topic"


def held_out_samples(content, groups: set[str]) -> list[Sample]:
    seen: dict[str, Sample] = {}
    for sample in safety_set(content):
        if group_of(sample.source) in groups and sample.text not in seen:
            seen[sample.text] = sample
    return list(seen.values())


def score(classifier: Classifier, samples: list[Sample]) -> tuple[Counter, Counter, Counter]:
    right, total = Counter(), Counter()
    single_right = Counter()
    for sample in samples:
        kind = expected(sample)
        got = classifier.classify(sample.text)
        total[kind] += 1
        if kind == "topic":
            right[kind] += got.topic == sample.label and got.intent in (Intent.topic, Intent.emergency)
        elif kind == "off-topic":
            right[kind] += got.intent is Intent.out_of_scope
        elif kind == "danger":
            right[kind] += got.intent is Intent.emergency
        else:
            right[kind] += got.intent is not Intent.emergency
        probabilities = classifier.models.safety.probabilities(classifier.featurizer.features([sample.text])[0])
        best = max(probabilities, key=probabilities.__getitem__)
        single = {
            "danger": best.startswith(DANGER),
            "near-miss": not best.startswith(DANGER),
            "off-topic": best == OUT_OF_SCOPE,
            "topic": best == sample.label,
        }[kind]
        single_right[kind] += single
    return right, total, single_right


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="hold out only these sources")
    parser.add_argument("--folds", type=int, help="hold out the sources K at a time (every K-th together)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    content = load_content(ROOT / "content")
    groups = sorted({group_of(s.source) for s in safety_set(content)})
    if args.only:
        groups = [g for g in groups if any(o in g for o in args.only)]
    folds = [{g} for g in groups]
    if args.folds:
        if not 2 <= args.folds <= len(groups):
            parser.error(f"--folds must be between 2 and the number of sources ({len(groups)})")
        folds = [set(groups[i :: args.folds]) for i in range(args.folds)]
    base = Classifier(content)
    totals = {name: Counter() for name in ("right", "total", "single")}
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for fold in folds:
            kept = lambda s, f=fold: group_of(s.source) not in f  # noqa: E731
            models = load_models(content, base.featurizer, Path(cache), keep=kept)
            classifier = Classifier(content, models=models)
            right, total, single = score(classifier, held_out_samples(content, fold))
            group = ", ".join(sorted(fold))
            for name, counts in (("right", right), ("total", total), ("single", single)):
                totals[name].update(counts)
            row = {k: f"{right[k]}/{total[k]} ({right[k] / total[k]:.1%})" for k in total}
            row["single model"] = {k: f"{single[k] / total[k]:.1%}" for k in total}
            rows.append((group, row))
            print(json.dumps({"held out": group, **row}) if args.json else f"{group}: {row}", flush=True)
    overall = {
        k: f"{totals['right'][k]}/{totals['total'][k]} ({totals['right'][k] / totals['total'][k]:.1%})"
        for k in totals["total"]
    }
    single = {k: f"{totals['single'][k] / totals['total'][k]:.1%}" for k in totals["total"]}
    print(
        json.dumps({"overall": overall, "single model": single})
        if args.json
        else f"overall: {overall}\nsingle model alone: {single}"
    )


if __name__ == "__main__":
    main()
