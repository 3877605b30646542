"""Document -> Passages that follow the document's structure (a numbered paragraph, an
objective with its bullets, a consultation question), each knowing its section, paragraph
number, page and character offsets."""

from __future__ import annotations

import hashlib
import re

from assistant.ingest.structure import Unit, analyse
from assistant.types import (
    ConsultationQuestion,
    Document,
    Objective,
    Passage,
    PassageKind,
    Role,
    SectionPath,
)

# running text: split at sentence boundaries when long; what follows an objective introduces it
_RUNNING = {PassageKind.PARAGRAPH, PassageKind.TEXT, PassageKind.FOOTNOTE}

# A sentence ends at . ! or ? (optionally closed by a quote or bracket) before a capital,
# digit, quote or bullet; a line break between blocks or bullets also ends one.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\u201d\u2019\"')\u00b9\u00b2\u00b3\u2070-\u2079]*\s+(?=[A-Z0-9\u201c\u2018\"(\u2022\u2013])"
)
# labels that open a line: "3.21 ", "9. ", bullets; footnotes also open with a bare number
_LABEL = re.compile(r"(?:\d{1,2}\.(?:\d{1,2}(?:\.\d{1,2}){0,2})?|\(?(?:[a-z]|[ivx]{1,4}|\d{1,2})\)"
                    r"|[\u2022\u2013\u00b7*\-\u25aa\u25cf\u25e6\u25a0\u2023\uf0b7\uf0a7])"
                    r"[ ]+(?=\S)")
_FOOTNOTE_LABEL = re.compile(r"\d{1,3}[ ]+(?=\S)")
_ABBREVIATIONS = re.compile(r"\b(?:e\.g|i\.e|etc|Dr|Mr|Mrs|Ms|St|No|al|vs|cf)\.$", re.I)


def split_sentences(text: str, offset: int = 0, footnote: bool = False) -> list[tuple[int, int]]:
    """Return (start, end) spans of the sentences of `text`, shifted by `offset`.

    A label opening a line (paragraph number, question number, bullet) is left out of the
    sentence that follows it.
    """
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        start = para.start()
        label = (_FOOTNOTE_LABEL if footnote else _LABEL).match(text, start, para.end())
        if label:
            start = label.end()
        for m in _SENTENCE_END.finditer(para.group(0)):
            cut = para.start() + m.start()
            if cut <= start or _ABBREVIATIONS.search(text[start:cut]):
                continue
            spans.append((start, cut))
            start = para.start() + m.end()
        spans.append((start, para.end()))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s >= 2:
            out.append((s + offset, e + offset))
    return out


def passage_id(doc_id: str, text: str, seen: dict[str, int]) -> str:
    """Return an id derived from the content, stable across rebuilds of an unchanged file."""
    base = hashlib.sha1(f"{doc_id}\x00{text}".encode()).hexdigest()[:16]
    n = seen.get(base, 0)
    seen[base] = n + 1
    return base if n == 0 else f"{base}-{n}"


class _Builder:
    def __init__(self, doc: Document, max_words: int, pack_words: int) -> None:
        self.doc = doc
        self.max_words = max_words
        self.pack_words = pack_words
        self.passages: list[Passage] = []
        self.seen: dict[str, int] = {}

    def add(self, units: list[Unit], kind: PassageKind, head_start: int | None,
            label: str | None = None, number: str | None = None) -> None:
        body_start = units[0].block.start
        start = head_start if head_start is not None else body_start
        end = units[-1].block.end
        body = self.doc.text[body_start:end]
        sentences = split_sentences(body, body_start, footnote=kind is PassageKind.FOOTNOTE)
        if kind in _RUNNING and len(body.split()) > self.max_words:
            self._add_windows(units[0], kind, start, body_start, end, sentences, label)
            return
        self._emit(units[0], kind, start, body_start, end, sentences, label, number)

    def _add_windows(self, unit: Unit, kind: PassageKind, start: int, body_start: int, end: int,
                     sentences: list[tuple[int, int]], label: str | None) -> None:
        window: list[tuple[int, int]] = []
        words = 0
        first = True
        for s, e in sentences:
            n = len(self.doc.text[s:e].split())
            if window and words + n > self.max_words:
                w_end = s
                self._emit(unit, kind, start if first else window[0][0], window[0][0] if not first
                           else body_start, w_end, window, label, None)
                first, window, words = False, [], 0
            window.append((s, e))
            words += n
        if window:
            self._emit(unit, kind, start if first else window[0][0],
                       body_start if first else window[0][0], end, window, label, None)

    def _emit(self, unit: Unit, kind: PassageKind, start: int, body_start: int, end: int,
              sentences: list[tuple[int, int]], label: str | None, number: str | None) -> None:
        text = self.doc.text[start:end]
        self.passages.append(Passage(
            id=passage_id(self.doc.doc_id, text, self.seen),
            doc_id=self.doc.doc_id,
            kind=kind,
            section=unit.section,
            paragraph=label,
            page=self.doc.page_at(body_start),
            page_end=self.doc.page_at(max(end - 1, body_start)),
            start=start,
            end=end,
            body_start=body_start,
            text=text,
            number=number,
            sentences=sentences,
        ))


def chunk(doc: Document, units: list[Unit] | None = None, max_words: int = 180,
          pack_words: int = 120) -> list[Passage]:
    """Return the passages of `doc`, in document order; together they cover all its text."""
    units = units if units is not None else analyse(doc)
    b = _Builder(doc, max_words, pack_words)
    head_start: int | None = None
    i = 0
    while i < len(units):
        u = units[i]
        if u.role in {Role.CHAPTER, Role.HEADING, Role.LEAD}:
            head_start = u.block.start if head_start is None else head_start
            i += 1
            continue
        if u.role is Role.OBJECTIVE:
            group = [u]
            while i + 1 < len(units) and units[i + 1].role is Role.SUBBULLET:
                i += 1
                group.append(units[i])
            b.add(group, PassageKind.OBJECTIVE, head_start, u.label, u.number)
        elif u.role in {Role.PARAGRAPH, Role.QUESTION, Role.FOOTNOTE}:
            b.add([u], PassageKind(u.role.value), head_start, u.label, u.number)
        elif u.role is Role.PROVISION and u.provision is not None:
            b.add([u], PassageKind(u.provision.value), head_start, u.label, u.number)
        else:  # text and bullets: pack short neighbours of the same section together
            group = [u]
            words = len(u.block.text.split())
            while (i + 1 < len(units) and units[i + 1].role in {Role.TEXT, Role.BULLET}
                   and units[i + 1].section == u.section
                   and words + len(units[i + 1].block.text.split()) <= pack_words):
                i += 1
                group.append(units[i])
                words += len(units[i].block.text.split())
            b.add(group, PassageKind.TEXT, head_start)
        head_start = None
        i += 1
    if head_start is not None:  # trailing headings with nothing after them
        b.add([units[-1]], PassageKind.TEXT, None)
    return b.passages


def catalogue(doc: Document, units: list[Unit], passages: list[Passage]
              ) -> tuple[list[Objective], list[ConsultationQuestion]]:
    """Return the objectives and consultation questions of `doc`.

    An objective's introduction is the narrative that leads to it: the paragraphs before it
    back to the previous objective, crossing into earlier sections of the same chapter only
    while those sections have no objective of their own (and never into the chapter's
    opening, which introduces the whole chapter), plus the paragraphs that follow it in its
    own section (3.19-3.21 lead to Objective 15).
    """
    objectives: list[Objective] = []
    questions: list[ConsultationQuestion] = []
    sections_with_objectives = {p.section for p in passages if p.kind is PassageKind.OBJECTIVE}
    for idx, p in enumerate(passages):
        if p.kind is PassageKind.QUESTION:
            chapter = p.section.chapter if p.section.depth > 1 else ""
            questions.append(ConsultationQuestion(
                doc_id=doc.doc_id, number=p.number or "", chapter=chapter or "Overarching",
                text=_strip_number(doc.text[p.body_start:p.end]), passage_id=p.id, page=p.page))
        if p.kind is PassageKind.OBJECTIVE:
            objectives.append(_objective(doc, passages, idx, sections_with_objectives))
    return objectives, questions


def _objective(doc: Document, passages: list[Passage], idx: int,
               sections_with_objectives: set[SectionPath]) -> Objective:
    p = passages[idx]
    intro: list[str] = []
    j = idx - 1
    while j >= 0:
        q = passages[j]
        if q.section != p.section and (
                q.section.chapter != p.section.chapter or q.section.depth < 2
                or q.section in sections_with_objectives):
            break
        if q.kind is PassageKind.OBJECTIVE and intro:
            break
        if q.kind in {PassageKind.PARAGRAPH, PassageKind.TEXT}:
            intro.insert(0, q.id)
        j -= 1
    j = idx + 1
    while (j < len(passages) and passages[j].section == p.section
           and passages[j].kind in _RUNNING
           and passages[j].start == passages[j].body_start):
        if passages[j].kind is not PassageKind.FOOTNOTE:
            intro.append(passages[j].id)
        j += 1
    body = doc.text[p.body_start:p.end]
    return Objective(
        id=f"{doc.doc_id}/{p.number}", doc_id=doc.doc_id, number=p.number or "",
        title=_objective_title(body), text=body, section=p.section, page=p.page,
        passage_id=p.id, intro_passage_ids=intro)


def _strip_number(text: str) -> str:
    return re.sub(r"^\d{1,2}\.\s+", "", text.strip())


def _objective_title(body: str) -> str:
    first = body.split("\n")[0]
    first = re.sub(r"^(?:[\u2022\u00b7*]\s*)?Objective \d+\s*:\s*", "", first).strip()
    if len(first) > 160:
        cut = first[:160].rsplit(" ", 1)[0]
        first = cut.rstrip(",;: ") + " \u2026"
    if re.match(r"^[ivx]+\)", first):  # "i) Increase ..." keeps its numbering
        return first
    return first[:1].upper() + first[1:]
