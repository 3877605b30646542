"""The rows of a PDF page's tables, each one line of its own: pieces of text that stand side
by side on one baseline become the cells of a row, and the lines a cell wraps onto join
their own cell of that row, not the row below. A cell of several lines is drawn cell by
cell, so the page's lines would read "Named Nurse for Safeguarding Gives advice ... and
attends" then "Adults safeguarding adults board meetings ..."; as a row it reads "Named
Nurse for Safeguarding Adults | Gives advice ... and attends safeguarding adults board
meetings ...", its cells parted by a bar. A label that nearly fills its column runs into
its value on one line, a little more than a word space apart; the line is cut where the
gap falls at a column of the table.

A table is a run of lines under a row of cells whose text starts at that row's columns.
Where one of its rows ends, the table says in one of three ways, tried in turn:
- rules: in a table with horizontal rules between its rows (or a row boxed by rules above
  and below), a rule ends a row;
- space: in a table whose rows are set further apart than a cell's lines, a wider gap does;
- labels: in a table with neither, only a line with nothing in the first column continues
  the row above (a label never wraps into an empty one), so a new row's label is never
  merged into the last; a label that wraps is then read as a row of its own.
"""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.ingest.pagelines import Line, Rule, cell_text

# lines on one baseline (within this many type sizes) with a gap of at least this many type
# sizes between them are cells of one row; a word space is about 0.3
_SAME_ROW, _CELL_SPACE = 0.35, 1.0
# a line of a table is at most this many type sizes below the line before it
_TABLE_GAP = 1.5
# rows set apart by at least this many type sizes more than a cell's lines are
_ROW_SPACE = 0.25
# a line holding only a list's label ("4.2.1", "(a)", "iv.", a bullet) is not a cell
_LABEL = re.compile(r"^\W*(?:\d+(?:\.\d+)*|[a-z]|[ivx]{1,4})?\W*$", re.I)


def table_rows(lines: list[Line], rules: list[Rule]) -> list[Line]:
    """The lines of a page in reading order, with each table row made one line."""
    beside: list[Line] = []
    for x in lines:
        if beside and _beside(beside[-1], x):
            beside[-1] = _joined(beside[-1], x)
        else:
            beside.append(x)
    out: list[Line] = []
    i = 0
    while i < len(beside):
        run = [beside[i]]
        while run[0].cells and i + len(run) < len(beside):
            x = _cut(run[0], beside[i + len(run)])
            if _columns(run[0], run[-1], x, rules) is None:
                break
            run.append(x)
        out += _rows(run, rules) if len(run) > 1 else run
        i += len(run)
    return out


def _cut(first: Line, x: Line) -> Line:
    """Line x cut into cells where a gap wider than a word space falls at a column of the
    table headed by row `first` ("Director of Nursing and Quality  Executive lead for":
    a label and its value too close together to be read as a row on their own)."""
    size = first.size
    offsets = [off for bx, off in x.breaks
               if any(abs(bx - a) <= 0.5 * size for a, _ in first.parts[1:])]
    if x.cells or not offsets:
        return x
    xs = [x.x0] + [bx for bx, off in x.breaks if off in offsets]
    texts = [x.text[a:b].strip() for a, b in zip([0, *offsets], [*offsets, len(x.text)],
                                                  strict=True)]
    parts = tuple(zip(xs, texts, strict=True))
    return replace(x, text=cell_text(parts), parts=parts, breaks=())


def _is_cell(x: Line) -> bool:
    return bool(re.search(r"[^\W\d_]{2}", x.text)) and not _LABEL.match(x.text)


def _beside(a: Line, b: Line) -> bool:
    """Whether line b stands to the right of line a on its baseline, a cell apart."""
    size = max(a.size, b.size)
    return (a.page == b.page and abs(a.bottom - b.bottom) <= _SAME_ROW * size
            and abs(a.size - b.size) <= 0.15 * size and b.x0 - a.x1 > _CELL_SPACE * size
            and _is_cell(a) and _is_cell(b))


def _cells_of(x: Line) -> tuple[tuple[float, str], ...]:
    return x.parts or ((x.x0, x.text),)


def _joined(a: Line, b: Line) -> Line:
    parts = _cells_of(a) + _cells_of(b)
    return replace(a, text=cell_text(parts), x1=max(a.x1, b.x1),
                   top=min(a.top, b.top), bottom=max(a.bottom, b.bottom),
                   bold=a.bold and b.bold, parts=parts)


def _columns(first: Line, last: Line, x: Line, rules: list[Rule]) -> list[int] | None:
    """The columns of the table headed by row `first` that the pieces of line x start in,
    if x is a line of that table just below line `last`; else None. A line wider than its
    column is one only in a box of rules (a label and its value too close to part)."""
    size = first.size
    if (x.page != first.page or not -0.2 * size <= x.top - last.bottom <= _TABLE_GAP * size
            or abs(x.size - size) > 0.15 * size):
        return None
    anchors = [a for a, _ in first.parts]
    columns = [max((j for j, a in enumerate(anchors) if a <= x0 + 0.5 * size), default=-1)
               for x0, _ in _cells_of(x)]
    if -1 in columns or columns != sorted(set(columns)):
        return None
    if (not x.cells and columns[0] + 1 < len(anchors) and x.x1 > anchors[columns[0] + 1]
            and not _boxed(x, rules)):
        return None  # wider than its column: the text under the table
    return columns


def _boxed(x: Line, rules: list[Rule]) -> bool:
    """Whether a rule as wide as line x runs just above or below it."""
    return any(left <= x.x0 + 1 and right >= x.x1 - 1
               and (x.top - x.size <= y <= x.top + 0.3 * x.size
                    or x.bottom - 0.3 * x.size <= y <= x.bottom + x.size)
               for y, left, right in rules)


def _rows(run: list[Line], rules: list[Rule]) -> list[Line]:
    """A table's lines (a row of cells first) as its rows, each one line."""
    size = run[0].size
    ruled = [any(a.bottom - 0.3 * size < y < b.top + 0.3 * size and left < b.x1 and right > b.x0
                 for y, left, right in rules) for a, b in zip(run, run[1:], strict=False)]
    gaps = [b.top - a.bottom for a, b in zip(run, run[1:], strict=False)]
    spaced = max(gaps) - min(gaps) > _ROW_SPACE * size
    out = [run[0]]
    for k, x in enumerate(run[1:]):
        columns = _columns(run[0], run[k], x, rules) or []
        if sum(ruled) >= 2 or not any(ruled) and _enclosed(run, rules):
            new = ruled[k]
        elif spaced:
            new = ruled[k] or gaps[k] > min(gaps) + _ROW_SPACE * size
        else:
            new = ruled[k] or 0 in columns
        if new:
            empty = replace(x, parts=tuple((a, "") for a, _ in run[0].parts))
            out.append(_wrapped(empty, x, columns))
        else:
            out[-1] = _wrapped(out[-1], x, columns)
    return out


def _enclosed(run: list[Line], rules: list[Rule]) -> bool:
    """Whether rules as wide as the lines run just above the first and below the last."""
    x0, x1, size = min(x.x0 for x in run), max(x.x1 for x in run), run[0].size

    def ruled(lo: float, hi: float) -> bool:
        return any(lo <= y <= hi and left <= x0 + 1 and right >= x1 - 1
                   for y, left, right in rules)

    return (ruled(run[0].top - 2 * size, run[0].top + 0.3 * size)
            and ruled(run[-1].bottom - 0.3 * size, run[-1].bottom + 2 * size))


def _wrapped(row: Line, x: Line, columns: list[int]) -> Line:
    """The row with the pieces of line x added to the ends of their columns."""
    anchors = [a for a, _ in row.parts]
    texts = [t for _, t in row.parts]
    for j, (_, text) in zip(columns, _cells_of(x), strict=True):
        texts[j] = f"{texts[j]} {text}".strip()
    parts = tuple(zip(anchors, texts, strict=True))
    return replace(row, text=cell_text(parts), x1=max(row.x1, x.x1), bottom=x.bottom,
                   bold=row.bold and x.bold, parts=parts)
