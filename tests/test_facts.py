"""Questions for one fact, over the real index: the kind of fact a question asks for is
read from its first cue, and the sentence that states the fact is quoted whatever the
question's wording."""

from __future__ import annotations

import pytest

from assistant.answer.query import asks_for_fact, fact_kind
from assistant.types import FactKind


@pytest.mark.parametrize(("question", "kind"), [
    # the first cue decides: a person is asked for, "when" only dates the office
    ("Who was the Health Secretary when the final mandate was published?", FactKind.PERSON),
    ("When does the consultation close?", FactKind.DATE),
    ("What's the last date to send in a response?", FactKind.DATE),
    ("Which law set up the Board?", FactKind.PERSON),
    ("How many extra health visitors will there be?", FactKind.NUMBER),
])
def test_the_kind_of_fact_is_read_from_the_first_cue(question, kind):
    assert asks_for_fact(question)
    assert fact_kind(question) is kind


def test_an_unquotable_best_sentence_does_not_turn_the_answer_into_a_refusal(assistant):
    # the sentence closest to the question refers back to a list it cannot be quoted
    # without ("In addition to these legal rights, ..."); the sentences after it answer
    answer = assistant.ask("Are the NHS pledges enforceable by law?")
    assert not answer.refused
    assert "not legally binding" in answer.answer
