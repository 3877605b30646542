"""Sentence re-ranking: every sentence of the retrieved passages scored for the answer.

The score is the sentence's cosine with the question, plus a little weight from its
passage's fused rank, plus a little for a sentence that states the kind of fact asked for
(a date for "when"), less a little for sentences that make poor answers: references (a web
address), footnotes, and consultation questions when the user is not asking about the
consultation."""

from __future__ import annotations

import re

from assistant.types import Hit, Query, ScoredSentence

_REFERENCE = re.compile(r"https?://|www\.")
# a sentence that states the kind of fact asked for (a date for "when") gains this
FACT_BONUS = 0.06
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november"
           "|december")
# what a sentence stating a fact of each kind carries
_CARRIES = {
    "date": re.compile(rf"\b(?:{_MONTHS})\b|\b(?:19|20)\d\d\b|\b\d{{1,2}}(?:st|nd|rd|th)\b",
                       re.I),
    "number": re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven"
                         r"|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion"
                         r"|half|quarter|third|dozen|once|twice|annual|yearly|weeks?|months?"
                         r"|years?|days?)\b", re.I),
    "person": re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+ [A-Z][a-z]+\b"),
}


def carries(kind: str | None, text: str) -> bool:
    """True when the sentence states the kind of fact asked for (a date, a number, a name)."""
    return kind is not None and bool(_CARRIES[kind].search(text))


def score_sentences(index, hits: list[Hit], query: Query) -> list[ScoredSentence]:
    """Every sentence of the hits, best first (see the module's docstring)."""
    out = []
    top = hits[0].score if hits else 1.0
    kind = query.intent.fact_kind
    for hit in hits:
        p = hit.passage
        row = index.by_id[p.id]
        lo, hi = int(index.sentence_offsets[row]), int(index.sentence_offsets[row + 1])
        if hi <= lo:
            continue
        cos = index.sentence_vectors[lo:hi] @ query.vector
        penalty = 0.03 if p.kind == "footnote" else 0.0
        if p.kind == "question" and not query.intent.about_consultation:
            penalty += 0.1
        text = index.documents[p.doc_id].text
        for j, c in enumerate(cos.tolist()):
            s, e = p.sentences[j]
            reference = 0.15 if _REFERENCE.search(text, s, e) else 0.0
            fact = FACT_BONUS if carries(kind, text[s:e]) else 0.0
            out.append(ScoredSentence(c + 0.1 * hit.score / top + fact - penalty - reference,
                                      c, hit, j))
    out.sort(key=lambda x: -x[0])
    return out
