"""The search stage of a question: `EvidenceFinder.find(query, k) -> Evidence`.

It ranks the objectives the question maps to, retrieves the passages (hybrid fusion, with
the objective group for questions about what the documents expect), adds the sentences of
the whole corpus closest to a question for one fact or a yes-or-no question (the sentence
that decides it may share no words with it), scores every sentence for the answer
and ranks the other provisions (rights, pledges...). Nothing here reads the question's
words again: they come analysed in the `Query`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from assistant.config import Settings
from assistant.search.objectives import ObjectiveMapper
from assistant.search.provisions import ProvisionRanker
from assistant.search.retrieve import Retriever
from assistant.search.sentences import score_sentences
from assistant.types import (
    ConsultationQuestion,
    Hit,
    Objective,
    PassageKind,
    Provision,
    Query,
    ScoredSentence,
)


@dataclass
class Evidence:
    """What the search found for one question, handed to the judge and the composer."""

    query: Query
    hits: list[Hit]  # the k passages retrieved, best first
    # the sentences of the hits (and, for a question for one fact or a yes or no, of the corpus's
    # closest sentences' passages), best first
    sentences: list[ScoredSentence]
    objectives: list[tuple[Objective, float]]  # the objectives it maps to, best first
    named: list[Objective] = field(default_factory=list)  # those it names by number
    # the cosine of each of those objectives' own text and the question
    similarity: dict[str, float] = field(default_factory=dict)
    # every other provision (rights, pledges...) by cosine, best first
    provisions: list[tuple[Provision, float]] = field(default_factory=list)


class EvidenceFinder:
    """The search stage over one loaded index."""

    def __init__(self, index, settings: Settings, mapper: ObjectiveMapper,
                 retriever: Retriever, provision_ranker: ProvisionRanker) -> None:
        self.index = index
        self.settings = settings
        self.mapper = mapper
        self.retriever = retriever
        self.provision_ranker = provision_ranker
        # sentences of the whole corpus a question for one fact is also matched against
        self.fact_sentences = settings.fact_sentences
        self._question_words = [" ".join(re.findall(r"[a-z0-9]+", q.text.lower()))
                                for q in index.questions]

    def find(self, query: Query, k: int) -> Evidence:
        """The evidence for one question: k passages and everything scored on them."""
        evidence = self.provisions(query)
        echo = self.echoed_question(query)
        # a question for one fact draws on twice the passages (the sentence that states a
        # fact often shares few words with the question) and on the closest sentences of
        # the whole corpus; a consultation question asked back, on its chapter's only
        fact = echo is None and (query.intent.asks_for_fact or query.intent.asks_yes_no)
        if echo is not None:
            hits = pool = self.about_question(echo, query, k)
        else:
            pool = self.retriever.search(query, 2 * k if fact else k, evidence.objectives,
                                         evidence.provisions)
            hits = pool[:k]
        if query.named_docs and not query.doc_ids:
            # the question names documents by title: their best passages are candidates too
            pool = after(pool, self.retriever.search(replace(query, doc_ids=query.named_docs),
                                                     k))
        if fact:
            pool = after(pool, self.retriever.sentence_hits(
                query.vector, self.fact_sentences, query.doc_ids, {h.passage.id for h in pool}))
        evidence.hits = hits
        evidence.sentences = score_sentences(self.index, self.retriever.nodes, pool, query,
                                             self.settings)
        return evidence

    def provisions(self, query: Query) -> Evidence:
        """The provisions of every kind the question maps to, without passages: the
        objectives (the first five) and every other provision, best first."""
        ranked = self.mapper.rank(query, 5)
        number = query.intent.objective_number
        ranker = self.provision_ranker
        return Evidence(
            query=query, hits=[], sentences=[], objectives=ranked,
            named=[o for o, _ in ranked if number is not None and o.number == number],
            similarity={o.id: self.mapper.similarity(o, query.vector) for o, _ in ranked},
            provisions=ranker.rank(query.vector, len(ranker.provisions), query.doc_ids,
                                   query.intent.provision_kinds, query.expanded))

    def echoed_question(self, query: Query) -> ConsultationQuestion | None:
        """The consultation question that the question repeats word for word, if any."""
        norm = " ".join(re.findall(r"[a-z0-9]+", query.asked.lower()))
        for q, text in zip(self.index.questions, self._question_words, strict=True):
            if text and norm.endswith(text) and (not query.doc_ids or q.doc_id in query.doc_ids):
                return q
        return None

    def about_question(self, q: ConsultationQuestion, query: Query, k: int) -> list[Hit]:
        """The passages that bear on consultation question q: its document's paragraphs
        and objectives, those of its chapter first; never the questions themselves."""
        n = min(len(self.index.passages), max(4 * k, 20))
        hits = [h for h in self.retriever.search(replace(query, doc_ids=(q.doc_id,)), n)
                if h.passage.kind is not PassageKind.QUESTION]
        chapter = (q.chapter or "").strip()
        hits.sort(key=lambda h: h.passage.section.chapter.strip() != chapter)
        return hits[:k]


def after(pool: list[Hit], extra: list[Hit]) -> list[Hit]:
    """`pool` and then the hits of `extra` whose passages it lacks, each weighing in the
    sentence scores as the last passage of `pool` does (with no fused score of their own,
    they would lose the whole passage-rank weight to every retrieved sentence)."""
    last = min((h.score for h in pool), default=0.0)
    seen = {h.passage.id for h in pool}
    return pool + [replace(h, score=last) for h in extra if h.passage.id not in seen]
