"""The plain-English glossary: how phrases match, that the shipped glossary is well formed,
and that it moves everyday questions onto the objective they are about."""

from __future__ import annotations

import json

import pytest

from assistant.errors import AssistantError
from assistant.evaluation import heldout_scores
from assistant.glossary import GLOSSARY_PATH, Entry, Glossary, default_glossary
from assistant.objectives import ObjectiveMapper

DRAFT = "draft-mandate-2012"


@pytest.fixture(scope="module")
def small():
    return Glossary([Entry("carers", ("looking after", "get a break")),
                     Entry("reconfiguration", ("closed", "shut down"))])


def test_a_phrase_matches_whole_stemmed_words_in_order(small):
    assert small.terms("Who helps people LOOKING AFTER a parent?") == ["carers"]
    assert small.terms("I look after my dad") == ["carers"]  # stems: look, after
    assert small.terms("After looking at it") == []  # words out of order
    assert small.terms("The ward is closely watched") == []  # not the word "closed"
    assert small.terms("Can the unit be shut-down?") == ["reconfiguration"]


def test_expand_appends_the_policy_terms_once_each(small):
    question = "Can I get a break from looking after mum if her ward closed?"
    assert small.expand(question) == f"{question} (carers; reconfiguration)"
    assert small.expand("What is the NHS Constitution?") == "What is the NHS Constitution?"


def test_the_shipped_glossary_is_well_formed():
    rows = json.loads(GLOSSARY_PATH.read_text(encoding="utf-8"))
    assert len(rows) >= 30
    seen = {}
    for row in rows:
        assert set(row) == {"term", "plain"} and row["term"].strip() and row["plain"], row
        for phrase in row["plain"]:
            assert phrase == phrase.strip().lower(), phrase
            same = phrase.replace("-", " ")  # hyphens match as spaces
            assert same not in seen, f"{phrase!r} is listed under {seen.get(same)!r} too"
            seen[same] = row["term"]
    assert len(default_glossary().entries) == len(rows)


def test_an_unreadable_glossary_is_one_clear_error(tmp_path):
    bad = tmp_path / "glossary.json"
    bad.write_text('[{"term": "carers"}]', encoding="utf-8")
    with pytest.raises(AssistantError, match="glossary .* cannot be read"):
        Glossary.load(bad)


@pytest.mark.parametrize("question, number", [
    ("Who makes sure the GP-led groups that buy local care are ready to start?", "18"),
    ("Is the NHS meant to cut waste and save money while keeping care good?", "22"),
    ("Can the local A&E be closed without any checks?", "20"),
])
def test_everyday_wording_reaches_the_objective_only_through_the_glossary(
        assistant, index, question, number):
    plain = ObjectiveMapper(index, assistant.embedder, Glossary([]))
    expected = f"{DRAFT}/{number}"
    assert assistant.mapper.rank(question, 1)[0][0].id == expected
    assert plain.rank(question, 1)[0][0].id != expected


def test_answers_say_how_the_question_was_read(assistant):
    answer = assistant.ask("Is the NHS meant to cut waste and save money?")
    assert answer.read_as == ["efficiency savings (QIPP), productivity, value for money"]
    assert assistant.ask("What is the NHS Constitution?").read_as == []


def test_heldout_scores_count_top1_and_top3(assistant, tmp_path):
    rows = [
        {"id": "h1", "type": "objective", "question": "Help for people who look after a relative",
         "expected_objectives": [f"{DRAFT}/15"],
         "relevant": [{"doc_id": DRAFT, "paragraph": "Objective 15"}]},
        {"id": "h2", "type": "objective", "question": "Help for people who look after a relative",
         "expected_objectives": [f"{DRAFT}/1"],
         "relevant": [{"doc_id": DRAFT, "paragraph": "Objective 1"}]},
    ]
    (tmp_path / "set.jsonl").write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    [result] = heldout_scores(assistant, [("set.jsonl", "test")], tmp_path)
    assert result["questions"] == 2
    assert result["objective_top1"] == 0.5
    assert result["false_refusal_rate"] == 0.0  # both are answered
    assert [m["id"] for m in result["misses"]] == ["h2"]
    assert result["misses"][0]["objectives"][0] == f"{DRAFT}/15"


def test_everyday_wording_counts_as_evidence_against_refusal(assistant, monkeypatch):
    question = "Can I see my medical notes on my phone?"
    with_glossary, _ = assistant.evidence(question)
    answer = assistant.ask(question)
    assert not answer.refused and "mandate-2017-19-summary" in {
        c.doc_id for c in answer.citations}
    monkeypatch.setattr(assistant.mapper, "glossary", Glossary([]))
    without, _ = assistant.evidence(question)
    assert without < assistant.settings.refusal_threshold <= with_glossary
    assert assistant.ask(question).refused
