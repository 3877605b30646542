"""Sentence re-ranking: every sentence of the retrieved passages scored for the answer.

The score is the sentence's cosine with the question, plus a little weight from its
passage's fused rank, plus a little for a sentence that states the kind of fact asked for
(a date for "when"), less a little for sentences that make poor answers: references (a web
address), footnotes, and consultation questions when the user is not asking about the
consultation."""

from __future__ import annotations

import re

import numpy as np
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle
from pydantic import PrivateAttr

from assistant.config import Settings
from assistant.types import Hit, Intent, PassageKind, Query, ScoredSentence

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


class SentenceNode(NodeWithScore):
    """Sentence `j` of a retrieved passage's node, scored for the answer."""

    cos: float = 0.0  # cosine similarity of the sentence and the question
    j: int = 0


class SentenceReranker(BaseNodePostprocessor):
    """Sentence re-ranking as a llama-index node postprocessor: the retrieved passages'
    nodes (with their fused scores) in, one node per sentence out, best first (see the
    module's docstring for the score)."""

    _index = PrivateAttr()
    _settings = PrivateAttr()
    _intent = PrivateAttr()

    def __init__(self, index, settings: Settings, intent: Intent) -> None:
        super().__init__()
        self._index, self._settings, self._intent = index, settings, intent

    @classmethod
    def class_name(cls) -> str:
        return "SentenceReranker"

    def _postprocess_nodes(self, nodes: list[NodeWithScore],
                           query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        if query_bundle is None:
            raise ValueError("sentence re-ranking needs the query's embedding")
        index, w, intent = self._index, self._settings, self._intent
        vector = np.asarray(query_bundle.embedding, dtype=np.float32)
        out: list[SentenceNode] = []
        top = nodes[0].score if nodes else 1.0
        for n in nodes:
            row = index.by_id[n.node.node_id]
            p = index.passages[row]
            lo, hi = int(index.sentence_offsets[row]), int(index.sentence_offsets[row + 1])
            if hi <= lo:
                continue
            cos = index.sentence_vectors[lo:hi] @ vector
            penalty = w.footnote_penalty if p.kind is PassageKind.FOOTNOTE else 0.0
            if p.kind is PassageKind.QUESTION and not intent.about_consultation:
                penalty += w.question_penalty
            text = index.documents[p.doc_id].text
            for j, c in enumerate(cos.tolist()):
                s, e = p.sentences[j]
                reference = w.reference_penalty if _REFERENCE.search(text, s, e) else 0.0
                fact = w.fact_bonus if carries(intent.fact_kind, text[s:e]) else 0.0
                score = c + w.rank_weight * n.score / top + fact - penalty - reference
                out.append(SentenceNode(node=n.node, score=score, cos=c, j=j))
        out.sort(key=lambda x: -x.score)
        return out


def score_sentences(index, nodes, hits: list[Hit], query: Query, settings: Settings
                    ) -> list[ScoredSentence]:
    """Every sentence of the hits, best first, through `SentenceReranker`; `nodes` are the
    index's passage nodes (`fusion.PassageNodes`)."""
    hit_of = {h.passage.id: h for h in hits}
    bundle = QueryBundle(query_str=query.asked, embedding=query.vector.tolist())
    ranked = SentenceReranker(index, settings, query.intent).postprocess_nodes(
        [NodeWithScore(node=nodes.node(h.passage.id), score=h.score) for h in hits], bundle)
    return [ScoredSentence(s.score, s.cos, hit_of[s.node.node_id], s.j) for s in ranked]
