"""Reading a PDF with its layout (pypdfium2): every line with its position, type size and
page, then decisions taken from the layout alone, for any document.

- page furniture: lines at the top or bottom edge of a page that repeat across pages, or
  that carry the page's number in the page sequence; the number gives the printed page;
- footnotes: a run of small type at the foot of a page opening with a number, kept apart
  and linked to the raised marker in the body (the marker becomes a superscript digit);
- columns: a gutter no line crosses splits a page into columns, read left then right;
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
from functools import partial
from statistics import median

from assistant.errors import IngestError
from assistant.ingest.fonts import Faces

_SUPERSCRIPT = str.maketrans("0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077"
                             "\u2078\u2079")
_EDGE_NUMBER = re.compile(r"^\s*(\d{1,4})\b|\b(\d{1,4})\s*$")
_FOOTNOTE_START = re.compile(r"^(\d{1,3})\s+\S")
_BLOCK_START = re.compile(r"^(?:[\u2022\u2013\u00b7\u25aa\u25cf\u25e6\u25a0\u2023\uf0b7\uf0a7*\-]\s"
                          r"|Objective \d+\s*:|\d+\.\d+\s|\d{1,2}[a-z]?\.\s+\S"
                          r"|\(?(?:[a-z]|[ivx]{1,4}|\d{1,2})\)\s+\S)")
_TERMINAL = re.compile(r"[.?!:;\u201d\"\u2019)][\u00b9\u00b2\u00b3\u2070-\u2079]*\s*$")
_BAD_TITLE = re.compile(r"^(untitled|microsoft word|document\d*$)|\.(docx?|indd|pdf|qxd)\b",
                        re.I)
EDGE = 0.09  # share of the page height at top and bottom where furniture lives


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    top: float  # distance from the top of the page
    bottom: float
    size: float
    bold: bool
    page: int


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
    heights, raw_pages, labels = [], [], []
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            width, height = page.get_size()
            heights.append(height)
            raw_pages.append(_columns(_page_lines(page, i, height), width))
            labels.append(pdf.get_page_label(i) or "")
    except Exception as exc:  # pdfium reports damage on the page it cannot load
        raise IngestError(f"{name}: not a readable PDF (page {len(heights) or 1} is "
                          "damaged).") from exc
    if sum(len(x.text) for p in raw_pages for x in p) < 20:
        raise IngestError(f"{name}: the PDF has no text layer (scanned?); run OCR on it first.")
    meta_title = (pdf.get_metadata_dict().get("Title") or "").strip()
    pdf.close()
    dropped: Counter = Counter()
    pages, printed = _drop_furniture(raw_pages, heights, labels, dropped)
    sizes = Counter()
    for p in pages:
        for x in p:
            sizes[round(x.size, 0)] += len(x.text)
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    gaps = [b.top - a.bottom for p in pages for a, b in zip(p, p[1:], strict=False)
            if abs(a.size - body) < 1.5 and abs(b.size - body) < 1.5 and 0 <= b.top - a.bottom]
    pitch = median(gaps) if gaps else body * 0.3
    notes = [_split_footnotes(p, h, body, dropped) for p, h in zip(pages, heights, strict=True)]
    title = meta_title if (len(meta_title) > 3 and not _BAD_TITLE.search(meta_title)) else ""
    return PdfLayout(pages=[n[0] for n in notes], printed=printed,
                     footnotes=[n[1] for n in notes], title=title or _largest_type(raw_pages),
                     dropped=dropped, body_size=body, pitch=pitch)


def _page_lines(page, index: int, height: float) -> list[Line]:
    """The page's text lines in content order, with raised small digits as superscripts."""
    import pypdfium2.raw as raw

    tp = page.get_textpage()
    faces = Faces(raw)
    lines: list[Line] = []
    chars: list[tuple[str, float, float, float, float, int]] = []  # ..., its index on the page

    def flush() -> None:
        if chars:
            line = _make_line(chars, index, height, partial(faces.mostly_bold, tp))
            if line is not None:
                lines.append(line)
            chars.clear()

    for c in range(tp.count_chars()):
        ch = chr(raw.FPDFText_GetUnicode(tp.raw, c))
        if ch in "\r\n\x02":
            if ch != "\x02":
                flush()
            continue
        x0, y0, x1, y1 = tp.get_charbox(c, loose=True)
        if chars and ch.strip() and (abs(y0 - chars[-1][2]) > 0.8 * (y1 - y0) and
                                     not _raised(ch, y0, y1, chars)
                                     or x0 < chars[-1][1] - 2 * (y1 - y0)):
            flush()  # a jump in baseline or back to the left: a new line
        chars.append((ch, x0, y0, x1, y1, c))
    flush()
    tp.close()
    return lines


def _raised(ch: str, y0: float, y1: float, chars: list) -> bool:
    """Whether a digit sits raised in smaller type than the text before it (a note marker)."""
    prev = chars[-1]
    return ch.isdigit() and (y1 - y0) < 0.8 * (prev[4] - prev[2]) and y0 > prev[2]


def _make_line(chars: list, index: int, height: float, mostly_bold) -> Line | None:
    sizes = [c[4] - c[2] for c in chars if c[0].strip()]
    if not sizes:
        return None
    size = median(sizes)
    base = median(c[2] for c in chars if c[0].strip())
    out = []
    for i, (ch, _x0, y0, _x1, y1, _b) in enumerate(chars):
        if ch == "\t" or ch == "\u00a0":
            ch = " "
        small = ch.isdigit() and (y1 - y0) < 0.8 * size and y0 > base + 0.15 * size
        if small and out and out[-1] == " " and len(out) > 1:
            out.pop()  # a marker set apart from its word still belongs to it
        if small and i and out and (out[-1][-1:].isalpha() or out[-1][-1:] in ".,;:)\u2019"
                                    or out[-1][-1:] in "\u2070\u00b9\u00b2\u00b3\u2074\u2075"
                                    "\u2076\u2077\u2078\u2079"):
            ch = ch.translate(_SUPERSCRIPT)
        out.append(ch)
    text = re.sub(r" {2,}", " ", "".join(out)).strip()
    if not text:
        return None
    visible = [c for c in chars if c[0].strip()]
    bold = mostly_bold([c[5] for c in visible])
    return Line(text=text, x0=min(c[1] for c in visible), x1=max(c[3] for c in visible),
                top=height - max(c[4] for c in visible), bottom=height - min(c[2] for c in visible),
                size=size, bold=bold, page=index)


def _columns(lines: list[Line], width: float) -> list[Line]:
    """Lines in reading order: bands split by full-width lines, each band column by column."""
    if len(lines) < 10:
        return sorted(lines, key=lambda x: (round(x.top), x.x0))
    best, best_key = None, (len(lines), 0)
    for g in range(int(0.3 * width), int(0.7 * width), 2):
        left = sum(1 for x in lines if x.x1 < g)
        right = sum(1 for x in lines if x.x0 > g)
        crossing = sum(1 for x in lines if x.x0 < g < x.x1)
        n = min(left, right)
        if n >= 5 and crossing <= 0.25 * len(lines) and (crossing, -n) < best_key:
            best, best_key = g, (crossing, -n)
    if best is None:
        return sorted(lines, key=lambda x: (x.top, x.x0))
    out: list[Line] = []
    band: list[Line] = []
    for line in sorted(lines, key=lambda x: (x.top, x.x0)):
        if line.x0 < best < line.x1:  # a full-width line closes the band above it
            out += _band(band, best)
            band = []
            out.append(line)
        else:
            band.append(line)
    return out + _band(band, best)


def _band(lines: list[Line], gutter: float) -> list[Line]:
    left = [x for x in lines if x.x1 <= gutter]
    right = [x for x in lines if x.x0 >= gutter]
    return sorted(left, key=lambda x: x.top) + sorted(right, key=lambda x: x.top)


def _starts_block(text: str, previous: str) -> bool:
    """Whether a line opens a paragraph by its label; a dash opens one only after a stop."""
    if text.startswith("\u2013 ") and not _TERMINAL.search(previous):
        return False
    return bool(_BLOCK_START.match(text))


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\W+", " ", text.lower())).strip()


def _drop_furniture(pages: list[list[Line]], heights: list[float], labels: list[str],
                    dropped: Counter) -> tuple[list[list[Line]], list[int]]:
    """Remove running headers, footers and page numbers; return the pages and printed numbers.

    An edge line is furniture when its wording (digits aside) is at an edge of several pages,
    or when it carries a number that follows the page sequence (n - page index constant).
    """
    def edges(i: int) -> list[Line]:
        h = heights[i]
        return [x for x in pages[i] if x.bottom < EDGE * h or x.top > (1 - EDGE) * h]

    counts: Counter[str] = Counter()
    offsets: Counter[int] = Counter()
    for i in range(len(pages)):
        counts.update({_key(x.text) for x in edges(i)})
        for x in edges(i):
            m = _EDGE_NUMBER.search(x.text)
            if m:
                offsets[int(m.group(1) or m.group(2)) - i] += 1
    repeated = {k for k, n in counts.items() if k and n >= max(2, 0.3 * len(pages))}
    offset = offsets.most_common(1)[0] if offsets else (1, 0)
    shift = offset[0] if offset[1] >= max(2, 0.3 * len(pages)) or len(pages) == 1 else 1
    out = []
    for i, lines in enumerate(pages):
        edge = {id(x) for x in edges(i)}
        kept = []
        for x in lines:
            m = _EDGE_NUMBER.search(x.text) if id(x) in edge else None
            numbered = bool(m) and int(m.group(1) or m.group(2)) - i == shift
            if id(x) in edge and (numbered or _key(x.text) in repeated) and len(pages) > 1:
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
                           "bold": x.bold}
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
    """A short bold line of its own ("Access to health services:") heads a section."""
    for b in blocks:
        text = " ".join(t for t, _ in b["lines"])
        if b["kind"] == "body" and not b["level"] and b.get("bold") and len(b["lines"]) <= 3 \
                and len(text.split()) <= 12 and not re.search(r"[.;,]$", text):
            b["level"] = 2
        if b["level"]:
            b["heading"] = b["level"]
