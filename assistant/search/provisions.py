"""Provisions of every kind: the catalogue built at ingest, and `ProvisionRanker.rank`, which
provisions (rights, pledges, principles, values, responsibilities) a question falls under.

Objectives are ranked by `assistant.search.objectives.ObjectiveMapper` (their narrative matters);
the other kinds are short, self-contained statements, ranked by the cosine of the question
and the provision's own passage, with its section heading ("Informed choice") embedded."""

from __future__ import annotations

import re

import numpy as np

from assistant.config import Settings
from assistant.search.stores import lexical_index, relative_bm25
from assistant.types import (
    ConsultationQuestion,
    Document,
    Objective,
    Passage,
    Provision,
    ProvisionKind,
    ProvisionMatch,
)

_KINDS = {k.value for k in ProvisionKind} - {ProvisionKind.PARAGRAPH.value}
_LABEL = re.compile(r"^(?:[\u2022\u2013\u00b7*\-\u25aa\u25cf\u25e6\u25a0\u2023\uf0b7\uf0a7]\s*"
                    r"|\d{1,2}\.\s+|\(?(?:[a-z]|[ivx]{1,4}|\d{1,2})\)\s+)")


# what closes a list item rather than its statement: "(pledge); and", "; or", ","
_MARKER_TAIL = re.compile(r"\s*\((?:right|pledge|responsibility|duty|principle|value)\)"
                          r"(?=\s*[.;,]?\s*(?:and|or)?\s*$)", re.I)
_LIST_TAIL = re.compile(r"\s*[;,]\s*(?:and|or)?\s*$")


def provision_title(text: str, limit: int = 160) -> str:
    """The first sentence of a provision, without its bullet or number, or the kind marker
    and punctuation that close a list item ("(pledge); and"), cut at `limit`."""
    first = _LABEL.sub("", text.strip().split("\n")[0]).strip()
    first = _LIST_TAIL.sub("", _MARKER_TAIL.sub("", first)) or first
    m = re.search(r"(?<=[.!?])\s+(?=[A-Z])", first)
    if m and m.start() >= 12:
        first = first[: m.start()]
    if len(first) > limit:
        first = first[:limit].rsplit(" ", 1)[0].rstrip(",;: ") + " \u2026"
    return first[:1].upper() + first[1:]


def catalogue_provisions(doc: Document, passages: list[Passage], objectives: list[Objective],
                         questions: list[ConsultationQuestion]) -> list[Provision]:
    """Return every provision of `doc` in document order, objectives and questions included."""
    out: list[Provision] = []
    objective_by_passage = {o.passage_id: o for o in objectives}
    question_by_passage = {q.passage_id: q for q in questions}
    for p in passages:
        if p.id in objective_by_passage:
            o = objective_by_passage[p.id]
            out.append(Provision(id=f"{doc.doc_id}/objective/{o.number}", doc_id=doc.doc_id,
                                 kind=ProvisionKind.OBJECTIVE, number=o.number, title=o.title,
                                 text=o.text, section=o.section, page=o.page, passage_id=p.id))
        elif p.id in question_by_passage:
            q = question_by_passage[p.id]
            out.append(Provision(id=f"{doc.doc_id}/consultation_question/{q.number}",
                                 doc_id=doc.doc_id, kind=ProvisionKind.CONSULTATION_QUESTION,
                                 number=q.number, title=provision_title(q.text), text=q.text,
                                 section=p.section, page=p.page, passage_id=p.id))
        elif p.kind in _KINDS and p.number:
            body = doc.text[p.body_start:p.end]
            out.append(Provision(id=f"{doc.doc_id}/{p.kind}/{p.number}", doc_id=doc.doc_id,
                                 kind=ProvisionKind(p.kind.value), number=p.number,
                                 title=provision_title(body), text=body, section=p.section,
                                 page=p.page, passage_id=p.id))
    return out


def provision_match(p: Provision, score: float, falls_under: bool = False) -> ProvisionMatch:
    return ProvisionMatch(id=p.id, doc_id=p.doc_id, kind=p.kind, number=p.number,
                          title=p.title, section=str(p.section), page=p.page,
                          score=round(float(score), 4), falls_under=falls_under)


class ProvisionRanker:
    """Ranks the provisions other than objectives and consultation questions for a query."""

    def __init__(self, index, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.shown = settings.k
        self.kind_cap = settings.provision_kind_cap
        self.kind_bonus = settings.provision_kind_bonus
        self.lexical_weight = settings.provision_lexical_weight
        skip = {ProvisionKind.OBJECTIVE, ProvisionKind.CONSULTATION_QUESTION}
        self.provisions: list[Provision] = [p for p in getattr(index, "provisions", [])
                                            if p.kind not in skip and p.passage_id in index.by_id]
        rows = [index.by_id[p.passage_id] for p in self.provisions]
        dim = index.passage_vectors.shape[1] if index.passage_vectors.ndim == 2 else 0
        self._vectors = (index.passage_vectors[rows] if rows
                         else np.zeros((0, dim), dtype=np.float32))
        self._doc_of = np.array([p.doc_id for p in self.provisions])
        self._bm25 = lexical_index([f"{p.section.heading}\n{p.text}" for p in self.provisions])

    def rank(self, vector: np.ndarray, k: int = 5, doc_ids: list[str] | None = None,
             kinds: tuple[ProvisionKind, ...] = (), terms: str = ""
             ) -> list[tuple[Provision, float]]:
        """Return up to k (provision, score) pairs, best first. The score is the cosine of
        the question's vector and the provision's passage (its section path and words),
        plus a little BM25 of `terms` (the question's words and its glossary terms) over
        the provision's heading and words, which tells apart provisions the model finds
        about equally close; the first `Settings.k` hold at most `provision_kind_cap` of
        one kind and favour the `kinds` the question asks about (see `balanced`)."""
        if not self.provisions:
            return []
        score = self._vectors @ vector + self.lexical_weight * relative_bm25(
            self._bm25, terms, len(self.provisions))
        allowed = (np.isin(self._doc_of, list(doc_ids)) if doc_ids
                   else np.ones(len(self.provisions), dtype=bool))
        asked = np.isin([p.kind for p in self.provisions], list(kinds))
        order = [int(i) for i in np.argsort(-(score + self.kind_bonus * asked), kind="stable")
                 if allowed[i]]
        order = balanced(order, [self.provisions[i].kind for i in order], self.shown,
                         self.kind_cap)
        return [(self.provisions[i], float(score[i])) for i in order[:k]]


def balanced(order: list[int], kinds: list[ProvisionKind], shown: int, cap: int) -> list[int]:
    """`order` with its first `shown` places holding at most `cap` items of one kind: an item
    over the cap waits until they are filled, then the rest follow in their order. A
    document with forty rights and seven pledges otherwise shows only rights for a question
    whose pledge ranks sixth."""
    head: list[int] = []
    waiting: list[int] = []
    count: dict[ProvisionKind, int] = {}
    for i, kind in zip(order, kinds, strict=True):
        if len(head) < shown and count.get(kind, 0) < cap:
            head.append(i)
            count[kind] = count.get(kind, 0) + 1
        else:
            waiting.append(i)
    if len(head) < shown:  # too few kinds to fill the first places within the cap
        head, waiting = head + waiting[:shown - len(head)], waiting[shown - len(head):]
    return head + waiting


def merge(objectives: list[tuple[Provision, float]], others: list[tuple[Provision, float]],
          objectives_first: bool, cited: list[str] | None = None, k: int = 5
          ) -> list[tuple[Provision, float]]:
    """One ranking of all kinds: objectives lead when the question asks about objectives;
    otherwise the provisions the answer quotes come first (statements such as rights before
    objectives, each in the answer's order), then the other statements by score, then the
    objectives the answer does not quote."""
    if objectives_first:
        return (objectives + others)[:k]
    pool = sorted(objectives + others, key=lambda x: -x[1])
    order = {pid: i for i, pid in enumerate(cited or [])}

    def key(x: tuple[Provision, float]) -> tuple[bool, bool, int]:
        quoted = x[0].passage_id in order
        return (not quoted, x[0].kind is ProvisionKind.OBJECTIVE,
                order.get(x[0].passage_id, len(order)))

    pool.sort(key=key)
    return pool[:k]
