"""The evaluation: retrieval, objective mapping, answers and grounding on eval/questions.jsonl,
with the bars CI must meet, and (optionally) retrieval baselines in the same table."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant import metrics as M
from assistant.config import PROJECT_ROOT, Settings
from assistant.errors import AssistantError
from assistant.index import IndexData

logger = logging.getLogger(__name__)

EVAL_DIR = PROJECT_ROOT / "eval"
QUESTIONS = EVAL_DIR / "questions.jsonl"
# (metric, comparison, target, CI gate). The target is the bar the evaluation is meant to
# meet; CI fails below the gate. All targets are met, so each gate is its target (a gate
# below its target would only be needed to hold a level not yet reached).
BARS = [
    ("grounding", ">=", 1.0, 1.0),
    ("objective_top1", ">=", 0.90, 0.90),
    ("objective_top3", ">=", 0.97, 0.97),
    ("recall@5", ">=", 0.90, 0.90),
    ("refusal_recall", ">=", 0.90, 0.90),
    ("false_refusal_rate", "<=", 0.05, 0.05),
    # answer checks (assistant.answer_checks) on the dev questions and conversations
    ("opens_cleanly", ">=", 1.0, 1.0),
    ("no_duplicate_sources", ">=", 1.0, 1.0),
    ("lists_complete", ">=", 1.0, 1.0),
    ("followups_map", ">=", 0.9, 0.9),
]

# Paraphrase sets written blind, from the documents alone, by someone who saw neither the
# system nor questions.jsonl: they show how objective mapping does on questions it was not
# developed on. Reported next to the gated figures, never gated and never tuned on.
HELDOUT = [
    ("heldout.jsonl", "written blind; its misses were read while the glossary was written"),
    ("heldout2.jsonl", "written blind after the objective mapping was frozen"),
]


@dataclass
class EvalItem:
    id: str
    type: str
    question: str
    expected_objectives: list[str] = field(default_factory=list)
    expected_question: int | None = None
    relevant: list[dict] = field(default_factory=list)
    must_contain: list[str] = field(default_factory=list)
    expect_refusal: bool = False
    paraphrase: bool = False


def load_items(path: Path = QUESTIONS) -> list[EvalItem]:
    """Return the evaluation items of a JSONL file (raises AssistantError if malformed)."""
    items, seen = [], set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = EvalItem(**json.loads(line))
        except (ValueError, TypeError) as exc:
            raise AssistantError(f"{path.name} line {n} is not a valid item ({exc}).") from exc
        if item.id in seen:
            raise AssistantError(f"{path.name} line {n}: duplicate id {item.id!r}.")
        seen.add(item.id)
        items.append(item)
    return items


def _norm(text: str) -> str:
    return " ".join(text.split())


def resolve(locator: dict, index: IndexData) -> set[str]:
    """Return the ids of the passages a relevance locator points at (doc + paragraph label,
    or doc + a verbatim snippet). Raises AssistantError if it points at nothing."""
    doc_id = locator["doc_id"]
    if "paragraph" in locator:
        found = {p.id for p in index.passages
                 if p.doc_id == doc_id and p.paragraph == locator["paragraph"]}
    else:
        snippet = _norm(locator["contains"])
        found = {p.id for p in index.passages if p.doc_id == doc_id and snippet in _norm(p.text)}
    if not found:
        raise AssistantError(f"Evaluation locator {locator} matches no passage.")
    return found


def grounding_problems(answer, index: IndexData) -> list[str]:
    """Return why an answer is not grounded (empty when every quote is verbatim in its
    document at the cited paragraph and page, and every answer sentence is a cited quote)."""
    from assistant.answer import split_answer

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


def _forget_questions(assistant) -> None:
    """Empty the model's memo of question vectors, so latencies include embedding."""
    memo = getattr(assistant.embedder, "_cached", None)
    if memo is not None and hasattr(memo, "cache_clear"):
        memo.cache_clear()


def heldout_scores(assistant, sets=HELDOUT, folder: Path = EVAL_DIR) -> list[dict]:
    """Objective top-1 and top-3, and the share of questions refused although answerable,
    on each held-out paraphrase set that exists."""
    rows = []
    for name, note in sets:
        path = folder / name
        if not path.exists():
            continue
        items = [it for it in load_items(path) if it.expected_objectives]
        top1, top3, misses, refused = [], [], [], []
        for it in items:
            for locator in it.relevant:
                resolve(locator, assistant.index)  # a locator that points nowhere is an error
            ranked_ids = [m.id for m in assistant.objectives(it.question, k=3)]
            expected = set(it.expected_objectives)
            top1.append(M.top_k_accuracy(ranked_ids, expected, 1))
            top3.append(M.top_k_accuracy(ranked_ids, expected, 3))
            if not top1[-1]:
                misses.append({"id": it.id, "objectives": ranked_ids})
            refused.append(float(assistant.ask(it.question).refused))
        rows.append({"set": name, "note": note, "questions": len(items),
                     "objective_top1": M.mean(top1), "objective_top3": M.mean(top3),
                     "false_refusal_rate": M.mean(refused), "misses": misses})
    return rows


def evaluate(assistant, items: list[EvalItem], baselines: bool = False) -> dict:
    """Run every item through the assistant; return the report (metrics, per-item rows)."""
    from assistant import baselines as B

    index = assistant.index
    relevant = {it.id: set().union(*(resolve(loc, index) for loc in it.relevant))
                for it in items if it.relevant}
    systems = {"pipeline (hybrid)": B.pipeline(assistant.retriever)}
    if baselines:
        systems["BM25 only"] = B.bm25_only(assistant.retriever)
        systems["dense only"] = B.dense_only(assistant.retriever)
        t = time.perf_counter()
        search, n_chunks = B.llama_index_default(index, assistant.embedder)
        logger.info("llama-index default index: %d chunks in %.1fs", n_chunks,
                    time.perf_counter() - t)
        systems[f"llama-index default ({n_chunks} chunks)"] = search

    retrieval = {}
    for name, search in systems.items():
        rows, lat = [], []
        for it in items:
            if it.id not in relevant:
                continue
            _forget_questions(assistant)
            t = time.perf_counter()
            ranked = search(it.question, 10)
            lat.append((time.perf_counter() - t) * 1000)
            rel = relevant[it.id]
            rows.append({"recall@1": M.recall_at_k(ranked, rel, 1),
                         "recall@5": M.recall_at_k(ranked, rel, 5),
                         "hit@1": M.hit_at_k(ranked, rel, 1),
                         "hit@5": M.hit_at_k(ranked, rel, 5),
                         "mrr@10": M.mrr_at_k(ranked, rel, 10),
                         "ndcg@10": M.ndcg_at_k(ranked, rel, 10)})
        retrieval[name] = {key: M.mean([r[key] for r in rows]) for key in rows[0]}
        retrieval[name]["p50_ms"] = M.percentile(lat, 50)
        retrieval[name]["p95_ms"] = M.percentile(lat, 95)

    per_item, latencies = [], []
    top1, top3, top1_para, phrase_ok, grounded = [], [], [], [], []
    refused_pred, refused_exp = [], []
    for it in items:
        _forget_questions(assistant)  # each question pays for its embedding, as a user's does
        answer = assistant.ask(it.question)
        latencies.append(answer.timings_ms["total"])
        problems = grounding_problems(answer, index)
        grounded.append(not problems)
        row = {"id": it.id, "type": it.type, "refused": answer.refused,
               "expect_refusal": it.expect_refusal, "grounding_problems": problems}
        if it.type == "objective" and it.expected_objectives:
            ranked_ids = [m.id for m in assistant.objectives(it.question, k=5)]
            expected = set(it.expected_objectives)
            top1.append(M.top_k_accuracy(ranked_ids, expected, 1))
            top3.append(M.top_k_accuracy(ranked_ids, expected, 3))
            if it.paraphrase:
                top1_para.append(top1[-1])
            row["objectives"] = ranked_ids[:3]
        if it.must_contain:
            ok = not answer.refused and all(ph in answer.answer for ph in it.must_contain)
            phrase_ok.append(float(ok))
            row["phrase_present"] = ok
        refused_pred.append(answer.refused)
        refused_exp.append(it.expect_refusal)
        per_item.append(row)
    refusal = M.refusal_scores(refused_pred, refused_exp)
    pipeline_retrieval = retrieval["pipeline (hybrid)"]
    summary = {
        "grounding": M.mean([float(g) for g in grounded]),
        "objective_top1": M.mean(top1),
        "objective_top3": M.mean(top3),
        "objective_top1_paraphrase": M.mean(top1_para),
        "recall@1": pipeline_retrieval["recall@1"],
        "recall@5": pipeline_retrieval["recall@5"],
        "hit@1": pipeline_retrieval["hit@1"],
        "hit@5": pipeline_retrieval["hit@5"],
        "mrr@10": pipeline_retrieval["mrr@10"],
        "ndcg@10": pipeline_retrieval["ndcg@10"],
        "phrase_present": M.mean(phrase_ok),
        "refusal_precision": refusal["precision"],
        "refusal_recall": refusal["recall"],
        "false_refusal_rate": refusal["false_refusal_rate"],
        "ask_p50_ms": M.percentile(latencies, 50),
        "ask_p95_ms": M.percentile(latencies, 95),
    }
    counts = {t: sum(it.type == t for it in items) for t in sorted({it.type for it in items})}
    return {"summary": summary, "retrieval": retrieval, "items": per_item, "counts": counts,
            "bars": [{"metric": m, "op": op, "target": t, "gate": g} for m, op, t, g in BARS]}


CALIBRATION = EVAL_DIR / "calibration.jsonl"


def calibrate(assistant, path: Path = CALIBRATION, max_false_refusals: float = 0.05) -> dict:
    """Choose the refusal threshold on the calibration questions (not the evaluation set).

    For each question, the evidence is the best sentence similarity the answer step sees;
    off-topic questions that name an unknown specific are refused whatever the threshold.
    The threshold is the largest value that refuses at most `max_false_refusals` of the
    on-topic questions: the most off-topic questions refused at that cost.
    """
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    on, off = [], []
    for row in rows:
        evidence = assistant.evidence(row["question"])
        (on if row["on_topic"] else off).append(evidence)
    on_best = sorted(b for b, _ in on)
    allowed = int(max_false_refusals * len(on_best))
    threshold = on_best[allowed] if allowed < len(on_best) else on_best[-1]
    caught = sum(1 for b, missing in off if missing or b < threshold)
    return {"threshold": round(float(threshold), 3), "on_topic": len(on), "off_topic": len(off),
            "false_refusals": sum(b < threshold for b in on_best),
            "off_topic_refused": caught,
            "on_topic_evidence": [round(b, 3) for b in on_best],
            "off_topic_evidence": sorted(round(b, 3) for b, m in off if not m),
            "off_topic_by_specifics": sum(1 for _, m in off if m)}


def failed_bars(report: dict, targets: bool = False) -> list[str]:
    """Return a sentence for each CI gate (or, with targets=True, each target) not met."""
    out = []
    for m, op, target, gate in BARS:
        bar = target if targets else gate
        value = report["summary"].get(m)
        if value is not None and not (value >= bar if op == ">=" else value <= bar):
            out.append(f"{m} = {value:.3f}, {'target' if targets else 'gate'} {op} {bar}")
    return out


def render_markdown(report: dict) -> str:
    s = report["summary"]
    lines = ["# Evaluation report", "",
             f"Questions: {sum(report['counts'].values())} "
             f"({', '.join(f'{k} {v}' for k, v in report['counts'].items())}).", "",
             "## Pipeline", "", "| metric | value | target | CI gate |", "|---|---|---|---|"]
    bars = {m: (op, t, g) for m, op, t, g in BARS}
    for key, value in s.items():
        shown = f"{value:.1f}" if key.endswith("_ms") else f"{value:.3f}"
        if key in bars:
            op, t, g = bars[key]
            met = value >= t if op == ">=" else value <= t
            lines.append(f"| {key} | {shown} | {op} {t} {'met' if met else '**not met**'} "
                         f"| {op} {g} |")
        else:
            lines.append(f"| {key} | {shown} | | |")
    lines += ["", "## Retrieval, pipeline and baselines (same questions, same model)", "",
              "| system | recall@1 | recall@5 | hit@1 | hit@5 | MRR@10 | nDCG@10 | p50 ms |"
              " p95 ms |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in report["retrieval"].items():
        lines.append(f"| {name} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | {r['hit@1']:.3f} "
                     f"| {r['hit@5']:.3f} | {r['mrr@10']:.3f} | {r['ndcg@10']:.3f} "
                     f"| {r['p50_ms']:.1f} | {r['p95_ms']:.1f} |")
    lines += ["", "recall@k: share of a question's relevant passages in the top k, averaged; "
              "hit@k: share of questions with at least one relevant passage in the top k.", ""]
    if report.get("heldout"):
        lines += ["## Held-out paraphrases (objective mapping; reported, not gated)", "",
                  "| set | questions | objective top-1 | objective top-3 | refused | "
                  "how it was written |", "|---|---|---|---|---|---|"]
        lines += [f"| {h['set']} | {h['questions']} | {h['objective_top1']:.3f} "
                  f"| {h['objective_top3']:.3f} | {h['false_refusal_rate']:.3f} | {h['note']} |"
                  for h in report["heldout"]]
        lines.append("")
    failures = failed_bars(report)
    missed = failed_bars(report, targets=True)
    lines.append("**CI gate: " + ("passed" if not failures else
                                  "FAILED: " + "; ".join(failures)) + "**")
    lines.append("")
    lines.append("**Targets: " + ("all met" if not missed else
                                  "not yet met: " + "; ".join(missed)) + "**")
    bad = [r for r in report["items"] if r["grounding_problems"]]
    if bad:
        lines += ["", "## Grounding failures", ""]
        lines += [f"- {r['id']}: {'; '.join(r['grounding_problems'])}" for r in bad]
    wrong = [r for r in report["items"] if r["refused"] != r["expect_refusal"]]
    if wrong:
        lines += ["", "## Refusal mistakes", ""]
        lines += [f"- {r['id']}: refused={r['refused']}" for r in wrong]
    return "\n".join(lines) + "\n"


def render_chart(report: dict, path: Path) -> None:
    """Bar chart of retrieval metrics per system, and the pipeline's gated metrics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["recall@1", "recall@5", "hit@5", "mrr@10", "ndcg@10"]
    systems = list(report["retrieval"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / max(len(systems), 1)
    for i, name in enumerate(systems):
        xs = [j + i * width for j in range(len(keys))]
        ax1.bar(xs, [report["retrieval"][name][k] for k in keys], width, label=name)
    ax1.set_xticks([j + width * (len(systems) - 1) / 2 for j in range(len(keys))], keys)
    ax1.set_ylim(0, 1.05)
    ax1.set_title("Retrieval: pipeline vs baselines")
    ax1.legend(fontsize=8, loc="lower right")
    gated = [m for m, *_ in BARS]
    s = report["summary"]
    ax2.bar(gated, [s[m] for m in gated], color="#005eb8")
    ax2.scatter(gated, [t for _, _, t, _ in BARS], color="#da291c", marker="_", s=600, zorder=3,
                label="target")
    ax2.scatter(gated, [g for *_, g in BARS], color="#7c2855", marker="_", s=300, zorder=3,
                label="CI gate")
    ax2.set_ylim(0, 1.05)
    ax2.set_title("Pipeline metrics against their bars")
    ax2.tick_params(axis="x", rotation=35, labelsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_cli(settings: Settings, baselines: bool = False, out_dir: Path | None = None,
            questions: Path = QUESTIONS, calibrate_only: bool = False,
            targets: bool = False) -> int:
    """Evaluate, print the table, write report.md/.json/.png; return 1 below the bars."""
    from assistant.answer import Assistant
    from assistant.answer_checks import answer_summary
    from assistant.confidence import calibrate_falls_under

    if calibrate_only:
        assistant = Assistant(settings)
        result = calibrate(assistant)
        result["falls_under"] = calibrate_falls_under(assistant)
        print(json.dumps(result, indent=1))
        return 0

    out_dir = out_dir or EVAL_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    items = load_items(questions)
    assistant = Assistant(settings)
    t = time.perf_counter()
    report = evaluate(assistant, items, baselines=baselines)
    if questions == QUESTIONS:
        report["heldout"] = heldout_scores(assistant)
        shares, report["answer_check_failures"] = answer_summary(assistant)
        report["summary"].update(shares)
    report["seconds"] = round(time.perf_counter() - t, 1)
    report["settings"] = {"k": settings.k, "refusal_threshold": settings.refusal_threshold}
    text = render_markdown(report)
    (out_dir / "report.md").write_text(text, encoding="utf-8")
    (out_dir / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    render_chart(report, out_dir / "report.png")
    print(re.sub(r"\n## Grounding failures.*", "", text, flags=re.S))
    failures = failed_bars(report, targets=targets)
    if failures:
        print("FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0
