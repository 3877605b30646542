"""Evaluation metrics on hand-computed cases, and the evaluation data's own integrity."""

from __future__ import annotations

import math

import pytest

from assistant import metrics as M
from assistant.evaluation import (
    QUESTIONS,
    failed_bars,
    grounding_problems,
    load_items,
    resolve,
)

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


def test_failed_bars_reports_each_missed_gate():
    summary = {"grounding": 0.99, "objective_top1": 0.95, "objective_top3": 0.99,
               "recall@5": 0.95, "refusal_recall": 0.95, "false_refusal_rate": 0.10}
    failures = failed_bars({"summary": summary})
    assert any(f.startswith("grounding") for f in failures)
    assert any(f.startswith("false_refusal_rate") for f in failures)
    assert len(failures) == 2


def test_evaluation_set_covers_what_it_must(index):
    items = load_items(QUESTIONS)
    by_type = {t: [it for it in items if it.type == t] for t in {it.type for it in items}}
    assert len(by_type["offtopic"]) >= 15
    assert all(it.expect_refusal for it in by_type["offtopic"])
    assert len([it for it in by_type["factual"] if it.must_contain]) >= 30
    assert {it.expected_question for it in by_type["consultation"]} == set(range(1, 13))
    for objective in index.objectives:
        asked = [it for it in by_type["objective"] if objective.id in it.expected_objectives]
        assert len(asked) >= 2, f"{objective.id} has fewer than two questions"
        assert any(it.paraphrase for it in asked), f"{objective.id} has no paraphrase"
    for it in items:  # every locator points at a passage; every phrase is in a document
        for locator in it.relevant:
            assert resolve(locator, index)
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
