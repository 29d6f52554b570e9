"""The diary report as a PDF, for the user to take to an appointment.

fpdf2 writes the PDF; the text font is DejaVu Sans from matplotlib's own data folder, so the
report has every character it needs (en dashes, "µg/L") and the container needs no system
fonts. The page is A4, but everything stays inside the part of A4 that also fits US Letter
(210 x 279 mm) so it prints on either without cutting anything off. Black text, grey rules and
a grey-scale chart: it prints the same in black and white.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from bot.diary.analysis import Association, OnsetShift, summarise
from bot.diary.chart import render_chart
from bot.diary.medicines import Medicines
from bot.diary.nights import Night
from bot.diary.service import Ferritin
from bot.diary.words import HELPS_CAVEAT, day, shift_sentence, span, summary_sentences

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
MARGIN = 15  # mm left and right: A4 is 210 mm wide, Letter 216
TOP = 18  # mm; Letter is 18 mm shorter than A4, so a centred Letter print loses 9 mm at each end
BOTTOM = 27  # mm kept free at the foot of the A4 page, footer included
HEADING = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
ABOUT = (
    "This report was made by rls-bot, a Telegram bot with general information about restless legs "
    "syndrome, from what its user entered. The nightly score is the user's own rating of how much "
    "restless legs bothered them (0 = not at all, 10 = the worst); it is not a validated scale and not "
    "the IRLS. The bot is not a doctor: it does not diagnose, treat or give medical advice, and the "
    "numbers here are not checked by anyone. Ferritin results and medicines are as the user typed them."
)


@dataclass(frozen=True)
class ReportData:
    nights: Sequence[Night]  # the period, oldest first
    names: dict[str, str]  # measure id -> label
    ferritin: Sequence[Ferritin]
    medicines: Medicines
    helps: Sequence[Association]  # computed over `nights`, the report's own period
    shift: OnsetShift | None
    made_on: date
    person: str | None = None  # only if the user asked for it on the report


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-BOTTOM + 6)
        self.set_font("DejaVu", size=7)
        self.set_text_color(90)
        self.cell(0, 4, f"rls-bot symptom diary · not medical advice · page {self.page_no()} of {{nb}}", align="C")


def render_report(data: ReportData) -> bytes:
    pdf = _Pdf(format="A4", unit="mm")
    pdf.set_title("RLS symptom diary")
    pdf.set_creator("rls-bot")
    pdf.set_lang("en")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(MARGIN, TOP, MARGIN)
    pdf.set_auto_page_break(True, margin=BOTTOM)
    pdf.add_page()
    _title(pdf, data)
    _section(pdf, "Summary")
    _paragraph(pdf, " ".join(summary_sentences(summarise(list(data.nights)), data.names)))
    pdf.image(io.BytesIO(render_chart(data.nights, data.names, mono=True, width=10.0, dpi=110)), w=pdf.epw)
    _helps(pdf, data)
    if data.shift is not None:
        _section(pdf, "Onset moving earlier")
        _paragraph(
            pdf,
            f"With a dopamine medicine noted, {shift_sentence(data.shift)}. Symptoms starting earlier can be "
            "a sign of augmentation; it is worth discussing with the prescriber.",
        )
    _ferritin(pdf, data.ferritin)
    _medicines(pdf, data.medicines)
    _nights(pdf, data)
    _section(pdf, "About this report")
    _paragraph(pdf, ABOUT, size=8)
    return bytes(pdf.output())


def _title(pdf: FPDF, data: ReportData) -> None:
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 9, "Restless legs symptom diary", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=9)
    nights = data.nights
    period = f"{len(nights)} nights, {span(nights[0].night, nights[-1].night)}" if nights else "no nights"
    pdf.cell(0, 5, f"{period} · made on {day(data.made_on)} {data.made_on.year}", new_x="LMARGIN", new_y="NEXT")
    if data.person:
        pdf.cell(0, 5, f"Name: {data.person}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _section(pdf: FPDF, title: str) -> None:
    if pdf.will_page_break(18):
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(150)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(1.5)


def _paragraph(pdf: FPDF, text: str, size: float = 9.5) -> None:
    pdf.set_font("DejaVu", size=size)
    pdf.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _helps(pdf: FPDF, data: ReportData) -> None:
    _section(pdf, "What seems to help (an association, not proof)")
    if not data.helps:
        _paragraph(pdf, "Not enough nights yet: a measure needs at least 3 scored nights with it and 3 without it.")
        return
    pdf.set_font("DejaVu", size=8.5)
    with pdf.table(
        text_align="LEFT", col_widths=(40, 25, 25, 25, 25, 30), headings_style=HEADING, line_height=5
    ) as table:
        table.row(("Measure", "Nights with", "Average with", "Nights without", "Average without", "Difference"))
        for a in data.helps:
            table.row(
                (
                    data.names.get(a.measure, a.measure),
                    str(a.with_nights),
                    f"{a.with_average:.1f}",
                    str(a.without_nights),
                    f"{a.without_average:.1f}",
                    f"{a.difference:+.1f}",
                )
            )
    _paragraph(pdf, HELPS_CAVEAT + " Lower scores are better nights.", size=8)


def _ferritin(pdf: FPDF, results: Sequence[Ferritin]) -> None:
    _section(pdf, "Ferritin results (as entered)")
    if not results:
        _paragraph(pdf, "None entered.")
        return
    pdf.set_font("DejaVu", size=8.5)
    with pdf.table(
        text_align="LEFT", col_widths=(35, 60), width=95, align="LEFT", headings_style=HEADING, line_height=5
    ) as table:
        table.row(("Test date", "Ferritin, ng/mL (same as µg/L)"))
        for result in results:
            table.row((f"{result.tested_on:%d %b %Y}", f"{result.ng_ml:g}"))


def _medicines(pdf: FPDF, medicines: Medicines) -> None:
    _section(pdf, "Medicines noted (as entered)")
    if medicines.empty:
        _paragraph(pdf, "None noted.")
        return
    lines = [f"• {label}" for label in medicines.labels()]
    if medicines.note:
        lines.append(f"• In the user's words: {medicines.note}")
    _paragraph(pdf, "\n".join(lines))


def _nights(pdf: FPDF, data: ReportData) -> None:
    _section(pdf, "Night by night")
    noted = [n for n in data.nights if n.noted]
    left_out = len(data.nights) - len(noted)
    if not noted:
        _paragraph(pdf, "No check-ins in this period.")
        return
    pdf.set_font("DejaVu", size=8)
    with pdf.table(
        text_align="LEFT", col_widths=(26, 14, 28, 72, 40), headings_style=HEADING, line_height=4.6
    ) as table:
        table.row(("Night", "Score", "Started", "Measures tried", "Evening tip done"))
        for night in noted:
            mine = sorted(night.tried - night.from_tips, key=list(data.names).index)
            tips = sorted(night.from_tips, key=list(data.names).index)
            table.row(
                (
                    day(night.night),
                    "–" if night.score is None else str(night.score),
                    night.onset.label if night.onset else "–",
                    ", ".join(data.names.get(m, m) for m in mine) or "–",
                    ", ".join(data.names.get(m, m) for m in tips) or "–",
                )
            )
    if left_out:
        _paragraph(pdf, f"{left_out} night{'s' if left_out != 1 else ''} without a check-in are left out.", size=8)
