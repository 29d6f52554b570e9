"""The diary chart: score per night, when symptoms started, and the measures tried, as a PNG.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global figure state), so
charts can be rendered in worker threads while the bot keeps answering. `mono=True` draws in
greys with distinct marker shapes, for the PDF that people print in black and white.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg  # the Agg canvas, whatever MPLBACKEND says
from matplotlib.figure import Figure

from bot.diary.nights import Night, Onset

COLOUR = {
    "bar": "#2f6690",
    "average": "#b5451b",
    "mark": "#2f6690",
    "tip": "#3a7d44",
    "tip_fill": "#3a7d44",
    "grid": "#d9d9d9",
}
MONO = {  # greys, and a hollow square for tips, so a black-and-white print tells them apart
    "bar": "#555555",
    "average": "#000000",
    "mark": "#222222",
    "tip": "#000000",
    "tip_fill": "#ffffff",
    "grid": "#cccccc",
}
ONSET_ROWS = [Onset.before_6pm, Onset.six_to_nine, Onset.nine_to_midnight, Onset.after_midnight]
DPI = 100
LABELLED_NIGHTS = 16  # up to this many nights each bar carries its number (text is the costly part)


def _tick_step(count: int) -> int:
    return 1 if count <= 16 else 3 if count <= 31 else 7


def render_chart(
    nights: Sequence[Night], names: dict[str, str], *, mono: bool = False, width: float = 8.5, dpi: int = DPI
) -> bytes:
    """PNG bytes of the chart of `nights` (oldest first); `names` maps measure ids to labels."""
    palette = MONO if mono else COLOUR
    measures = [m for m in names if any(m in n.tried for n in nights)]
    heights = [3.2, 1.5, max(0.9, 0.32 * len(measures) + 0.35)] if measures else [3.2, 1.5]
    total = sum(heights) + 1.3  # panels, gaps and the date labels, in inches
    figure = Figure(figsize=(width, total), dpi=dpi)
    FigureCanvasAgg(figure)
    # fixed margins rather than constrained layout: the layout solver alone cost ~300 ms a chart
    figure.subplots_adjust(left=1.25 / width, right=1 - 0.2 / width, top=1 - 0.35 / total, bottom=0.6 / total)
    axes = figure.subplots(len(heights), 1, gridspec_kw={"height_ratios": heights, "hspace": 0.25})
    xs = list(range(len(nights)))
    _scores(axes[0], nights, xs, palette, mono)
    _onsets(axes[1], nights, xs, palette)
    if measures:
        _measures(axes[2], nights, xs, measures, names, palette)
    for ax in axes:  # the same nights on every panel; dates only under the last (tick objects cost)
        ax.set_xlim(-0.6, len(nights) - 0.4)
        ax.set_xticks([])
    step = _tick_step(len(nights))
    ticks = [x for x in xs if (len(nights) - 1 - x) % step == 0]
    axes[-1].set_xticks(ticks, _date_labels([nights[x].night for x in ticks]), fontsize=9)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 3})  # zlib 6 took 3x longer
    return buffer.getvalue()


def _date_labels(days: list[date]) -> list[str]:
    """'Tue\n17 Nov' where the month starts (and at the first label), 'Wed\n18' elsewhere: a
    fortnight of full dates does not fit across a phone-sized chart."""
    labels = []
    for index, day in enumerate(days):
        month = index == 0 or day.month != days[index - 1].month
        labels.append(f"{day:%a}\n{day.day} {day:%b}" if month else f"{day:%a}\n{day.day}")
    return labels


def _scores(ax, nights: Sequence[Night], xs: list[int], palette: dict[str, str], mono: bool) -> None:
    scored = [(x, n.score) for x, n in zip(xs, nights, strict=True) if n.score is not None]
    ax.bar(
        [x for x, _ in scored],
        [max(s, 0.12) for _, s in scored],  # a 0 stays visible as a sliver, "not at all" is a result
        color=palette["bar"],
        edgecolor="black" if mono else palette["bar"],
        linewidth=0.6,
        width=0.7,
        label="score",
    )
    for x, score in scored if len(nights) <= LABELLED_NIGHTS else ():
        ax.annotate(  # a white box keeps the number readable where the average line crosses it
            str(score),
            (x, score),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            zorder=3,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.3},
        )
    missing = [x for x, n in zip(xs, nights, strict=True) if n.score is None]
    if missing:
        ax.scatter(missing, [0.3] * len(missing), marker="x", color="#999999", s=18, label="no score")
    if scored:
        average = sum(s for _, s in scored) / len(scored)
        ax.axhline(  # behind the bars and their numbers
            average, color=palette["average"], linestyle="--", linewidth=1.2, label=f"average {average:.1f}", zorder=0.9
        )
    ax.set_ylim(0, 11)
    ax.set_yticks([0, 2, 4, 6, 8, 10])
    ax.set_ylabel("How much RLS\nbothered you\n(0 = not at all,\n10 = the worst)", fontsize=8)
    ax.grid(axis="y", color=palette["grid"], linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=3)
    ax.set_title("Restless legs, night by night", loc="left", fontsize=11, fontweight="bold")


def _onsets(ax, nights: Sequence[Night], xs: list[int], palette: dict[str, str]) -> None:
    rows = {onset: len(ONSET_ROWS) - 1 - i for i, onset in enumerate(ONSET_ROWS)}  # earlier is higher
    started = [(x, rows[n.onset]) for x, n in zip(xs, nights, strict=True) if n.onset in rows]
    calm = [x for x, n in zip(xs, nights, strict=True) if n.onset is Onset.none]
    if started:
        ax.plot([x for x, _ in started], [y for _, y in started], color=palette["grid"], linewidth=0.8, zorder=1)
        ax.scatter([x for x, _ in started], [y for _, y in started], color=palette["mark"], s=22, zorder=2)
    if calm:
        ax.scatter(calm, [-0.9] * len(calm), marker="o", facecolors="none", edgecolors=palette["mark"], s=22)
    ax.set_yticks([*rows.values(), -0.9], [o.label for o in rows] + ["no symptoms"], fontsize=7)
    ax.set_ylim(-1.5, len(ONSET_ROWS) - 0.5)
    ax.set_ylabel("Started", fontsize=8)
    ax.grid(axis="y", color=palette["grid"], linewidth=0.4)


def _measures(
    ax, nights: Sequence[Night], xs: list[int], measures: list[str], names: dict[str, str], palette: dict[str, str]
) -> None:
    for row, measure in enumerate(measures):
        mine = [x for x, n in zip(xs, nights, strict=True) if measure in n.tried and measure not in n.from_tips]
        tips = [x for x, n in zip(xs, nights, strict=True) if measure in n.from_tips]
        ax.scatter(mine, [row] * len(mine), marker="o", color=palette["mark"], s=20)
        ax.scatter(tips, [row] * len(tips), marker="s", facecolors=palette["tip_fill"], edgecolors=palette["tip"], s=24)
    ax.set_yticks(range(len(measures)), [names[m] for m in measures], fontsize=7)
    ax.set_ylim(len(measures) - 0.5, -0.5)
    ax.set_ylabel("Tried", fontsize=8)
    ax.grid(axis="y", color=palette["grid"], linewidth=0.4)
    tip = "■" if palette["tip_fill"] != "#ffffff" else "□"
    ax.set_title(f"● you ticked it   {tip} the evening tip, marked Done", loc="right", fontsize=7)
