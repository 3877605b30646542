"""Hybrid retrieval: a semantic and a lexical ranking fused by reciprocal rank (RRF, k=60).

Candidates come from the Store's dense search (FAISS, through llama-index's
FaissVectorStore) and lexical search (BM25, llama-index's BM25Retriever's index), each a
llama-index retriever over passage TextNodes; the semantic ranking scores each candidate
by the better of its passage and best-sentence cosine (see `assistant.search.fusion`).

A question about what the documents expect (not one asking for a single fact, nor one
whose best passage is a consultation question) also draws on the document's structure:
the objective it maps to (when that objective's document holds the best passage, or the
objective clearly leads the others) and the narrative paragraphs that introduce it form a
third ranking, so "support for people looking after a relative" returns Objective 15 with
paragraphs 3.19-3.21, not Objective 15 among unrelated passages."""

from __future__ import annotations

import numpy as np
from llama_index.core.schema import QueryBundle

from assistant.config import Settings
from assistant.search.fusion import (
    HybridRetriever,
    ObjectiveGroup,
    PassageNodes,
    StatementGroup,
    StoreRetriever,
)
from assistant.search.index import IndexData
from assistant.search.stores import FileStore, doc_filter
from assistant.types import Hit, PassageKind, ProvisionKind, Query


class Retriever:
    """`search(query, k) -> list[Hit]` over one loaded index."""

    def __init__(self, index: IndexData, embedder, settings: Settings, mapper=None,
                 provision_ranker=None) -> None:
        self.index = index
        self.embedder = embedder
        self.rrf_k = settings.rrf_k
        # candidates taken from each ranking before fusion (a document filter is applied
        # inside the store, so it never starves the result)
        self.candidates = settings.candidates
        # a question for one fact scans every sentence of a corpus up to this size
        self.exact_search_max = settings.exact_search_max
        self.structure_weight = settings.structure_weight
        self.objective_margin = settings.objective_margin
        self.mapper = mapper  # an ObjectiveMapper: enables the objective-group ranking
        # a ProvisionRanker: enables the ranking of the provisions' own passages
        self.provision_ranker = provision_ranker
        self.provision_weight = settings.provision_weight
        self.provision_group = settings.provision_group
        self.statement_margin = settings.statement_margin
        self.provision_gap = settings.provision_gap
        # documents whose provisions are rights, pledges, principles... and no objectives
        self._statement_docs = ({p.doc_id for p in getattr(index, "provisions", [])
                                 if p.kind not in {ProvisionKind.OBJECTIVE,
                                                   ProvisionKind.CONSULTATION_QUESTION}}
                                - {o.doc_id for o in index.objectives})
        self._doc_of = np.array([p.doc_id for p in index.passages])
        # the passages' Store: the index files by default, PostgreSQL when loaded from it
        self.store = getattr(index, "store", None) or FileStore(index)
        self.nodes = PassageNodes(index)

    def doc_mask(self, doc_ids: list[str] | None) -> np.ndarray | None:
        if not doc_ids:
            return None
        return np.isin(self._doc_of, list(doc_ids))

    def search(self, query: Query, k: int = 5, objectives: list | None = None,
               provisions: list | None = None) -> list[Hit]:
        """Return the k best passages for the query (from its documents when it names some).

        `objectives` is the mapper's ranking for the query when the caller has it already
        (it is computed here only when the objective-group ranking applies), `provisions`
        the provision ranker's (see `statement_rows`)."""
        bundle = QueryBundle(query_str=query.asked, embedding=query.vector.tolist())
        filters = doc_filter(query.doc_ids)
        n = max(self.candidates, k * 4)
        fusion = HybridRetriever(
            StoreRetriever(self.store, self.nodes, "dense", n, filters),
            StoreRetriever(self.store, self.nodes, "lexical", n, filters),
            self.index, self.nodes, self.rrf_k)
        nodes = fusion.retrieve(bundle)
        if not nodes:
            return []
        top = self.index.by_id[nodes[0].node.node_id]
        lead = self._statement_lead(nodes)
        rows = (self.statement_rows(query, provisions, max(n.dense for n in nodes))
                if lead > 0 else [])
        if rows:
            nodes = StatementGroup(self.index, self.nodes, rows, self.rrf_k,
                                   self.provision_weight).postprocess_nodes(nodes, bundle)
        if self.mapper is not None and self._draws_on_structure(query, top) \
                and (lead < self.statement_margin or query.intent.about_objectives):
            if objectives is None:
                objectives = self.mapper.rank(query, 2)
            if self._objective_applies(objectives, top):
                group = ObjectiveGroup(self.index, self.nodes, objectives[0][0], self.rrf_k,
                                       self.structure_weight, query.doc_ids)
                nodes = group.postprocess_nodes(nodes, bundle)
        return [Hit(passage=self.index.passage(n.node.node_id), score=n.score, dense=n.dense,
                    bm25=n.bm25, rank=i) for i, n in enumerate(nodes[:k], start=1)]

    def _statement_lead(self, nodes) -> float:
        """How much closer in meaning the question is to the closest passage of a document
        of rights, pledges and the like than to the closest passage of any other document
        (among the fused candidates); -1 when either has none."""
        best = {True: -1.0, False: -1.0}
        for n in nodes:
            statement = self.index.passage(n.node.node_id).doc_id in self._statement_docs
            best[statement] = max(best[statement], n.dense)
        if best[True] < 0 or best[False] < 0:
            return best[True] if best[False] < 0 else -1.0
        return best[True] - best[False]

    def statement_rows(self, query: Query, provisions: list | None, closest: float
                       ) -> list[int]:
        """The passages of the `provision_group` provisions (rights, pledges...) the question
        falls under most, best first, fused in as a ranking of their own: a right is a
        sentence or two, and a question worded as people ask ("they won't take me on at the
        surgery") is often nearer in meaning to it than in words, so mandate paragraphs that
        share its words otherwise push it out of the first k. Only for a question whose
        closest passage in meaning is of a document of such provisions (the caller's test),
        and of those provisions only the ones whose passage is within `provision_gap` of the
        closest passage's cosine (`closest`): the group lifts a provision the model finds
        about as close as anything, never one far from the question. Not for a question
        for one fact, which wants the sentence that states it wherever it is."""
        if self.provision_ranker is None or query.intent.asks_for_fact \
                or not self.provision_group:
            return []
        if provisions is None:
            provisions = self.provision_ranker.rank(
                query.vector, self.provision_group, query.doc_ids,
                query.intent.provision_kinds, query.expanded)
        by_id = self.index.by_id
        rows = [by_id[p.passage_id] for p, _ in provisions[:self.provision_group]
                if p.passage_id in by_id]
        cos = np.asarray(self.index.passage_vectors[rows], dtype=np.float32) @ query.vector \
            if rows else np.zeros(0)
        return [r for r, c in zip(rows, cos.tolist(), strict=True)
                if c >= closest - self.provision_gap]

    def sentence_hits(self, vector: np.ndarray, n: int, doc_ids: list[str] | None = None,
                      exclude: set[str] | None = None) -> list[Hit]:
        """The passages of the n sentences closest to `vector` (not already in `exclude`),
        as hits ranked after the fused ones: a question for one fact is matched against the
        sentences themselves, so the sentence that states it is found even when it shares
        no words with the question ("close" and "runs until")."""
        ix = self.index
        off = ix.sentence_offsets
        rows, cos = self._close_sentences(vector, n, doc_ids)
        n = min(n, len(cos))
        if n <= 0:
            return []
        top = np.argpartition(-cos, n - 1)[:n]
        top = top[np.argsort(-cos[top], kind="stable")]
        out: list[Hit] = []
        seen = set(exclude or ())
        for s in top.tolist():
            if cos[s] < 0:
                break
            p = ix.passages[int(np.searchsorted(off, rows[s], side="right") - 1)]
            if p.id in seen:
                continue
            seen.add(p.id)
            out.append(Hit(passage=p, score=0.0, dense=float(cos[s]), bm25=0.0,
                           rank=len(seen)))
        return out

    def _close_sentences(self, vector: np.ndarray, n: int, doc_ids: list[str] | None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """(sentence rows, their cosines with `vector`; -1 outside `doc_ids`): every
        sentence of a corpus up to `exact_search_max` sentences, else the sentences of the
        passages the store finds closest (a scan of a million sentences would take half
        a second and page in every sentence vector)."""
        ix = self.index
        off = ix.sentence_offsets
        total = int(off[-1])
        if total <= self.exact_search_max:
            rows = np.arange(total)
            cos = np.asarray(ix.sentence_vectors, dtype=np.float32) @ vector
            mask = self.doc_mask(doc_ids)
            if mask is not None:
                passage_of = np.searchsorted(off, rows, side="right") - 1
                cos = np.where(mask[passage_of], cos, -1.0)
            return rows, cos
        found = self.store.search(vector=vector, k=max(self.candidates, 4 * n),
                                  filters=doc_filter(doc_ids))
        passages = [ix.by_id[pid] for pid, _ in found]
        rows = (np.concatenate([np.arange(off[r], off[r + 1]) for r in passages])
                if passages else np.zeros(0, dtype=np.int64))
        return rows, np.asarray(ix.sentence_vectors[rows], dtype=np.float32) @ vector

    def _draws_on_structure(self, query: Query, top_row: int) -> bool:
        """A question about what the documents expect: not one asking for a single fact,
        nor one whose best passage is a consultation question."""
        return (self.index.passages[top_row].kind is not PassageKind.QUESTION
                and not query.intent.asks_for_fact)

    def _objective_applies(self, objectives: list, top_row: int) -> bool:
        """The best objective speaks for the question when the best passage lies in its
        document or in a document whose provisions are rights, pledges and the like rather
        than objectives (a constitution's right does not compete with a mandate's objective),
        or when it leads the next objective by a clear margin."""
        if not objectives:
            return False
        best = objectives[0]
        top_doc = self.index.passages[top_row].doc_id
        if best[0].doc_id == top_doc or top_doc in self._statement_docs:
            return True
        return len(objectives) == 1 or best[1] - objectives[1][1] >= self.objective_margin
