"""How sure the objective mapping must be before an answer says a question "falls under" an
objective (below it, the objective is only "related").

The threshold is chosen on the dev questions: the objective questions of
eval/questions.jsonl (their expected objectives say whether the best match is right) and
the off-topic questions of eval/questions.jsonl and eval/calibration.jsonl (no objective is
right for them). It is the lowest mapping score at which the best matches scoring at least
that much are right at least `precision` of the time.
"""

from __future__ import annotations

import json
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"


def dev_cases(folder: Path = EVAL_DIR) -> list[tuple[str, set[str] | None]]:
    """(question, the objective ids that are right for it) for every dev question that
    says; an empty set means no objective is right (an off-topic question)."""
    cases: list[tuple[str, set[str] | None]] = []
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        if d.get("expect_refusal"):
            cases.append((d["question"], set()))
        elif d.get("type") == "objective" and d.get("expected_objectives"):
            cases.append((d["question"], set(d["expected_objectives"])))
    for line in (folder / "calibration.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and not json.loads(line).get("on_topic", True):
            cases.append((json.loads(line)["question"], set()))
    return cases


def choose_threshold(scored: list[tuple[float, bool]], precision: float = 0.9) -> float:
    """The lowest score s such that the best matches scoring >= s are right at least
    `precision` of the time (1.0 when no score qualifies)."""
    best = 1.0
    for s, _ in sorted(scored, key=lambda x: x[0]):
        above = [right for score, right in scored if score >= s]
        if above and sum(above) / len(above) >= precision:
            return s
    return best


def calibrate_falls_under(assistant, precision: float = 0.875, k: int = 3,
                          folder: Path = EVAL_DIR) -> dict:
    """The falls-under threshold on the dev questions, with what it gives there: each of a
    question's k best matches (as an answer shows them) is right or wrong."""
    scored, best_right = [], []
    for question, right in dev_cases(folder):
        ranked = assistant.objectives(question, k=k)
        scored += [(m.score, m.id in right) for m in ranked]
        if right and ranked:
            best_right.append((ranked[0].score, ranked[0].id in right))
    t = choose_threshold(scored, precision)
    above = [r for s, r in scored if s >= t]
    return {"threshold": round(t, 3), "matches": len(scored),
            "precision": round(sum(above) / len(above), 3) if above else 0.0,
            "objective_questions_shown_as_falls_under":
                round(sum(s >= t and r for s, r in best_right) / len(best_right), 3)
                if best_right else 0.0}
