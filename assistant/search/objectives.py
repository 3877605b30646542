"""The objective catalogue and `rank(query)`: which numbered objectives a question falls under.

An objective is matched on its own words and on the narrative paragraphs that introduce it
(3.19-3.21 lead to Objective 15), densely and lexically, so that "respite for people who
look after a relative" finds the carers objective although it never says "carer".
"""

from __future__ import annotations

import re

import numpy as np

from assistant.config import Settings
from assistant.search.index import IndexData
from assistant.search.stores import lexical_index, relative_bm25
from assistant.text import years_in
from assistant.types import Objective, Query

# Words that name the documents themselves say nothing about an objective's topic.
_DOCUMENT_WORDS = frozenset({"mandat", "draft", "object", "nhs", "goal", "aim", "ambit",
                   "prioriti", "target", "cover", "plan", "say"})


class ObjectiveMapper:
    """Ranks every objective of every document for a query.

    An objective's score adds four kinds of evidence: its own text under its heading
    (cosine), its heading alone (half weight: "Supporting carers"), the closest sentences of
    its own text and introducing narrative (mean cosine of the best two, so that one long
    introduction is not favoured for having many sentences), and BM25 over its text and
    narrative (normalised by the best objective, weight 0.3). The cosines are the question's
    as asked: the glossary's policy terms join the lexical match only, as appending them
    to the question moves its vector by a whole clause for one everyday word ("in charge
    of" read as "free of charge"). When the question names a document, by a year its title
    or date carries ("the 2017-19 mandate") or as the newest of its title ("the current
    mandate"), that document's objectives come first.
    """

    def __init__(self, index: IndexData, settings: Settings) -> None:
        self.index = index
        self.heading_weight = settings.heading_weight
        self.lexical_weight = settings.lexical_weight
        self.closest = settings.closest_sentences
        self.max_score = 1.0 + self.heading_weight + 1.0 + self.lexical_weight
        self.objectives: list[Objective] = index.objectives
        intro_rows = [[index.by_id[i] for i in o.intro_passage_ids if i in index.by_id]
                      for o in self.objectives]
        off = index.sentence_offsets
        sentence_rows = []
        for o, rows in zip(self.objectives, intro_rows, strict=True):
            rows = [index.by_id[o.passage_id], *rows]
            sentence_rows.append(np.concatenate(
                [np.arange(off[r], off[r + 1]) for r in rows]).astype(np.int64))
        # only these sentences are ever compared with a question: keep their vectors
        # together so mapping costs the same at a million passages as at a hundred
        used = np.unique(np.concatenate(sentence_rows)) if sentence_rows else np.zeros(0, int)
        self._sentence_vectors = np.asarray(index.sentence_vectors[used], dtype=np.float32)
        self._sentence_rows = [np.searchsorted(used, rows) for rows in sentence_rows]
        texts = [f"{o.section.heading}\n{o.text}\n"
                 + " ".join(index.passages[r].text for r in rows)
                 for o, rows in zip(self.objectives, intro_rows, strict=True)]
        self._bm25 = lexical_index(texts)
        self._doc_of = np.array([o.doc_id for o in self.objectives])
        self._row = {o.id: i for i, o in enumerate(self.objectives)}
        self._doc_years = {
            d.doc_id: set(years_in(f"{d.title} {d.short_title} {d.date}"))
            for d in index.documents.values()
        }
        self._title_words = {d.doc_id: set(re.findall(r"[a-z]+", f"{d.title} {d.short_title}"
                                                      .lower()))
                             for d in index.documents.values() if d.doc_id in set(self._doc_of)}
        self._dates = {d.doc_id: d.date or "" for d in index.documents.values()}
        self.hub_weight = settings.hub_weight
        self._hub = self._hubness(settings.hub_sample)

    def similarity(self, objective: Objective, vector: np.ndarray) -> float:
        """Cosine similarity of an objective (under its heading) and a query vector."""
        return float(self.index.objective_vectors[self._row[objective.id]] @ vector)

    def rank(self, query: Query, k: int = 5) -> list[tuple[Objective, float]]:
        """Return up to k (objective, score) pairs of the query's documents, best first;
        score is in [0, 1]. The model reads the question as asked; the lexical match also
        takes the policy terms of the glossary's everyday phrases (`Query.expanded`)."""
        n = len(self.objectives)
        if not n:
            return []
        raw = self._dense(np.asarray(query.vector)[None, :])[0] - self.hub_weight * self._hub
        raw += self.lexical_weight * relative_bm25(self._bm25, query.expanded, n,
                                                   drop=_DOCUMENT_WORDS)
        score = np.clip(raw / self.max_score, 0.0, 1.0)
        number = query.intent.objective_number
        if number is not None:
            score = np.where([o.number == number for o in self.objectives], 1.0, score)
        preferred = self._preferred(query)
        allowed = (np.isin(self._doc_of, list(query.doc_ids)) if query.doc_ids
                   else np.ones(n, dtype=bool))
        order = sorted((i for i in range(n) if allowed[i]),
                       key=lambda i: (not preferred[i], -score[i]))
        return [(self.objectives[i], float(score[i])) for i in order[:k]]

    def _dense(self, vectors: np.ndarray) -> np.ndarray:
        """The model's evidence for every objective, one row per vector: its own text's
        cosine, its heading's (weighted) and the mean of its closest sentences'."""
        ix = self.index
        out = vectors @ ix.objective_vectors.T
        out += self.heading_weight * (vectors @ ix.heading_vectors.T)
        sentence_cos = vectors @ self._sentence_vectors.T
        for i, rows in enumerate(self._sentence_rows):
            if len(rows):
                out[:, i] += np.sort(sentence_cos[:, rows], axis=1)[:, -self.closest:].mean(axis=1)
        return out

    def _hubness(self, sample: int) -> np.ndarray:
        """How much closer each objective is than the others to the corpus's sentences at
        large (their mean dense evidence over up to `sample` sentences spread evenly
        through the index, less its mean over the objectives). An objective close to
        everything, about commissioning or the Outcomes Framework, otherwise takes the
        questions of its neighbours; taking off its lead keeps the scores' scale."""
        n = len(self.index.sentence_vectors)
        if not self.objectives or not n:
            return np.zeros(len(self.objectives), dtype=np.float32)
        rows = np.unique(np.linspace(0, n - 1, min(n, sample)).astype(np.int64))
        mean = self._dense(np.asarray(self.index.sentence_vectors[rows], dtype=np.float32)
                           ).mean(axis=0)
        return (mean - mean.mean()).astype(np.float32)

    def _preferred(self, query: Query) -> np.ndarray:
        """Whether each objective is of a document the question names: by its title ("the
        draft mandate", `Query.named_docs`), by a year its title or date carries ("the
        2017-19 mandate"), or as the newest of its title ("the current mandate": the latest
        dated of the documents with objectives whose title has that word)."""
        years = set(query.years)
        named = {d for d, ys in self._doc_years.items() if ys & years} | set(query.named_docs)
        if query.current:
            words = set(query.current.split())
            titled = [d for d, title in self._title_words.items() if title & words]
            if titled:
                named.add(max(titled, key=lambda d: self._dates.get(d, "")))
        return np.isin(self._doc_of, list(named))
