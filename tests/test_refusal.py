"""The refusal decision: the kinds of question that need more evidence, the specifics the
documents hold under another form, and the calibration that fits the decision."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answer.judge import Judge, known_name
from assistant.answer.query import intent_of
from assistant.evaluate.refusal import Case, cross_validate, fit, fit_logistic, questions
from assistant.evaluate.sets import question_key, registered_sets
from assistant.text import acronyms, vocabulary


@pytest.mark.parametrize("question,how_to,now", [
    ("How do I register with a dentist?", True, False),
    ("Can you tell me how I apply for a Blue Badge?", True, False),
    ("Where's the nearest walk-in centre?", True, False),
    ("What time does the pharmacy open?", True, False),
    ("How many nurses does the NHS employ today?", False, True),
    ("What is the prescription charge at the moment?", False, True),
    ("How can the NHS help carers?", False, False),
    ("How does the mandate treat mental health?", False, False),
    ("Which objective covers carers?", False, False),
    ("Does the current mandate mention dementia?", False, False),
])
def test_how_to_and_present_questions_are_read_from_their_wording(question, how_to, now):
    cues = intent_of(question).cues
    assert ("how_to" in cues, "now" in cues) == (how_to, now)


def _verdict(assistant, question, judge=None):
    query = assistant.query(question)
    return (judge or assistant.judge).judge(query, assistant.finder.find(query, 5))


@pytest.mark.parametrize("question", [
    "How do I get a repeat prescription through the NHS App?",
    "How many nurses does the NHS employ today?",
])
def test_a_how_to_or_present_question_needs_more_evidence(assistant, question):
    """Both meet general sentences of the documents closely enough to pass on similarity
    alone; the penalty for their kind refuses them."""
    s = assistant.settings
    assert s.refusal_how_to_penalty > 0 and s.refusal_now_penalty > 0
    verdict = _verdict(assistant, question)
    cues = intent_of(question).cues
    assert verdict.evidence == pytest.approx(
        verdict.best - s.refusal_how_to_penalty * ("how_to" in cues)
        - s.refusal_now_penalty * ("now" in cues))
    assert verdict.refused and not verdict.missing
    similarity_only = Judge(assistant.index, s.refusal_threshold)
    assert not _verdict(assistant, question, similarity_only).refused


@pytest.mark.parametrize("question", [
    "How do I get my medical records corrected if something in them is wrong?",
    "How many people become carers every year these days?",
])
def test_a_how_to_or_present_question_the_documents_answer_is_answered(assistant, question):
    answer = assistant.ask(question)
    assert not answer.refused and answer.citations


def test_a_name_is_known_by_its_words_or_the_initials_the_documents_write(index):
    texts = [d.text for d in index.documents.values()]
    vocab, capitals = vocabulary(texts), acronyms(texts)
    assert "EU" in capitals and "NHS" in capitals
    assert known_name(("european", "union"), vocab, capitals)  # the documents write "EU"
    assert known_name(("make", "every", "contact", "count'"), vocab, capitals)  # a quote mark
    assert not known_name(("leeds", "general", "infirmary"), vocab, capitals)
    assert not known_name(("royal", "derby", "hospital"), vocab, capitals)


def test_a_question_naming_a_known_thing_under_another_form_is_answered(assistant):
    verdict = _verdict(assistant, "Was the NHS asked to get ready for the UK leaving the "
                                  "European Union?")
    assert not verdict.missing and not verdict.refused


def test_a_question_naming_an_unknown_hospital_is_still_refused(assistant):
    verdict = _verdict(assistant, "How do I get referred to the physiotherapy department "
                                  "at Southmead Hospital?")
    assert verdict.missing == ("Southmead Hospital",) and verdict.refused


def test_logistic_regression_recovers_the_direction_that_separates_two_classes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x @ np.array([3.0, -1.5]) + 0.5 + rng.logistic(size=400) > 0).astype(float)
    w = fit_logistic(x, y)
    assert w[1] > 0 > w[2]
    assert w[2] / w[1] == pytest.approx(-0.5, abs=0.15)


def test_the_fit_gives_penalties_in_similarity_units_and_keeps_to_the_budget():
    rng = np.random.default_rng(1)
    cases = []
    for i in range(300):
        answerable, how_to = bool(i % 2), i % 3 == 0
        best = rng.normal(0.6 if answerable else 0.35, 0.08) + (0.15 if how_to else 0.0)
        cases.append(Case(f"q{i}", answerable, float(best), how_to, False, False))
    decision = fit(cases, max_false_refusals=0.05)
    assert 0.08 < decision.how_to_penalty < 0.25 and decision.now_penalty == 0.0
    refused = [decision.refuses(c) for c in cases if c.answerable]
    assert sum(refused) <= 0.05 * len(refused)
    cv = cross_validate(cases, folds=5)
    assert cv["off_topic_refused"] > 0.8 and cv["answerable_refused"] < 0.12


def test_the_fitting_questions_are_the_calibration_and_dev_refusal_sets_never_a_test():
    fitted = {question_key(q) for q, _ in questions()}
    assert len(fitted) >= 150
    for s in registered_sets(roles=("test",)):
        assert not fitted & {question_key(it.question) for it in s.items()}, s.name


def test_the_shipped_settings_are_what_the_calibration_fits(assistant):
    """`assistant eval --calibrate` prints the settings; config.py holds them. Retrieval or
    model changes move them: re-run the calibration and copy its values."""
    from assistant.evaluate.refusal import calibrate

    result = calibrate(assistant)
    s = assistant.settings
    assert result["refusal_threshold"] == pytest.approx(s.refusal_threshold, abs=0.01)
    assert result["refusal_how_to_penalty"] == pytest.approx(s.refusal_how_to_penalty, abs=0.02)
    assert result["refusal_now_penalty"] == pytest.approx(s.refusal_now_penalty, abs=0.02)
    assert result["cross_validated"]["answerable_refused"] <= 0.10
    assert result["cross_validated"]["off_topic_refused"] >= 0.80


def test_the_build_stores_what_the_documents_write_and_the_judge_reads_it(index):
    """The lexicon is written with the build (a scan of every document takes seconds at a
    million passages) and equals what a scan of the loaded documents gives."""
    from assistant.text import lexicon

    assert (index.path / "lexicon.json").exists()
    assert index.lexicon == lexicon(index.documents.values())
    judge = Judge(index, 0.4)
    assert "EU" in judge._capitals and "carers" in judge._vocab
    index_without = type(index)(**{**index.__dict__, "lexicon": None})
    assert Judge(index_without, 0.4)._vocab == judge._vocab
