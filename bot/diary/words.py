"""The diary's numbers in plain words: captions for screen readers and slow connections, the
weekly two lines, the PDF's summary. Same words everywhere, so the chart never says more
than the text beside it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.diary.analysis import Association, OnsetShift, Summary, Trend, score_of
from bot.diary.nights import ONSET_HOURS, ONSET_LABELS, Night, Onset
from bot.knowledge.schema import Tips
from bot.replies import plain_label


def measure_names(tips: Tips) -> dict[str, str]:
    return {m.id: plain_label(m.label) for m in tips.measures}


def day(night: date) -> str:
    return f"{night:%a} {night.day} {night:%b}"


def span(first: date, last: date) -> str:
    if first.year != last.year:
        return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _onset_band(hour: float) -> str:
    hours = {o: h for o, h in ONSET_HOURS.items() if h is not None}
    nearest = min(hours, key=lambda o: abs(hours[o] - hour))
    return ONSET_LABELS[nearest]


def summary_sentences(summary: Summary, names: dict[str, str]) -> list[str]:
    """The numbers of a period in words, one short sentence each."""
    nights = summary.nights
    if not nights:
        return ["No nights yet."]
    scored = summary.scored
    noted = sum(1 for n in nights if n.noted)
    lines = [f"Last {len(nights)} nights ({span(nights[0].night, nights[-1].night)}): {noted} with a check-in."]
    if not scored:
        lines.append("No scores yet: /checkin takes one tap.")
        return lines
    assert summary.average is not None and summary.best is not None and summary.worst is not None
    lines.append(f"Average score {_number(summary.average)} out of 10 (0 = not at all, 10 = the worst).")
    if len(scored) > 1:
        lines.append(f"Best night: {day(summary.best.night)}, {summary.best.score}.")
        lines.append(f"Worst night: {day(summary.worst.night)}, {summary.worst.score}.")
    lines.append(_trend_sentence(summary))
    if summary.usual_onset is not None:
        lines.append(f"Symptoms most often started {summary.usual_onset.label}.")
    if summary.tried_counts:
        tried = ", ".join(f"{names.get(m, m).lower()} ({c})" for m, c in list(summary.tried_counts.items())[:3])
        lines.append(f"Tried most (nights): {tried}.")
    return lines


def _trend_sentence(summary: Summary) -> str:
    change = _number(abs(summary.trend_change))
    if summary.trend is Trend.better:
        return f"Trend: getting better (the later nights average {change} points lower than the earlier ones)."
    if summary.trend is Trend.worse:
        return f"Trend: getting worse (the later nights average {change} points higher than the earlier ones)."
    if summary.trend is Trend.steady:
        return "Trend: about the same through the period."
    return "Trend: not enough scored nights yet to tell."


def weekly_lines(this_week: Sequence[Night], week_before: Sequence[Night]) -> list[str]:
    """The weekly summary's two lines."""
    scores = [n.score for n in this_week if n.score is not None]
    before = [n.score for n in week_before if n.score is not None]
    if not scores:
        return ["No check-ins this week.", "/checkin takes one tap, any time."]
    average = sum(scores) / len(scores)
    first = f"This week: average {_number(average)} out of 10 over {len(scores)} night{'s' if len(scores) != 1 else ''}"
    first += f" (the week before: {_number(sum(before) / len(before))})." if before else "."
    scored = [n for n in this_week if n.score is not None]
    best = min(reversed(scored), key=score_of)
    worst = max(reversed(scored), key=score_of)
    second = f"Best night {day(best.night)} ({best.score}), worst {day(worst.night)} ({worst.score})."
    return [first, second]


HELPS_CAVEAT = (
    "This compares your own nights with and without each measure. It shows an association, not proof: "
    "other things differ between those nights too."
)


def helps_lines(found: Sequence[Association], names: dict[str, str]) -> list[str]:
    lines = []
    for a in found:
        name = names.get(a.measure, a.measure)
        lines.append(
            f"{name}: average {_number(a.with_average)} on {a.with_nights} nights with it, "
            f"{_number(a.without_average)} on {a.without_nights} nights without."
        )
    return lines


def shift_sentence(shift: OnsetShift) -> str:
    return (
        f"for the past two weeks your symptoms have mostly started {_onset_band(shift.now)}, "
        f"earlier than before ({_onset_band(shift.before)})"
    )


def onset_name(onset: Onset | None) -> str:
    return onset.label if onset is not None else ""
