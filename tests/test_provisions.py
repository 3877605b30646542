"""Which rights, pledges, principles, values and responsibilities a question falls under:
the kind a question asks about, the first places shared between kinds, and the real
Constitution's provisions found for questions worded as people ask them."""

from __future__ import annotations

import pytest

from assistant.answer.query import asked_kinds
from assistant.search.provisions import balanced
from assistant.types import ProvisionKind as K

CONSTITUTION = "nhs-constitution-2015"


@pytest.mark.parametrize(("question", "kinds"), [
    ("Am I entitled to a second opinion?", (K.RIGHT,)),
    ("Does the NHS promise to call me back?", (K.PLEDGE,)),
    ("Will the hospital give me a translator?", (K.PLEDGE,)),
    ("Must I tell my doctor about my other medicines?", (K.RESPONSIBILITY,)),
    ("As a nurse, is it my duty to report a colleague?", (K.RESPONSIBILITY,)),
    ("Which value is about compassion?", (K.VALUE,)),
    ("What principles guide the service?", (K.PRINCIPLE,)),
    ("Is that the right thing to do for the ward?", ()),
    ("What is the waiting time for a hip operation?", ()),
])
def test_the_kind_a_question_asks_about_comes_from_how_it_asks(question, kinds):
    assert asked_kinds(question) == kinds


def test_the_first_places_hold_at_most_cap_of_one_kind_and_the_rest_keep_their_order():
    kinds = [K.RIGHT, K.RIGHT, K.RIGHT, K.RIGHT, K.PLEDGE, K.RIGHT, K.VALUE]
    order = list(range(len(kinds)))
    assert balanced(order, kinds, shown=5, cap=3) == [0, 1, 2, 4, 6, 3, 5]
    # too few other kinds to fill the first places: the capped ones fill them, in order
    assert balanced(order[:5], kinds[:5], shown=5, cap=3) == [0, 1, 2, 4, 3]
    assert balanced(order, kinds, shown=5, cap=5) == order


def _first(assistant, question: str, k: int = 5):
    return [p for p in assistant.provisions(question, k=k) if p.doc_id == CONSTITUTION]


def test_a_pledge_is_shown_for_a_question_about_a_promise_among_many_rights(assistant):
    found = _first(assistant, "Does the NHS promise I'll get copies of the letters "
                              "doctors write to each other about me?")
    pledges = [p for p in found if p.kind == "pledge"]
    assert pledges and "correspondence sent between clinicians" in pledges[0].title
    assert sum(p.kind == "right" for p in found) <= 3


def test_a_staff_duty_is_found_for_a_question_about_what_staff_must_do(assistant):
    found = _first(assistant, "I'm a nurse. What must I do about patients' private "
                              "information that I hold?")
    duties = [p for p in found if p.kind == "responsibility"]
    assert duties
    assert any("confidential" in p.title or "confidentiality" in p.title for p in duties)


def test_the_provision_scores_are_the_models_own_and_best_first_within_a_kind(assistant):
    found = _first(assistant, "Can I see my own medical records?", k=20)
    rights = [p for p in found if p.kind == "right"]
    assert "access to your own health records" in rights[0].title
    assert [p.score for p in rights] == sorted((p.score for p in rights), reverse=True)


def _hits(retriever, assistant, question: str, k: int = 5) -> list:
    return [h.passage for h in retriever.search(assistant.query(question), k)]


def test_a_question_about_a_right_retrieves_the_right_before_a_mandates_narrative(assistant,
                                                                                   index):
    from assistant.search.retrieve import Retriever

    question = "Does a hospital have to give patients proper meals and water?"
    hits = _hits(assistant.retriever, assistant, question)
    assert hits[0].doc_id == CONSTITUTION
    assert "nutritious food and hydration" in hits[0].text
    # before: the objective the question maps to best and its narrative took the first
    # places, and the right was not among them
    before = Retriever(index, assistant.embedder,
                       assistant.settings.with_(statement_margin=9.0), assistant.mapper)
    old = _hits(before, assistant, question)
    assert not any("nutritious food" in p.text for p in old)
    answer = assistant.ask(question)
    assert not answer.refused
    assert "nutritious food and hydration" in answer.answer


def test_a_question_about_an_objective_is_retrieved_as_before(assistant, index):
    from assistant.search.retrieve import Retriever

    question = "How will the NHS help people who care for a relative?"
    plain = Retriever(index, assistant.embedder,
                      assistant.settings.with_(provision_group=0, statement_margin=9.0),
                      assistant.mapper)
    assert _hits(assistant.retriever, assistant, question) == _hits(plain, assistant, question)
