"""Evaluation metrics on hand-computed cases, and the evaluation data's own integrity."""

from __future__ import annotations

import math

import pytest

from assistant.evaluate import metrics as M
from assistant.evaluate.run import grounding_problems
from assistant.evaluate.sets import EVAL_DIR, Locator, load_items

# ranked units: the 1st covers nothing relevant, the 2nd covers "a", the 4th covers "b" and
# "x"; relevant = {a, b, c}
RANKED = [{"x"}, {"a"}, {"y"}, {"b", "x"}, {"z"}]
RELEVANT = {"a", "b", "c"}


def test_recall_at_k_by_hand():
    assert M.recall_at_k(RANKED, RELEVANT, 1) == 0.0
    assert M.recall_at_k(RANKED, RELEVANT, 2) == pytest.approx(1 / 3)
    assert M.recall_at_k(RANKED, RELEVANT, 5) == pytest.approx(2 / 3)
    assert M.recall_at_k([], RELEVANT, 5) == 0.0


def test_hit_at_k_by_hand():
    assert M.hit_at_k(RANKED, RELEVANT, 1) == 0.0
    assert M.hit_at_k(RANKED, RELEVANT, 2) == 1.0


def test_mrr_by_hand():
    assert M.mrr_at_k(RANKED, RELEVANT, 10) == pytest.approx(0.5)
    assert M.mrr_at_k(RANKED, RELEVANT, 1) == 0.0
    assert M.mrr_at_k([{"q"}], RELEVANT) == 0.0


def test_ndcg_by_hand():
    # gains at ranks 2 and 4; ideal has 3 relevant at ranks 1..3
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert M.ndcg_at_k(RANKED, RELEVANT, 10) == pytest.approx(dcg / ideal)
    # a unit that repeats an already-counted passage gains nothing
    assert M.ndcg_at_k([{"a"}, {"a"}], {"a"}, 10) == pytest.approx(1.0)


def test_top_k_accuracy_by_hand():
    ranked = ["o/3", "o/15", "o/2"]
    assert M.top_k_accuracy(ranked, {"o/15"}, 1) == 0.0
    assert M.top_k_accuracy(ranked, {"o/15"}, 3) == 1.0


def test_refusal_scores_by_hand():
    predicted = [True, True, False, False, True]
    expected = [True, False, True, False, True]
    scores = M.refusal_scores(predicted, expected)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["false_refusal_rate"] == pytest.approx(1 / 2)


def test_percentile_by_hand():
    assert M.percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert M.percentile([10, 20], 95) == pytest.approx(19.5)
    assert M.percentile([], 50) == 0.0


def test_ranx_figures_agree_with_the_hand_computed_ones():
    scores = M.ranx_scores({"q": RANKED}, {"q": RELEVANT})["q"]
    assert scores["ndcg@10"] == pytest.approx(M.ndcg_at_k(RANKED, RELEVANT, 10))
    assert scores["mrr@10"] == pytest.approx(0.5)
    assert scores["recall@5"] == pytest.approx(2 / 3)
    assert scores["recall@1"] == 0.0 and scores["hit@5"] == 1.0
    # a question with nothing retrieved scores zero, not an error
    assert M.ranx_scores({}, {"q": {"a"}})["q"]["ndcg@10"] == 0.0


def test_a_long_unit_counts_once_per_relevant_passage_it_first_covers():
    # one chunk covering both relevant passages is one relevant item at rank 1
    scores = M.ranx_scores({"q": [{"a", "b", "x"}, {"a"}]}, {"q": {"a", "b"}})["q"]
    assert scores["mrr@10"] == 1.0 and scores["recall@5"] == 1.0


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    values = [1.0] * 80 + [0.0] * 20
    est = M.estimate(values)
    assert est["n"] == 100 and est["value"] == pytest.approx(0.8)
    assert 0.70 < est["low"] < 0.8 < est["high"] < 0.90
    assert M.estimate(values) == est  # fixed seed
    assert M.estimate([1.0, 1.0])["low"] == 1.0
    assert M.estimate([])["n"] == 0


def test_paired_difference_uses_shared_questions_only():
    now = {f"q{i}": 1.0 for i in range(30)}
    before = {f"q{i}": 0.0 for i in range(30)} | {"gone": 1.0}
    d = M.paired_difference(now, before)
    assert d["n"] == 30 and d["diff"] == 1.0 and d["significant"]
    same = M.paired_difference(now, now)
    assert same["diff"] == 0.0 and not same["significant"]
    assert M.paired_difference({"a": 1.0}, {"b": 1.0}) is None


def test_evaluation_set_covers_what_it_must(index):
    items = load_items(EVAL_DIR / "questions.jsonl")
    by_type = {t: [it for it in items if it.type == t] for t in {it.type for it in items}}
    assert len(by_type["offtopic"]) >= 15
    assert all(it.expect_refusal for it in by_type["offtopic"])
    assert len([it for it in by_type["fact"] if it.must_contain]) >= 30
    asked = {p["number"] for it in by_type["consultation"] for p in it.provisions
             if p["kind"] == "consultation_question"}
    assert asked == {str(n) for n in range(1, 13)}
    for objective in index.objectives:
        about = [it for it in by_type["objective"]
                 if any(p["doc_id"] == objective.doc_id and p["number"] == objective.number
                        for p in it.provisions)]
        assert len(about) >= 2, f"{objective.id} has fewer than two questions"
    locator = Locator(index)
    for it in items:  # every locator points at a passage; every phrase is in a document
        found, missing = locator.relevant(it)
        assert not missing, (it.id, missing)
        for phrase in it.must_contain:
            assert any(phrase in d.text for d in index.documents.values()), (it.id, phrase)


def test_grounding_check_catches_a_changed_quote(assistant):
    answer = assistant.ask("How many extra health visitors should there be by 2015?")
    assert grounding_problems(answer, assistant.index) == []
    tampered = answer.model_copy(deep=True)
    tampered.citations[0].quote = tampered.citations[0].quote.replace("4,200", "5,200")
    assert grounding_problems(tampered, assistant.index)
    unmarked = answer.model_copy(deep=True)
    unmarked.answer = unmarked.answer + " The NHS will also build ten new hospitals."
    assert any("without a citation" in p for p in grounding_problems(unmarked, assistant.index))
