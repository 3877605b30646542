"""Readable answers over the real index: a lead line, whole sentences, whole lists, facts
found whatever the wording, honest objective cards, and follow-ups read with the turn
before them."""

from __future__ import annotations

import pytest

from assistant.answer.form import answer_lead, display_title, leans_back, split_answer
from assistant.answer.query import leans_on_previous, resolve
from assistant.evaluate import checks as checks
from assistant.evaluate.run import grounding_problems

DRAFT = "draft-mandate-2012"
CARERS = [{"question": "Which objective covers carers?", "answer": "..."}]


# ---------------------------------------------------------------- reading a follow-up


@pytest.mark.parametrize("question, read", [
    ("and for children?", "Which objective covers children?"),
    ("what about mental health?", "Which objective covers mental health?"),
    ("How about older people?", "Which objective covers older people?"),
    ("what does it say about them?", "What does it say about carers?"),
])
def test_a_follow_up_is_read_with_the_question_before_it(question, read):
    assert resolve(question, CARERS) == read


@pytest.mark.parametrize("question", [
    "How will progress against the mandate be assessed?",
    "Which objective covers dementia?",
    "and what else does the mandate say about the Board's duties to patients?",
    "And what is the NHS Constitution?",
])
def test_a_question_that_stands_alone_is_read_as_asked(question):
    assert resolve(question, CARERS) is None


def test_a_chain_of_follow_ups_keeps_the_first_frame():
    past = [{"question": "What does the mandate say about dementia?"},
            {"question": "and for carers?"}]
    assert resolve("what about veterans?", past) == "What does the mandate say about veterans?"
    assert resolve("what about veterans?", []) is None
    assert not leans_on_previous("Which objective covers carers?")


# ---------------------------------------------------------------- pure pieces


def test_titles_are_whole_and_never_end_in_a_dangling_clause():
    assert display_title("Improve the support that carers receive from the NHS, in "
                         "particular by:") == "Improve the support that carers receive from the NHS"
    long = "Develop a programme " + "of action " * 20 + "on a par with physical health."
    assert display_title(long) == " ".join(long.split())
    assert display_title("Do this and that so that every long clause keeps going on:") \
        == "Do this and that so that every long clause keeps going on \u2026"


def test_split_answer_leaves_out_the_lead_line_and_bullet_marks():
    text = "The documents say:\nA list follows: [1]\n- first item; [1]\n- last item. [1]"
    assert answer_lead(text) == "The documents say:"
    assert split_answer(text) == [("A list follows:", 1), ("first item;", 1),
                                  ("last item.", 1)]
    assert answer_lead("One line. [1]") == ""


def test_sentences_that_lean_back_are_recognised():
    assert leans_back("This will involve working alongside others.")
    assert leans_back("\u2013 upholding the obligations;")
    assert leans_back("it can demonstrate this.")
    assert not leans_back("Thistles are not in the mandate.")
    # "this" naming the document or a part of it refers to nothing before it
    assert not leans_back("This policy applies to all employees, including agency staff.")
    assert not leans_back("This chapter sets out the Board's objectives.")
    assert leans_back("This domain covers the outcomes of care.")


# ---------------------------------------------------------------- answers


def test_the_consultation_question_list_is_quoted_whole(assistant):
    answer = assistant.ask("What is the consultation asking me?")
    assert not answer.refused
    questions = [q.text for q in assistant.index.questions]
    assert len(questions) == 12
    assert checks.lists_every_item(answer, questions)
    assert answer.answer.count("\n- ") == 12
    assert [c.paragraph for c in answer.citations] == [f"Question {i}" for i in range(1, 13)]
    assert grounding_problems(answer, assistant.index) == []


def test_a_fact_is_found_whatever_the_wording(assistant):
    answer = assistant.ask("When does the consultation close?")
    assert "26th September 2012" in answer.citations[0].quote
    assert answer.lead == "The documents say:"
    assert grounding_problems(answer, assistant.index) == []


def test_a_sentence_that_refers_back_brings_what_it_refers_to(assistant):
    answer = assistant.ask("What support is there for the armed forces?")
    first = split_answer(answer.answer)[0][0]
    assert not leans_back(first)
    assert checks.opens_cleanly(answer)
    assert grounding_problems(answer, assistant.index) == []


@pytest.mark.parametrize("doc_ids", [None, [DRAFT]])
def test_no_quote_is_cited_twice(assistant, doc_ids):
    answer = assistant.ask("Which objective covers carers?", doc_ids=doc_ids)
    assert checks.duplicate_sources(answer) == []
    lines = [t for t, _ in split_answer(answer.answer)]
    assert len(lines) == len(set(lines))


def test_objective_cards_fall_under_only_when_confident(assistant):
    carers = assistant.ask("Which objective covers carers?")
    assert carers.objectives[0].id == f"{DRAFT}/15" and carers.objectives[0].falls_under
    assert carers.lead == "Objective 15 of the draft mandate (2012) covers this:"
    threshold = assistant.settings.falls_under_threshold
    for m in carers.objectives:
        assert m.falls_under == (m.score >= threshold)
    listing = assistant.ask("What is the consultation asking me?")
    assert not any(m.falls_under for m in listing.objectives)


def test_asking_about_a_consultation_question_does_not_echo_it(assistant):
    q = next(q for q in assistant.index.questions if q.chapter.startswith("3"))
    answer = assistant.ask(q.text, doc_ids=[q.doc_id])
    assert not answer.refused
    assert all(not c.paragraph or not c.paragraph.startswith("Question")
               for c in answer.citations)
    assert all(q.text not in c.quote for c in answer.citations)
    assert answer.citations[0].section.startswith(q.chapter.split(" > ")[0])


@pytest.mark.parametrize("question, objective", [
    ("and for children?", f"{DRAFT}/16"),
    ("what about mental health?", f"{DRAFT}/9"),
])
def test_follow_ups_map_as_the_conversation_implies(assistant, question, objective):
    alone = assistant.ask(question)
    answer = assistant.ask(question, history=CARERS)
    assert answer.read_with_history and answer.read_with_history != question
    assert answer.objectives[0].id == objective
    assert answer.question == question and alone.read_with_history is None
    assert checks.opens_cleanly(answer)


def test_dev_answers_open_cleanly_and_cite_each_quote_once(assistant):
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "eval" / "calibration.jsonl"
    questions = [json.loads(line)["question"] for line in path.read_text().splitlines()
                 if line.strip()]
    for question in questions:
        for doc_ids in (None, [DRAFT]):
            answer = assistant.ask(question, doc_ids=doc_ids)
            assert checks.opens_cleanly(answer), (question, answer.answer[:120])
            assert checks.duplicate_sources(answer) == [], question
            assert grounding_problems(answer, assistant.index) == [], question
