"""Evaluation metrics as pure functions.

Relevance is in the standard shape: `relevant` is the set of passage ids that support a
question. A system returns a ranked list of retrieved units; each unit is the set of
passage ids it covers (a single id for the project's own passages; possibly several, or
none, for a baseline whose chunks do not line up with passages).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Ranked = Sequence[set[str]]


def recall_at_k(ranked: Ranked, relevant: set[str], k: int) -> float:
    """Return the fraction of the relevant passages covered by the top k units."""
    if not relevant:
        return 0.0
    found = set().union(*ranked[:k]) if ranked[:k] else set()
    return len(found & relevant) / len(relevant)


def hit_at_k(ranked: Ranked, relevant: set[str], k: int) -> float:
    """Return 1.0 if any of the top k units covers a relevant passage, else 0.0."""
    return 1.0 if any(unit & relevant for unit in ranked[:k]) else 0.0


def mrr_at_k(ranked: Ranked, relevant: set[str], k: int = 10) -> float:
    """Return 1/rank of the first unit covering a relevant passage (0 if none in the top k)."""
    for rank, unit in enumerate(ranked[:k], start=1):
        if unit & relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Ranked, relevant: set[str], k: int = 10) -> float:
    """Return binary nDCG@k; a unit gains only for relevant passages not seen before it."""
    if not relevant:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for rank, unit in enumerate(ranked[:k], start=1):
        new = (unit & relevant) - seen
        if new:
            dcg += 1.0 / math.log2(rank + 1)
            seen |= new
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


def top_k_accuracy(ranked_ids: Sequence[str], expected: set[str], k: int) -> float:
    """Return 1.0 if any expected id is among the first k ranked ids, else 0.0."""
    return 1.0 if set(ranked_ids[:k]) & expected else 0.0


def refusal_scores(predicted: Sequence[bool], expected: Sequence[bool]) -> dict[str, float]:
    """Return refusal precision, recall and the false-refusal rate (refused but answerable)."""
    tp = sum(p and e for p, e in zip(predicted, expected, strict=True))
    fp = sum(p and not e for p, e in zip(predicted, expected, strict=True))
    fn = sum(e and not p for p, e in zip(predicted, expected, strict=True))
    answerable = sum(not e for e in expected)
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "false_refusal_rate": fp / answerable if answerable else 0.0,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
