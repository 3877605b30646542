"""The plain-English glossary: how phrases match, that the shipped glossary is well formed,
and that it moves everyday questions onto the objective they are about."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from assistant.answer.glossary import GLOSSARY_PATH, SOURCES, Entry, Glossary, default_glossary
from assistant.answer.query import QueryReader
from assistant.errors import AssistantError

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


def test_the_shipped_glossary_is_well_formed_and_says_where_each_entry_came_from(index):
    rows = json.loads(GLOSSARY_PATH.read_text(encoding="utf-8"))
    assert len(rows) >= 30
    texts = {d.doc_id: _alnum(d.text) for d in index.documents.values()}
    seen = {}
    for row in rows:
        assert set(row) == {"term", "source", "documents", "plain"}, row
        assert row["source"] == "document term" and row["documents"], row
        # the term is the documents' own wording: each part occurs in a listed document
        # (a part found only in a document this corpus lacks cannot be checked here)
        shipped = [d for d in row["documents"] if d in texts]
        unshipped = len(shipped) < len(row["documents"])
        for part in row["term"].split(", "):
            assert unshipped or any(_alnum(part) in texts[d] for d in shipped), (row, part)
        assert not shipped or any(_alnum(part) in texts[d]
                                  for part in row["term"].split(", ") for d in shipped), row
        assert set(row["plain"]) <= set(SOURCES), row["plain"].keys()
        for phrase in (p for phrases in row["plain"].values() for p in phrases):
            assert phrase == phrase.strip().lower(), phrase
            same = phrase.replace("-", " ")  # hyphens match as spaces
            assert same not in seen, f"{phrase!r} is listed under {seen.get(same)!r} too"
            seen[same] = row["term"]
    assert len(default_glossary().entries) == len(rows)
    assert all(len(e.sources) == len(e.plain) for e in default_glossary().entries)


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def test_an_unreadable_glossary_is_one_clear_error(tmp_path):
    bad = tmp_path / "glossary.json"
    bad.write_text('[{"term": "carers"}]', encoding="utf-8")
    with pytest.raises(AssistantError, match="glossary .* cannot be read"):
        Glossary.load(bad)
    bad.write_text('[{"term": "carers", "plain": {"a question": ["get a break"]}}]', "utf-8")
    with pytest.raises(AssistantError, match="sources must be one of"):
        Glossary.load(bad)


@pytest.mark.parametrize("question, expected", [
    ("Is anything being done about bedsores?", f"{DRAFT}/5"),
    ("Will I be able to book things through an app?", "mandate-2017-19-summary/7"),
    ("Will the NHS do more about people with asthma or epilepsy?", f"{DRAFT}/2"),
])
def test_everyday_wording_reaches_the_objective_only_through_the_glossary(
        assistant, index, question, expected):
    plain = QueryReader(assistant.embedder, Glossary([]), assistant.settings,
                        assistant.doc_ids)
    assert assistant.mapper.rank(assistant.query(question), 1)[0][0].id == expected
    assert assistant.mapper.rank(plain.read(question), 1)[0][0].id != expected


def test_answers_say_how_the_question_was_read(assistant):
    answer = assistant.ask("Is anything being done about bedsores?")
    assert answer.read_as == ["patient safety, avoidable harm"]
    assert assistant.ask("What is the NHS Constitution?").read_as == []


def test_glossary_terms_never_count_as_evidence_against_refusal(assistant, monkeypatch):
    question = "How do I reset the password on my banking app?"
    own, _ = assistant.evidence(question)
    # a glossary that reads "password" as the carers objective's own words: the mapping's
    # lexical match follows it, but the evidence stays the question's own similarity
    def carers_score() -> float:
        ranked = assistant.mapper.rank(assistant.query(question), len(assistant.index.objectives))
        return next(s for o, s in ranked if o.id == f"{DRAFT}/15")

    before = carers_score()
    fitted = Glossary([Entry("Improve the support that carers receive from the NHS",
                             ("password",))])
    monkeypatch.setattr(assistant.reader, "glossary", fitted)
    assert carers_score() > before
    evidence, _ = assistant.evidence(question)
    assert evidence < assistant.settings.refusal_threshold
    # the evidence is the question's own cosine with the sentences retrieved (the glossary
    # may change which passages those are, never what counts as similar)
    ix, query = assistant.index, assistant.query(question)
    rows = [ix.by_id[h.passage.id] for h in assistant.retriever.search(query, assistant.settings.k)]
    sentences = np.concatenate([ix.sentence_vectors[ix.sentence_offsets[r]:
                                                    ix.sentence_offsets[r + 1]] for r in rows])
    assert evidence == pytest.approx(float((sentences.astype(np.float32) @ query.vector).max()),
                                     abs=1e-3)
    assert own < assistant.settings.refusal_threshold
    assert assistant.ask(question).refused
