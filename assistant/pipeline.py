"""`Assistant.ask(question) -> Answer`: one question through the stages, in order.

    query    (answer.query)     the question analysed once: clean text, reading with the
                                conversation, vector, glossary terms, intent, specifics
    retrieve (search.evidence)  the objectives and provisions it maps to, the passages
                                (hybrid fusion), their sentences scored
    judge    (answer.judge)     answer, or refuse on weak evidence or unknown specifics
    compose  (answer.compose)   cited quotes under a lead line, or the closest passages

Each stage takes what the one before it made and hands its own result on; none reads the
question's words again or calls back up the chain. The answer is built only from
sentences of the retrieved passages, each an exact substring of its document's clean text
and each followed by its [n] marker.
"""

from __future__ import annotations

import logging
import time

from assistant.answer.compose import Composer, objective_match
from assistant.answer.glossary import default_glossary
from assistant.answer.judge import Judge
from assistant.answer.naming import DocumentNames
from assistant.answer.printed import as_printed
from assistant.answer.query import QueryReader
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.search.backends import load_data
from assistant.search.evidence import EvidenceFinder
from assistant.search.index import IndexData
from assistant.search.objectives import ObjectiveMapper
from assistant.search.provisions import ProvisionRanker
from assistant.search.retrieve import Retriever
from assistant.search.sentences import score_sentences
from assistant.types import Answer, ObjectiveMatch, ProvisionMatch, Query

logger = logging.getLogger(__name__)


class Assistant:
    """A loaded index, model and the stages over them: safe to share between threads."""

    def __init__(self, settings: Settings | None = None, index: IndexData | None = None,
                 embedder=None) -> None:
        self.settings = settings or Settings.from_env()
        self.index = index or load_data(self.settings)
        if embedder is None:
            from assistant.search.embed import embedder_for

            embedder = embedder_for(self.settings)
        if embedder.dim != self.index.manifest.get("dimension"):
            raise AssistantError(
                f"The model gives {embedder.dim}-dimensional vectors but the index holds "
                f"{self.index.manifest.get('dimension')}; run `assistant ingest` to rebuild."
            )
        self.embedder = embedder
        self.glossary = default_glossary()
        self.reader = QueryReader(embedder, self.glossary, self.settings,
                                  list(self.index.documents),
                                  DocumentNames(self.index.documents.values()))
        self.mapper = ObjectiveMapper(self.index, self.settings)
        ranker = ProvisionRanker(self.index, self.settings)
        self.retriever = Retriever(self.index, embedder, self.settings, self.mapper, ranker)
        self.finder = EvidenceFinder(self.index, self.settings, self.mapper, self.retriever,
                                     ranker)
        self.judge = Judge(self.index, self.settings.refusal_threshold,
                           self.settings.refusal_how_to_penalty,
                           self.settings.refusal_now_penalty)
        self.composer = Composer(self.index, self.settings)

    # -- public -------------------------------------------------------------------
    @property
    def doc_ids(self) -> list[str]:
        return list(self.index.documents)

    def check_docs(self, doc_ids: list[str] | None) -> list[str] | None:
        """Return the requested document ids, or raise naming the ones that do not exist."""
        checked = self.reader.check_docs(doc_ids)
        return list(checked) if checked else None

    def check_k(self, k: int | None) -> int:
        k = self.settings.k if k is None else k
        total = len(self.index.passages)
        if k < 1:
            raise AssistantError(f"k={k} must be at least 1.")
        if k > total:
            raise AssistantError(
                f"k={k} is larger than the {total} passages in the index; use a smaller k."
            )
        return k

    def query(self, question: str, history: list[dict] | None = None,
              doc_ids: list[str] | None = None) -> Query:
        """The question analysed once (see `assistant.answer.query`)."""
        return self.reader.read(question, history, doc_ids)

    def objectives(self, query: str, k: int = 5, doc_ids: list[str] | None = None
                   ) -> list[ObjectiveMatch]:
        """Return the objectives `query` falls under, best first."""
        q = self.reader.read(query, doc_ids=doc_ids, mapping_only=True)
        return [objective_match(o, s) for o, s in self.mapper.rank(q, k)]

    def provisions(self, query: str, k: int = 5, doc_ids: list[str] | None = None
                   ) -> list[ProvisionMatch]:
        """Return the provisions of every kind `query` falls under (objectives, rights,
        pledges, principles...), best first."""
        q = self.reader.read(query, doc_ids=doc_ids)
        return self.composer.provisions(q, self.finder.provisions(q), [], k)

    def ask(self, question: str, k: int | None = None, doc_ids: list[str] | None = None,
            history: list[dict] | None = None) -> Answer:
        """Answer one question with cited sentences, or refuse with the closest passages.

        `history` holds the conversation's earlier turns, oldest first, each a dict with
        "question" (and "answer"); a follow-up that leans on them ("and for children?") is
        read with them, and `Answer.read_with_history` says how."""
        t0 = time.perf_counter()
        query = self.reader.read(question, history, doc_ids)
        k = self.check_k(k)
        t1 = time.perf_counter()
        evidence = self.finder.find(query, k)
        t2 = time.perf_counter()
        verdict = self.judge.judge(query, evidence)
        t3 = time.perf_counter()
        answer = self.composer.answer(query, evidence, verdict)
        for c in answer.citations:
            c.as_printed = as_printed(c.quote)
        t4 = time.perf_counter()
        answer.timings_ms = {
            "query": round((t1 - t0) * 1000, 2),
            "retrieve": round((t2 - t1) * 1000, 2),
            "judge": round((t3 - t2) * 1000, 2),
            "compose": round((t4 - t3) * 1000, 2),
            "total": round((t4 - t0) * 1000, 2),
        }
        return answer

    def evidence(self, question: str, k: int | None = None) -> tuple[float, list[str]]:
        """Return what the refusal decision sees for a question: the best sentence
        similarity of its k passages and the specifics the documents lack."""
        query = self.reader.read(question)
        hits = self.retriever.search(query, self.check_k(k))
        return self.judge.weigh(query, hits,
                                score_sentences(self.index, self.retriever.nodes, hits, query,
                                                self.settings))
