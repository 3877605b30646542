"""A PDF page's text lines, each with its position, type size and face, in reading order:
the part of reading a PDF that looks at every character (assistant/ingest/layout.py takes
its decisions from these lines). Pages are independent, so a long PDF's pages are read by
one process per core (pdfium itself is not safe to share between threads)."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from functools import partial
from statistics import median

from assistant.ingest.fonts import Faces
from assistant.text import BULLET_GLYPHS, CELL_BAR

_SUPERSCRIPT = str.maketrans("0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077"
                             "\u2078\u2079")
# a PDF of at least this many pages is read by several processes: below it, starting one
# (about 0.3 s) costs more than it saves
PARALLEL_PAGES = 40
# a gap between two characters of a line wider than this many times the type size parts
# the cells of a table row ("Approved by        Nursing Board"); a word space is about 0.3
_CELL_GAP = 3.0
# a gap wider than this many type sizes may part a table's cells that run close together
_BREAK_GAP = 0.6


class PageError(Exception):
    """pdfium could not read one page (0-based `page`)."""

    def __init__(self, page: int) -> None:
        super().__init__(page)
        self.page = page


Rule = tuple[float, float, float]  # a horizontal rule: distance from the top, left, right


@dataclass
class Rules:
    """A page's rules: across, (distance from the top, left, right); down, (x, top, bottom)."""

    across: list[Rule]
    down: list[tuple[float, float, float]]


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
    parts: tuple[tuple[float, str], ...] = ()  # a row's cells: (left edge, text), in order
    # where a gap wider than a word space (but not a cell's) parts the text: (the left edge
    # of the text after it, its cell's index in `parts` (0 when none), its offset in that
    # cell's text, or in `text`), for a table to cut at its columns
    breaks: tuple[tuple[float, int, int], ...] = ()

    @property
    def cells(self) -> bool:
        """Whether the line is a row of a table: text set apart by a gap of several spaces."""
        return len(self.parts) > 1



def page_lines(page, index: int, height: float) -> list[Line]:
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


def page_rules(page, height: float) -> Rules:
    """The rules of a pypdfium2 page: thin paths across at least 20 points, and the top and
    bottom edges of wider boxes (a row's shading); thin paths down at least 10 points."""
    import pypdfium2.raw as raw

    out = Rules([], [])
    for obj in page.get_objects(filter=[raw.FPDF_PAGEOBJ_PATH], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        if right - left <= 2.5 and top - bottom >= 10:
            out.down.append(((left + right) / 2, height - top, height - bottom))
        if right - left < 20:
            continue
        edges = ((bottom + top) / 2,) if top - bottom <= 2.5 else (bottom, top)
        out.across += [(height - y, left, right) for y in edges]
    return out


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
    out = [""] * len(chars)  # the text of each character
    written: list[int] = []  # the characters whose text is not empty
    for i, (ch, _x0, y0, _x1, y1, _b) in enumerate(chars):
        if ch == "\t" or ch == "\u00a0":
            ch = " "
        ch = ch.translate(BULLET_GLYPHS)
        small = ch.isdigit() and (y1 - y0) < 0.8 * size and y0 > base + 0.15 * size
        if small and len(written) > 1 and out[written[-1]] == " ":
            out[written.pop()] = ""  # a marker set apart from its word still belongs to it
        before = out[written[-1]][-1:] if written else ""
        if small and i and written and (before.isalpha() or before in ".,;:)\u2019"
                                        or before in "\u2070\u00b9\u00b2\u00b3\u2074\u2075"
                                        "\u2076\u2077\u2078\u2079"):
            ch = ch.translate(_SUPERSCRIPT)
        out[i] = ch
        written.append(i)
    text = _squeeze("".join(out))
    if not text:
        return None
    visible = [c for c in chars if c[0].strip()]
    bold = mostly_bold([c[5] for c in visible])
    gaps = _gaps(chars, size, _BREAK_GAP)
    parts = _cells(chars, out, [(x0, i) for x0, i, wide in gaps if wide > _CELL_GAP * size])
    starts = [0] + [i for _, i, wide in gaps if wide > _CELL_GAP * size]
    breaks = []
    for x0, i, wide in gaps:
        if wide <= _CELL_GAP * size:  # a cell's own gap starts a cell, it does not break one
            cell = max(k for k, a in enumerate(starts) if a <= i)
            breaks.append((x0, cell, len(_squeeze("".join(out[starts[cell]:i])))))
    return Line(text=cell_text(parts) if parts else text, x0=min(c[1] for c in visible),
                x1=max(c[3] for c in visible), top=height - max(c[4] for c in visible),
                bottom=height - min(c[2] for c in visible), size=size, bold=bold, page=index,
                parts=parts, breaks=tuple(breaks))


def cell_text(parts) -> str:
    """A table row's text: its cells' texts, in order, parted by a bar ("Review date |
    October 2027"), so that the row reads as a row and one cell never runs into the next."""
    return CELL_BAR.join(t for _, t in parts if t)


def _squeeze(text: str) -> str:
    return re.sub(r" {2,}", " ", text).strip()


def _gaps(chars: list, size: float, wide: float) -> list[tuple[float, int, float]]:
    """(left edge, index, gap) of each character after a gap wider than `wide` type sizes
    (a note's small raised marker is not counted)."""
    out, last = [], None
    for i, c in enumerate(chars):
        if not c[0].strip() or c[4] - c[2] < 0.8 * size:
            continue
        if last is not None and c[1] - last[3] > wide * size:
            out.append((c[1], i, c[1] - last[3]))
        last = c
    return out


def _cells(chars: list, out: list[str], gaps: list[tuple[float, int]]
           ) -> tuple[tuple[float, str], ...]:
    """The line's cells, (left edge, text), parted at `gaps` (left edge and index of the
    character after each); () when there are none. `out` holds the text of each of
    `chars`."""
    if not gaps:
        return ()
    starts = [(next(c[1] for c in chars if c[0].strip()), 0), *gaps]
    ends = [i for _, i in gaps] + [len(chars)]
    return tuple((x0, _squeeze("".join(out[a:b])))
                 for (x0, a), b in zip(starts, ends, strict=True))


def columns(lines: list[Line], width: float) -> list[Line]:
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


def read_pages(pdf, data: bytes) -> list[tuple[float, list[Line], str, Rules]]:
    """(height, lines in reading order, page label, rules) of every page of an opened
    pypdfium2 document whose bytes are `data`; raises PageError for a page pdfium cannot
    read.

    A long PDF's later pages are read by child processes (`python -m` this module, one per
    spare core) while this process reads the first ones; a child that fails for any reason
    but a damaged page leaves its pages to be read here."""
    n, workers = len(pdf), min(os.cpu_count() or 1, 4)
    if n < PARALLEL_PAGES or workers < 2:
        return _pages_of(pdf, 0, n)
    cuts = [n * k // workers for k in range(workers + 1)]
    children = [_Child(data, a, b) for a, b in zip(cuts[1:-1], cuts[2:], strict=True)]
    try:
        out = _pages_of(pdf, 0, cuts[1])
        for child in children:
            out += child.pages() or _pages_of(pdf, child.start, child.stop)
    finally:
        for child in children:
            child.stop_now()
    return out


class _Child:
    """A child process reading pages [start, stop) of the PDF `data`, fed and heard by a
    thread of its own so that this process can read its own pages meanwhile."""

    def __init__(self, data: bytes, start: int, stop: int) -> None:
        self.start, self.stop = start, stop
        self._out: bytes | None = None
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", __name__, str(start), str(stop)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:  # no processes here (a sandbox): the pages are read in this one
            self._proc = None
            return
        self._talk = threading.Thread(target=self._communicate, args=(data,), daemon=True)
        self._talk.start()

    def _communicate(self, data: bytes) -> None:
        try:
            self._out, _ = self._proc.communicate(data)
        except (OSError, ValueError):
            self._out = None

    def pages(self) -> list | None:
        """The child's pages; None if it failed (raises PageError for a damaged page)."""
        if self._proc is None:
            return None
        self._talk.join()
        if self._proc.returncode != 0 or not self._out:
            return None
        result = pickle.loads(self._out)  # written by this module's own child, below
        if isinstance(result, PageError):
            raise result
        return result

    def stop_now(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


def _pages_of(pdf, start: int, stop: int) -> list[tuple[float, list[Line], str, Rules]]:
    out = []
    for i in range(start, stop):
        try:
            page = pdf[i]
            width, height = page.get_size()
            out.append((height, columns(page_lines(page, i, height), width),
                        pdf.get_page_label(i) or "", page_rules(page, height)))
        except Exception as exc:
            raise PageError(i) from exc
    return out


def _child_main(start: int, stop: int) -> None:
    """Read pages [start, stop) of the PDF on stdin; write them, or the PageError, pickled."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(sys.stdin.buffer.read())
    try:
        result: object = _pages_of(pdf, start, stop)
    except PageError as exc:
        result = PageError(exc.page)
    finally:
        pdf.close()
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":  # run as `python -m`: its lines must pickle under the module's name
    from assistant.ingest import pagelines

    pagelines._child_main(int(sys.argv[1]), int(sys.argv[2]))
