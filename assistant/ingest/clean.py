"""Files + manifest -> Documents: discovery, the manifest and per-document clean-up.

Clean-up removes what is not the author's text (running headers and footers, print marks,
bare page numbers, web navigation, reader comments), joins lines broken by layout, moves
footnotes out of the sentences they interrupt (keeping them, marked as footnotes) and keeps
the page of every character. The clean text is what every quote is taken from.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import IngestError
from assistant.ingest.layout import raw_blocks, read_layout
from assistant.ingest.paragraphs import Paragraphs
from assistant.ingest.read import (
    MAX_PDF_PAGES,
    PRINT_MARK,
    SUPPORTED,
    check_pdf,
    decode_text,
    read_checked,
    read_pages,
)
from assistant.text import BULLET_GLYPHS
from assistant.types import Block, BlockKind, Document

__all__ = ["SUPPORTED", "SourceFile", "decode_text", "discover", "load_document",
           "load_manifest", "read_pages", "slugify"]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"

_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000\t]")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff\r]")
# typeset ligatures ("\ufb01nancial", as text copied from a PDF carries them) read as the
# letters they join, so that the words match a question's and the model's vocabulary
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi",
                            "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"})
_BARE_NUMBER = re.compile(r"^\s*(\d{1,4})\s*$")
_SUPERSCRIPT = str.maketrans(
    "0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
)

# Web-page furniture: navigation rows, link-only lines, sharing and sign-in prompts.
_WEB_DROP = [
    re.compile(r"^\s*(\[[^\]]*\]\s*)+$"),
    re.compile(r"^[^|]*(\|[^|]*){3,}$"),
    re.compile(r"^\s*(\u00a9|\(c\)|copyright\b)", re.I),
    re.compile(r"^\s*design by\b", re.I),
    re.compile(r"^\s*(montage image|share this article|skip navigation)\s*$", re.I),
    re.compile(r"^\s*this site is intended for health professionals only\s*$", re.I),
    re.compile(r"^\s*unsuitable or offensive\?\s*$", re.I),
]
# Everything from one of these lines to the end of a web page is comments and related links.
_WEB_TAIL = re.compile(r"^\s*(have your say|readers[\u2019']? comments\b|comments \(\d+\))", re.I)


@dataclass
class SourceFile:
    """A file to ingest and what the manifest says of it."""

    path: Path
    meta: dict = field(default_factory=dict)

    @property
    def doc_id(self) -> str:
        return self.meta.get("id") or slugify(self.path.stem)


def slugify(name: str) -> str:
    """Return a lowercase id made of letters, digits and hyphens."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "document"


def load_manifest(corpus_dir: Path) -> dict[str, dict]:
    """Return the manifest entries of `corpus_dir` keyed by file name ({} if there is none)."""
    path = corpus_dir / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IngestError(f"{path} is not valid JSON ({exc}); fix or remove it.") from exc
    return {entry["file"]: entry for entry in data.get("documents", [])}


def discover(corpus_dir: Path, extra: list[Path] | None = None) -> list[SourceFile]:
    """Return the supported files of the corpus folder plus any extra paths, manifest attached."""
    manifest = load_manifest(corpus_dir) if corpus_dir.exists() else {}
    files = sorted(p for p in corpus_dir.glob("*") if p.is_file()) if corpus_dir.exists() else []
    found = [p for p in files if p.suffix.lower() in SUPPORTED]
    for p in extra or []:
        if p.resolve() not in {f.resolve() for f in found}:
            found.append(p)
    return [SourceFile(p, manifest.get(p.name, {})) for p in found]


# ---------------------------------------------------------------------------- clean-up


def load_document(src: SourceFile, max_bytes: int | None = None,
                  max_pages: int = MAX_PDF_PAGES) -> Document:
    """Read and clean one file into a Document (raises IngestError if it cannot)."""
    meta = src.meta
    data, digest = read_checked(src.path, max_bytes)
    if data[:5] == b"%PDF-" or _is_pdf(src.path):
        check_pdf(src.path.name, data, max_pages)
        layout = read_layout(src.path.name, data, max_pages)
        title = meta.get("title") or layout.title
        cleaner = _Cleaner(title=title, web=False, markdown=False)
        cleaner.dropped.update(layout.dropped)
        raw = raw_blocks(layout)
        numbers = {b["footnote"] for b in raw if b["kind"] == "footnote"}
        blocks, text, page_points, dropped = cleaner._to_text(raw, numbers)
        n_pages, paged = len(layout.pages), True
    else:
        pages, paged, digest = read_pages(src.path, max_bytes)
        is_web = src.path.suffix.lower() in {".txt", ".md"}
        title = meta.get("title") or _guess_title(pages)
        cleaner = _Cleaner(title=title, web=is_web, markdown=src.path.suffix.lower() == ".md")
        blocks, text, page_points, dropped = cleaner.run(pages, paged, printed=True)
        n_pages = len(pages)
    if len(text.strip()) < 20:
        raise IngestError(f"{src.path.name}: no readable text left after clean-up.")
    return Document(
        doc_id=src.doc_id,
        title=title,
        short_title=meta.get("short_title", title),
        text=text,
        path=str(src.path),
        kind=meta.get("kind", "document"),
        status=meta.get("status", "unknown"),
        date=str(meta.get("date", "")),
        source=meta.get("source", src.path.name),
        sha256=digest,
        n_pages=n_pages if paged else 0,
        page_points=page_points,
        blocks=blocks,
        dropped=dropped,
    )


def _is_pdf(path: Path) -> bool:
    return path.suffix.lower() == ".pdf"


def _guess_title(pages: list[str]) -> str:
    for line in pages[0].split("\n"):
        line = _normalise_line(line).strip()
        if len(line) > 3 and not _BARE_NUMBER.match(line):
            return line[:150]
    return "Untitled document"


def _normalise_line(line: str) -> str:
    return _INVISIBLE.sub("", _SPACES.sub(" ", line)).translate(_LIGATURES).translate(
        BULLET_GLYPHS).rstrip()


class _Cleaner:
    def __init__(self, title: str, web: bool, markdown: bool) -> None:
        self.title_key = re.sub(r"\W+", " ", title.lower()).strip()
        self.web = web
        self.markdown = markdown
        self.dropped: Counter[str] = Counter()

    def run(self, raw_pages: list[str], paged: bool, printed: bool):
        pages = [[_normalise_line(x) for x in p.split("\n")] for p in raw_pages]
        if self.web:
            pages = [self._drop_web(lines) for lines in pages]
        anchors: list[tuple[int, int]] = []
        pages = self._drop_headers_footers(pages, anchors)
        offset = Counter(printed_no - i for i, printed_no in anchors).most_common(1)
        shift = offset[0][0] if (offset and printed) else 1
        page_numbers = [i + shift for i in range(len(pages))] if paged else [None] * len(pages)
        return self._assemble(pages, page_numbers)

    # -- removal -------------------------------------------------------------------
    def _drop_web(self, lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            if _WEB_TAIL.match(line):
                self.dropped["comments and related links"] += 1
                break
            if any(p.match(line) for p in _WEB_DROP):
                self.dropped["web navigation"] += 1
                continue
            out.append(line)
        return out

    def _drop_headers_footers(self, pages: list[list[str]], anchors: list) -> list[list[str]]:
        def edge_indexes(lines: list[str]) -> list[int]:
            filled = [i for i, x in enumerate(lines) if x.strip()]
            return filled[:3] + filled[-3:]

        def key(line: str) -> str:
            return re.sub(r"\d+", "#", re.sub(r"\W+", " ", line.lower())).strip()

        counts: Counter[str] = Counter()
        for lines in pages:
            counts.update({key(lines[i]) for i in edge_indexes(lines)})
        repeated = {k for k, n in counts.items() if n >= max(3, 0.3 * len(pages)) and k}
        out = []
        for page_index, lines in enumerate(pages):
            edges = set(edge_indexes(lines))
            kept = []
            for i, line in enumerate(lines):
                mark = PRINT_MARK.search(line)
                if mark:
                    anchors.append((page_index, int(mark.group(1))))
                    self.dropped["print marks"] += 1
                    continue
                if i in edges and len(pages) > 1:
                    bare = _BARE_NUMBER.match(line)
                    if bare:
                        anchors.append((page_index, int(bare.group(1))))
                        self.dropped["page numbers"] += 1
                        continue
                    k = key(line)
                    if k and (k == self.title_key or k in repeated):
                        self.dropped["running headers and footers"] += 1
                        continue
                kept.append(line)
            out.append(kept)
        return out

    # -- assembly ------------------------------------------------------------------
    def _assemble(self, pages: list[list[str]], page_numbers: list[int | None]):
        """Lines of all pages -> blocks (body and footnotes) -> clean text with page points."""
        raw_blocks = Paragraphs(self.markdown).read(pages, page_numbers)
        footnote_numbers = {b["footnote"] for b in raw_blocks if b["kind"] == "footnote"}
        return self._to_text(raw_blocks, footnote_numbers)

    def _to_text(self, raw_blocks: list[dict], footnote_numbers: set[int]):
        ref = re.compile(
            r"(?:(?<=[A-Za-z])|(?<=[A-Za-z][.)\u201d\u2019,;:]))(\d{1,3})(?=[\s,.;:)]|$)"
        )

        def superscript(m: re.Match) -> str:
            if int(m.group(1)) in footnote_numbers:
                return m.group(1).translate(_SUPERSCRIPT)
            return m.group(0)

        parts: list[str] = []
        blocks: list[Block] = []
        page_points: list[tuple[int, int]] = []
        pos = 0
        for raw in raw_blocks:
            text, points = "", []
            for line, page in raw["lines"]:
                if text:
                    text += "" if (text.endswith("-") and line[:1].islower()) else " "
                if page is not None and (not points or points[-1][1] != page):
                    points.append((len(text), page))
                text += line
            collapsed = re.sub(r" {2,}", " ", text)
            if collapsed != text:  # recompute page points on the collapsed text
                points = _remap_points(text, collapsed, points)
                text = collapsed
            if raw["kind"] == BlockKind.BODY and footnote_numbers:
                text = ref.sub(superscript, text)
            if not text.strip():
                continue
            if parts:
                pos += 2
            start = pos
            parts.append(text)
            pos += len(text)
            abs_points = [(start + o, p) for o, p in points]
            for point in abs_points:
                if not page_points or page_points[-1][1] != point[1] or raw["kind"] == "footnote":
                    page_points.append(point)
            kind = BlockKind.HEADING if raw.get("heading") else BlockKind(raw["kind"])
            blocks.append(Block(text=text, start=start, end=pos, pages=abs_points, kind=kind,
                                indent=raw["indent"], page_start=raw["page_start"],
                                footnote=raw["footnote"], level=raw.get("level", 0)))
        # footnotes are moved after the paragraph they interrupted: keep points sorted
        page_points.sort()
        return blocks, "\n\n".join(parts), page_points, dict(self.dropped)


def _remap_points(before: str, after: str, points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Map offsets in `before` to `after`, where runs of spaces were collapsed to one."""
    mapping, j = [], 0
    for i, ch in enumerate(before):
        mapping.append(j)
        if not (ch == " " and i + 1 < len(before) and before[i + 1] == " "):
            j += 1
    mapping.append(len(after))
    return [(mapping[min(o, len(before))], p) for o, p in points]
