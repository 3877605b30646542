"""Hybrid retrieval as llama-index components: passages are `TextNode`s carrying their
metadata, the Store's dense and lexical searches are `BaseRetriever`s (`StoreRetriever`),
fusion is a retriever over them (`HybridRetriever`), and the objective group is a node
postprocessor (`ObjectiveGroup`).

Why not llama-index's `QueryFusionRetriever`: its reciprocal-rank fusion fixes k=60, takes
no weights (`retriever_weights` only apply to its score-based modes), ranks each list by
the retriever's own score and tells nodes apart by content hash. The project fuses a
semantic ranking of the union of both retrievers' candidates (the better of a passage's
cosine and its best sentence's, which the dense retriever alone does not see) with the
lexical ranking, with `Settings.rrf_k`, ties broken by cosine, and fuses in the objective
group at `Settings.structure_weight` (twice the weight of the others), which fixed-k
unweighted fusion cannot express.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import PrivateAttr


class PassageNodes:
    """The index's passages as llama-index TextNodes (id = passage id) with their metadata,
    made the first time a passage is retrieved and kept for the next questions."""

    def __init__(self, index, cache: int = 8192) -> None:
        self.index = index
        self.node = lru_cache(maxsize=cache)(self._make)

    def _make(self, passage_id: str) -> TextNode:
        p = self.index.passage(passage_id)
        meta = {"doc_id": p.doc_id, "section": str(p.section), "paragraph": p.paragraph,
                "page": p.page, "kind": p.kind.value, "start": p.start, "end": p.end}
        return TextNode(id_=p.id, text=p.text, metadata=meta,
                        excluded_embed_metadata_keys=list(meta),
                        excluded_llm_metadata_keys=["start", "end"])


class FusedNode(NodeWithScore):
    """A passage node with its fused score and the evidence behind it."""

    dense: float = 0.0  # cosine of the passage and the question
    bm25: float = 0.0


class StoreRetriever(BaseRetriever):
    """The Store's dense (`mode="dense"`, the query's embedding) or lexical (`"lexical"`,
    its text) search as a retriever: the k best passages, document filters (llama-index
    MetadataFilters) applied inside the store."""

    def __init__(self, store, nodes: PassageNodes, mode: str, k: int, filters=None) -> None:
        super().__init__()
        self.store, self.nodes, self.mode, self.k, self.filters = store, nodes, mode, k, filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if self.mode == "dense":
            vector = np.asarray(query_bundle.embedding, dtype=np.float32)
            found = self.store.search(vector=vector, k=self.k, filters=self.filters)
        else:
            found = self.store.search(terms=query_bundle.query_str, k=self.k,
                                      filters=self.filters)
        return [NodeWithScore(node=self.nodes.node(i), score=s) for i, s in found]


def semantic_ranking(index, vector: np.ndarray, candidates: list[int]
                     ) -> tuple[list[int], dict[int, float]]:
    """Candidate rows ranked by their semantic score: the better of the passage's cosine
    and its best sentence's cosine, so a passage with one sentence that answers the
    question ranks high even if the rest of it is about something else. Also returns
    each candidate's passage cosine."""
    rows = list(dict.fromkeys(candidates))
    if not rows:
        return [], {}
    off = index.sentence_offsets
    spans = [(int(off[r]), int(off[r + 1])) for r in rows]
    passage_cos = index.passage_vectors[rows] @ vector
    score = passage_cos.copy()
    with_sentences = [i for i, (lo, hi) in enumerate(spans) if hi > lo]
    if with_sentences:
        sentence_rows = np.concatenate([np.arange(*spans[i]) for i in with_sentences])
        cos = index.sentence_vectors[sentence_rows] @ vector
        sizes = [spans[i][1] - spans[i][0] for i in with_sentences]
        best = np.maximum.reduceat(cos, np.cumsum([0] + sizes[:-1]))
        score[with_sentences] = np.maximum(score[with_sentences], best)
    order = np.argsort(-score, kind="stable")
    return [rows[i] for i in order], dict(zip(rows, passage_cos.tolist(), strict=True))


class HybridRetriever(BaseRetriever):
    """Every candidate of the dense and lexical retrievers, best first, by weighted
    reciprocal-rank fusion of their semantic ranking (see `semantic_ranking`) and the
    lexical ranking (see the module's docstring for why this is not QueryFusionRetriever)."""

    def __init__(self, dense: StoreRetriever, lexical: StoreRetriever, index,
                 nodes: PassageNodes, rrf_k: int) -> None:
        super().__init__()
        self.dense, self.lexical, self.index = dense, lexical, index
        self.nodes, self.rrf_k = nodes, rrf_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        by_id = self.index.by_id
        dense_rows = [by_id[n.node.node_id] for n in self.dense.retrieve(query_bundle)]
        lexical = self.lexical.retrieve(query_bundle)
        lexical_rows = [by_id[n.node.node_id] for n in lexical]
        bm25 = {r: float(n.score) for r, n in zip(lexical_rows, lexical, strict=True)}
        vector = np.asarray(query_bundle.embedding, dtype=np.float32)
        semantic_rows, cos_of = semantic_ranking(self.index, vector, dense_rows + lexical_rows)
        fused: dict[int, float] = {}
        for ranking in (semantic_rows, lexical_rows):
            for rank, row in enumerate(ranking, start=1):
                fused[row] = fused.get(row, 0.0) + 1.0 / (self.rrf_k + rank)
        order = sorted(fused, key=lambda r: (-fused[r], -cos_of[r]))
        passages = self.index.passages
        return [FusedNode(node=self.nodes.node(passages[r].id), score=fused[r],
                          dense=cos_of[r], bm25=bm25.get(r, 0.0)) for r in order]


class ObjectiveGroup(BaseNodePostprocessor):
    """Fuses in the ranking "the objective, then its introducing paragraphs by semantic
    score" at `weight`; the node ranked first before stays first, so a question the text
    answers directly keeps its answer on top."""

    _index = PrivateAttr()
    _nodes = PrivateAttr()
    _objective = PrivateAttr()
    _rrf_k = PrivateAttr()
    _weight = PrivateAttr()
    _doc_ids = PrivateAttr()

    def __init__(self, index, nodes: PassageNodes, objective, rrf_k: int, weight: float,
                 doc_ids: Sequence[str] | None = None) -> None:
        super().__init__()
        self._index, self._nodes, self._objective = index, nodes, objective
        self._rrf_k, self._weight = rrf_k, weight
        self._doc_ids = set(doc_ids) if doc_ids else None

    @classmethod
    def class_name(cls) -> str:
        return "ObjectiveGroup"

    def _postprocess_nodes(self, nodes: list[NodeWithScore],
                           query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        ix, o = self._index, self._objective
        by_id = ix.by_id
        rows = [by_id[i] for i in (o.passage_id, *o.intro_passage_ids) if i in by_id]
        rows = [r for r in rows if self._doc_ids is None or ix.passages[r].doc_id in self._doc_ids]
        if not nodes or not rows or query_bundle is None:
            return nodes
        vector = np.asarray(query_bundle.embedding, dtype=np.float32)
        ranked, cos = semantic_ranking(ix, vector, rows)
        group = [rows[0], *(r for r in ranked if r != rows[0])]
        return fuse_group(ix, self._nodes, nodes, group, cos, self._rrf_k, self._weight,
                          keep_first=True)


class StatementGroup(BaseNodePostprocessor):
    """Fuses in the ranking of the provisions' own passages (`Retriever.statement_rows`,
    best first) at `weight`."""

    _index = PrivateAttr()
    _nodes = PrivateAttr()
    _rows = PrivateAttr()
    _rrf_k = PrivateAttr()
    _weight = PrivateAttr()

    def __init__(self, index, nodes: PassageNodes, rows: list[int], rrf_k: int,
                 weight: float) -> None:
        super().__init__()
        self._index, self._nodes, self._rows = index, nodes, rows
        self._rrf_k, self._weight = rrf_k, weight

    @classmethod
    def class_name(cls) -> str:
        return "StatementGroup"

    def _postprocess_nodes(self, nodes: list[NodeWithScore],
                           query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        ix = self._index
        if not nodes or not self._rows or query_bundle is None:
            return nodes
        vector = np.asarray(query_bundle.embedding, dtype=np.float32)
        known = {ix.by_id[n.node.node_id] for n in nodes}
        cos = {r: c for r, c in zip(self._rows, (ix.passage_vectors[self._rows]
                                                 @ vector).tolist(), strict=True)
               if r not in known}
        return fuse_group(ix, self._nodes, nodes, self._rows, cos, self._rrf_k, self._weight)


def fuse_group(ix, passage_nodes: PassageNodes, nodes: list[NodeWithScore], group: list[int],
               cos: dict[int, float], rrf_k: int, weight: float, keep_first: bool = False
               ) -> list[FusedNode]:
    """`nodes` (fused nodes, best first) with the ranking `group` (passage rows, best first)
    fused in at `weight`; `cos` gives the passage cosine of group rows, taking precedence.
    With `keep_first`, the node ranked first before stays first."""
    by_id = ix.by_id
    fused = {by_id[n.node.node_id]: n.score for n in nodes}
    dense = {by_id[n.node.node_id]: n.dense for n in nodes}
    bm25 = {by_id[n.node.node_id]: n.bm25 for n in nodes}
    dense.update(cos)
    for rank, row in enumerate(group, start=1):
        fused[row] = fused.get(row, 0.0) + weight / (rrf_k + rank)
    first = [by_id[nodes[0].node.node_id]] if keep_first else []
    rest = sorted((r for r in fused if r not in first), key=lambda r: (-fused[r], -dense[r]))
    return [FusedNode(node=passage_nodes.node(ix.passages[r].id), score=fused[r],
                      dense=dense[r], bm25=bm25.get(r, 0.0)) for r in [*first, *rest]]
