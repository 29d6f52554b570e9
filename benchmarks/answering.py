"""Start-up time and per-message latency of the answering core (prints figures; not a test).

    python benchmarks/answering.py [--rounds N]

Start-up is imports, content load and model load, each measured in a fresh process, since that
is what `rls-bot run` pays; the models come from the cache (the first start after a content edit
trains them once, reported separately as "cold"). Latency runs every message of the evaluation
sets through Responder.answer (classification and reply building), warm.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTUP_PROBE = """
import time, json
t0 = time.perf_counter()
from bot.knowledge import load_content
from bot.replies import Responder
t1 = time.perf_counter()
content = load_content({content!r})
t2 = time.perf_counter()
responder = Responder(content)
responder.answer("warm up the spelling dictionary")
t3 = time.perf_counter()
print(json.dumps({{"imports_ms": (t1-t0)*1e3, "content_ms": (t2-t1)*1e3, "models_ms": (t3-t2)*1e3}}))
"""


def _probe(env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", STARTUP_PROBE.format(content=str(ROOT / "content"))],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def startup(runs: int) -> tuple[dict[str, float], dict[str, float]]:
    """(cold: models trained, warm: models from the cache), each in fresh processes."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "RLS_BOT_CACHE": cache}
        cold = _probe(env)
        samples = [_probe(env) for _ in range(runs)]
    return cold, {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def latency(rounds: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from bot.evaluation import read_examples
    from bot.knowledge import load_content
    from bot.replies import Responder

    responder = Responder(load_content(ROOT / "content"))
    sets = sorted([*(ROOT / "tests" / "eval").glob("*.tsv"), *(ROOT / "tests" / "eval").glob("*.jsonl")])
    messages = [e.message for f in sets for e in read_examples(f)]
    long_story = ("my legs crawl every night and I have to get up and walk around, " * 60)[:4000]
    messages.append(long_story)
    for message in messages:  # warm caches, as a running bot would be
        responder.answer(message)
    timings = []
    for _ in range(rounds):
        for message in messages:
            start = time.perf_counter_ns()
            responder.answer(message)
            timings.append((time.perf_counter_ns() - start) / 1e6)
    timings.sort()
    return {
        "messages": len(timings),
        "p50_ms": timings[len(timings) // 2],
        "p99_ms": timings[int(len(timings) * 0.99) - 1],
        "max_ms": timings[-1],
        "long_story_ms": min(t for t in [_time(responder, long_story) for _ in range(5)]),
    }


def _time(responder, message: str) -> float:
    start = time.perf_counter_ns()
    responder.answer(message)
    return (time.perf_counter_ns() - start) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--startup-runs", type=int, default=5)
    args = parser.parse_args()
    cold, boot = startup(args.startup_runs)
    speed = latency(args.rounds)
    print(
        f"start-up (median of {args.startup_runs} fresh processes, models cached): "
        f"imports {boot['imports_ms']:.0f} ms, "
        f"content load {boot['content_ms']:.0f} ms, models {boot['models_ms']:.0f} ms; "
        f"first start after a content edit (training): {cold['models_ms'] / 1000:.1f} s"
    )
    print(
        f"per message over {speed['messages']} answers: p50 {speed['p50_ms']:.3f} ms, "
        f"p99 {speed['p99_ms']:.3f} ms, max {speed['max_ms']:.3f} ms; "
        f"4,000-char story {speed['long_story_ms']:.2f} ms"
    )
    print(
        json.dumps(
            {
                "startup_ms": round(boot["imports_ms"] + boot["content_ms"] + boot["models_ms"], 1),
                "cold_training_s": round(cold["models_ms"] / 1000, 1),
                **boot,
                **{k: round(v, 4) if isinstance(v, float) else v for k, v in speed.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
