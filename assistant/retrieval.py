"""Hybrid retrieval: a semantic and a lexical ranking fused by reciprocal rank (RRF, k=60).

Candidates come from FAISS (passage vectors, through llama-index's FaissVectorStore) and
BM25 (llama-index's BM25Retriever's index); the semantic ranking scores each candidate by
the better of its passage and best-sentence cosine."""

from __future__ import annotations

import numpy as np

from assistant.index import IndexData
from assistant.types import Hit

# Candidates taken from each ranking before fusion; with a document filter on a small
# index every passage is a candidate, so the filter never starves the result.
_CANDIDATES = 50
_FILTER_SCAN_ALL = 50_000


class Retriever:
    """`search(query, k) -> list[Hit]` over one loaded index."""

    def __init__(self, index: IndexData, embedder, rrf_k: int = 60) -> None:
        self.index = index
        self.embedder = embedder
        self.rrf_k = rrf_k
        self._doc_of = np.array([p.doc_id for p in index.passages])

    def doc_mask(self, doc_ids: list[str] | None) -> np.ndarray | None:
        if not doc_ids:
            return None
        return np.isin(self._doc_of, list(doc_ids))

    def dense(self, vector: np.ndarray, n: int, mask: np.ndarray | None) -> list[int]:
        """Passage rows by descending cosine, through the llama-index FAISS vector store."""
        from llama_index.core.vector_stores.types import VectorStoreQuery

        total = len(self.index.passages)
        want = total if (mask is not None and total <= _FILTER_SCAN_ALL) else n
        want = min(total, want if mask is None else max(want, n * 20))
        result = self.index.vector_store.query(
            VectorStoreQuery(query_embedding=vector.tolist(), similarity_top_k=want)
        )
        rows = [int(i) for i in result.ids]
        if mask is not None:
            rows = [r for r in rows if mask[r]]
        return rows[:n]

    def lexical(self, query: str, n: int, mask: np.ndarray | None) -> tuple[list[int], dict]:
        """Passage rows by descending BM25 score, with the scores (empty if no term matches)."""
        from assistant.stores import quiet_bm25s

        bm25s = quiet_bm25s()

        retriever = self.index.bm25
        tokens = bm25s.tokenize(query, stopwords="english", stemmer=retriever.stemmer,
                                token_pattern=retriever.token_pattern, return_ids=False,
                                show_progress=False)
        tokens = [[t for t in tokens[0] if t in retriever.bm25.vocab_dict]]
        if not tokens[0]:
            return [], {}
        scores = retriever.bm25.get_scores(tokens[0])
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        rows, found = [], {}
        for row in top.tolist():
            if scores[row] > 0:
                rows.append(row)
                found[row] = float(scores[row])
        return rows, found

    def semantic(self, vector: np.ndarray, candidates: list[int]
                 ) -> tuple[list[int], dict[int, float]]:
        """Candidate rows ranked by their semantic score: the better of the passage's cosine
        and its best sentence's cosine, so a passage with one sentence that answers the
        question ranks high even if the rest of it is about something else. Also returns
        each candidate's passage cosine."""
        rows = list(dict.fromkeys(candidates))
        if not rows:
            return [], {}
        off = self.index.sentence_offsets
        spans = [(int(off[r]), int(off[r + 1])) for r in rows]
        passage_cos = self.index.passage_vectors[rows] @ vector
        score = passage_cos.copy()
        with_sentences = [i for i, (lo, hi) in enumerate(spans) if hi > lo]
        if with_sentences:
            sentence_rows = np.concatenate([np.arange(*spans[i]) for i in with_sentences])
            cos = self.index.sentence_vectors[sentence_rows] @ vector
            sizes = [spans[i][1] - spans[i][0] for i in with_sentences]
            best = np.maximum.reduceat(cos, np.cumsum([0] + sizes[:-1]))
            score[with_sentences] = np.maximum(score[with_sentences], best)
        order = np.argsort(-score, kind="stable")
        return [rows[i] for i in order], dict(zip(rows, passage_cos.tolist(), strict=True))

    def search(self, query: str, k: int = 5, doc_ids: list[str] | None = None,
               vector: np.ndarray | None = None) -> list[Hit]:
        """Return the k best passages for `query`, optionally only from `doc_ids`."""
        if vector is None:
            vector = self.embedder.embed(query)
        mask = self.doc_mask(doc_ids)
        n = max(_CANDIDATES, k * 4)
        dense_rows = self.dense(vector, n, mask)
        lexical_rows, bm25_scores = self.lexical(query, n, mask)
        semantic_rows, cos_of = self.semantic(vector, dense_rows + lexical_rows)
        fused: dict[int, float] = {}
        for ranking in (semantic_rows, lexical_rows):
            for rank, row in enumerate(ranking, start=1):
                fused[row] = fused.get(row, 0.0) + 1.0 / (self.rrf_k + rank)
        if not fused:
            return []
        order = sorted(fused, key=lambda r: (-fused[r], -cos_of[r]))[:k]
        return [
            Hit(passage=self.index.passages[r], score=fused[r], dense=cos_of[r],
                bm25=bm25_scores.get(r, 0.0), rank=i)
            for i, r in enumerate(order, start=1)
        ]
