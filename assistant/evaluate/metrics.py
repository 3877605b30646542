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


# -- standard retrieval metrics (ranx) and uncertainty ---------------------------------------

RANX_METRICS = {"ndcg@10": "ndcg@10", "mrr@10": "mrr@10", "recall@1": "recall@1",
                "recall@5": "recall@5", "hit@5": "hit_rate@5"}


def ranx_scores(ranked: dict[str, Ranked], relevant: dict[str, set[str]]) -> dict[str, dict]:
    """Per-question nDCG@10, MRR@10, recall@1/5 and hit@5 computed by ranx.

    `ranked[qid]` is a system's ranked units, each the set of passage ids it covers. A unit
    is one retrieved item: it is relevant when it covers a relevant passage that no earlier
    unit covered, and every relevant passage that no unit covers counts as one relevant item
    not retrieved. For a system whose units are passages this is plain passage-level
    evaluation; a system with long chunks is judged per chunk, as its user reads it.
    Returns {qid: {metric: value}} for every qid with relevant passages."""
    import warnings

    from ranx import Qrels, Run, evaluate

    qids = sorted(q for q in relevant if relevant[q])
    if not qids:
        return {}
    qrels_dict, run_dict = {}, {}
    for q in qids:
        seen: set[str] = set()
        judged, scores = {}, {}
        for rank, unit in enumerate(ranked.get(q, []), start=1):
            scores[f"unit {rank}"] = 1.0 / rank
            new = (unit & relevant[q]) - seen
            if new:
                judged[f"unit {rank}"] = 1
                seen |= new
        judged.update({f"missed {p}": 1 for p in sorted(relevant[q] - seen)})
        qrels_dict[q] = judged
        run_dict[q] = scores or {"nothing": 1e-9}  # ranx needs one entry per query
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's cast notices
        values = evaluate(Qrels(qrels_dict), Run(run_dict), list(RANX_METRICS.values()),
                          return_mean=False, make_comparable=True)
    return {q: {name: float(values[metric][i]) for name, metric in RANX_METRICS.items()}
            for i, q in enumerate(qids)}


def bootstrap_ci(values: Sequence[float], resamples: int = 1000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (resampling questions); (nan, nan) if empty."""
    import numpy as np

    xs = np.asarray(values, dtype=float)
    if not len(xs):
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = xs[rng.integers(0, len(xs), size=(resamples, len(xs)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return (float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail)))


def estimate(values: Sequence[float]) -> dict:
    """{"value": mean, "low", "high": its 95% bootstrap interval, "n": questions}."""
    low, high = bootstrap_ci(values)
    return {"value": mean(values), "low": low, "high": high, "n": len(values)}


def paired_difference(a: dict[str, float], b: dict[str, float]) -> dict | None:
    """Mean of a - b over the questions both score, with a 95% bootstrap interval of that
    difference (resampling questions, so each keeps its pair); None if none are shared."""
    shared = sorted(set(a) & set(b))
    if not shared:
        return None
    diffs = [a[q] - b[q] for q in shared]
    low, high = bootstrap_ci(diffs)
    return {"diff": mean(diffs), "low": low, "high": high, "n": len(shared),
            "significant": not (low <= 0.0 <= high)}
