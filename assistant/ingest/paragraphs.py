"""Lines of text (a text file, or a PDF's text layer read without its layout) -> the raw
blocks of the cleaner: paragraphs, list items and footnotes, each line with its page.

A block ends at a blank line or where a new one visibly starts (a bullet or a lettered item,
"Objective N:", a numbered paragraph, a Markdown heading). A paragraph cut by a page break
goes on when the next page opens in lower case or the cut line has no closing stop.
Footnotes (a small number opening a line after a blank, counting up) are blocks of their
own and follow the paragraph they interrupt."""

from __future__ import annotations

import re

_FOOTNOTE = re.compile(r"^\s{0,2}(\d{1,3})\s{1,3}(?=[^\s\d.])")
_BLOCK_START = re.compile(
    r"^\s*(?:[\u2022\u2013\u00b7*\-\u25aa\u25cf\u25e6\u25a0\u2023\uf0b7\uf0a7]\s|Objective \d+\s*:"
    r"|\d+\.\d+\s|\d{1,2}\.\s+\S|\(?(?:[a-z]|[ivx]{1,4}|\d{1,2})\)\s+\S)"
)
_TERMINAL = re.compile(r"[.?!:;\u201d\"\u2019)]\s*$")


class Paragraphs:
    """Builds raw blocks ({"lines": [(line, page)], "kind", "footnote", "indent",
    "page_start", "heading"}) from pages of lines; `read` runs it over a document."""

    def __init__(self, markdown: bool) -> None:
        self.markdown = markdown
        self.blocks: list[dict] = []
        self.pending_notes: list[dict] = []
        self.footnote_next = 1
        self.current: dict | None = None
        self.line_breaks_paragraphs = False
        self.width = 0

    def read(self, pages: list[list[str]], page_numbers: list[int | None]) -> list[dict]:
        # Without blank lines between paragraphs (web text with one paragraph a line, or a
        # PDF's text layer), a paragraph ends where a line stops short of the full width
        # after a sentence or a heading, and the next line starts a new sentence.
        filled = [x for p in pages for x in p if x.strip()]
        blank = sum(1 for p in pages for x in p if not x.strip())
        self.line_breaks_paragraphs = len(filled) > 3 and blank < 0.05 * len(filled)
        self.width = sorted(len(x) for x in filled)[int(0.9 * (len(filled) - 1))] if filled else 0
        for page_no, lines in zip(page_numbers, pages, strict=True):
            self._page(lines, page_no)
        self._close()
        self.blocks.extend(self.pending_notes)
        return self.blocks

    def _close(self) -> None:
        block = self.current
        if block and block["lines"]:
            self.blocks.append(block)
            if block["kind"] == "body":
                self.blocks.extend(self.pending_notes)
                self.pending_notes.clear()

    def _page(self, lines: list[str], page_no: int | None) -> None:
        in_notes = False
        note: dict | None = None
        first_on_page = True
        prev_blank = True
        for line in lines:
            if not line.strip():
                prev_blank = True
                if not in_notes and self.current is not None:
                    self.current["ended"] = True
                continue
            m = _FOOTNOTE.match(line)
            number = int(m.group(1)) if m else 0
            if m and (prev_blank or in_notes) and \
                    self.footnote_next <= number <= self.footnote_next + 2:
                in_notes = True
                self.footnote_next = number + 1
                note = {"lines": [], "kind": "footnote", "footnote": number,
                        "indent": 0, "page_start": False}
                self.pending_notes.append(note)
            if in_notes and note is not None:
                note["lines"].append((line.strip(), page_no))
            else:
                self._body_line(line, page_no, first_on_page)
                first_on_page = False
            prev_blank = False
        if self.current is not None and not in_notes and prev_blank:
            self.current["ended"] = True

    def _body_line(self, line: str, page_no: int | None, first_on_page: bool) -> None:
        current = self.current
        if current is not None and self._continues(current, line, first_on_page):
            current["lines"].append((line.strip(), page_no))
            current["ended"] = False
            return
        self._close()
        stripped = line.strip()
        heading = None
        if self.markdown and stripped.startswith("#"):
            heading = len(stripped) - len(stripped.lstrip("#"))
            stripped = stripped.lstrip("#").strip()
        self.current = {"lines": [(stripped, page_no)], "kind": "body", "footnote": None,
                        "indent": len(line) - len(line.lstrip(" ")),
                        "page_start": first_on_page, "heading": heading}

    def _continues(self, current: dict, line: str, first_on_page: bool) -> bool:
        """Whether `line` goes on with the block being built."""
        if _BLOCK_START.match(line) or (self.markdown and line.lstrip().startswith("#")):
            return False
        last = current["lines"][-1][0]
        if first_on_page:
            continues = line.lstrip()[:1].islower() or not _TERMINAL.search(last)
            return continues and not current.get("heading")
        if current.get("ended"):
            return False
        return not (self.line_breaks_paragraphs and _paragraph_ends(last, line, self.width))


def _paragraph_ends(previous: str, line: str, width: int) -> bool:
    """Whether `line` starts a new paragraph after `previous` (see `Paragraphs.read`)."""
    starts_new = line.lstrip()[:1].isupper() or line.lstrip()[:1] in "\u201c\u2018\"'("
    if not starts_new:
        return False
    short = len(previous.rstrip()) < 0.8 * width
    return short and (bool(_TERMINAL.search(previous)) or len(previous.split()) <= 12)
