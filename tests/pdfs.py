"""Tiny real PDFs made by the tests themselves (reportlab to draw, pypdf to encrypt)."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

# Distinct text for each page of the made-up policy. Page 3 holds paragraph 3.4, the one the
# page-number tests look for; every page ends with a printed page number as a footer.
POLICY_TITLE = "Community Pharmacy Access Policy"
PAGE_TEXTS: list[list[str]] = [
    [
        "1. Introduction",
        "1.1 This policy sets out how community pharmacies support patients",
        "who live far from a general practice surgery in rural districts.",
    ],
    [
        "2. Opening hours",
        "2.1 Every pharmacy in the scheme should stay open until eight in the",
        "evening on weekdays so that working people can collect medicines.",
    ],
    [
        "3. Medicines reviews",
        "3.4 Pharmacists will offer a free medicines review to anyone taking",
        "five or more repeat prescriptions, to find harmful drug interactions.",
    ],
    [
        "4. Monitoring",
        "4.1 Local commissioners will publish the number of reviews carried out",
        "each quarter, broken down by district and by the age of the patient.",
    ],
    [
        "5. Support for pharmacies",
        "5.1 Pharmacies in the most remote districts will receive a travel grant.",
        "5.2 A pharmacy that misses the opening hours in paragraph 2.1 will be offered",
    ],
    [  # paragraph 5.2 runs on over the page break
        "support from the local pharmaceutical committee before any change to its contract.",
        "5.3 Grants are reviewed every two years by the commissioners.",
    ],
]
PAGE3_LABEL = "3.4"
PAGE3_PHRASE = "free medicines review"
# paragraph 5.2 starts on page 5 and ends on page 6
SPLIT_LABEL = "5.2"
SPLIT_TAIL = "support from the local pharmaceutical committee"


def policy_pdf(path: Path, pages: list[list[str]] | None = None, footer: bool = True) -> Path:
    """Write a multi-page text PDF, one list of lines per page; return its path."""
    pages = PAGE_TEXTS if pages is None else pages
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle(POLICY_TITLE)
    _, height = A4
    for number, lines in enumerate(pages, start=1):
        c.setFont("Helvetica-Bold", 11)
        c.drawString(72, height - 60, POLICY_TITLE)
        c.setFont("Helvetica", 11)
        y = height - 110
        for line in lines:
            c.drawString(72, y, line)
            y -= 16
        if footer:
            c.drawString(290, 40, str(number))
        c.showPage()
    c.save()
    return path


def scanned_pdf(path: Path) -> Path:
    """Write a one-page PDF with only a drawn rectangle: no text layer, like a scan."""
    c = canvas.Canvas(str(path), pagesize=A4)
    c.rect(100, 100, 300, 400, stroke=1, fill=1)
    c.showPage()
    c.save()
    return path


def encrypted_pdf(src: Path, dest: Path, user_password: str, owner_password: str = "owner"
                  ) -> Path:
    """Write `src` encrypted with `user_password` (an empty one opens without asking)."""
    reader = PdfReader(str(src))
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password=owner_password,
                   algorithm="RC4-128")  # AES needs `cryptography`
    with open(dest, "wb") as f:
        writer.write(f)
    return dest


def truncated_pdf(src: Path, dest: Path) -> Path:
    """Write the first half of the bytes of `src`."""
    data = src.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def pdf_bytes_text(path: Path) -> list[str]:
    """The text pypdf extracts from each page (to check a made PDF really has text)."""
    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(path.read_bytes())).pages]


# A made-up charter laid out like a printed policy: a running header and footer on every page,
# page labels that start at 11, two columns, a footnote in small type, a heading in large
# type and a bold sub-heading ending in ":", and its title only in the PDF metadata.
CHARTER_TITLE = "Riverside Community Care Charter"
CHARTER_HEADER = "Riverside care charter | working draft"
CHARTER_FIRST_LABEL = 11
# a sentence that runs from the foot of the left column to the top of the right column
COLUMN_SENTENCE = ("You have the right to ask for a second opinion from another clinician "
                   "when a serious diagnosis is made about your own health.")
FOOTNOTE_TEXT = "The appeals panel is described in the annual guidance for residents."


def _column_lines(text: str, width: int = 38) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return lines + [line]


def charter_pdf(path: Path) -> Path:
    """Write the two-page charter described above; return its path."""
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle(CHARTER_TITLE)
    width, height = A4
    filler = ("Residents of the district can expect services that are planned around their "
              "needs and delivered close to home by staff who know the area well. ")
    left_paras = [filler * 2, "Access to care:", "You have the right to register with a "
                  "community nurse team near your home without paying any fee."]
    for page in range(2):
        label = CHARTER_FIRST_LABEL + page
        c.setFont("Helvetica", 9)
        c.drawString(72, height - 40, f"{CHARTER_HEADER} | {label}")
        c.drawString(72, 30, f"Published by the district board {label}")
        y = height - 90
        if page == 0:
            c.setFont("Helvetica-Bold", 18)
            c.drawString(72, y, "2b. Rights of residents")
            y -= 36
        col_y = {0: y, 1: y}
        paras = left_paras if page == 0 else [filler, "You should tell the team when you "
                                              "move house so that your records stay correct."]
        for para in paras:
            bold = para.endswith(":")
            c.setFont("Helvetica-Bold" if bold else "Helvetica", 11)
            for line in _column_lines(para):
                c.drawString(72, col_y[0], line)
                col_y[0] -= 14
            col_y[0] -= 10
        if page == 0:  # the last paragraph of the left column runs on into the right column
            lines = _column_lines(COLUMN_SENTENCE)
            low = 120
            c.setFont("Helvetica", 11)
            c.drawString(72, low + 14, lines[0])
            c.drawString(72, low, lines[1])
            yy = y
            for line in lines[2:]:
                c.drawString(320, yy, line)
                yy -= 14
            yy -= 10
            for line in _column_lines("You have the right to appeal a decision about your "
                                      "care to the panel of the district board."):
                c.drawString(320, yy, line)
                yy -= 14
            c.setFont("Helvetica", 7)
            c.drawString(320 + c.stringWidth("care to the panel of the district board.",
                                             "Helvetica", 11), yy + 18, "1")
            c.setFont("Helvetica", 8)
            c.drawString(72, 60, f"1 {FOOTNOTE_TEXT}")
        else:
            c.setFont("Helvetica", 11)
            yy = y
            for line in _column_lines(filler * 2):
                c.drawString(320, yy, line)
                yy -= 14
        c.showPage()
    c.addPageLabel(0, style="D", start=CHARTER_FIRST_LABEL)
    c.save()
    return path


def long_pdf(path: Path, pages: int) -> Path:
    """Write a PDF of `pages` short pages."""
    c = canvas.Canvas(str(path), pagesize=A4)
    for number in range(pages):
        c.drawString(72, 700, f"Page {number + 1} of a very long appendix.")
        c.showPage()
    c.save()
    return path


# A one-page leaflet whose lists are introduced by plain (not bold) lead-ins, with a pledge
# given only by a marker after the item and a lettered list: (lead-in or None, lines).
LEAFLET_TITLE = "Hospital at Home leaflet"
LEAFLET: list[tuple[str, list[str]]] = [
    ("heading", ["Your care at home"]),
    ("body", _column_lines("The team visits you at home instead of a hospital ward, for up to "
                           "two weeks, and a named nurse plans each visit with you and your "
                           "family so that the care fits around your day and your home. "
                           "Your family doctor stays in charge of your care throughout, and "
                           "the team sends a letter to the practice after every visit.", 60)),
    ("body", _column_lines("Everything the team lends you is collected within a week of your "
                           "last visit. The rights set out here make sure that every patient "
                           "at home can:", 60)),
    ("item", ["\u2022 ask for a visit outside working hours when they are unwell;"]),
    ("item", ["\u2022 see a doctor within one day of asking."]),
    ("body", ["\u2022 a nurse will phone you the day after you go home (pledge)."]),
    ("body", _column_lines("The team also asks something of you. While the team cares for "
                           "you, you have a duty to:", 60)),
    ("item", ["(a) keep the equipment safe and dry;"]),
    ("item", ["(b) tell the team when you feel worse."]),
]


def leaflet_pdf(path: Path) -> Path:
    """Write the leaflet above in one column, body text at 11pt and its heading at 16pt."""
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle(LEAFLET_TITLE)
    _, height = A4
    y = height - 90
    for role, lines in LEAFLET:
        c.setFont("Helvetica-Bold" if role == "heading" else "Helvetica",
                  16 if role == "heading" else 11)
        for line in lines:
            c.drawString(72 if role != "item" else 84, y, line)
            y -= 24 if role == "heading" else 14
        y -= 2 if role == "item" else 10
    c.showPage()
    c.save()
    return path


# A short trust policy as trusts lay them out: a title page with a document-control table
# (label and value in two columns), then numbered sections.
TRUST_POLICY_TITLE = "Safe Staffing Escalation Policy"
TRUST_POLICY_CONTROL = [("Document reference", "NUR-031"), ("Version", "3.1"),
                        ("Approved by", "Quality and Safety Committee"),
                        ("Date approved", "9 February 2024"), ("Review date", "February 2027"),
                        ("Author", "Head of Workforce Planning")]


def trust_policy_pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica-Bold", 20)
    c.drawString(72, 760, TRUST_POLICY_TITLE)
    c.setFont("Helvetica-Bold", 13)
    c.drawString(72, 700, "Document control")
    c.setFont("Helvetica", 10)
    for n, (label, value) in enumerate(TRUST_POLICY_CONTROL):
        c.drawString(72, 670 - 18 * n, label)
        c.drawString(250, 670 - 18 * n, value)
    c.showPage()
    sections = [("1. Purpose", ["1.1 This policy sets out how wards report and escalate a",
                                "shortfall of registered nurses on any shift."]),
                ("2. Duties", ["2.1 The Chief Nurse has overall responsibility for the",
                               "safety of patients on every ward."]),
                ("3. Escalation", ["3.1 A shortfall of two registered nurses or more is",
                                   "escalated to the site manager at once.",
                                   "3.2 The site manager records each escalation in the",
                                   "staffing log before the end of the shift."])]
    y = 760
    for heading, lines in sections:
        c.setFont("Helvetica-Bold", 13)
        c.drawString(72, y, heading)
        y -= 24
        c.setFont("Helvetica", 10)
        for line in lines:
            c.drawString(72, y, line)
            y -= 14
        y -= 16
    c.showPage()
    c.save()
    return path


# A table of duties whose cells wrap onto a second line, drawn cell by cell between rules as
# word processors draw it, then a table without rules whose value wraps under itself
DUTIES_ROWS = ["Named Nurse for Safeguarding Adults | Gives advice to staff and attends the "
               "safeguarding board on behalf of the Trust.",
               "Ward managers | Make sure their staff complete safeguarding training.",
               "Head of Patient Experience | Leads on complaints and reports to the Board "
               "each quarter."]
UNRULED_ROWS = ["Owner | Director of Nursing and Quality, with the deputy director as delegate.",
                "Review date | October 2027"]
# a table without rules whose rows are set further apart than their lines: its labels wrap
SPACED_ROWS = ["Deprivation of Liberty Safeguards | The legal framework that applies when a "
               "person is deprived of their liberty.",
               "Wilful neglect | A criminal offence by a care worker."]


def duties_table_pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 770, "Roles and responsibilities")
    c.setLineWidth(0.5)
    for y in (750, 710, 682, 645):
        c.line(72, y, 520, y)
    cells = [((76, 738, ["Named Nurse for", "Safeguarding Adults"]),
              (220, 738, ["Gives advice to staff and attends the",
                          "safeguarding board on behalf of the Trust."])),
             ((76, 694, ["Ward managers"]),
              (220, 694, ["Make sure their staff complete safeguarding training."]))]
    c.setFont("Helvetica", 10)
    for row in cells:
        for x, y, lines in row:
            for n, line in enumerate(lines):
                c.drawString(x, y - 12 * n, line)
    # a label that nearly fills its column: its value starts little more than a word away
    label = "Head of Patient Experience"
    c.drawString(220 - c.stringWidth(label, "Helvetica", 10) - 12, 670, label)
    c.drawString(220, 670, "Leads on complaints and reports to the")
    c.drawString(220, 658, "Board each quarter.")
    c.drawString(72, 625, "Every member of staff must report a concern on the day it arises.")
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 610, "Document control")
    c.setFont("Helvetica", 10)
    for x, y, text in [(72, 585, "Owner"), (220, 585, "Director of Nursing and Quality, with the"),
                       (220, 573, "deputy director as delegate."), (72, 561, "Review date"),
                       (220, 561, "October 2027")]:
        c.drawString(x, y, text)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 525, "Definitions")
    c.setFont("Helvetica", 10)
    for x, y, text in [(72, 500, "Deprivation of Liberty"), (72, 488, "Safeguards"),
                       (220, 500, "The legal framework that applies when a person"),
                       (220, 488, "is deprived of their liberty."), (72, 466, "Wilful neglect"),
                       (220, 466, "A criminal offence by a care worker.")]:
        c.drawString(x, y, text)
    c.showPage()
    c.save()
    return path


# A monitoring table of five narrow columns in a grid of rules, every cell wrapping, under
# a few paragraphs: a page a column search would read as two columns of text
MONITORING_ROWS = [
    "Element monitored | Method | Frequency | Lead | Reported to",
    "Hand hygiene compliance on wards | Observational audit of the five moments | Monthly | "
    "Ward manager | Infection Prevention and Control Committee",
    "Bare below the elbows | Spot checks during audit | Quarterly | Infection prevention and "
    "control nurse | Divisional governance meeting",
    "Training uptake | Training records | Every six months | Learning and development lead | "
    "Workforce committee"]
CONTROL_ROWS = ["Version | 5", "Ratified by | Infection Prevention and Control Committee"]
# a row whose second cell holds a bulleted list
LIST_ROW = ("Ward manager | The ward manager must: \u2022 check the hand rub dispensers every "
            "day; \u2022 display the monthly audit results on the ward.")


def monitoring_table_pdf(path: Path) -> Path:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import (
        ListFlowable,
        ListItem,
        Paragraph,
        SimpleDocTemplate,
        Table,
        TableStyle,
    )

    h1 = ParagraphStyle("h1", fontName="Helvetica-Bold", fontSize=12, leading=15,
                        spaceBefore=10, spaceAfter=5)
    body = ParagraphStyle("b", fontName="Helvetica", fontSize=10.5, leading=13.5, spaceAfter=6)
    cell = ParagraphStyle("c", fontName="Helvetica", fontSize=8.5, leading=10.5)
    bold = ParagraphStyle("cb", fontName="Helvetica-Bold", fontSize=8.5, leading=10.5)

    def grid(rows: list[str], widths: list[float], header: bool) -> Table:
        cells = [[Paragraph(x, bold if (header and i == 0) or (not header and j == 0)
                            else cell) for j, x in enumerate(r.split(" | "))]
                 for i, r in enumerate(rows)]
        table = Table(cells, colWidths=[w * cm for w in widths])
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return table

    items = ListFlowable([ListItem(Paragraph(x, cell)) for x in [
        "check the hand rub dispensers every day;",
        "display the monthly audit results on the ward."]], bulletType="bullet")
    duties = Table([[Paragraph("Ward manager", cell),
                     [Paragraph("The ward manager must:", cell), items]]],
                   colWidths=[4 * cm, 10 * cm])
    duties.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                                ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story = [grid(CONTROL_ROWS, [4, 10], header=False), duties,
             Paragraph("6.0 Skin care", h1),
             Paragraph("Staff who develop sore or broken skin on their hands should report it "
                       "to their manager and be referred to occupational health. Hand cream is "
                       "provided in clinical areas and should be used at the end of a shift.",
                       body),
             Paragraph("7.0 Training", h1),
             Paragraph("Hand hygiene training is part of mandatory training and must be "
                       "completed every year by all clinical staff.", body),
             Paragraph("8.0 Monitoring compliance", h1),
             grid(MONITORING_ROWS, [3.6, 3.6, 2.4, 3.2, 3.6], header=True)]
    SimpleDocTemplate(str(path), pagesize=A4, title="Hand Hygiene Policy").build(story)
    return path


# A table ruled only under its header and at its foot, its rows one line each and evenly set
WAITS_ROWS = ["Standard | Maximum wait", "Urgent cancer referral | 2 weeks",
              "Non-urgent treatment | 18 weeks", "Diagnostic test | 6 weeks"]


def header_ruled_table_pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica-Bold", 13)
    c.drawString(72, 760, "Waiting times")
    c.setLineWidth(0.8)
    for y in (742, 725, 678):
        c.line(72, y, 500, y)
    for n, row in enumerate(WAITS_ROWS):
        label, value = row.split(" | ")
        y = 730 if n == 0 else 712 - 14 * (n - 1)
        c.setFont("Helvetica-Bold" if n == 0 else "Helvetica", 10)
        c.drawString(76, y, label)
        c.drawString(300, y, value)
    c.setFont("Helvetica", 10)
    c.drawString(72, 650, "These waits are measured from the date of referral.")
    c.showPage()
    c.save()
    return path
