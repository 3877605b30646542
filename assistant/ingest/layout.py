"""Reading a PDF with its layout (pypdfium2): every line with its position, type size and
page, then decisions taken from the layout alone, for any document.

- page furniture: lines at the top or bottom edge of a page that repeat across pages, or
  that carry the page's number in the page sequence; the number gives the printed page;
- footnotes: a run of small type at the foot of a page opening with a number, kept apart
  and linked to the raised marker in the body (the marker becomes a superscript digit);
- columns: a gutter no line crosses splits a page into columns, read left then right;
- tables: cells side by side on a baseline are one row, a cell's wrapped lines join it
  (assistant/ingest/tables.py);
- paragraphs: a vertical gap larger than the line pitch, a change of type size, a bullet or
  a numbered label starts one; a paragraph cut by a column or page break is joined again;
- headings: type clearly larger than the body, or a short bold line of its own;
- title: the PDF metadata title, else the largest type on the first page.

pypdfium2 was chosen by measurement (README, "Reading PDFs"): on the NHS Constitution it
splits no words where pypdf splits "N HS", "t he" and "m ost", and it reads characters with
their boxes about fifteen times faster than pdfplumber.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from statistics import median

from assistant.errors import IngestError
from assistant.ingest.pagelines import Line, PageError, read_pages
from assistant.ingest.tables import table_rows
from assistant.text import LABELLED_LINE

# the number an edge line prints for its page, tried in turn: "Page 4 of 6", "- 4 -",
# "4 of 6" / "4/6", and a number opening or closing the line ("4 | Title", "Title 4")
_PAGE_NUMBERS = (re.compile(r"\bpage\s+(\d{1,4})\b", re.I), re.compile(r"^\W*(\d{1,4})\W*$"),
                 re.compile(r"\b(\d{1,4})\s*(?:of|/)\s*\d{1,4}\s*$", re.I),
                 re.compile(r"^\s*(\d{1,4})\b|\b(\d{1,4})\s*$"))
_FOOTNOTE_START = re.compile(r"^(\d{1,3})\s+\S")
_BLOCK_START = re.compile(r"^(?:[\u2022\u2013\u00b7\u25aa\u25cf\u25e6\u25a0\u2023\uf0b7\uf0a7*\-]\s"
                          r"|Objective \d+\s*:|\d+(?:\.\d+)+\s|\d{1,2}[a-z]?\.\s+\S"
                          r"|\(?(?:[a-z]|[ivx]{1,4}|\d{1,2})\)\s+\S)")
_TERMINAL = re.compile(r"[.?!:;\u201d\"\u2019)][\u00b9\u00b2\u00b3\u2070-\u2079]*\s*$")
_BAD_TITLE = re.compile(r"^(untitled|microsoft word|document\d*$)|\.(docx?|indd|pdf|qxd)\b",
                        re.I)
# an entry of a table of contents: dot leaders (or an ellipsis) up to a page number
_CONTENTS_ENTRY = re.compile(r"(?:\.\s?){4,}\s*\d{1,4}\s*$|\u2026+\s*\d{1,4}\s*$")
_CONTENTS_HEADING = re.compile(r"^\s*(?:table of )?contents\s*$", re.I)
EDGE = 0.09  # share of the page height at top and bottom where furniture lives


@dataclass
class PdfLayout:
    """The body lines of every page in reading order, and what the layout told about them."""

    pages: list[list[Line]]
    printed: list[int]  # the printed number of every page
    footnotes: list[list[list[Line]]]  # per page, each footnote's lines
    title: str
    dropped: Counter = field(default_factory=Counter)
    body_size: float = 0.0
    pitch: float = 0.0


def open_pdf(name: str, data: bytes, max_pages: int):
    """Return the opened pypdfium2 document, or raise IngestError with one sentence."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise IngestError(f"{name}: the PDF is encrypted with a password.") from exc
        raise IngestError(f"{name}: not a readable PDF ({exc}).") from exc
    if len(pdf) == 0:
        raise IngestError(f"{name}: the PDF has no pages.")
    if len(pdf) > max_pages:
        raise IngestError(f"{name}: {len(pdf)} pages is over the {max_pages}-page limit; "
                          "split it into parts and add those.")
    return pdf


def read_layout(name: str, data: bytes, max_pages: int = 1000) -> PdfLayout:
    """Return the layout of a PDF (raises IngestError for no text layer and the like)."""
    pdf = open_pdf(name, data, max_pages)
    try:
        heights, raw_pages, labels, rules = map(list, zip(*read_pages(pdf, data), strict=True))
    except PageError as exc:  # pdfium reports damage on the page it cannot load
        raise IngestError(f"{name}: not a readable PDF (page {exc.page + 1} is "
                          "damaged).") from exc
    if sum(len(x.text) for p in raw_pages for x in p) < 20:
        raise IngestError(f"{name}: the PDF has no text layer (scanned?); run OCR on it first.")
    meta_title = (pdf.get_metadata_dict().get("Title") or "").strip()
    pdf.close()
    dropped: Counter = Counter()
    pages, printed = _drop_furniture(raw_pages, heights, labels, dropped)
    pages = [_drop_contents(p, dropped) for p in pages]
    sizes = Counter()
    for p in pages:
        for x in p:
            sizes[round(x.size, 0)] += len(x.text)
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    gaps = [b.top - a.bottom for p in pages for a, b in zip(p, p[1:], strict=False)
            if abs(a.size - body) < 1.5 and abs(b.size - body) < 1.5 and 0 <= b.top - a.bottom]
    pitch = median(gaps) if gaps else body * 0.3
    # the line pitch is the text's: a table's rows, each made one line, do not count in it
    pages = [table_rows(p, r) for p, r in zip(pages, rules, strict=True)]
    notes = [_split_footnotes(p, h, body, dropped) for p, h in zip(pages, heights, strict=True)]
    title = meta_title if (len(meta_title) > 3 and not _BAD_TITLE.search(meta_title)) else ""
    return PdfLayout(pages=[n[0] for n in notes], printed=printed,
                     footnotes=[n[1] for n in notes], title=title or _largest_type(raw_pages),
                     dropped=dropped, body_size=body, pitch=pitch)


def _starts_block(text: str, previous: str) -> bool:
    """Whether a line opens a paragraph by its label; a dash opens one only after a stop."""
    if text.startswith("\u2013 ") and not _TERMINAL.search(previous):
        return False
    return bool(_BLOCK_START.match(text))


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\W+", " ", text.lower())).strip()


def _edge_number(text: str) -> int | None:
    """The page number an edge line prints, if it prints one."""
    for pattern in _PAGE_NUMBERS:
        m = pattern.search(text)
        if m:
            return int(next(g for g in m.groups() if g))
    return None


def _drop_contents(lines: list[Line], dropped: Counter) -> list[Line]:
    """Remove a table of contents: entries with dot leaders to a page number ("3. Scope
    ........ 4"), and the "Contents" heading of a page that holds three or more of them.
    They would otherwise be read as headings and quoted in place of the sections they list."""
    entries = {id(x) for x in lines if _CONTENTS_ENTRY.search(x.text)}
    if not entries:
        return lines
    kept = [x for x in lines if id(x) not in entries
            and not (len(entries) >= 3 and _CONTENTS_HEADING.match(x.text))]
    dropped["contents lines"] += len(lines) - len(kept)
    return kept


def _outermost(lines: list[Line], height: float) -> list[Line]:
    """The top line and the bottom line of a page when each sits in its edge band, set apart
    from the body by more than its own height: where a running header or footer lives."""
    out = []
    if not lines:
        return out
    first, last = min(lines, key=lambda x: x.top), max(lines, key=lambda x: x.bottom)
    below = min((x.top for x in lines if x is not first and x.top >= first.bottom), default=height)
    above = max((x.bottom for x in lines if x is not last and x.bottom <= last.top), default=0.0)
    if first.bottom < EDGE * height and below - first.bottom > first.bottom - first.top:
        out.append(first)
    if last.top > (1 - EDGE) * height and last.top - above > last.bottom - last.top:
        out.append(last)
    return out


def _affixes(line: Line, height: float) -> list[tuple[str, str]]:
    """The first and the last four words (digits aside) of an outermost line, with its band: a
    running header that also names the chapter ("Handbook to the Charter  Waiting times")
    repeats its fixed part on every page though the whole line repeats only within a chapter."""
    words = _key(line.text).split()
    if len(words) < 4:
        return []
    band = "top" if line.top < height / 2 else "bottom"
    return [(band, "^" + " ".join(words[:4])), (band, " ".join(words[-4:]) + "$")]


def _drop_furniture(pages: list[list[Line]], heights: list[float], labels: list[str],
                    dropped: Counter) -> tuple[list[list[Line]], list[int]]:
    """Remove running headers, footers and page numbers; return the pages and printed numbers.

    An edge line is furniture when its wording (digits aside) is at an edge of several pages,
    or when it carries a number that follows the page sequence (n - page index constant).
    """
    def edges(i: int) -> list[Line]:
        h = heights[i]
        return [x for x in pages[i] if x.bottom < EDGE * h or x.top > (1 - EDGE) * h]

    enough = max(2, 0.3 * len(pages))  # pages a wording or a number must be seen on
    edge_lines = [edges(i) for i in range(len(pages))]
    numbers = {id(x): _edge_number(x.text) for lines in edge_lines for x in lines}
    # each page's outermost lines with the affixes of their wording
    outer = [{id(x): set(_affixes(x, heights[i])) for x in _outermost(pages[i], heights[i])}
             for i in range(len(pages))]
    counts = Counter(k for lines in edge_lines for k in {_key(x.text) for x in lines})
    offsets = Counter(numbers[id(x)] - i for i, lines in enumerate(edge_lines) for x in lines
                      if numbers[id(x)] is not None)
    affixes = Counter(a for page in outer for found in page.values() for a in found)
    repeated = {k for k, n in counts.items() if k and n >= enough}
    running = {a for a, n in affixes.items() if n >= enough}
    offset = offsets.most_common(1)[0] if offsets else (1, 0)
    shift = offset[0] if offset[1] >= enough or len(pages) == 1 else 1
    out = []
    for i, lines in enumerate(pages):
        edge = {id(x) for x in edge_lines[i]}
        kept = []
        for x in lines:
            if id(x) in edge and len(pages) > 1 and (
                    (numbers[id(x)] is not None and numbers[id(x)] - i == shift)
                    or outer[i].get(id(x), set()) & running or _key(x.text) in repeated):
                dropped["running headers and footers" if re.search("[A-Za-z]", x.text)
                        else "page numbers"] += 1
                continue
            kept.append(x)
        out.append(kept)
    printed = [i + shift for i in range(len(pages))]
    numeric = [lab.strip() for lab in labels]
    if any(numeric) and all(lab.isdigit() for lab in numeric if lab):
        printed = [int(lab) if lab else printed[i] for i, lab in enumerate(numeric)]
    return out, printed


def _split_footnotes(lines: list[Line], height: float, body: float,
                     dropped: Counter) -> tuple[list[Line], list[list[Line]]]:
    """Split a page's lines into body lines and footnotes (small type at the page foot)."""
    n = len(lines)
    start = n
    while start > 0 and lines[start - 1].size < 0.9 * body and lines[start - 1].top > 0.5 * height:
        start -= 1
    while start < n and not _FOOTNOTE_START.match(lines[start].text):
        start += 1
    if start >= n:
        return lines, []
    notes: list[list[Line]] = []
    for x in lines[start:]:
        if _FOOTNOTE_START.match(x.text) or not notes:
            notes.append([x])
        else:
            notes[-1].append(x)
    dropped["footnotes kept apart"] += len(notes)
    return lines[:start], notes


def _largest_type(pages: list[list[Line]]) -> str:
    """The text in the largest type on the first page with text."""
    for lines in pages:
        if not lines:
            continue
        top = max(x.size for x in lines)
        words = [x.text for x in lines if x.size >= 0.95 * top]
        return " ".join(words)[:150]
    return "Untitled document"


def raw_blocks(layout: PdfLayout) -> list[dict]:
    """The layout's paragraphs, headings and footnotes as the cleaner's raw blocks, in order.

    A raw block is {"lines": [(text, printed page)], "kind", "footnote", "indent",
    "page_start", "heading", "level"}; footnotes follow the paragraph they interrupt.
    """
    body, gap = layout.body_size, max(2.0 * layout.pitch, 0.5 * layout.body_size)
    widths = [x.x1 - x.x0 for p in layout.pages for x in p if abs(x.size - body) < 0.1 * body]
    full = 0.5 * median(widths) if widths else 0.0
    out: list[dict] = []
    pending: list[dict] = []
    current: dict | None = None

    def close() -> None:
        if current and current["lines"]:
            current.pop("last", None)
            out.append(current)
            if current["kind"] == "body":
                out.extend(pending)
                pending.clear()

    for i, lines in enumerate(layout.pages):
        page_no = layout.printed[i]
        prev: Line | None = None
        for x in lines:
            level = 1 if x.size >= 1.15 * body else 0
            if current is None or _breaks(x, prev, current, level, body, gap, full):
                close()
                current = {"lines": [], "kind": "body", "footnote": None, "indent": 0,
                           "page_start": prev is None, "heading": None, "level": level,
                           "bold": x.bold, "row": x.cells}
            current["lines"].append((x.text, page_no))
            current["bold"] = current["bold"] and x.bold
            current["last"] = x
            prev = x
        pending += [_footnote_block(note, page_no) for note in layout.footnotes[i]]
    close()
    out.extend(pending)
    _mark_headings(out)
    return out


def _breaks(x: Line, prev: Line | None, current: dict, level: int, body: float, gap: float,
            full: float) -> bool:
    """Whether line x starts a new block after the block being built."""
    last: Line = current["last"]
    if x.cells or last.cells:
        return True  # each row of a table is a block of its own, never a wrapped line
    if LABELLED_LINE.match(x.text) and LABELLED_LINE.match(last.text):
        return True  # a cover's facts a line each: "Version: 7.1" under "Policy number: ..."
    new = bool(_starts_block(x.text, last.text)) or level != current["level"] or (
        len(current["lines"]) <= 3 and current["bold"] and not x.bold
        and last.text.endswith(":"))
    if prev is None or x.top < prev.top - 1:  # a paragraph cut by a column or page break goes on
        return new or abs(x.size - last.size) > 0.1 * body or not (
            x.text[:1].islower()
            or (not _TERMINAL.search(last.text) and last.x1 - last.x0 >= full))
    return new or x.top - prev.bottom > gap or abs(x.size - prev.size) > 0.15 * body


def _footnote_block(note: list[Line], page_no) -> dict:
    m = _FOOTNOTE_START.match(note[0].text)
    return {"lines": [(x.text, page_no) for x in note], "kind": "footnote",
            "footnote": int(m.group(1)) if m else None, "indent": 0,
            "page_start": False, "heading": None, "level": 0}


def _mark_headings(blocks: list[dict]) -> None:
    """A short bold line of its own ("Access to health services:") heads a section; a
    table's row in bold type (its header) does not."""
    for b in blocks:
        text = " ".join(t for t, _ in b["lines"])
        row = b.pop("row", False)
        if b["kind"] == "body" and not b["level"] and b.get("bold") and not row \
                and len(b["lines"]) <= 3 \
                and len(text.split()) <= 12 and not re.search(r"[.;,]$", text):
            b["level"] = 2
        if b["level"]:
            b["heading"] = b["level"]
