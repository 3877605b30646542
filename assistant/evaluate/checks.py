"""Checks of what an answer reads like, as pure functions of the answer (and the index):
the fact phrase is there, it opens cleanly, no source is cited twice, a list asked for is
complete, and a follow-up maps where its conversation implies.

`check_answers(assistant)` runs them on the dev questions (eval/questions.jsonl, and
eval/followups.jsonl: conversations whose last question leans on the turns before it, and
questions that ask for a list) and returns the shares for the report.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from assistant.answer.form import leans_back, split_answer
from assistant.types import Answer

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"
FOLLOWUPS = EVAL_DIR / "followups.jsonl"
_MARKER = re.compile(r"\s*\[\d+\]")


def phrase_present(answer: Answer, phrases: list[str]) -> bool:
    """True when the answer is given and holds every phrase (the fact asked for)."""
    return not answer.refused and all(ph in answer.answer for ph in phrases)


def opens_cleanly(answer: Answer) -> bool:
    """True when the answer opens with a capital (or a digit or quotation mark) and its
    first quoted sentence does not refer back to something not quoted ("This", "It")."""
    text = answer.answer.lstrip()
    if not text or not (text[0].isupper() or text[0].isdigit() or text[0] in "\"\u201c'"):
        return False
    if answer.refused:
        return True
    segments = split_answer(answer.answer)
    return bool(segments) and not leans_back(segments[0][0])


def duplicate_sources(answer: Answer) -> list[str]:
    """The quotes an answer cites more than once (the same words, or overlapping text of
    one passage); empty when none is repeated."""
    out = []
    cited = list(answer.citations)
    for i, c in enumerate(cited):
        for d in cited[:i]:
            same_text = c.quote.strip() == d.quote.strip()
            overlap = (c.doc_id == d.doc_id and c.start < d.end and d.start < c.end)
            if same_text or overlap:
                out.append(f"[{c.marker}] repeats [{d.marker}]")
    return out


def lists_every_item(answer: Answer, items: list[str]) -> bool:
    """True when every item of the list asked for is quoted in the answer (its markers
    aside)."""
    said = " ".join(_MARKER.sub(" ", answer.answer).split())
    return not answer.refused and all(" ".join(it.split()) in said for it in items)


def follow_up_maps(answer: Answer, expected: list[str], k: int = 1) -> bool:
    """True when one of the answer's first k objectives is one the conversation implies."""
    return any(m.id in expected for m in answer.objectives[:k])


def load_followups(path: Path = FOLLOWUPS) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _share(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def check_answers(assistant, questions: list[dict] | None = None,
                  followups: list[dict] | None = None) -> dict:
    """The shares of dev answers passing each check, and the ids of those that fail.

    `questions` are dicts with "id", "question" and optional "must_contain" (default: the
    lines of eval/questions.jsonl); a question listing the consultation's questions must
    quote them all."""
    if questions is None:
        questions = [json.loads(line) for line in
                     (EVAL_DIR / "questions.jsonl").read_text(encoding="utf-8").splitlines()
                     if line.strip()]
    followups = load_followups() if followups is None else followups
    results: dict[str, list[bool]] = {"phrase_present": [], "opens_cleanly": [],
                                      "no_duplicate_sources": [], "lists_complete": [],
                                      "followups_map": []}
    failures: dict[str, list[str]] = {name: [] for name in results}

    def record(name: str, ok: bool, qid: str) -> None:
        results[name].append(ok)
        if not ok:
            failures[name].append(qid)

    all_questions = [q.text for q in assistant.index.questions]
    for item in questions:
        answer = assistant.ask(item["question"])
        qid = item.get("id", item["question"])
        if item.get("must_contain"):
            record("phrase_present", phrase_present(answer, item["must_contain"]), qid)
        record("opens_cleanly", opens_cleanly(answer), qid)
        record("no_duplicate_sources", not duplicate_sources(answer), qid)
        if item.get("expect_list") == "consultation_questions":
            record("lists_complete", lists_every_item(answer, all_questions), qid)
    for item in followups:
        answer = assistant.ask(item["question"], history=item.get("history"))
        qid = item.get("id", item["question"])
        if item.get("history") and item.get("expected_objectives"):
            record("followups_map", follow_up_maps(answer, item["expected_objectives"]), qid)
        record("opens_cleanly", opens_cleanly(answer), qid)
        record("no_duplicate_sources", not duplicate_sources(answer), qid)
        if item.get("expect_list") == "consultation_questions":
            record("lists_complete", lists_every_item(answer, all_questions), qid)
    return {"shares": {name: _share(v) for name, v in results.items()},
            "counts": {name: len(v) for name, v in results.items()},
            "failures": {name: f for name, f in failures.items() if f}}


# Bars for the dev conversations of eval/followups.jsonl (a regression check on dev
# questions, beside the gates on the frozen test sets).
DEV_BARS = {"opens_cleanly": 1.0, "no_duplicate_sources": 1.0, "lists_complete": 1.0,
            "followups_map": 0.9}


def failed_answer_checks(result: dict) -> list[str]:
    """The dev answer checks below their bars, one line each (empty when all hold)."""
    out = []
    for name, bar in DEV_BARS.items():
        share = result["shares"].get(name)
        if share is not None and share < bar:
            failed = ", ".join(result["failures"].get(name, []))
            out.append(f"answer check {name} = {share:.3f} on dev conversations, "
                       f"bar {bar} (failing: {failed})")
    return out
