"""Long, narrative questions: read in parts as well as whole, for the refusal decision and
for the objective mapping."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assistant.answer.judge import Judge
from assistant.answer.query import question_parts

STORY = ("The traffic on the ring road was terrible this morning, the radio said a lorry had "
         "shed its load of potatoes. Is there an objective about carers?")


def test_a_question_of_several_sentences_is_read_in_parts():
    assert question_parts(STORY) == (
        "The traffic on the ring road was terrible this morning, the radio said a lorry had "
        "shed its load of potatoes.", "Is there an objective about carers?")
    assert question_parts("Which objective covers carers?") == ()
    # a part has at least three words: "Hi." is not read on its own
    assert question_parts("Hi. Which objective covers carers?") == ()


def test_the_parts_are_embedded_with_the_question(assistant):
    query = assistant.query(STORY)
    alone = assistant.embedder.embed_batch(list(question_parts(STORY)))
    assert query.part_vectors.shape == alone.shape
    assert np.allclose(query.part_vectors, alone, atol=1e-4)
    assert np.allclose(query.vector, assistant.embedder.embed(STORY), atol=1e-4)
    assert assistant.query("Which objective covers carers?").part_vectors is None


def _evidence(assistant, query):
    evidence = assistant.finder.find(query, assistant.settings.k)
    in_hits = {h.passage.id for h in evidence.hits}
    scored = [s for s in evidence.sentences if s.hit.passage.id in in_hits]
    return evidence, scored


def test_a_story_before_the_ask_does_not_get_the_question_refused(assistant):
    query = assistant.query(STORY)
    evidence, scored = _evidence(assistant, query)
    whole, _ = assistant.judge.weigh(replace(query, part_vectors=None), evidence.hits, scored)
    best, _ = assistant.judge.weigh(query, evidence.hits, scored)
    # as a whole the question is far from every sentence; its ask is close to one: the
    # best part's cosine with a retrieved sentence
    assert whole + 0.15 < best and assistant.settings.refusal_threshold <= best
    assert best == pytest.approx(assistant.judge.best_part(query.part_vectors, scored))
    # a threshold between the two refuses the question read whole, never with its parts
    between = Judge(assistant.index, (whole + best) / 2)
    whole_evidence = replace(evidence, named=[])
    assert between.judge(replace(query, part_vectors=None), whole_evidence).refused
    assert not between.judge(query, whole_evidence).refused
    answer = assistant.ask(STORY)
    assert not answer.refused
    assert any("carers" in c.quote for c in answer.citations)


@pytest.mark.parametrize("question", [
    "My cousin is moving flats next month and wants a web server at home. "
    "How do I configure nginx as a reverse proxy?",
    "We are going on holiday to the coast in August. What is the exchange rate of the "
    "euro today?",
])
def test_an_off_topic_story_is_still_refused(assistant, question):
    assert question_parts(question)
    assert assistant.ask(question).refused


def test_the_current_of_a_kind_is_read_from_the_question():
    from assistant.answer.query import named_current

    assert named_current("What does the current mandate say about dementia?") == "mandate say"
    assert named_current("Is the latest NHS mandate tougher?") == "nhs mandate"
    assert named_current("Which objective covers carers?") is None


def test_the_current_mandate_is_the_newest_document_of_that_title(assistant):
    index = assistant.index
    titled = {o.doc_id for o in index.objectives
              if "mandate" in f"{index.documents[o.doc_id].title}".lower()}
    assert len(titled) > 1  # otherwise there is nothing to choose between
    newest = max(titled, key=lambda d: index.documents[d].date)
    for question in ("What does the current mandate say about dementia?",
                     "Under the latest NHS mandate, what is expected on waiting times?"):
        ranked = assistant.mapper.rank(assistant.query(question), 3)
        assert {o.doc_id for o, _ in ranked} == {newest}
    # "current" before words no document's title has names no document
    query = assistant.query("Is the current budget settlement enough to support carers?")
    assert query.current == "budget settlement"
    assert assistant.mapper.rank(query, 1)[0][0].number == "15"


def test_the_model_reads_the_question_as_asked(assistant):
    # "charge" is a glossary word for "free of charge": the term joins the lexical match
    # only, so the question still maps to the objective that sets up the local groups
    question = ("Local GPs will be in charge of buying services in my area. By when must "
                "their groups be set up and authorised?")
    query = assistant.query(question)
    assert "free of charge" in query.terms
    best = assistant.mapper.rank(query, 1)[0][0]
    assert best.doc_id == "draft-mandate-2012" and best.number == "18"


def test_an_objective_close_to_everything_gives_up_its_lead(assistant, index, built):
    from assistant.search.objectives import ObjectiveMapper

    mapper = assistant.mapper
    hub = mapper._hub
    assert hub.shape == (len(index.objectives),)
    # the correction is a lead over the other objectives: it sums to nothing, so scores
    # keep their scale (the thresholds on them stay meaningful)
    assert abs(float(hub.mean())) < 1e-6 and float(hub.std()) > 0
    plain = ObjectiveMapper(index, built.with_(hub_weight=0.0))
    query = assistant.query("Which objective covers carers?")
    k = len(index.objectives)
    with_hub = dict((o.id, s) for o, s in mapper.rank(query, k))
    without = dict((o.id, s) for o, s in plain.rank(query, k))
    shift = {i: without[i] - with_hub[i] for i in with_hub}
    rows = {o.id: n for n, o in enumerate(index.objectives)}
    for i, d in shift.items():  # each score moves by its own lead, scaled like the scores
        assert d == pytest.approx(0.25 * hub[rows[i]] / mapper.max_score, abs=1e-4)
    assert mapper.rank(query, 1)[0][0].number == "15"
