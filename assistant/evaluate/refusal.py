"""Fit the refusal decision (`answer.judge`) on the calibration and dev-refusal questions:
`assistant eval --calibrate`.

Each question gives what the judge sees when it is asked: the best cosine of the question
(or one of its sentences) and a sentence of the retrieved passages, whether it asks how to
do something or where to go, and whether it asks about the present. A logistic regression
of "answerable" on those three fits how much each kind of question must make up in
similarity; its weights, divided by the similarity's, are the judge's penalties in cosine
units. The threshold on the evidence (similarity less penalties) is then the largest that
refuses at most `max_false_refusals` of the answerable questions. Questions that name an
objective (never refused) or an unknown specific (always refused) do not take part.

The same fit, made k times on all but one fold of the questions and applied to that fold,
says how the decision does on questions it was not fitted on (`cross_validate`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answer.judge import penalised
from assistant.evaluate.sets import EVAL_DIR, load_items

CALIBRATION = EVAL_DIR / "calibration.jsonl"
DEV_REFUSAL = EVAL_DIR / "dev-refusal.jsonl"
FEATURES = ("best", "how_to", "now")


@dataclass(frozen=True)
class Case:
    """One question as the judge sees it."""

    question: str
    answerable: bool
    best: float
    how_to: bool
    now: bool
    decided: bool  # refused or answered whatever the threshold (unknown specifics, named)

    def row(self) -> list[float]:
        return [self.best, float(self.how_to), float(self.now)]


@dataclass(frozen=True)
class Decision:
    """The fitted refusal settings (`Settings.refusal_*`)."""

    threshold: float
    how_to_penalty: float
    now_penalty: float

    def evidence(self, c: Case) -> float:
        return penalised(c.best, c.how_to, c.now, self.how_to_penalty, self.now_penalty)

    def refuses(self, c: Case) -> bool:
        return self.evidence(c) < self.threshold


def questions(paths: tuple[Path, ...] = (CALIBRATION, DEV_REFUSAL)) -> list[tuple[str, bool]]:
    """(question, answerable) from the calibration file's lines ({"question", "on_topic"})
    and evaluation items (answerable unless `expect_refusal`)."""
    out: list[tuple[str, bool]] = []
    for path in paths:
        first = next((ln for ln in path.read_text("utf-8").splitlines() if ln.strip()), "{}")
        if "on_topic" in json.loads(first):
            for line in path.read_text("utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    out.append((row["question"], bool(row["on_topic"])))
        else:
            out += [(it.question, not it.expect_refusal) for it in load_items(path)
                    if not it.history]
    return out


def observe(assistant, question: str, answerable: bool) -> Case:
    """What the judge sees for one question, found as `Assistant.ask` finds it."""
    query = assistant.query(question)
    evidence = assistant.finder.find(query, assistant.settings.k)
    best, missing = assistant.judge.weigh_evidence(query, evidence)
    cues = query.intent.cues
    return Case(question, answerable, best, "how_to" in cues, "now" in cues,
                decided=bool(missing) or bool(evidence.named))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 50
                 ) -> np.ndarray:
    """Weights (intercept first) of a logistic regression of y on x, by Newton's method
    with a small ridge penalty (the intercept unpenalised)."""
    a = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(a.shape[1])
    ridge = l2 * np.eye(a.shape[1])
    ridge[0, 0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -30, 30)))
        grad = a.T @ (p - y) + ridge @ w
        hess = (a * (p * (1 - p))[:, None]).T @ a + ridge
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(w)), grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit(cases: list[Case], max_false_refusals: float = 0.05) -> Decision:
    """The decision fitted on the cases the threshold decides."""
    open_ = [c for c in cases if not c.decided]
    x = np.array([c.row() for c in open_], dtype=float)
    y = np.array([c.answerable for c in open_], dtype=float)
    w = fit_logistic(x, y)
    if w[1] <= 0:
        raise ValueError("the fitted weight of the similarity is not positive")
    # a kind of question is never favoured: a negative penalty would answer it on less
    how_to, now = (max(0.0, -w[i] / w[1]) for i in (2, 3))
    partial = Decision(0.0, how_to, now)
    answerable = sorted(partial.evidence(c) for c in open_ if c.answerable)
    allowed = int(max_false_refusals * len(answerable))
    threshold = answerable[min(allowed, len(answerable) - 1)]
    return Decision(float(threshold), how_to, now)


def rates(decision: Decision, cases: list[Case]) -> dict:
    """Off-topic questions refused and answerable ones refused, among the cases the
    threshold decides."""
    open_ = [c for c in cases if not c.decided]
    off = [decision.refuses(c) for c in open_ if not c.answerable]
    on = [decision.refuses(c) for c in open_ if c.answerable]
    return {"off_topic_refused": round(float(np.mean(off)), 3) if off else None,
            "answerable_refused": round(float(np.mean(on)), 3) if on else None,
            "off_topic": len(off), "answerable": len(on)}


def cross_validate(cases: list[Case], folds: int = 5, max_false_refusals: float = 0.05
                   ) -> dict:
    """Each fold refused by the decision fitted on the others (folds dealt in turn within
    the answerable and the off-topic questions, so each holds its share of both)."""
    fold_of: dict[int, int] = {}
    for label in (True, False):
        for i, j in enumerate(j for j, c in enumerate(cases) if c.answerable == label):
            fold_of[j] = i % folds
    refused: dict[int, bool] = {}
    for f in range(folds):
        train = [c for j, c in enumerate(cases) if fold_of[j] != f]
        decision = fit(train, max_false_refusals)
        for j, c in enumerate(cases):
            if fold_of[j] == f and not c.decided:
                refused[j] = decision.refuses(c)
    off = [r for j, r in refused.items() if not cases[j].answerable]
    on = [r for j, r in refused.items() if cases[j].answerable]
    return {"folds": folds, "off_topic_refused": round(float(np.mean(off)), 3),
            "answerable_refused": round(float(np.mean(on)), 3)}


def calibrate(assistant, paths: tuple[Path, ...] = (CALIBRATION, DEV_REFUSAL),
              max_false_refusals: float = 0.05) -> dict:
    """The fitted settings, what they give on the questions fitted, and cross-validated."""
    cases = [observe(assistant, q, a) for q, a in questions(paths)]
    decision = fit(cases, max_false_refusals)
    return {"refusal_threshold": round(decision.threshold, 3),
            "refusal_how_to_penalty": round(decision.how_to_penalty, 3),
            "refusal_now_penalty": round(decision.now_penalty, 3),
            "questions": len(cases),
            "decided_by_specifics_or_a_named_objective": sum(c.decided for c in cases),
            "fitted": rates(decision, cases),
            "cross_validated": cross_validate(cases, max_false_refusals=max_false_refusals),
            "files": [p.name for p in paths]}
