"""The rows of a PDF page's tables, each one line of its own: pieces of text that stand side
by side on one baseline become the cells of a row, and the lines a cell wraps onto join
their own cell of that row, not the row below. A cell of several lines is drawn cell by
cell, so the page's lines would read "Named Nurse for Safeguarding Gives advice ... and
attends" then "Adults safeguarding adults board meetings ..."; as a row it reads "Named
Nurse for Safeguarding Adults Gives advice ... and attends safeguarding adults board
meetings ...".

Where a row ends, the page's horizontal rules say: a row boxed by a rule above it takes
every line down to the next rule. A table without rules gives no such sign; there a line
continues the row above only when it has nothing in the row's first column (a label never
wraps into an empty one), so a new row's label is never merged into the last."""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.ingest.pagelines import Line, Rule

# lines on one baseline (within this many type sizes) with a gap of at least this many type
# sizes between them are cells of one row; a word space is about 0.3
_SAME_ROW, _CELL_SPACE = 0.35, 1.0
# a cell's wrapped line is less than this many type sizes below the line before it
_WRAP_GAP = 0.6
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
    for x in beside:
        row = out[-1] if out and out[-1].cells else None
        wrapped = _wrapped(row, x, rules) if row is not None else None
        if wrapped is not None:
            out[-1] = wrapped
        else:
            out.append(x)
    return out


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
    return replace(a, text=" ".join(t for _, t in parts), x1=max(a.x1, b.x1),
                   top=min(a.top, b.top), bottom=max(a.bottom, b.bottom),
                   bold=a.bold and b.bold, parts=parts)


def _ruled_above(row: Line, rules: list[Rule]) -> bool:
    return any(row.top - 2 * row.size <= y <= row.top + 0.3 * row.size
               and left <= row.x0 + 1 and right >= row.x1 - 1 for y, left, right in rules)


def _wrapped(row: Line, x: Line, rules: list[Rule]) -> Line | None:
    """The row with line x joined to its cells, if x is the cells' wrapped text."""
    size = row.size
    gap = x.top - row.bottom
    if (x.page != row.page or not -0.2 * size <= gap <= _WRAP_GAP * size
            or abs(x.size - size) > 0.15 * size):
        return None
    if any(row.bottom - 0.3 * size < y < x.top + 0.3 * size and left < x.x1 and right > x.x0
           for y, left, right in rules):
        return None  # a rule between: the next row
    anchors = [a for a, _ in row.parts]
    texts = [t for _, t in row.parts]
    pieces = _cells_of(x)
    columns = [max((j for j, a in enumerate(anchors) if a <= x0 + 0.5 * size), default=-1)
               for x0, _ in pieces]
    if -1 in columns or columns != sorted(set(columns)):
        return None
    if (0 in columns and not _ruled_above(row, rules)) or (
            len(pieces) == 1 and columns[0] + 1 < len(anchors)
            and x.x1 > anchors[columns[0] + 1]):
        return None  # a label in a table without rules: a new row; or wider than its cell
    for j, (_, text) in zip(columns, pieces, strict=True):
        texts[j] = f"{texts[j]} {text}"
    parts = tuple(zip(anchors, texts, strict=True))
    return replace(row, text=" ".join(texts), x1=max(row.x1, x.x1), bottom=x.bottom,
                   bold=row.bold and x.bold, parts=parts)
