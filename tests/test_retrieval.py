"""Retrieval over the real index: the objective-group ranking brings an objective's
introducing narrative into the results for questions about what the documents expect, and
stays out of the way of questions that ask for one fact or for a consultation question."""

from __future__ import annotations

import pytest

from assistant.answer.asking import asks_for_fact
from assistant.search.retrieve import Retriever

DRAFT = "draft-mandate-2012"


@pytest.mark.parametrize("question", [
    "How many health visitors will there be?",
    "When does the consultation close?",
    "Who chairs the Board?",
    "In the draft mandate, how much is spent on running costs?",
    "What proportion of patients are carers?",
    "By what date must the groups be set up?",
    "On what date was it published?",
])
def test_questions_for_one_fact_are_recognised(question):
    assert asks_for_fact(question)


@pytest.mark.parametrize("question", [
    "Which objective covers carers?",
    "What does the NHS do for people looking after a relative?",
    "How should hospitals and councils work together?",
    "If a patient joins a trial, who pays for their care?",
    "Why are there no targets in the mandate?",
])
def test_questions_about_expectations_are_not_factoid(question):
    assert not asks_for_fact(question)


def _group(index, number: str) -> set[str]:
    o = next(o for o in index.objectives if o.doc_id == DRAFT and o.number == number)
    return {o.passage_id, *o.intro_passage_ids}


def test_objective_question_returns_the_objective_and_its_narrative(assistant, index):
    question = "How will the NHS help people who care for a relative?"
    carers = _group(index, "15")
    query = assistant.query(question)
    with_structure = [h.passage.id for h in assistant.retriever.search(query, 5)]
    plain = Retriever(index, assistant.embedder, assistant.settings)
    without = [h.passage.id for h in plain.search(assistant.query(question), 5)]
    # Objective 15 and its paragraphs 3.19-3.21 fill the results; without the structure
    # only part of the group is found
    assert len(carers & set(with_structure)) == len(carers) == 4
    assert len(carers & set(without)) < len(carers)
    assert with_structure[0] == without[0]


def test_a_question_for_one_fact_is_ranked_by_the_text_alone(assistant, index):
    question = "How many people become carers every year?"
    plain = Retriever(index, assistant.embedder, assistant.settings)
    query = assistant.query(question)
    hits = assistant.retriever.search(query, 5)
    assert [h.passage.id for h in hits] == [h.passage.id for h in plain.search(query, 5)]
    assert "million people become carers" in " ".join(hits[0].passage.text.split())


def test_a_consultation_question_stays_first(assistant):
    hits = assistant.retriever.search(
        assistant.query("Which consultation question asks about support for carers?"), 5)
    assert hits[0].passage.kind == "question"


def test_the_group_respects_the_document_filter(assistant):
    query = assistant.query("What does the NHS do for people who look after a family member "
                            "at home?", doc_ids=["strategic-context-2012"])
    hits = assistant.retriever.search(query, 5)
    assert hits and {h.passage.doc_id for h in hits} == {"strategic-context-2012"}


def test_hits_of_the_group_carry_their_own_cosine(assistant, index):
    hits = assistant.retriever.search(
        assistant.query("support for people looking after a relative"), 10)
    for h in hits:
        expected = float(index.passage_vectors[index.by_id[h.passage.id]]
                         @ assistant.embedder.embed("support for people looking after a "
                                                    "relative"))
        assert h.dense == pytest.approx(expected, abs=1e-5)


def test_the_store_filters_inside_and_answers_with_passage_ids(assistant, index):
    from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters

    from assistant.search.stores import doc_filter

    store, doc = assistant.retriever.store, "strategic-context-2012"
    query = assistant.query("support for people who look after a relative")
    n_doc = sum(p.doc_id == doc for p in index.passages)
    dense = store.search(vector=query.vector, k=min(10, n_doc), filters=doc_filter([doc]))
    words = store.search(terms=query.asked, k=5, filters=doc_filter([doc]))
    assert len(dense) == min(10, n_doc)  # the filter never starves the result
    assert words and {index.passage(i).doc_id for i, _ in dense + words} == {doc}
    with pytest.raises(ValueError, match="unsupported passage filter"):
        store.search(vector=query.vector, k=5,
                     filters=MetadataFilters(filters=[MetadataFilter(key="page", value=3)]))


def test_retrieval_runs_through_llama_index_retrievers_over_passage_nodes(assistant, index):
    from llama_index.core.schema import QueryBundle

    from assistant.search.fusion import StoreRetriever
    from assistant.search.stores import doc_filter

    query = assistant.query("support for people who look after a relative")
    bundle = QueryBundle(query_str=query.asked, embedding=query.vector.tolist())
    r = assistant.retriever
    for mode in ("dense", "lexical"):
        found = StoreRetriever(r.store, r.nodes, mode, 5, doc_filter([DRAFT])).retrieve(bundle)
        assert len(found) == 5
        for n in found:  # ids are passage ids; every node carries where it came from
            p = index.passage(n.node.node_id)
            assert n.node.get_content() == p.text
            assert n.node.metadata == {"doc_id": DRAFT, "section": str(p.section),
                                       "paragraph": p.paragraph, "page": p.page,
                                       "kind": p.kind, "start": p.start, "end": p.end}


def test_sentences_are_reranked_by_a_node_postprocessor(assistant, index):
    from llama_index.core.schema import NodeWithScore, QueryBundle

    from assistant.search.sentences import SentenceReranker

    query = assistant.query("When does the consultation close?")
    hits = assistant.retriever.search(query, 5)
    nodes = [NodeWithScore(node=assistant.retriever.nodes.node(h.passage.id), score=h.score)
             for h in hits]
    bundle = QueryBundle(query_str=query.asked, embedding=query.vector.tolist())
    out = SentenceReranker(index, assistant.settings, query.intent).postprocess_nodes(
        nodes, bundle)
    assert len(out) == sum(len(h.passage.sentences) for h in hits)
    assert [s.score for s in out] == sorted((s.score for s in out), reverse=True)
    for s in out:
        row = index.by_id[s.node.node_id]
        vector = index.sentence_vectors[int(index.sentence_offsets[row]) + s.j]
        assert s.cos == pytest.approx(float(vector @ query.vector), abs=1e-6)
