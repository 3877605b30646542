"""Questions for one fact, over the real index: the kind of fact a question asks for is
read from its first cue, and the sentence that states the fact is quoted whatever the
question's wording."""

from __future__ import annotations

import pytest

from assistant.answer.asking import asks_for_fact, fact_kind
from assistant.search.abbreviations import defined_abbreviations
from assistant.search.sentences import (
    carries,
    is_dateline,
    name_words,
    sentence_words,
    to_the_day,
    words_of,
)
from assistant.types import FactKind


@pytest.mark.parametrize(("question", "kind"), [
    # the first cue decides: a person is asked for, "when" only dates the office
    ("Who was the Health Secretary when the final mandate was published?", FactKind.PERSON),
    ("When does the consultation close?", FactKind.DATE),
    ("What's the last date to send in a response?", FactKind.DATE),
    ("Which law set up the Board?", FactKind.LAW),
    ("How many extra health visitors will there be?", FactKind.NUMBER),
    ("What's the Board's budget?", FactKind.NUMBER),
    ("What is the gap in life expectancy between rich and poor?", FactKind.NUMBER),
    ("How often is the mandate renewed?", FactKind.DURATION),
    # asked inside a request, or after an adverb
    ("Can you tell me when the consultation closes?", FactKind.DATE),
    ("Roughly how many people have a long-term condition?", FactKind.NUMBER),
    ("In what year will the groups be set up?", FactKind.DATE),
    ("What is the number of people with dementia?", FactKind.NUMBER),
    ("What is the name of the Health Secretary?", FactKind.PERSON),
    # the plural asks for the same kind of fact
    ("Which years does the first mandate run for?", FactKind.DATE),
    ("Which laws set up the Board?", FactKind.LAW),
    ("Which bodies will the Board work with?", FactKind.PERSON),
    # asked after the context people give first: a sentence, or a clause setting a scene
    ("I volunteer with ex-offenders. What proportion of prisoners are unwell?",
     FactKind.NUMBER),
    ("Once NICE recommends a drug, how long can the NHS take to fund it?",
     FactKind.DURATION),
    ("When the consultation has closed, who reads the responses?", FactKind.PERSON),
])
def test_the_kind_of_fact_is_read_from_the_first_cue(question, kind):
    assert asks_for_fact(question)
    assert fact_kind(question) is kind


@pytest.mark.parametrize("question", [
    "What is the mandate?", "What are the objectives?",
    "What does the mandate say about the cost of care?", "Can you tell me about carers?",
    # "when" setting the scene is not "when" asking for a date
    "When I see my GP about my back, should they ask about my smoking?",
    "When I left the ward they gave me a card. What is that for?",
])
def test_questions_about_a_topic_are_not_questions_for_one_fact(question):
    assert not asks_for_fact(question)


def test_an_unquotable_best_sentence_does_not_turn_the_answer_into_a_refusal(assistant):
    # the sentence closest to the question refers back to a list it cannot be quoted
    # without ("In addition to these legal rights, ..."); the sentences after it answer
    answer = assistant.ask("Are the NHS pledges enforceable by law?")
    assert not answer.refused
    assert "not legally binding" in answer.answer


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("duration", "The right applies after 18 weeks on the waiting list.", True),
    ("duration", "Every year, the government sets out a list of objectives.", True),
    ("duration", "Complaints are acknowledged within three working days.", True),
    ("duration", "The Board will publish its plan.", False),
    ("number", "The Board has 4,000 staff.", True),
    ("number", "The Board will publish its plan.", False),
    ("date", "The consultation runs until 26th September 2012.", True),
    # "may" is the verb unless a day or a year stands next to it; other months count alone
    ("date", "The mandate may only be changed in certain circumstances.", False),
    ("date", "It was published in May 2011.", True),
    ("date", "From November, commissioners will be key partners.", True),
    ("date", "Groups are established by 1 april 2013.", True),
])
def test_a_sentence_carries_the_kind_of_fact_asked_for(kind, text, expected):
    assert carries(kind, text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("The consultation period runs until 26th September 2012.", True),
    ("CCGs are established across england by 1 april 2013;", True),
    ("The final mandate will set out the limits for 2013/14.", False),
    ("From November, commissioners will be key partners.", False),
])
def test_a_date_to_the_day_is_told_from_a_year_in_passing(text, expected):
    assert to_the_day("date", text, [(0, len(text))], 0) is expected


def test_names_are_the_corpus_words_written_only_capitalised_and_rarely(index):
    names = name_words(index)
    # the people quoted in the news articles are names; the words every document uses
    # with a capital ("Board", "Constitution") and month names are not
    assert {"jeremi", "hunt", "nicholson"} <= names
    assert not names & {"board", "constitut", "nhs", "septemb", "govern"}
    assert carries("person", "The Secretary of State for Health, Jeremy Hunt, said so.", names)
    assert not carries("person", "The Board will work with the Department.", names)


@pytest.mark.parametrize(("question", "fact"), [
    # the sentence that states the fact shares few words with the question
    ("How long can patients wait before they may choose another provider?", "18 weeks"),
    ("Who was Health Secretary at the time the final mandate came out?", "Jeremy Hunt"),
])
def test_the_sentence_holding_the_fact_is_quoted(assistant, question, fact):
    answer = assistant.ask(question)
    assert not answer.refused
    assert fact in answer.answer
    assert any(fact in c.quote for c in answer.citations)


@pytest.mark.parametrize(("question", "fact"), [
    # the sentence naming him scores 0.13 below one naming someone else: a sentence that
    # states the kind of fact asked for is quoted within the wider `fact_margin`
    ("Who was the chief executive of the Board when the final mandate came out?",
     "David Nicholson"),
    # the best sentence speaks of "the Act"; the sentence before it names it
    ("Which legislation is the consultation on the mandate based on?",
     "Health and Social Care Act 2012"),
])
def test_a_fact_close_to_the_best_sentence_is_quoted_with_it(assistant, question, fact):
    answer = assistant.ask(question)
    assert not answer.refused
    assert fact in answer.answer
    assert answer.answer.split("\n")[1][:1].isupper()


def test_abbreviations_are_read_from_the_documents_own_definitions(index):
    text = ("Locally, the Board will work with clinical commissioning groups (CCGs). "
            "The Slope Index of Inequality (SII) summarises them. The NHS Commissioning "
            "Board\u2019s (NHS CB) budget. The plan (see below) is new. NICE (the National "
            "Institute for Health and Care Excellence) is independent.")
    assert defined_abbreviations(text) == [
        ("CCGs", "clinical commissioning groups"), ("SII", "Slope Index of Inequality"),
        ("NHS CB", "NHS Commissioning Board")]
    # a sentence writing one form holds the other's words, whichever it writes
    short = sentence_words(index, "He said the NHS CB\u2019s role is to deploy its staff")
    assert {"board", "commiss"} <= short
    long = sentence_words(index, "The Board will support clinical commissioning groups.")
    assert "ccg" in long or "ccgs" in long
    assert sentence_words(index, "The Board will publish a plan.") == words_of(
        "The Board will publish a plan.")


@pytest.mark.parametrize(("kind", "line", "expected"), [
    ("date", "13 November 2012", True),
    ("date", "for England 27 July 2015", False),  # opens mid-sentence: never quoted first
    ("number", "13 November 2012", False),  # a dateline dates; it does not count
    ("date", "The consultation period runs until 26th September 2012.", False),  # too long
])
def test_a_dateline_dates_the_sentence_below_it_for_a_question_asking_when(kind, line,
                                                                           expected):
    assert is_dateline(kind, line) is expected


def test_a_large_corpus_scans_only_the_sentences_of_the_closest_passages(assistant):
    """Every sentence is scanned for a fact up to `exact_search_max` sentences; beyond it,
    the sentences of the passages the store finds closest (filtered there by document),
    and the fact sentence is found either way."""
    from assistant.search.retrieve import Retriever

    index = assistant.index
    vector = assistant.query("When does the consultation close?").vector
    every = assistant.retriever.sentence_hits(vector, 8)
    large = Retriever(index, assistant.embedder, assistant.settings.with_(exact_search_max=10))
    rows, _ = large._close_sentences(vector, 8, None)
    assert 0 < len(rows) < int(index.sentence_offsets[-1])
    found = large.sentence_hits(vector, 8)
    assert found[0].passage.id == every[0].passage.id
    assert "26th September 2012" in found[0].passage.text
    one_doc = large.sentence_hits(vector, 8, ["nhs-constitution-2015"])
    assert one_doc and {h.passage.doc_id for h in one_doc} == {"nhs-constitution-2015"}


def test_a_quote_takes_the_neighbouring_sentences_close_enough_to_be_quoted(assistant):
    """The sentence that settles a yes-or-no question often stands next to the closest
    one: a neighbour of its paragraph scoring above the floor joins the quote, in the
    document's order; one below it stays out."""
    quoter, index = assistant.composer.quoter, assistant.index
    p = next(p for p in index.passages if "tailoring them to their local needs" in p.text)
    text = index.documents[p.doc_id].text
    j = next(j for j, (s, e) in enumerate(p.sentences) if "common ground" in text[s:e])
    found = quoter.whole(p, j, 0.7)
    near = {(p.id, j): 0.86, (p.id, j - 1): 0.78}
    widened = quoter.with_neighbours(found, near, 0.74)
    quote = text[widened[-1].start():widened[-1].end()]
    assert quote.startswith("Individual organisations will develop")
    assert "common ground" in quote
    assert quoter.with_neighbours(found, near, 0.8) == found


def test_the_sentence_settling_a_yes_or_no_comes_with_the_closest_one(assistant):
    # "... not an individual's ability to pay." is closest; the sentence after it, which
    # settles the question, scores 0.19 below it (within `fact_margin`, not
    # `sentence_margin`)
    answer = assistant.ask("Do I have to pay for prescriptions?")
    assert not answer.refused
    assert "ability to pay. [1] NHS services are free of charge" in answer.answer


@pytest.fixture(scope="module")
def with_policy(built, embedder, tmp_path_factory):
    """The shipped corpus and a made trust policy, ingested together (the corpus's vectors
    reused from the session's build)."""
    import shutil

    from pdfs import trust_policy_pdf

    from assistant.config import Settings
    from assistant.pipeline import Assistant
    from assistant.search.index import build_index

    root = tmp_path_factory.mktemp("with-policy")
    shutil.copytree(built.corpus_dir, root / "corpus")
    shutil.copytree(built.index_dir, root / "index")
    trust_policy_pdf(root / "corpus" / "safe-staffing.pdf")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index",
                        data_dir=root / "data")
    build_index(settings, embedder=embedder)
    return Assistant(settings, embedder=embedder)


@pytest.mark.parametrize(("question", "row"), [
    ("Who approved the safe staffing escalation policy?", "Quality and Safety Committee"),
    ("Who is the author of the safe staffing escalation policy?", "Head of Workforce Planning"),
    ("Who wrote the safe staffing escalation policy?", "Head of Workforce Planning"),
    ("When was the safe staffing escalation policy approved?", "9 February 2024"),
    ("When is the safe staffing escalation policy due for review?", "February 2027"),
])
def test_a_row_of_a_policys_document_control_table_answers_who_and_when(with_policy, question,
                                                                        row):
    """"Who approved the ... policy?" is answered from the policy's own table (each row read
    as a row, not run together as one line), not by a person the other documents quote:
    the question names the policy by its title and the row names who approved it."""
    answer = with_policy.ask(question)
    assert answer.citations[0].doc_id == "safe-staffing", answer.answer
    assert any(row in c.quote and c.doc_id == "safe-staffing" for c in answer.citations)


def test_a_control_table_row_answers_only_the_who_it_names(with_policy):
    """The "Author" row names who wrote the policy: it is no answer to who is responsible
    for patients' safety, which the policy's duties paragraph states."""
    answer = with_policy.ask("Who has overall responsibility for patient safety under the "
                             "safe staffing escalation policy?")
    assert "Chief Nurse" in answer.citations[0].quote, answer.answer
    assert not any(c.quote.startswith(("Author", "Approved by")) for c in answer.citations)


@pytest.mark.parametrize(("line", "question", "names"), [
    ("Approved by the Quality and Safety Committee on 3 October 2024.",
     "Who approved the safeguarding policy?", True),
    ("Policy owner: Director of Nursing and Quality.", "Who approved the policy?", False),
    ("Policy owner: Director of Nursing and Quality.", "Who owns the policy?", True),
    ("Author Head of Workforce Planning", "Who wrote the policy?", True),
    ("Author Head of Workforce Planning", "Who is responsible for the policy?", False),
])
def test_a_control_row_names_who_did_what_the_question_asks(line, question, names):
    """A cover line "Approved by the ... Committee" names who approved as a table row does;
    a label's own word for the document ("Policy owner") does not make it an answer to
    every question about the policy."""
    from assistant.search.sentences import names_agent, words_of

    assert names_agent(line, words_of(question)) is names


def test_the_words_of_an_acts_name_do_not_name_a_person(index):
    """"Disclosure" is rare and always capitalised in the corpus, but in "the Public
    Interest Disclosure Act" it names a law: the sentence states no person for a "who"."""
    from assistant.search.sentences import carries, name_words

    text = ("The term 'staff' is used to include employees, for the purposes of the "
            "Employment Rights Act 1996 (as amended by the Public Interest Disclosure Act).")
    assert carries("law", text)
    assert not carries("person", text, name_words(index))
    assert carries("person", "The mandate was welcomed by Jeremy Hunt.", name_words(index))


def test_days_of_the_week_name_no_person():
    """"Monday to Friday" after a comma looks like a name; a day names no one, whatever the
    corpus's rare words are."""
    from assistant.search.sentences import carries

    text = "The team can be contacted between 8am and 5pm, Monday to Friday."
    assert not carries("person", text, frozenset({"monday", "friday"}))
    assert carries("person", "The team is led by Anna Price.", frozenset({"price"}))
