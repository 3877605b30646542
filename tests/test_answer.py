"""Answers over the real index: objectives found, quotes that are exact and where they say
they are, refusals off topic, document filters and clear errors for bad input."""

from __future__ import annotations

import re

import pytest

from assistant.answer.form import split_answer
from assistant.errors import AssistantError, QuestionError
from assistant.evaluate.run import grounding_problems

DRAFT = "draft-mandate-2012"
SUMMARY = "mandate-2017-19-summary"

ON_TOPIC = [
    "Which objective covers carers?",
    "When will the NHS Commissioning Board be established?",
    "How will dementia care be improved?",
    "What is the NHS Constitution?",
    "How should the NHS reduce health inequalities?",
    "What does the mandate say about mental health?",
    "How will patients be involved in decisions about their care?",
    "What is the Secretary of State accountable for?",
    "How much money is earmarked for commissioning running costs?",
    "What is the friends and family test?",
    "Will GP appointments be available in the evenings and at weekends?",
]
OFF_TOPIC = [
    "How do I bake banana bread?",
    "How do I restart a Kubernetes pod?",
    "Who won the Premier League in 2019?",
]


@pytest.fixture(scope="module")
def answers(assistant):
    return {q: assistant.ask(q) for q in ON_TOPIC + OFF_TOPIC}


def check_citation(index, c) -> None:
    """A citation's quote is exact, on the page it names and inside the passage it names."""
    doc = index.documents[c.doc_id]
    assert doc.text[c.start : c.end] == c.quote
    assert c.quote and c.quote in doc.text
    assert c.page == doc.page_at(c.start)
    p = index.passage(c.passage_id)
    assert p.doc_id == c.doc_id
    assert p.start <= c.start < c.end <= p.end
    assert c.section == str(p.section) and c.paragraph == p.paragraph
    assert c.title == doc.title


# ---------------------------------------------------------------- objectives


def test_carers_question_leads_with_objective_15(assistant, answers):
    answer = answers["Which objective covers carers?"]
    assert not answer.refused
    assert answer.objectives[0].id == f"{DRAFT}/15"
    assert answer.objectives[0].number == "15"
    o15 = next(o for o in assistant.index.objectives if o.id == f"{DRAFT}/15")
    lead = answer.citations[0]
    assert lead.marker == 1 and lead.doc_id == DRAFT
    assert lead.quote.startswith("Objective 15: Improve the support that carers receive")
    assert lead.quote in o15.text
    # the lead line names the objective; the quote of its text comes first after it
    assert answer.lead == "Objective 15 of the draft mandate (2012) covers this:"
    assert answer.answer.startswith(answer.lead + "\nObjective 15: Improve the support")
    # what follows the objective is the narrative that introduces it (3.19 - 3.21)
    for c in answer.citations[1:]:
        assert c.passage_id in o15.intro_passage_ids


def test_respite_for_relatives_maps_to_the_carers_objective(assistant):
    answer = assistant.ask("respite for people who look after a relative")
    assert not answer.refused
    assert f"{DRAFT}/15" in [o.id for o in answer.objectives[:3]]
    ranked = assistant.objectives("respite for people who look after a relative")
    assert f"{DRAFT}/15" in [o.id for o in ranked[:3]]


def test_objective_named_by_number_comes_first(assistant):
    answer = assistant.ask("what is objective 9?")
    assert not answer.refused
    assert answer.objectives[0].id == f"{DRAFT}/9"
    assert answer.citations[0].quote.startswith("Objective 9:")
    assert "mental health" in answer.citations[0].quote


def test_objectives_are_ranked_with_scores(assistant):
    ranked = assistant.objectives("people looking after a relative", k=5)
    assert len(ranked) == 5
    assert ranked[0].id == f"{DRAFT}/15"
    scores = [o.score for o in ranked]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


# ---------------------------------------------------------------- citations


@pytest.mark.parametrize("question", ON_TOPIC)
def test_on_topic_answers_cite_exact_quotes(assistant, answers, question):
    answer = answers[question]
    assert not answer.refused, question
    assert answer.citations and answer.closest == []
    assert [c.marker for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        check_citation(assistant.index, c)
    assert set(answer.timings_ms) >= {"retrieve", "total"}


@pytest.mark.parametrize("question", ON_TOPIC)
def test_every_answer_segment_is_a_cited_quote(answers, question):
    answer = answers[question]
    segments = split_answer(answer.answer)
    by_marker = {c.marker: c for c in answer.citations}
    markers = [m for _, m in segments]
    # every sentence or list item carries its [n]; the quotes come in order, each once
    assert sorted(set(markers)) == sorted(by_marker) and markers == sorted(markers)
    for text, marker in segments:
        assert marker in by_marker, f"uncited text: {text!r}"
        assert text and text in by_marker[marker].quote
    # each quote is written out whole, sentence after sentence
    for marker, c in by_marker.items():
        said = " ".join(t for t, m in segments if m == marker)
        assert _words(said) == _words(c.quote)


def _words(text: str) -> list[str]:
    return [w for w in text.split() if w not in "\u2013\u2014-\u2022"]


def test_answers_carry_facts_from_the_documents(answers):
    established = answers["When will the NHS Commissioning Board be established?"]
    assert any("1 October 2012" in c.quote for c in established.citations)
    money = answers["How much money is earmarked for commissioning running costs?"]
    assert "\u00a32bn" in money.answer
    dementia = answers["How will dementia care be improved?"]
    assert any("dementia" in c.quote for c in dementia.citations)


def test_split_answer_pairs_text_with_markers():
    assert split_answer("First part. [1] Second part. [2]") == [
        ("First part.", 1), ("Second part.", 2)]
    assert split_answer("Cited. [1] Uncited tail.") == [("Cited.", 1), ("Uncited tail.", 0)]


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_are_refused_with_closest_passages(assistant, answers, question):
    answer = answers[question]
    assert answer.refused
    assert answer.citations == []
    assert not re.search(r"\[\d+\]", answer.answer)
    assert "do not cover" in answer.answer
    assert 1 <= len(answer.closest) <= 3
    for c in answer.closest:
        check_citation(assistant.index, c)


# ---------------------------------------------------------------- document filter


def test_doc_filter_only_returns_that_document(assistant):
    answer = assistant.ask("How will dementia care be improved?", doc_ids=[SUMMARY])
    assert not answer.refused
    assert {c.doc_id for c in answer.citations} == {SUMMARY}
    assert all(o.doc_id == SUMMARY for o in answer.objectives)
    assert any("dementia" in c.quote for c in answer.citations)
    for c in answer.citations:
        check_citation(assistant.index, c)


def test_doc_filter_applies_to_closest_and_objectives(assistant):
    refused = assistant.ask("How do I bake banana bread?", doc_ids=["strategic-context-2012"])
    assert refused.refused
    assert {c.doc_id for c in refused.closest} == {"strategic-context-2012"}
    ranked = assistant.objectives("cancer", doc_ids=[SUMMARY])
    assert ranked and all(o.doc_id == SUMMARY for o in ranked)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("question,message", [
    ("", r"^The question is empty; type a question"),
    ("   \n\t  ", r"^The question is empty"),
    ("\u200b\u200b", r"^The question is empty"),
    ("?!? ... ---", r"^The question has no words in it"),
])
def test_empty_or_wordless_questions_raise(assistant, question, message):
    with pytest.raises(QuestionError, match=message):
        assistant.ask(question)
    with pytest.raises(QuestionError, match=message):
        assistant.objectives(question)


def test_question_over_1000_characters_raises(assistant):
    question = "How are carers supported? " + "x" * 1000
    with pytest.raises(QuestionError,
                       match=r"1,026 characters long; the limit is 1,000\. Ask a shorter question"):
        assistant.ask(question)


def test_question_of_exactly_1000_characters_is_answered(assistant):
    question = ("Which objective covers carers? " * 40)[:1000]
    assert len(question) == 1000
    assert assistant.ask(question).question == question.strip()


def test_unknown_doc_id_is_named(assistant):
    with pytest.raises(AssistantError, match=r"Unknown document id 'nope'; known ids: .*"
                                             + DRAFT):
        assistant.ask("Which objective covers carers?", doc_ids=["nope"])
    with pytest.raises(AssistantError, match=r"'nope'"):
        assistant.objectives("carers", doc_ids=[DRAFT, "nope"])


@pytest.mark.parametrize("k", [0, -3])
def test_k_below_one_raises(assistant, k):
    with pytest.raises(AssistantError, match=rf"k={k} must be at least 1"):
        assistant.ask("Which objective covers carers?", k=k)


def test_k_larger_than_the_index_raises_naming_the_fix(assistant):
    n = len(assistant.index.passages)
    with pytest.raises(AssistantError, match=rf"k={n + 1} is larger than the {n} passages in "
                                             r"the index; use a smaller k"):
        assistant.ask("Which objective covers carers?", k=n + 1)
    assert not assistant.ask("Which objective covers carers?", k=n).refused


def test_objectives_of_a_chapter_are_listed_in_order(assistant):
    answer = assistant.ask("Which objectives are in chapter 3?")
    assert [o.number for o in answer.objectives] == ["12", "13", "14", "15"]
    assert [c.quote.split(":")[0] for c in answer.citations] == [
        "Objective 12", "Objective 13", "Objective 14", "Objective 15"]
    for c in answer.citations:
        assert assistant.index.documents[c.doc_id].text[c.start:c.end] == c.quote


def test_references_are_not_used_as_answer_sentences(assistant):
    answer = assistant.ask("What does the mandate say about mental health?")
    assert not answer.refused
    assert all("http" not in c.quote for c in answer.citations)


def test_a_sentence_that_introduces_a_list_is_quoted_with_its_items(assistant):
    answer = assistant.ask("Which five headings are the draft mandate's objectives grouped "
                           "under?")
    assert not answer.refused
    first = answer.citations[0].quote
    assert first.startswith("The draft mandate includes objectives under five headings:")
    for heading in ("Improving our health and our healthcare", "Putting patients first",
                    "The broader contribution of the NHS", "Effective commissioning",
                    "Finance and financial management"):
        assert heading in first
    assert grounding_problems(answer, assistant.index) == []


def test_a_list_ends_at_its_closing_item(assistant):
    answer = assistant.ask("What four tests must changes to services meet?")
    quote = next(c.quote for c in answer.citations if "four tests" in c.quote)
    assert quote.rstrip().endswith("consistency with current and prospective need for "
                                   "patient choice.")
    assert "strong public and patient engagement;" in quote
    assert grounding_problems(answer, assistant.index) == []


def test_a_question_for_one_fact_is_not_led_by_an_objective(assistant):
    answer = assistant.ask("How many lives could the mandate's priorities save each year?")
    assert not answer.citations[0].quote.startswith("Objective")
    assert "20,000 lives a year" in answer.answer


def test_a_consultation_question_about_objectives_leads_with_the_question(assistant):
    answer = assistant.ask("Which consultation question asks about objectives for setting "
                           "up the new commissioning system?")
    assert answer.citations[0].paragraph == "Question 12"


def test_provisions_name_the_right_and_keep_objectives_objective_only(assistant):
    a = assistant
    gp = a.ask("Can I choose my GP practice?")
    assert gp.provisions[0].kind == "right"
    assert "choose your GP practice" in gp.provisions[0].title
    assert all(o.doc_id != "nhs-constitution-2015" for o in gp.objectives)
    carers = a.ask("Which objective covers carers?")
    assert carers.objectives[0].id == "draft-mandate-2012/15"
    assert carers.provisions[0].id == "draft-mandate-2012/objective/15"
    assert carers.provisions[0].kind == "objective"


def test_every_answer_quotes_something_or_refuses(assistant):
    """An answer is a lead line and cited quotes, or a refusal: never a lead line alone.
    Checked on the development questions about the Constitution (a PDF whose provisions are
    often list items)."""
    import json

    from assistant.evaluate.sets import EVAL_DIR

    rows = [json.loads(line) for line in
            (EVAL_DIR / "dev-constitution.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    for row in rows:
        answer = assistant.ask(row["question"])
        assert answer.refused or answer.citations, row["question"]
        assert not grounding_problems(answer, assistant.index), row["question"]


@pytest.mark.parametrize("question, item", [
    # the item is the first sentence of a passage whose heading is the lead-in
    ("Whose recommendations do NHS screening programmes follow?",
     "to provide screening programmes as recommended by the UK National Screening Committee"),
    # the item is a passage of its own, after other items of the same list
    ("What does the NHS do with information collected while I'm being treated?",
     "to anonymise the information collected during the course of your treatment"),
])
def test_a_list_item_is_quoted_after_its_lead_in(assistant, question, item):
    answer = assistant.ask(question)
    assert not answer.refused
    lines = answer.answer.split("\n")
    at = next(i for i, line in enumerate(lines) if item in line)
    assert lines[at].startswith("- ")
    assert re.match(r"The NHS also commits: \[\d+\]$", lines[at - 1])
    assert sum("The NHS also commits:" in c.quote for c in answer.citations) == 1
    assert grounding_problems(answer, assistant.index) == []


def test_a_sentence_holding_the_questions_rare_words_is_quoted(assistant):
    """Its meaning as a whole is far from the question (cosine below the quoting floor),
    but it holds "chief executive" and "NHS Confederation", and the name asked for."""
    from assistant.search.sentences import question_words, word_share

    query = assistant.query("Who is the chief executive of the NHS Confederation?")
    asked = question_words(assistant.index, query.words)
    assert asked["confeder"] > 3 * asked["nhs"]  # a rare word outweighs a common one
    assert word_share(asked, "NHS Confederation chief executive Mike Farrar said") == 1.0
    assert word_share(asked, "The NHS is a national service") < 0.2
    answer = assistant.ask("Who is the chief executive of the NHS Confederation?")
    assert "Mike Farrar" in answer.answer
    assert grounding_problems(answer, assistant.index) == []


@pytest.mark.parametrize("question, fact, rest", [
    # the next sentence refers back to the one chosen and states the number asked for
    ("How many people are expected to have a long-term condition by 2025/30?",
     "This will increase to around 18 million by 2025/30.", "Today there are over 15 million"),
    # a dateline just before the sentence chosen states the date asked for
    ("On what date was the Government's first mandate for the NHS published?",
     "13 November 2012", "The Government has published its first mandate to the NHS"),
])
def test_a_fact_question_brings_the_neighbour_that_states_the_fact(assistant, question,
                                                                    fact, rest):
    answer = assistant.ask(question)
    quote = next(c.quote for c in answer.citations if fact in c.quote)
    assert rest in quote
    assert not any(line.startswith("- ") for line in answer.answer.split("\n"))
    assert grounding_problems(answer, assistant.index) == []


def test_a_line_ending_in_a_year_does_not_open_a_list():
    from assistant.answer.form import opens_list

    assert not opens_list("13 November 2012")
    assert opens_list("The NHS also commits:")
    assert opens_list("the four tests that there is")
    # a name in capitals on a line of its own (a cover's trust name) leads into nothing
    assert not opens_list("Riverside and Vale Hospitals NHS Foundation Trust")
    assert opens_list("Riverside and Vale Hospitals NHS Foundation Trust:")
    # a table's row, which has no full stop, is followed by rows, not by its items
    assert not opens_list("Ratified by | Infection Prevention and Control Committee")
    assert not opens_list("Approved by: Drugs and Therapeutics Committee")


def test_a_quote_names_what_it_prints_that_reads_like_a_slip(assistant):
    """The draft mandate prints "england" in lower case and leaves "X%" for figures; the
    quote stays verbatim and its citation names both, so a reader sees they are the
    document's."""
    from assistant.answer.printed import as_printed

    answer = assistant.ask("What is the ambition for patient safety in the draft mandate?")
    flagged = [c for c in answer.citations if "X%" in c.quote]
    assert flagged, [c.quote for c in answer.citations]
    assert flagged[0].as_printed[:2] == ["england", "X%"]
    assert all(c.as_printed == as_printed(c.quote) for c in answer.citations)
    # names written as English writes them, and an X that is no figure, are not flagged
    assert as_printed("Hospitals in England open in May; an X-ray of Box X.") == []
    assert as_printed("saving X life years from april") == ["X", "april"]


@pytest.mark.parametrize(("question", "lead", "n"), [
    ("What are the NHS values?", "The 6 values of the NHS Constitution (2015):", 6),
    ("What rights do NHS staff have?", "The 7 rights of the NHS Constitution (2015):", 7),
])
def test_a_list_of_provisions_says_what_it_lists_and_opens_with_its_lead_in(
        assistant, question, lead, n):
    """A listing names its kind, count and document (not "The documents say:"), and a list
    whose items follow a lead-in ("The rights are there to help ensure that staff:")
    opens with it rather than with a lower-case item."""
    answer = assistant.ask(question)
    assert answer.lead == lead and len(answer.citations) == n
    assert answer.citations[0].quote[:1].isupper()
