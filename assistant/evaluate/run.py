"""The evaluation: every registered set (see `assistant.evaluate.sets`) run through the assistant,
each question scored on retrieval (ranx: nDCG@10, MRR@10, recall@k), provision mapping,
refusal, the answer's phrases and grounding, and every figure given with its 95% bootstrap
interval and the number of questions it rests on.

Per-question values are kept in the report, so two runs (or the pipeline and a baseline)
can be compared question by question (`assistant.evaluate.metrics.paired_difference`)."""

from __future__ import annotations

import inspect
import logging
import time

from assistant.evaluate import metrics as M
from assistant.evaluate.checks import duplicate_sources, opens_cleanly
from assistant.evaluate.sets import EVAL_DIR, EvalItem, EvalSet, Locator, normalise
from assistant.types import ProvisionKind

logger = logging.getLogger(__name__)

CALIBRATION = EVAL_DIR / "calibration.jsonl"
PIPELINE = "pipeline (hybrid)"
RETRIEVAL_KEYS = list(M.RANX_METRICS)
# every headline figure, and whether higher is better
HEADLINE = {
    "objective_top1": True, "objective_top3": True,
    "provision_top1": True, "provision_top3": True,
    "ndcg@10": True, "mrr@10": True, "recall@1": True, "recall@5": True, "hit@5": True,
    "refusal_recall": True, "false_refusal_rate": False,
    "phrase_present": True, "grounding": True,
    "opens_cleanly": True, "no_duplicate_sources": True,
}


def grounding_problems(answer, index) -> list[str]:
    """Return why an answer is not grounded (empty when every quote is verbatim in its
    document at the cited paragraph and page, and every answer sentence is a cited quote)."""
    from assistant.answer.form import split_answer

    problems = []
    for c in list(answer.citations) + list(answer.closest):
        doc = index.documents.get(c.doc_id)
        if doc is None:
            problems.append(f"[{c.marker}] unknown document {c.doc_id}")
            continue
        if doc.text[c.start:c.end] != c.quote or not c.quote.strip():
            problems.append(f"[{c.marker}] quote is not the document text at its offsets")
        if c.page != doc.page_at(c.start):
            problems.append(f"[{c.marker}] page {c.page} is not the quote's page")
        p = index.passage(c.passage_id) if c.passage_id in index.by_id else None
        if p is None or not (p.start <= c.start and c.end <= p.end):
            problems.append(f"[{c.marker}] quote lies outside the cited passage")
        elif p.paragraph != c.paragraph:
            problems.append(f"[{c.marker}] paragraph {c.paragraph} is not the passage's")
    if not answer.refused:
        quotes = {c.marker: c.quote for c in answer.citations}
        segments = split_answer(answer.answer)
        if not segments:
            problems.append("empty answer")
        for text, marker in segments:
            if marker not in quotes:
                problems.append(f"sentence without a citation: {text[:60]!r}")
            elif not text or text not in quotes[marker]:
                problems.append(f"sentence not covered by quote [{marker}]: {text[:60]!r}")
    return problems


def retrieval_systems(assistant, baselines: bool) -> dict:
    """The pipeline's search, and with `baselines` BM25 alone, dense alone and llama-index's
    defaults, each as search(question, k) -> ranked units (sets of passage ids)."""
    from assistant.evaluate import baselines as B

    systems = {PIPELINE: B.pipeline(assistant)}
    if baselines:
        systems["BM25 only"] = B.bm25_only(assistant.retriever)
        systems["dense only"] = B.dense_only(assistant.retriever)
        t = time.perf_counter()
        search, n_chunks = B.llama_index_default(assistant.index, assistant.embedder)
        logger.info("llama-index default index: %d chunks in %.1fs", n_chunks,
                    time.perf_counter() - t)
        systems[f"llama-index default ({n_chunks} chunks)"] = search
    return systems


def _ask(assistant, item: EvalItem):
    """Ask the item's question, with its earlier turns where the assistant takes them."""
    if item.history and "history" in inspect.signature(assistant.ask).parameters:
        return assistant.ask(item.question, history=[{"question": q} for q in item.history])
    return assistant.ask(item.question)


def ranked_provisions(assistant, item: EvalItem, hits, k: int = 5) -> list[dict]:
    """The provisions the assistant ranks for a question, as {"doc_id", "kind", "number",
    "text"}, best first within each kind: the mapped objectives, the other kinds from its
    `provisions()` (rights, pledges, principles...), and the consultation questions among
    the retrieved passages. Figures are taken per kind, so the order across kinds is moot."""
    out = [{"doc_id": o.doc_id, "kind": "objective", "number": o.number, "text": o.text}
           for o, _ in assistant.mapper.rank(assistant.query(item.question), k)]
    if callable(getattr(assistant, "provisions", None)):
        texts = {p.id: p.text for p in getattr(assistant.index, "provisions", [])}
        out += [{"doc_id": p.doc_id, "kind": p.kind.value, "number": p.number,
                 "text": texts.get(p.id) or p.title}
                for p in assistant.provisions(item.question, k=k)
                if p.kind is not ProvisionKind.OBJECTIVE]
    questions = {q.passage_id: q for q in assistant.index.questions}
    out += [{"doc_id": q.doc_id, "kind": "consultation_question", "number": q.number,
             "text": q.text} for q in (questions.get(h.passage.id) for h in hits) if q]
    return out


def provision_matches(expected: dict, got: dict) -> bool:
    """Same document and kind, and the same printed number (or, for a provision without a
    number, the expected snippet inside its text, compared in normalised form)."""
    if got["doc_id"] != expected["doc_id"] or got["kind"] != expected["kind"]:
        return False
    if expected.get("number") is not None:
        return str(got.get("number")) == str(expected["number"])
    return bool(expected.get("contains")) and \
        normalise(expected["contains"]) in normalise(got.get("text") or "")


def provision_hit(item: EvalItem, ranked: list[dict], n: int, kinds: set[str] | None = None
                  ) -> float | None:
    """1.0 if an expected provision is among the first n ranked provisions of its kind."""
    expected = [p for p in item.provisions if kinds is None or p["kind"] in kinds]
    if not expected:
        return None
    for p in expected:
        of_kind = [r for r in ranked if r["kind"] == p["kind"]][:n]
        if any(provision_matches(p, r) for r in of_kind):
            return 1.0
    return 0.0


def score_item(assistant, item: EvalItem, plain_reader) -> dict:
    """Ask one question and return its row: per-question values and what was returned."""
    answer = _ask(assistant, item)
    hits = assistant.retriever.search(assistant.query(item.question), 10)
    problems = grounding_problems(answer, assistant.index)
    values: dict[str, float] = {"grounding": float(not problems)}
    values["refusal_recall" if item.expect_refusal else "false_refusal_rate"] = \
        float(answer.refused)
    if not answer.refused:
        values["opens_cleanly"] = float(opens_cleanly(answer))
        values["no_duplicate_sources"] = float(not duplicate_sources(answer))
    if item.must_contain:
        text = normalise(answer.answer) if not answer.refused else ""
        values["phrase_present"] = float(all(normalise(ph) in text for ph in item.must_contain))
    ranked = ranked_provisions(assistant, item, hits)
    for n in (1, 3):
        for name, kinds in (("provision", None), ("objective", {"objective"})):
            hit = provision_hit(item, ranked, n, kinds)
            if hit is not None:
                values[f"{name}_top{n}"] = hit
    if "objective_top1" in values:
        plain = [{"doc_id": o.doc_id, "kind": "objective", "number": o.number, "text": o.text}
                 for o, _ in assistant.mapper.rank(plain_reader.read(item.question), 3)]
        values["objective_top1_no_glossary"] = provision_hit(item, plain, 1, {"objective"})
        values["objective_top3_no_glossary"] = provision_hit(item, plain, 3, {"objective"})
    return {"id": item.id, "type": item.type, "question": item.question,
            "docs": sorted(item.docs) or ["(none)"], "kinds": item.kinds or ["(none)"],
            "expect_refusal": item.expect_refusal, "refused": answer.refused,
            "values": values, "grounding_problems": problems,
            "latency_ms": answer.timings_ms.get("total", 0.0),
            "expected_provisions": [f"{p['doc_id']} {p['kind']} {p['number'] or p['contains']}"
                                    for p in item.provisions],
            "provisions": [f"{r['doc_id']} {r['kind']} {r['number']}" for r in ranked[:3]],
            "top_passages": [f"{h.passage.doc_id} {h.passage.paragraph or h.passage.section}: "
                             f"{' '.join(h.passage.text.split())[:90]}" for h in hits[:3]],
            "answer": answer.answer[:300]}


def evaluate_set(assistant, evalset: EvalSet, systems: dict, locator: Locator,
                 plain_reader) -> dict:
    """Score one set; return its report: name, role, hash, summary with intervals,
    retrieval per system (with paired differences from the pipeline) and per-item rows."""
    items = evalset.items()
    scored = [it for it in items if locator.answerable_here(it)]
    skipped = [it.id for it in items if it not in scored]
    located = {it.id: locator.relevant(it) for it in scored if it.evidence}
    relevant = {q: found for q, (found, _) in located.items() if found}
    rows = [score_item(assistant, it, plain_reader) for it in scored]
    by_id = {r["id"]: r for r in rows}
    for q, (_, missing) in located.items():
        # retrieval is scored on the located evidence only; an item with none is not
        # scored on retrieval (its answer still is)
        by_id[q]["notes"] = [f"evidence not in the index: {m['contains'][:70]!r}"
                             for m in missing]
    questions = {it.id: it.question for it in scored if relevant.get(it.id)}
    retrieval = {}
    for name, search in systems.items():
        ranked = {q: search(text, 10) for q, text in questions.items()}
        per_q = M.ranx_scores(ranked, {q: relevant[q] for q in questions})
        retrieval[name] = per_q
        if name == PIPELINE:
            for q, vals in per_q.items():
                by_id[q]["values"].update(vals)
    return {"name": evalset.name, "role": evalset.role, "note": evalset.note,
            "file": evalset.path.name, "hash": evalset.hash, "questions": len(items),
            "scored": len(rows), "skipped": skipped,
            "summary": summarise(rows),
            "retrieval": compare_systems(retrieval),
            "latency_ms": {"p50": M.percentile([r["latency_ms"] for r in rows], 50),
                           "p95": M.percentile([r["latency_ms"] for r in rows], 95)},
            "items": rows}


def values_of(rows: list[dict], metric: str) -> dict[str, float]:
    return {r["id"]: r["values"][metric] for r in rows
            if r["values"].get(metric) is not None}


def summarise(rows: list[dict]) -> dict:
    """Every metric the rows carry: mean, 95% bootstrap interval and n."""
    metrics = sorted({m for r in rows for m in r["values"]})
    return {m: M.estimate(list(values_of(rows, m).values())) for m in metrics}


def compare_systems(per_system: dict[str, dict[str, dict]]) -> dict:
    """Per system: each retrieval metric with its interval, and (for the baselines) the
    paired difference pipeline - baseline on the same questions."""
    out = {}
    base = per_system.get(PIPELINE, {})
    for name, per_q in per_system.items():
        entry = {}
        for key in RETRIEVAL_KEYS:
            vals = {q: v[key] for q, v in per_q.items()}
            entry[key] = M.estimate(list(vals.values()))
            if name != PIPELINE and base:
                entry[key]["pipeline_minus_this"] = M.paired_difference(
                    {q: v[key] for q, v in base.items()}, vals)
        out[name] = entry
    return out


def breakdown(rows: list[dict], field: str) -> dict[str, dict]:
    """The summary of the rows grouped by "type", "docs" or "kinds" (an item counts in
    every group it belongs to)."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        keys = r[field] if isinstance(r[field], list) else [r[field]]
        for key in keys:
            groups.setdefault(key, []).append(r)
    return {key: summarise(group) for key, group in sorted(groups.items())}


def calibrate(assistant, max_false_refusals: float = 0.05) -> dict:
    """Fit the refusal decision on the calibration and dev-refusal questions (never a
    test set): see `assistant.evaluate.refusal`."""
    from assistant.evaluate.refusal import calibrate as fit_refusal

    return fit_refusal(assistant, max_false_refusals=max_false_refusals)


def evaluate(assistant, sets: list[EvalSet], baselines: bool = True) -> dict:
    """Run every set; return the report {"sets": [...], "seconds": ...}."""
    from assistant.answer.glossary import Glossary
    from assistant.answer.query import QueryReader

    t = time.perf_counter()
    locator = Locator(assistant.index)
    # the same questions read without the glossary
    plain_reader = QueryReader(assistant.embedder, Glossary([]), assistant.settings,
                               assistant.doc_ids, assistant.reader.names)
    systems = retrieval_systems(assistant, baselines)
    results = []
    for evalset in sets:
        logger.info("evaluating %s (%s)", evalset.name, evalset.role)
        results.append(evaluate_set(assistant, evalset, systems, locator, plain_reader))
    return {"sets": results, "seconds": round(time.perf_counter() - t, 1)}
