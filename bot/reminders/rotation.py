"""Which tip tonight: never the same one twice before every other chosen tip has been sent."""

from __future__ import annotations

import random

from bot.knowledge.schema import Tip, Tips


def choose_tip(tips: Tips, measures: frozenset[str], seen: list[str], seed: str) -> tuple[Tip, list[str]]:
    """The tip to send and the updated list of tips seen in this round of the rotation."""
    chosen = measures or frozenset(m.id for m in tips.measures)
    eligible = tips.for_measures(chosen) or tips.tips
    unseen = [t for t in eligible if t.id not in seen]
    if not unseen:  # every tip shown once: a new round, not starting with the one just sent
        last = seen[-1] if seen else None
        seen = []
        unseen = [t for t in eligible if t.id != last] or eligible
    tip = random.Random(seed).choice(unseen)
    return tip, [*seen, tip.id]
