"""The evaluation sets: dev and test kept apart, test sets well formed and verbatim, the
glossary not written from them, and gates derived honestly from measured figures."""

from __future__ import annotations

import json

import pytest

from assistant.answer.glossary import Entry, Glossary, default_glossary
from assistant.config import PROJECT_ROOT
from assistant.errors import AssistantError
from assistant.evaluate import gates as G
from assistant.evaluate.run import evaluate
from assistant.evaluate.sets import (
    EVAL_DIR,
    TYPES,
    EvalSet,
    Locator,
    load_items,
    normalise,
    question_key,
    registered_sets,
)

TEST_SETS = registered_sets(roles=("test",))
MANIFEST = json.loads((PROJECT_ROOT / "corpus" / "manifest.json").read_text())
SOURCE_TEXT = {d["id"]: normalise((PROJECT_ROOT / "corpus" / d["file"]).read_text("utf-8"))
               for d in MANIFEST["documents"] if d["file"].endswith((".txt", ".md"))}


def _questions(role: str) -> set[str]:
    keys = set()
    for s in registered_sets(roles=(role,)):
        for line in s.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                keys.add(question_key(json.loads(line)["question"]))
    return keys


def test_there_are_frozen_test_sets_and_every_registered_file_has_a_role():
    assert TEST_SETS, "no test set in eval/sets.json"
    rows = json.loads((EVAL_DIR / "sets.json").read_text())
    assert {r["role"] for r in rows} <= {"dev", "test", "calibration"}
    assert len({r["name"] for r in rows}) == len(rows)


def test_calibration_and_dev_questions_are_never_test_questions():
    test = _questions("test")
    assert test
    assert not test & _questions("calibration")
    assert not test & _questions("dev")


@pytest.mark.parametrize("evalset", TEST_SETS, ids=lambda s: s.name)
def test_a_general_glossary_meets_few_test_questions(evalset):
    """A glossary written from the test questions would meet most of them."""
    phrases = [p for e in default_glossary().entries for p in e.plain
               if len(p.replace("-", " ").split()) >= 2]
    multi = Glossary([Entry(p, (p,)) for p in phrases])
    items = evalset.items()
    met = [it.id for it in items if multi.terms(it.question)]
    assert len(met) <= 0.10 * len(items), met


@pytest.mark.parametrize("evalset", TEST_SETS, ids=lambda s: s.name)
def test_test_items_follow_the_schema_and_quote_the_documents_verbatim(evalset):
    items = evalset.items()
    assert {it.type for it in items} <= set(TYPES)
    for it in items:
        assert bool(it.history) == (it.type == "followup"), it.id
        assert it.expect_refusal == (it.type == "offtopic"), it.id
        assert (it.doc_id is None) == it.expect_refusal, it.id
        assert it.evidence or it.expect_refusal, it.id
        if it.type in ("fact", "list"):
            assert 1 <= len(it.must_contain) <= 3, it.id
        snippets = [e["contains"] for e in it.evidence] + it.must_contain + \
            [p["contains"] for p in it.provisions if p.get("contains")]
        for p in it.provisions:
            assert p["number"] is not None or p.get("contains"), it.id
        for snippet in snippets:
            text = SOURCE_TEXT.get(it.doc_id or "")
            if text is not None:  # a document shipped as text: the snippet is verbatim
                assert normalise(snippet) in text, (it.id, snippet)


def test_snippets_are_found_whatever_the_layout(index):
    locator = Locator(index)
    doc = index.documents["draft-mandate-2012"]
    passage = next(p for p in index.passages if p.paragraph == "Objective 15")
    words = passage.text.split()[2:12]
    messy = "\n".join(" ".join(words).upper().split(" ", 3))  # case and line breaks changed
    assert locator.passages({"doc_id": doc.doc_id, "contains": messy}) == {passage.id}
    assert locator.passages({"doc_id": doc.doc_id, "contains": "no such words at all"}) == set()
    # a snippet that runs across two passages points at both
    i = index.passages.index(passage)
    nxt = index.passages[i + 1]
    across = " ".join(passage.text.split()[-3:] + nxt.text.split()[:3])
    if normalise(across) in normalise(doc.text):
        assert locator.passages({"doc_id": doc.doc_id, "contains": across}) >= {
            passage.id, nxt.id}


def test_an_item_in_neither_format_is_one_clear_error(tmp_path):
    bad = tmp_path / "set.jsonl"
    bad.write_text('{"id": "x", "type": "riddle", "question": "?"}\n', encoding="utf-8")
    with pytest.raises(AssistantError, match="line 1 is not a valid item"):
        load_items(bad)


def _report(value: float, low: float, high: float, n: int = 50, digest: str = "abc") -> dict:
    est = {"value": value, "low": low, "high": high, "n": n}
    return {"sets": [{"name": "t", "role": "test", "hash": digest,
                      "summary": {"objective_top1": est, "false_refusal_rate": est}}]}


def test_gates_are_the_measured_figure_less_its_interval():
    gates = G.derive_gates(_report(0.80, 0.70, 0.89))
    by_metric = {g["metric"]: g for g in gates["gates"]}
    assert by_metric["objective_top1"]["gate"] == 0.70
    assert by_metric["false_refusal_rate"]["gate"] == 0.89  # lower is better: upper end
    assert all(g["gate"] <= g["measured"] for g in gates["gates"] if g["op"] == ">=")
    assert G.check_gates(_report(0.80, 0.70, 0.89), gates) == ([], [])
    # a drop larger than the interval fails; one inside it does not
    assert G.check_gates(_report(0.72, 0.6, 0.8), gates)[0] == []
    failures, _ = G.check_gates(_report(0.69, 0.6, 0.8), gates)
    assert any("objective_top1 = 0.690, gate >= 0.700" in f for f in failures)
    # an edited test set fails whatever its figures
    failures, _ = G.check_gates(_report(0.80, 0.70, 0.89, digest="edited"), gates)
    assert any("never edited" in f for f in failures)
    assert G.check_gates(_report(0.8, 0.7, 0.89), None)[0]


def test_grounding_is_gated_at_its_promise_not_its_interval():
    """Every quote verbatim and cited is a promise: one ungrounded answer in 50 fails."""
    report = _report(0.80, 0.70, 0.89)
    report["sets"][0]["summary"]["grounding"] = {"value": 1.0, "low": 1.0, "high": 1.0, "n": 5}
    gates = G.derive_gates(report)
    [g] = [g for g in gates["gates"] if g["metric"] == "grounding"]
    assert g["gate"] == 1.0  # even on fewer than MIN_N questions
    report["sets"][0]["summary"]["grounding"] = {"value": 0.98, "low": 0.94, "high": 1.0,
                                                 "n": 50}
    failures, _ = G.check_gates(report, gates)
    assert any("grounding = 0.980" in f for f in failures)


def test_a_small_set_is_scored_with_intervals_and_misses(assistant, tmp_path):
    rows = [
        {"id": "a", "type": "objective", "question": "Is there anything about respite?",
         "history": [], "doc_id": "draft-mandate-2012",
         "expected_provisions": [{"doc_id": "draft-mandate-2012", "kind": "objective",
                                  "number": "15", "contains": None}],
         "evidence": [{"doc_id": "draft-mandate-2012",
                       "contains": "Improve the support that carers receive"}],
         "must_contain": [], "expect_refusal": False},
        {"id": "b", "type": "offtopic", "question": "How do I renew my passport?",
         "history": [], "doc_id": None, "expected_provisions": [], "evidence": [],
         "must_contain": [], "expect_refusal": True},
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    report = evaluate(assistant, [EvalSet("t", path, "test")], baselines=False)
    [s] = report["sets"]
    assert s["scored"] == 2 and len(s["hash"]) == 12
    assert s["summary"]["objective_top1"] == {"value": 1.0, "low": 1.0, "high": 1.0, "n": 1}
    assert s["summary"]["refusal_recall"]["value"] == 1.0
    assert s["summary"]["hit@5"]["n"] == 1
    line = G.append_history(report, tmp_path / "history.jsonl")
    assert line["sets"] == {"t": s["hash"]}
    assert json.loads((tmp_path / "history.jsonl").read_text())["figures"]["t"]


def test_the_shipped_gates_are_honest_and_name_the_frozen_sets():
    gates = G.load_gates()
    assert gates and gates["gates"]
    hashes = {s.name: s.hash for s in TEST_SETS}
    assert gates["sets"] == hashes  # every test set gated, none edited since
    for g in gates["gates"]:
        if g["metric"] in G.HARD:
            assert g["gate"] == G.HARD[g["metric"]] == g["measured"]
            continue
        assert g["n"] >= G.MIN_N
        assert g["gate"] <= g["measured"] if g["op"] == ">=" else g["gate"] >= g["measured"]


def test_a_test_set_figure_without_a_gate_asks_for_gates_to_be_re_derived():
    report = _report(0.8, 0.7, 0.89)
    gates = G.derive_gates(report)
    gates["gates"] = [g for g in gates["gates"] if g["metric"] != "objective_top1"]
    failures, notes = G.check_gates(report, gates)
    assert not failures and any("objective_top1" in n and "--set-gates" in n for n in notes)
