"""The objective catalogue and `rank(query)`: which numbered objectives a question falls under.

An objective is matched on its own words and on the narrative paragraphs that introduce it
(3.19-3.21 lead to Objective 15), densely and lexically, so that "respite for people who
look after a relative" finds the carers objective although it never says "carer".
"""

from __future__ import annotations

import re

import numpy as np

from assistant.index import IndexData
from assistant.types import Objective

_NUMBER = re.compile(r"\bobjective\s*(?:no\.?|number|#)?\s*(\d{1,2})\b", re.I)
_OBJECTIVE_WORDS = re.compile(
    r"\b(objectives?|goals?|aims?|priorit(?:y|ies)|ambitions?|commitments?)\b", re.I
)
# weight of the introducing narrative relative to the objective's own text
INTRO_WEIGHT = 0.9
LEXICAL_WEIGHT = 0.25


def is_objective_question(question: str) -> bool:
    """True when the question asks about objectives (or names one by number)."""
    return bool(_OBJECTIVE_WORDS.search(question))


def named_number(question: str) -> str | None:
    m = _NUMBER.search(question)
    return str(int(m.group(1))) if m else None


class ObjectiveMapper:
    """Ranks every objective of every document for a query."""

    def __init__(self, index: IndexData, embedder) -> None:
        from assistant.index import quiet_bm25s

        bm25s = quiet_bm25s()
        import Stemmer

        self.index = index
        self.embedder = embedder
        self.objectives: list[Objective] = index.objectives
        self._stemmer = Stemmer.Stemmer("english")
        texts = []
        intro_rows: list[list[int]] = []
        for o in self.objectives:
            rows = [index.by_id[i] for i in o.intro_passage_ids if i in index.by_id]
            intro_rows.append(rows)
            intro = " ".join(index.passages[r].text for r in rows)
            texts.append(f"{o.section}\n{o.text}\n{intro}")
        self._intro_rows = intro_rows
        self._bm25 = None
        if texts:
            tokens = bm25s.tokenize(texts, stopwords="english", stemmer=self._stemmer,
                                    show_progress=False)
            self._bm25 = bm25s.BM25()
            self._bm25.index(tokens, show_progress=False)
        self._doc_of = np.array([o.doc_id for o in self.objectives])
        self._row = {o.id: i for i, o in enumerate(self.objectives)}

    def similarity(self, objective: Objective, vector: np.ndarray) -> float:
        """Cosine similarity of an objective's own text and a query vector."""
        return float(self.index.objective_vectors[self._row[objective.id]] @ vector)

    def rank(self, query: str, k: int = 5, doc_ids: list[str] | None = None,
             vector: np.ndarray | None = None) -> list[tuple[Objective, float]]:
        """Return up to k (objective, score) pairs, best first; score is in [0, 1]."""
        if not self.objectives:
            return []
        if vector is None:
            vector = self.embedder.embed(query)
        own = self.index.objective_vectors @ vector
        intro = np.zeros(len(self.objectives), dtype=np.float32)
        for i, rows in enumerate(self._intro_rows):
            if rows:
                intro[i] = float(np.max(self.index.passage_vectors[rows] @ vector))
        dense = np.maximum(own, INTRO_WEIGHT * intro)
        lexical = self._lexical(query)
        score = (1 - LEXICAL_WEIGHT) * dense + LEXICAL_WEIGHT * lexical
        number = named_number(query)
        if number is not None:
            named = np.array([o.number == number for o in self.objectives])
            score = np.where(named, 1.0 + dense, score)
        if doc_ids:
            score = np.where(np.isin(self._doc_of, list(doc_ids)), score, -np.inf)
        order = np.argsort(-score, kind="stable")[:k]
        return [(self.objectives[i], float(min(max(score[i], 0.0), 1.0)))
                for i in order if np.isfinite(score[i])]

    def _lexical(self, query: str) -> np.ndarray:
        from assistant.index import quiet_bm25s

        bm25s = quiet_bm25s()

        out = np.zeros(len(self.objectives), dtype=np.float32)
        if self._bm25 is None:
            return out
        tokens = bm25s.tokenize(query, stopwords="english", stemmer=self._stemmer,
                                return_ids=False, show_progress=False)[0]
        tokens = [t for t in tokens if t in self._bm25.vocab_dict]
        if not tokens:
            return out
        scores = self._bm25.get_scores(tokens)
        top = float(scores.max())
        return (scores / top).astype(np.float32) if top > 0 else out
