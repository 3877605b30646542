"""The two search structures: the dense index (FAISS, through llama-index's FaissVectorStore,
its type chosen by corpus size) and the lexical index (bm25s, through llama-index's
BM25Retriever)."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from assistant.config import Settings
from assistant.text import stemmer

if TYPE_CHECKING:
    from llama_index.core.vector_stores.types import MetadataFilters

__all__ = ["EXACT_SEARCH_MAX", "FileStore", "Store", "bm25_scores", "doc_filter",
           "filtered_docs", "lexical_index", "load_bm25", "make_bm25", "make_faiss",
           "quiet_bm25s", "relative_bm25"]

# above this many passages IVF replaces exact search (BENCHMARKS.md); `Settings.exact_search_max`
EXACT_SEARCH_MAX = Settings.model_fields["exact_search_max"].default
_TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # bm25s' and llama-index's BM25Retriever's default


@functools.cache
def quiet_bm25s():
    """Import bm25s, whose import sets its own logger to DEBUG, and quieten it."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def make_faiss(vectors: np.ndarray, kind: str | None = None, settings: Settings | None = None):
    """Return a FaissVectorStore over `vectors`: exact inner product up to
    `Settings.exact_search_max` passages, an inverted file of 8-bit codes ("ivf") above it,
    searching `Settings.faiss_nprobe` lists; `kind` ("exact", "ivf", "hnsw") overrides the
    choice. The type is recorded in the manifest ('faiss_index').

    Why IVF with 8-bit codes (BENCHMARKS.md, "Scale"): at a million passages exact search
    costs hundreds of ms a question here, while IVF answers in a millisecond or two with
    recall@10 ~0.95 against exact search; it builds faster than an HNSW graph; and its
    codes take a quarter of the memory of float32 vectors, which the index keeps anyway
    (passage_vectors) to score the fused candidates exactly.
    """
    import faiss
    from llama_index.vector_stores.faiss import FaissVectorStore

    exact_max = settings.exact_search_max if settings is not None else EXACT_SEARCH_MAX
    nprobe = (settings.faiss_nprobe if settings is not None  # lists searched per question
              else Settings.model_fields["faiss_nprobe"].default)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = kind or ("exact" if n <= exact_max else "ivf")
    if kind == "exact":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
        index.hnsw.efSearch = 128
    elif kind == "ivf":
        nlist = max(1, min(int(2 * np.sqrt(n)), n // 40))
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist,
                                              faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10  # more k-means iterations cost build time, not recall, here
        sample = np.random.default_rng(0).choice(n, min(n, nlist * 50), replace=False)
        index.train(vectors[np.sort(sample)])
        index.nprobe = min(nlist, nprobe)
    else:
        raise ValueError(f"unknown FAISS index kind {kind!r}; use exact, ivf or hnsw")
    store = FaissVectorStore(faiss_index=index)
    if n:
        store.client.add(vectors)
    return store


def make_bm25(ids: list[str], texts: list[str]):
    """Return a llama-index BM25Retriever over the given passage texts."""
    from llama_index.core.schema import TextNode

    quiet_bm25s()
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes = [TextNode(id_=i, text=t) for i, t in zip(ids, texts, strict=True)]
    retriever = BM25Retriever.from_defaults(
        nodes=nodes, stemmer=stemmer(), language="english",
        similarity_top_k=min(10, len(nodes)),
    )
    # The project scores through `bm25.get_scores` and keeps its own passages, so the
    # retriever's copy of every node (saved beside the index by `persist`) is dropped.
    retriever.corpus = None
    return retriever


def load_bm25(path: Path):
    """Load a persisted BM25Retriever without the copy of every node it saves beside the
    index: the retriever answers through `bm25.get_scores` and the project's own passages,
    and at a million passages that copy alone takes ~1.8 GiB (BENCHMARKS.md)."""
    from llama_index.retrievers.bm25 import BM25Retriever

    bm25s = quiet_bm25s()
    # memory-mapped: its score arrays are paged in from the index as searches touch them
    model = bm25s.BM25.load(str(path), load_corpus=False, mmap=True, show_progress=False)
    args = json.loads((Path(path) / "retriever.json").read_text(encoding="utf-8"))
    return BM25Retriever(existing_bm25=model, stemmer=stemmer(), **args)


def bm25_scores(model, terms: str, token_pattern: str = _TOKEN_PATTERN,
                drop: frozenset[str] = frozenset()) -> np.ndarray | None:
    """BM25 scores of every document of a bm25s model for `terms`, tokenised as the model's
    texts were (English stop words, the one stemmer); None when no term is in its
    vocabulary. The one lexical scoring path: passages (`FileStore`) and objectives
    (`ObjectiveMapper`) alike."""
    bm25s = quiet_bm25s()
    tokens = bm25s.tokenize(terms, stopwords="english", stemmer=stemmer(),
                            token_pattern=token_pattern, return_ids=False,
                            show_progress=False)[0]
    tokens = [t for t in tokens if t in model.vocab_dict and t not in drop]
    return model.get_scores(tokens) if tokens else None


def lexical_index(texts: list[str]):
    """A bm25s index of `texts` tokenised as `bm25_scores` reads them (English stop words,
    the one stemmer); None for no texts."""
    if not texts:
        return None
    bm25s = quiet_bm25s()
    model = bm25s.BM25()
    model.index(bm25s.tokenize(texts, stopwords="english", stemmer=stemmer(),
                               show_progress=False), show_progress=False)
    return model


def relative_bm25(model, terms: str, n: int, drop: frozenset[str] = frozenset()
                  ) -> np.ndarray:
    """BM25 scores of the `n` texts of `model` (None: no texts) for `terms`, best = 1;
    zeros when no term matches."""
    out = np.zeros(n, dtype=np.float32)
    scores = bm25_scores(model, terms, drop=drop) if model is not None and terms else None
    if scores is None or float(scores.max()) <= 0:
        return out
    return (scores / float(scores.max())).astype(np.float32)


def doc_filter(doc_ids: Sequence[str] | None) -> MetadataFilters | None:
    """The llama-index MetadataFilters that keep the passages of `doc_ids` (None: all)."""
    if not doc_ids:
        return None
    from llama_index.core.vector_stores.types import (
        FilterOperator,
        MetadataFilter,
        MetadataFilters,
    )

    return MetadataFilters(filters=[MetadataFilter(key="doc_id", value=list(doc_ids),
                                                   operator=FilterOperator.IN)])


def filtered_docs(filters: MetadataFilters | None) -> list[str] | None:
    """The document ids a MetadataFilters keeps (None: every document). The stores index
    passages by document only, so any other key, operator or condition is refused rather
    than silently ignored."""
    if filters is None or not filters.filters:
        return None
    docs: set[str] | None = None
    for f in filters.filters:
        op = getattr(f, "operator", None)
        if getattr(f, "key", None) != "doc_id" or op not in {"==", "in"} or (
                len(filters.filters) > 1 and filters.condition not in {None, "and"}):
            raise ValueError(f"unsupported passage filter {f!r}: only doc_id == or in")
        values = {f.value} if op == "==" else set(f.value or ())
        docs = values if docs is None else docs & values
    return sorted(docs or ())


# ---------------------------------------------------------------------------- Store protocol


class Store(Protocol):
    """Where passages are searched: `search(vector=... | terms=..., k, filters)` returns
    `[(passage_id, score)]`, best first. `filters` (llama-index MetadataFilters on
    "doc_id", see `doc_filter`) are applied inside the store, so k results come back
    whenever k passages match. Two implementations:
    `FileStore` (FAISS + BM25 files, the default) and `assistant.search.pgstore.PgStore`
    (PostgreSQL: pgvector HNSW and full-text search)."""

    def search(self, *, vector: np.ndarray | None = None, terms: str | None = None,
               k: int = 10, filters: MetadataFilters | None = None
               ) -> list[tuple[str, float]]: ...


class FileStore:
    """The Store over the index files: dense search in FAISS (llama-index's
    FaissVectorStore), lexical search in BM25 (llama-index's BM25Retriever's index)."""

    def __init__(self, index) -> None:
        self.index = index
        self._ids = [p.id for p in index.passages]
        self._doc_of = np.array([p.doc_id for p in index.passages])

    def search(self, *, vector: np.ndarray | None = None, terms: str | None = None,
               k: int = 10, filters: MetadataFilters | None = None
               ) -> list[tuple[str, float]]:
        docs = filtered_docs(filters)
        mask = np.isin(self._doc_of, docs) if docs is not None else None
        if vector is not None:
            rows = self._dense(vector, k, mask)
        elif terms is not None:
            rows = self._lexical(terms, k, mask)
        else:
            raise ValueError("search needs a vector or terms")
        return [(self._ids[r], s) for r, s in rows]

    def _dense(self, vector: np.ndarray, k: int, mask: np.ndarray | None
               ) -> list[tuple[int, float]]:
        import faiss
        from llama_index.core.vector_stores.types import VectorStoreQuery

        k = min(k, len(self._ids))
        if k < 1:
            return []
        if mask is None:
            result = self.index.vector_store.query(
                VectorStoreQuery(query_embedding=vector.tolist(), similarity_top_k=k))
            return list(zip((int(i) for i in result.ids), result.similarities, strict=True))
        # the filter goes into FAISS itself: only the selected rows are searched
        client = self.index.vector_store.client
        selector = faiss.IDSelectorBatch(np.flatnonzero(mask).astype(np.int64))
        params = (faiss.SearchParametersIVF(sel=selector, nprobe=client.nprobe)
                  if hasattr(client, "nprobe") else faiss.SearchParameters(sel=selector))
        scores, rows = client.search(np.asarray(vector, np.float32)[None, :], k, params=params)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def _lexical(self, terms: str, k: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        retriever = self.index.bm25
        scores = bm25_scores(retriever.bm25, terms, retriever.token_pattern)
        if scores is None:
            return []
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(r), float(scores[r])) for r in top.tolist() if scores[r] > 0]
