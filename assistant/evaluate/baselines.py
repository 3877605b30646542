"""Retrieval baselines scored next to the pipeline on the same questions and the same model:
BM25 alone, dense alone, and llama-index's defaults (SentenceSplitter chunks and plain
vector retrieval). Each returns, per question, ranked units as sets of covered passage ids."""

from __future__ import annotations

import bisect
from collections.abc import Callable

from assistant.search.index import IndexData

Search = Callable[[str, int], list[set[str]]]


def bm25_only(retriever) -> Search:
    def search(query: str, k: int) -> list[set[str]]:
        return [{i} for i, _ in retriever.store.search(terms=query, k=k)]

    return search


def dense_only(retriever) -> Search:
    def search(query: str, k: int) -> list[set[str]]:
        vector = retriever.embedder.embed(query)
        return [{i} for i, _ in retriever.store.search(vector=vector, k=k)]

    return search


def pipeline(assistant) -> Search:
    def search(query: str, k: int) -> list[set[str]]:
        return [{h.passage.id} for h in assistant.retriever.search(assistant.query(query), k)]

    return search


def _embedding_adapter(embedder):
    """The project's model behind llama-index's BaseEmbedding interface (no download)."""
    from llama_index.core.embeddings import BaseEmbedding

    class _Adapter(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed_batch([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_batch(texts).tolist()

    return _Adapter(model_name="all-MiniLM-L6-v2 (bundled)", embed_batch_size=64)


def llama_index_default(index: IndexData, embedder) -> tuple[Search, int]:
    """llama-index out of the box: SentenceSplitter chunks, VectorStoreIndex, plain retriever.

    Returns the search function and the number of chunks it indexed.
    """
    from llama_index.core import Document as LIDocument
    from llama_index.core import VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    docs = [LIDocument(text=d.text, id_=d.doc_id, metadata={"doc_id": d.doc_id})
            for d in index.documents.values()]
    nodes = SentenceSplitter().get_nodes_from_documents(docs)
    vindex = VectorStoreIndex(nodes, embed_model=_embedding_adapter(embedder))
    retriever_by_k: dict[int, object] = {}

    # passages of each document sorted by start, to map a chunk span to the passages it covers
    spans: dict[str, list[tuple[int, int, str]]] = {}
    for p in index.passages:
        spans.setdefault(p.doc_id, []).append((p.body_start, p.end, p.id))
    starts = {d: [s for s, _, _ in v] for d, v in spans.items()}

    def covered(doc_id: str, start: int | None, end: int | None) -> set[str]:
        if start is None or end is None:
            return set()
        items = spans.get(doc_id, [])
        i = max(bisect.bisect_right(starts.get(doc_id, []), start) - 1, 0)
        out = set()
        while i < len(items) and items[i][0] < end:
            s, e, pid = items[i]
            if e > start and s < end:
                out.add(pid)
            i += 1
        return out

    def search(query: str, k: int) -> list[set[str]]:
        if k not in retriever_by_k:
            retriever_by_k[k] = vindex.as_retriever(similarity_top_k=k)
        results = retriever_by_k[k].retrieve(query)
        return [covered(r.node.metadata.get("doc_id", ""), r.node.start_char_idx,
                        r.node.end_char_idx) for r in results]

    return search, len(nodes)
