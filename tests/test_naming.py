"""The documents a question names by title: read from the shipped corpus's own titles."""

import pytest

from assistant.answer.naming import DocumentNames


@pytest.fixture(scope="module")
def names(index):
    return DocumentNames(index.documents.values())


@pytest.mark.parametrize(("question", "named"), [
    ("Does the NHS Constitution apply to admin staff?", ("nhs-constitution-2015",)),
    ("What does the draft mandate say about carers?", ("draft-mandate-2012",)),
    # a word every mandate's title has names none of them
    ("What does the mandate say about carers?", ()),
    ("Which objective covers carers?", ()),
    # both, in catalogue order, whatever the question's order
    ("How is the NHS Constitution different from the draft mandate?",
     ("draft-mandate-2012", "nhs-constitution-2015")),
])
def test_a_question_names_a_document_by_a_phrase_of_its_title(names, question, named):
    assert names.named(question) == named


def test_the_named_document_is_read_into_the_query(assistant):
    query = assistant.query("Does the NHS Constitution apply to the staff who do admin?")
    assert query.named_docs == ("nhs-constitution-2015",)


def test_an_answer_is_drawn_from_the_document_the_question_names(assistant):
    answer = assistant.ask("My daughter does admin at a GP surgery. Does the NHS Constitution "
                           "apply to her as well, or just to doctors and nurses?")
    assert answer.citations[0].doc_id == "nhs-constitution-2015"
    assert "applies to all staff" in answer.citations[0].quote


def test_a_word_for_a_kind_of_document_names_the_one_document_of_that_kind(index):
    """With one policy beside the shipped corpus, "this policy" names it; "the mandate"
    still names no mandate, and a second policy makes "the policy" name neither."""
    from assistant.types import Document

    policy = Document(doc_id="lone-working", title="Lone Working Policy", text="")
    names = DocumentNames([*index.documents.values(), policy])
    assert names.named("Who approved this policy?") == ("lone-working",)
    assert names.named("Is the Constitution legally binding?") == ("nhs-constitution-2015",)
    assert names.named("What does the mandate say about carers?") == ()
    other = Document(doc_id="chaperone", title="Chaperone Policy", text="")
    names = DocumentNames([*index.documents.values(), policy, other])
    assert names.named("Who approved this policy?") == ()
    assert names.named("Who approved the chaperone policy?") == ("chaperone",)
