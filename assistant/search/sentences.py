"""Sentence re-ranking: every sentence of the retrieved passages scored for the answer.

The score is the sentence's cosine with the question, plus a little weight from its
passage's fused rank, plus a little for a sentence that states the kind of fact asked for
(a date for "when"), less a little for sentences that make poor answers: references (a web
address), footnotes, and consultation questions when the user is not asking about the
consultation."""

from __future__ import annotations

import re

from assistant.config import Settings
from assistant.types import Hit, Query, ScoredSentence

_REFERENCE = re.compile(r"https?://|www\.")
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


def score_sentences(index, hits: list[Hit], query: Query, settings: Settings
                    ) -> list[ScoredSentence]:
    """Every sentence of the hits, best first (see the module's docstring; the weights are
    `Settings.rank_weight`, `fact_bonus` and the three penalties)."""
    w = settings
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
        penalty = w.footnote_penalty if p.kind == "footnote" else 0.0
        if p.kind == "question" and not query.intent.about_consultation:
            penalty += w.question_penalty
        text = index.documents[p.doc_id].text
        for j, c in enumerate(cos.tolist()):
            s, e = p.sentences[j]
            reference = w.reference_penalty if _REFERENCE.search(text, s, e) else 0.0
            fact = w.fact_bonus if carries(kind, text[s:e]) else 0.0
            score = c + w.rank_weight * hit.score / top + fact - penalty - reference
            out.append(ScoredSentence(score, c, hit, j))
    out.sort(key=lambda x: -x[0])
    return out
