"""The medicines a user notes (classes from buttons, or free text), and which are dopamine
medicines: the ones whose long-term risk is augmentation (AASM 2024; content topic
dependence-augmentation). Recognising a name is all this does; it never advises on a medicine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# class id -> label on the button and in the report
CLASSES = {
    "dopamine": "Dopamine agonist (pramipexole, ropinirole, rotigotine)",
    "levodopa": "Levodopa",
    "a2d": "Gabapentin, pregabalin or gabapentin enacarbil",
    "opioid": "Opioid (low dose, e.g. oxycodone, methadone)",
    "iron": "Iron (tablets or infusion)",
    "other": "Something else",
}
DOPAMINE_CLASSES = frozenset({"dopamine", "levodopa"})
# generic and common brand names of dopamine medicines used for RLS
DOPAMINE_NAMES = (
    "pramipexole",
    "mirapex",
    "mirapexin",
    "sifrol",
    "ropinirole",
    "requip",
    "adartrel",
    "ropark",
    "rotigotine",
    "neupro",
    "levodopa",
    "l-dopa",
    "carbidopa",
    "benserazide",
    "sinemet",
    "madopar",
    "stalevo",
    "rytary",
    "parcopa",
    "restex",
)
MAX_NOTE_CHARS = 300
_NAME = re.compile(r"\b(" + "|".join(re.escape(n) for n in DOPAMINE_NAMES) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class Medicines:
    classes: frozenset[str] = frozenset()
    note: str = ""

    @property
    def empty(self) -> bool:
        return not self.classes and not self.note

    @property
    def dopamine(self) -> bool:
        return bool(self.classes & DOPAMINE_CLASSES) or bool(_NAME.search(self.note))

    def labels(self) -> list[str]:
        return [label for key, label in CLASSES.items() if key in self.classes]

    def to_json(self) -> dict[str, object]:
        return {"classes": sorted(self.classes), "note": self.note}

    @classmethod
    def from_json(cls, value: object) -> Medicines:
        if not isinstance(value, dict):
            return cls()
        classes = frozenset(c for c in value.get("classes", []) if c in CLASSES)
        return cls(classes, str(value.get("note", ""))[:MAX_NOTE_CHARS])
