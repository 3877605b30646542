"""The compose stage: `Composer.answer(query, evidence, verdict) -> Answer`.

An answer is a lead line that says where the quotes come from (an objective the question
falls under, a listing, or "The documents say:"), then the cited quotes (see
`assistant.answer.quotes`), the objectives and other provisions it falls under; a refusal
shows the closest passages instead. A question that asks for a list (the objectives of a
chapter, the consultation's questions, a document's values) gets the whole list.
"""

from __future__ import annotations

import re

from assistant.answer.quotes import Quoter, lead_in, passage_span
from assistant.search.evidence import Evidence
from assistant.search.provisions import merge, provision_match
from assistant.types import (
    Answer,
    Citation,
    Objective,
    ObjectiveMatch,
    Provision,
    ProvisionKind,
    ProvisionMatch,
    Query,
)

REFUSAL = "The documents do not cover this question. The closest passages are listed below."
REFUSAL_SPECIFIC = ("The documents do not cover this question: they never mention {}. "
                    "The closest passages are listed below.")
GENERIC_LEAD = "The documents say:"
_PLURALS = {ProvisionKind.RESPONSIBILITY: "responsibilities"}


def _named(short_title: str) -> str:
    """A short title as a sentence names it: one in sentence case loses its capital
    ("Draft mandate (2012)" -> "draft mandate (2012)"); one in title case or opening with
    capitals keeps it ("Lone Working Policy", "NHS Constitution (2015)")."""
    if not short_title:
        return "documents"
    first, *rest = short_title.split()
    if first.isupper() or not first[1:].islower() or any(w[:1].isupper() for w in rest):
        return short_title
    return short_title[:1].lower() + short_title[1:]


def objective_lead(number: str, short_title: str) -> str:
    """'Objective 15 of the draft mandate (2012) covers this:'."""
    return f"Objective {number} of the {_named(short_title)} covers this:"


def listing_lead(kind: str, n: int, short_title: str) -> str:
    """'The 12 consultation questions of the draft mandate (2012):'."""
    return f"The {n} {kind} of the {_named(short_title)}:"


def objective_match(o: Objective, score: float, falls_under: bool = False) -> ObjectiveMatch:
    return ObjectiveMatch(id=o.id, doc_id=o.doc_id, number=o.number, title=o.title,
                          score=round(score, 4), falls_under=falls_under)


class Composer:
    """The compose stage over one loaded index."""

    def __init__(self, index, settings) -> None:
        self.index = index
        self.falls_under = settings.falls_under_threshold
        # an objective leads the answer at this score, its text at most `lead_gap` less
        # similar to the question than the best sentence (see `_text_agrees`)
        self.objective_lead = settings.objective_lead
        self.lead_gap = settings.lead_gap
        self.max_listed = settings.max_listed
        self.quoter = Quoter(index, settings)
        self._objective_provisions = {p.passage_id: p for p in index.provisions
                                      if p.kind is ProvisionKind.OBJECTIVE}

    def answer(self, query: Query, evidence: Evidence, verdict) -> Answer:
        """The answer to give: cited quotes, or a refusal with the closest passages."""
        answer = None if verdict.refused else self._answer(query, evidence)
        if answer is None or not answer.citations:  # nothing quotable cleared the bar
            missing = verdict.missing if verdict.refused else ()
            text = REFUSAL_SPECIFIC.format(", ".join(missing)) if missing else REFUSAL
            answer = Answer(question=query.text, answer=text, refused=True,
                            closest=self._closest(evidence))
        else:
            answer.provisions = self.provisions(query, evidence,
                                                [c.passage_id for c in answer.citations])
        answer.read_as = list(query.terms)
        answer.read_with_history = query.read_with_history
        return answer

    def provisions(self, query: Query, evidence: Evidence, cited: list[str], k: int = 5
                   ) -> list[ProvisionMatch]:
        """Up to k provisions of every kind the question falls under, best first."""
        objectives = [(self._objective_provisions[o.passage_id], s)
                      for o, s in evidence.objectives[:3]
                      if o.passage_id in self._objective_provisions]
        others = evidence.provisions[:k]
        known = {p.id for p, _ in others}
        scored = {p.passage_id: (p, s) for p, s in evidence.provisions}
        others += [scored[c] for c in cited if c in scored and scored[c][0].id not in known]
        merged = merge(objectives, others, query.intent.about_objectives, cited, k)
        # a right or pledge the answer quotes falls under it; any kind does at the calibrated
        # confidence (a right's score is its passage's cosine, an objective's the mapper's)
        quoted = {c for c in cited if c not in self._objective_provisions}
        return [provision_match(p, s, p.passage_id in quoted or s >= self.falls_under)
                for p, s in merged]

    def _answer(self, query: Query, evidence: Evidence) -> Answer:
        """A lead line, then the cited quotes, or the whole list asked for."""
        ranked = evidence.objectives
        listed = self._listing(query)
        if listed is not None:
            citations, head, chapter = listed
            if chapter:
                ranked = [(o, 1.0) for o in chapter]
        else:
            chapter = []
            citations, head = self._quotes(query, evidence)
        shown = ranked if chapter else ranked[:3]
        matches = [objective_match(o, s, falls_under=bool(chapter) or s >= self.falls_under)
                   for o, s in shown]
        text = self.quoter.render(citations, head, bullets=listed is not None)
        return Answer(question=query.text, answer=text, refused=False, citations=citations,
                      objectives=matches, lead=head)

    def _quotes(self, query: Query, evidence: Evidence) -> tuple[list[Citation], str]:
        """The best sentences as whole quotes, led by the objective that covers the
        question when there is one."""
        lead = self._lead(query, evidence)
        similarity = evidence.similarity.get(lead.id, 0.0) if lead is not None else 0.0
        citations = self.quoter.quote(evidence.sentences, lead, similarity, query.words,
                                      query.intent.fact_kind, query.intent.asks_yes_no,
                                      query.named_docs)
        if lead is None:
            lead = self.quoter.cited_objective(citations, evidence.objectives,
                                               self.falls_under)
        elif not evidence.named and dict(
                (o.id, s) for o, s in evidence.objectives)[lead.id] < self.falls_under:
            lead = None  # quoted first, but not named as the one that covers it
        if lead is None:
            return citations, GENERIC_LEAD
        doc = self.index.documents[lead.doc_id]
        return citations, objective_lead(lead.number, doc.short_title)

    def _lead(self, query: Query, evidence: Evidence) -> Objective | None:
        """The objective whose text opens the answer: the one the question names, or the
        best one for a question about objectives that the retrieved text backs."""
        if evidence.named:
            return evidence.named[0]
        ranked, intent = evidence.objectives, query.intent
        if (ranked and intent.about_objectives and not intent.asks_for_fact
                and not intent.about_consultation and ranked[0][1] >= self.objective_lead
                and self._text_agrees(ranked[0][0], evidence)):
            return ranked[0][0]
        return None

    def _text_agrees(self, objective: Objective, evidence: Evidence) -> bool:
        """Whether the retrieved text backs an objective as the answer's lead: its text is
        nearly as close to the question as the best retrieved sentence (twice as far will
        do when its passage is among the first three hits). "Which five headings are the
        objectives grouped under?" names objectives but is answered by a sentence that lists
        headings, far closer to it than any objective's text."""
        gap = self.lead_gap
        if any(h.passage.id == objective.passage_id for h in evidence.hits[:3]):
            gap *= 2
        best = max((s.cos for s in evidence.sentences), default=0.0)
        return evidence.similarity.get(objective.id, 0.0) >= best - gap

    def _listing(self, query: Query
                 ) -> tuple[list[Citation], str, list[Objective]] | None:
        """The whole list the question asks for, as (citations, lead line, the chapter's
        objectives when those are the list), or None when it asks for none."""
        intent, docs = query.intent, query.doc_ids
        if intent.chapter is not None:
            chapter = [o for o in self.index.objectives
                       if o.section.chapter.startswith(f"{intent.chapter}.")
                       and (not docs or o.doc_id in docs)]
            if chapter:
                citations = [self.quoter.cite_objective(i, o, 1.0, max_words=1)
                             for i, o in enumerate(chapter, start=1)]
                doc = self.index.documents[chapter[0].doc_id]
                number = chapter[0].section.chapter.split(".", 1)[0]
                return citations, listing_lead(f"objectives of chapter {number}",
                                               len(chapter), doc.short_title), chapter
        if intent.lists_consultation_questions:
            rows = [self.index.passage(q.passage_id) for q in self.index.questions
                    if (not docs or q.doc_id in docs) and q.passage_id in self.index.by_id]
            if rows:
                doc = self.index.documents[rows[0].doc_id]
                return self._cite_all(rows), listing_lead("consultation questions", len(rows),
                                                          doc.short_title), []
        if intent.lists_kind is not None:
            found = listed_provisions(intent.lists_kind, query.asked, self.index.provisions,
                                      docs, self.max_listed)
            if found:
                rows = [self.index.passage(p.passage_id) for p in found]
                doc = self.index.documents[rows[0].doc_id]
                plural = _PLURALS.get(intent.lists_kind, f"{intent.lists_kind.value}s")
                return self._cite_all(rows, with_lead_in=True), listing_lead(
                    plural, len(rows), doc.short_title or doc.title), []
        return None

    def _cite_all(self, rows, with_lead_in: bool = False) -> list[Citation]:
        """Each passage's own sentences cited; `with_lead_in`: the first opens with the line
        that introduces the list when its heading is one ("The rights are there to help
        ensure that staff:"), so the list does not open mid-sentence."""
        out = []
        for i, p in enumerate(rows, 1):
            start, end = passage_span(p)
            if with_lead_in and i == 1 and lead_in(self.index.documents[p.doc_id].text,
                                                   p) is not None:
                start = p.start
            out.append(self.quoter.cite(i, p, start, end, 1.0))
        return out

    def _closest(self, evidence: Evidence) -> list[Citation]:
        """The first three hits, each quoted at its sentence closest to the question."""
        best_sentence: dict[str, tuple[float, int]] = {}
        for s in evidence.sentences:
            best_sentence.setdefault(s.hit.passage.id, (s.cos, s.j))
        out = []
        for hit in evidence.hits[:3]:
            p = hit.passage
            if p.id in best_sentence:
                cos, j = best_sentence[p.id]
                start, end = p.sentences[j]
            else:
                cos, (start, end) = hit.dense, (p.body_start, p.end)
            out.append(self.quoter.cite(len(out) + 1, p, start, end, cos))
        return out


def listed_provisions(kind: ProvisionKind, question: str, provisions: list[Provision],
                      doc_ids=None, max_listed: int = 12) -> list[Provision]:
    """All provisions of one kind, in document order, when a document has a short list of
    that kind (its values, its principles), or one chapter of the document has, whose
    heading the question names ("my responsibilities as a patient" -> the chapter on
    patients' responsibilities); else []."""
    groups: dict[tuple[str, str], list[Provision]] = {}
    for p in provisions:
        if p.kind is kind and (not doc_ids or p.doc_id in doc_ids):
            groups.setdefault((p.doc_id, ""), []).append(p)
            groups.setdefault((p.doc_id, p.section.chapter), []).append(p)
    whole = [items for (_, chapter), items in groups.items()
             if not chapter and len(items) <= max_listed]
    if len(whole) == 1:
        return whole[0]
    words = _stems(question)
    scored = sorted(((len(words & _stems(chapter)), items)
                     for (_, chapter), items in groups.items()
                     if chapter and len(items) <= max_listed), key=lambda x: -x[0])
    if scored and scored[0][0] >= 2 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][1]
    return []


def _stems(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z]{3,}", text.lower())}
