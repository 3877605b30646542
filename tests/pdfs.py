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
