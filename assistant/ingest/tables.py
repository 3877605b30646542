"""The rows of a PDF page's tables, each one line of its own: pieces of text that stand side
by side on one baseline become the cells of a row, and the lines a cell wraps onto join
their own cell of that row, not the row below. A cell of several lines is drawn cell by
cell, so the page's lines would read "Named Nurse for Safeguarding Gives advice ... and
attends" then "Adults safeguarding adults board meetings ..."; as a row it reads "Named
Nurse for Safeguarding Adults | Gives advice ... and attends safeguarding adults board
meetings ...", its cells parted by a bar.

Cells that run close together on one line (a label that nearly fills its column, a table
of five narrow columns) are parted where a gap wider than a word space falls at a rule
drawn down between columns, or at a column of the table.

A table is a run of lines under a row of cells whose text starts at that row's columns
(or between the rules drawn down it). Where one of its rows ends, the table says in one of
three ways, tried in turn:
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

from assistant.ingest.pagelines import Line, Rule, Rules, cell_text

# lines on one baseline (within this many type sizes) with a gap of at least this many type
# sizes between them are cells of one row; a word space is about 0.3
_SAME_ROW, _CELL_SPACE = 0.35, 1.0
# a line of a table is at most this many type sizes below the line before it
_TABLE_GAP = 1.5
# rows set apart by at least this many type sizes more than a cell's lines are
_ROW_SPACE = 0.25
# a line holding only a list's label ("4.2.1", "(a)", "iv.", a bullet) is not a cell
_LABEL = re.compile(r"^\W*(?:\d+(?:\.\d+)*|[a-z]|[ivx]{1,4})?\W*$", re.I)


def table_rows(lines: list[Line], rules: Rules) -> list[Line]:
    """The lines of a page in reading order, with each table row made one line."""
    beside: list[Line] = []
    for x in (_cut(x, _downs(x, rules)) for x in _by_rows(lines, rules)):
        if beside and _labels(beside[-1], x):
            a = beside[-1]
            beside[-1] = replace(x, text=f"{a.text} {x.text}", x0=a.x0, parts=(), breaks=())
        elif beside and _beside(beside[-1], x, rules):
            beside[-1] = _joined(beside[-1], x)
        else:
            beside.append(x)
    out: list[Line] = []
    i = 0
    while i < len(beside):
        run = [beside[i]]
        anchors = _anchors(run[0], rules)
        # the columns each line's pieces start in (the first row's own, then the others')
        columns = [[_column_of(anchors, x0, run[0].size, 0) for x0, _ in _cells_of(run[0])]]
        while anchors and i + len(run) < len(beside):
            x = _cut(beside[i + len(run)], anchors[1:])
            found = _columns(anchors, run[-1], x, rules.across)
            if found is None:
                break
            run.append(x)
            columns.append(found)
        out += _rows(run, columns, anchors, rules.across) if len(run) > 1 else run
        i += len(run)
    return out


def _by_rows(lines: list[Line], rules: Rules) -> list[Line]:
    """The lines with those inside a grid of rules drawn down (three or more, side by side
    over the same height) read row by row, left to right: a page's columns may have been
    read one after the other, and a grid's columns are not the page's."""
    downs = sorted(rules.down, key=lambda v: v[1])
    grids: list[list[tuple[float, float, float]]] = []
    for v in downs:
        if grids and v[1] <= max(b for _, _, b in grids[-1]):
            grids[-1].append(v)
        else:
            grids.append([v])
    for grid in (g for g in grids if len(g) >= 3):
        left, right = min(v[0] for v in grid), max(v[0] for v in grid)
        top, bottom = min(v[1] for v in grid), max(v[2] for v in grid)
        inside = [i for i, x in enumerate(lines) if left - 1 <= x.x0 and x.x1 <= right + 1
                  and top <= (x.top + x.bottom) / 2 <= bottom]
        if len(inside) < 2:
            continue
        rows: list[list[Line]] = []
        for x in sorted((lines[i] for i in inside), key=lambda x: x.top):
            if rows and x.top - rows[-1][0].top <= _SAME_ROW * x.size:
                rows[-1].append(x)
            else:
                rows.append([x])
        ordered = [x for row in rows for x in sorted(row, key=lambda x: x.x0)]
        taken = set(inside)
        rest = [x for i, x in enumerate(lines) if i not in taken]
        lines = rest[:inside[0]] + ordered + rest[inside[0]:]  # where the grid's first was
    return lines


def _downs(x: Line, rules: Rules) -> list[float]:
    """Where rules drawn down through line x's height cross it."""
    middle = (x.top + x.bottom) / 2
    return [vx for vx, top, bottom in rules.down
            if top <= middle <= bottom and x.x0 + 1 < vx < x.x1 - 1]


def _anchors(first: Line, rules: Rules) -> list[float]:
    """Where the columns of a table whose first row is line `first` start (its cells' left
    edges, or the rules drawn down between them); [] when it is not a row."""
    if not first.cells:
        return []
    downs = _downs(first, rules)
    return sorted({first.x0 - 0.5 * first.size, *downs}) if downs else [
        a for a, _ in first.parts]


def _cut(x: Line, columns: list[float]) -> Line:
    """Line x cut into cells where a gap wider than a word space falls at one of `columns`
    (the left edges of a table's columns after its first, or its rules drawn down): a
    label and its value too close together to be read as a row ("Director of Nursing and
    Quality  Executive lead for")."""
    size = x.size
    cuts = [(bx, cell, off) for bx, cell, off in x.breaks
            if any(-0.5 * size <= bx - a <= 1.5 * size for a in columns)]
    if not cuts:
        return x
    parts: list[tuple[float, str]] = []
    for cell, (x0, text) in enumerate(_cells_of(x)):
        at = sorted((off, bx) for bx, c, off in cuts if c == cell)
        edges, offsets = [x0] + [bx for _, bx in at], [0] + [off for off, _ in at]
        parts += [(e, text[a:b].strip()) for e, a, b in
                  zip(edges, offsets, [*offsets[1:], len(text)], strict=True)]
    return replace(x, text=cell_text(parts), parts=tuple(parts), breaks=())


def _is_cell(x: Line) -> bool:
    return bool(re.search(r"[^\W\d_]{2}", x.text)) and not _LABEL.match(x.text)


def _labels(a: Line, b: Line) -> bool:
    """Whether line a is only the bullet or number of the item on line b, set level with
    it just to its left (a list inside a table's cell; a bullet's box may be taller)."""
    return (a.page == b.page and bool(_LABEL.match(a.text)) and not b.cells
            and min(abs(a.bottom - b.bottom), abs(a.top - b.top)) <= _SAME_ROW * b.size
            and 0 <= b.x0 - a.x1 <= _CELL_SPACE * 3 * b.size)


def _beside(a: Line, b: Line, rules: Rules) -> bool:
    """Whether line b stands to the right of line a on its baseline, a cell apart (or a
    rule drawn down between them)."""
    size = max(a.size, b.size)
    middle = (b.top + b.bottom) / 2
    parted = b.x0 - a.x1 > _CELL_SPACE * size or any(
        a.x1 <= vx <= b.x0 and top <= middle <= bottom for vx, top, bottom in rules.down)
    return (a.page == b.page and abs(a.bottom - b.bottom) <= _SAME_ROW * size
            and abs(a.size - b.size) <= 0.15 * size and b.x0 > a.x1 and parted
            and _is_cell(a) and _is_cell(b))


def _cells_of(x: Line) -> tuple[tuple[float, str], ...]:
    return x.parts or ((x.x0, x.text),)


def _joined(a: Line, b: Line) -> Line:
    parts = _cells_of(a) + _cells_of(b)
    return replace(a, text=cell_text(parts), x1=max(a.x1, b.x1),
                   top=min(a.top, b.top), bottom=max(a.bottom, b.bottom),
                   bold=a.bold and b.bold, parts=parts)


def _columns(anchors: list[float], last: Line, x: Line, across: list[Rule]
             ) -> list[int] | None:
    """The columns (starting at `anchors`) that the pieces of line x start in, if x is a
    line of that table just below line `last`; else None. A line wider than its column is
    one only in a box of rules (a label and its value too close to part)."""
    size = last.size
    if (x.page != last.page or not -0.2 * size <= x.top - last.bottom <= _TABLE_GAP * size
            or abs(x.size - size) > 0.15 * size):
        return None
    columns = [_column_of(anchors, x0, size, -1) for x0, _ in _cells_of(x)]
    if -1 in columns or columns != sorted(set(columns)):
        return None
    if (not x.cells and columns[0] + 1 < len(anchors) and x.x1 > anchors[columns[0] + 1]
            and not _boxed(x, across)):
        return None  # wider than its column: the text under the table
    return columns


def _column_of(anchors: list[float], x0: float, size: float, default: int) -> int:
    """The column a piece of text starting at x0 is in: the last that starts at or before
    it (half a type size allowed), else `default`."""
    return max((j for j, a in enumerate(anchors) if a <= x0 + 0.5 * size), default=default)


def _spanned(across: list[Rule], lo: float, hi: float, x0: float, x1: float) -> bool:
    """Whether a rule at least as wide as x0..x1 runs between heights lo and hi."""
    return any(lo <= y <= hi and left <= x0 + 1 and right >= x1 - 1 for y, left, right in across)


def _boxed(x: Line, across: list[Rule]) -> bool:
    """Whether a rule as wide as line x runs just above or below it."""
    return (_spanned(across, x.top - x.size, x.top + 0.3 * x.size, x.x0, x.x1)
            or _spanned(across, x.bottom - 0.3 * x.size, x.bottom + x.size, x.x0, x.x1))


def _rows(run: list[Line], columns: list[list[int]], anchors: list[float],
          across: list[Rule]) -> list[Line]:
    """A table's lines (a row of cells first) as its rows, each one line; `columns`: the
    columns each line's pieces start in."""
    size = run[0].size
    ruled = [any(a.bottom - 0.3 * size < y < b.top + 0.3 * size and left < b.x1 and right > b.x0
                 for y, left, right in across) for a, b in zip(run, run[1:], strict=False)]
    gaps = [b.top - a.bottom for a, b in zip(run, run[1:], strict=False)]
    # the space around a rule (under a header) says nothing of the space between rows
    open_gaps = [g for g, r in zip(gaps, ruled, strict=True) if not r] or [0.0]
    spaced = max(open_gaps) - min(open_gaps) > _ROW_SPACE * size
    by_rules = sum(ruled) >= 2 or not any(ruled) and _enclosed(run, across)
    out: list[Line] = []
    for k, (x, cols) in enumerate(zip(run, columns, strict=True)):
        if k == 0:
            new = True
        elif by_rules:
            new = ruled[k - 1]
        elif spaced:
            new = ruled[k - 1] or gaps[k - 1] > min(open_gaps) + _ROW_SPACE * size
        else:
            new = ruled[k - 1] or 0 in cols
        if new:
            out.append(replace(x, parts=tuple((a, "") for a in anchors)))
        out[-1] = _wrapped(out[-1], x, cols)
    return out


def _enclosed(run: list[Line], across: list[Rule]) -> bool:
    """Whether rules as wide as the lines run just above the first and below the last."""
    x0, x1, size = min(x.x0 for x in run), max(x.x1 for x in run), run[0].size
    return (_spanned(across, run[0].top - 2 * size, run[0].top + 0.3 * size, x0, x1)
            and _spanned(across, run[-1].bottom - 0.3 * size, run[-1].bottom + 2 * size,
                         x0, x1))


def _wrapped(row: Line, x: Line, columns: list[int]) -> Line:
    """The row with the pieces of line x added to the ends of their columns."""
    anchors = [a for a, _ in row.parts]
    texts = [t for _, t in row.parts]
    for j, (_, text) in zip(columns, _cells_of(x), strict=True):
        texts[j] = f"{texts[j]} {text}".strip()
    parts = tuple(zip(anchors, texts, strict=True))
    return replace(row, text=cell_text(parts), x1=max(row.x1, x.x1), bottom=x.bottom,
                   bold=row.bold and x.bold, parts=parts)
