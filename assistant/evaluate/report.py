"""`assistant eval`: run the sets, write eval/report.md, report.json and report.png, append
to eval/history.jsonl, and check the gates (or derive them with --set-gates)."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from pathlib import Path

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.evaluate import gates as G
from assistant.evaluate.run import HEADLINE, PIPELINE, RETRIEVAL_KEYS, breakdown
from assistant.evaluate.sets import EVAL_DIR, registered_sets

_LABELS = {"objective_top1": "objective top-1", "objective_top3": "objective top-3",
           "provision_top1": "provision top-1", "provision_top3": "provision top-3",
           "objective_top1_no_glossary": "objective top-1 without the glossary",
           "objective_top3_no_glossary": "objective top-3 without the glossary",
           "refusal_recall": "off-topic refused", "false_refusal_rate": "answerable refused",
           "phrase_present": "answer has its phrases"}
_GROUP_COLUMNS = ["hit@5", "ndcg@10", "provision_top1", "objective_top1", "false_refusal_rate",
                  "refusal_recall", "phrase_present", "grounding"]


def fmt(est: dict | None) -> str:
    """"0.862 [0.78, 0.93] n=65", or "-" when no question carries the figure."""
    if not est or not est["n"] or math.isnan(est["value"]):
        return "-"
    return f"{est['value']:.3f} [{est['low']:.2f}, {est['high']:.2f}] n={est['n']}"


def fmt_diff(d: dict | None) -> str:
    if not d:
        return "-"
    mark = " *" if d["significant"] else ""
    return f"{d['diff']:+.3f} [{d['low']:+.2f}, {d['high']:+.2f}]{mark}"


def _set_section(s: dict, gates: dict, previous: dict) -> list[str]:
    lines = [f"## {s['name']} ({s['role']}, `{s['file']}`, sha256 {s['hash']})", "",
             f"{s['note']}. {s['scored']} of {s['questions']} questions scored"
             + (f"; {len(s['skipped'])} skipped because their document is not in the corpus"
                if s["skipped"] else "") + ".", ""]
    prev = previous.get(s["name"], {}).get("diffs", {})
    gate_of = {g["metric"]: g for g in gates.get("gates", []) if g["set"] == s["name"]}
    lines += ["| figure | value [95% interval] n | CI gate | change since last run |",
              "|---|---|---|---|"]
    for metric in [*HEADLINE, "objective_top1_no_glossary", "objective_top3_no_glossary"]:
        if metric not in s["summary"]:
            continue
        g = gate_of.get(metric)
        lines.append(f"| {_LABELS.get(metric, metric)} | {fmt(s['summary'][metric])} "
                     f"| {g['op'] + ' ' + format(g['gate'], '.3f') if g else ''} "
                     f"| {fmt_diff(prev.get(metric))} |")
    lines += ["", f"Answer latency: p50 {s['latency_ms']['p50']:.1f} ms, "
              f"p95 {s['latency_ms']['p95']:.1f} ms.", ""]
    lines += _retrieval_table(s)
    rows = s["items"]
    for title, field in (("question type", "type"), ("document", "docs"),
                         ("provision kind", "kinds")):
        lines += _group_table(f"By {title}", breakdown(rows, field))
    lines += _misses(rows)
    return lines


def _retrieval_table(s: dict) -> list[str]:
    lines = ["### Retrieval: the pipeline and baselines on the same questions", "",
             "| system | " + " | ".join(RETRIEVAL_KEYS) + " | pipeline - this (nDCG@10) |",
             "|---" * (len(RETRIEVAL_KEYS) + 2) + "|"]
    for name, r in s["retrieval"].items():
        diff = r["ndcg@10"].get("pipeline_minus_this") if name != PIPELINE else None
        lines.append(f"| {name} | " + " | ".join(fmt(r[k]) for k in RETRIEVAL_KEYS)
                     + f" | {fmt_diff(diff) if diff else ''} |")
    return lines + [""]


def _group_table(title: str, groups: dict[str, dict]) -> list[str]:
    cols = [c for c in _GROUP_COLUMNS if any(c in g for g in groups.values())]
    lines = [f"### {title}", "", "| group | " + " | ".join(_LABELS.get(c, c) for c in cols)
             + " |", "|---" * (len(cols) + 1) + "|"]
    for key, g in groups.items():
        lines.append(f"| {key} | " + " | ".join(fmt(g.get(c)) for c in cols) + " |")
    return lines + [""]


def _misses(rows: list[dict]) -> list[str]:
    """Every question that missed something, with what came back."""
    out = []
    for r in rows:
        v = r["values"]
        why = [m for m in ("objective_top1", "provision_top1", "hit@5", "phrase_present",
                           "grounding") if v.get(m) == 0.0]
        if v.get("refusal_recall") == 0.0:
            why.append("not refused")
        if v.get("false_refusal_rate") == 1.0:
            why.append("refused")
        if not why:
            continue
        out.append(f"- **{r['id']}** ({r['type']}; missed: {', '.join(why)}): {r['question']}")
        if r["expected_provisions"]:
            out.append(f"  - expected: {'; '.join(r['expected_provisions'])}; "
                       f"got: {'; '.join(r['provisions']) or 'none'}")
        out += [f"  - passage {i}: {p}" for i, p in enumerate(r["top_passages"], start=1)]
        out += [f"  - {p}" for p in r["grounding_problems"] + r.get("notes", [])]
    return ["### Misses", ""] + (out or ["None."]) + [""]


def render_markdown(report: dict, gates: dict, failures: list[str], notes: list[str]) -> str:
    lines = ["# Evaluation report", "",
             f"Run at {report['date']} on {report['git_sha']} in {report['seconds']} s. "
             "Every figure is the mean over its questions with a 95% bootstrap interval "
             "(1,000 resamples of the questions) and n, the number of questions it rests on. "
             "Retrieval metrics are ranx's (nDCG@10, MRR@10, recall@k, hit rate@5) on passage "
             "relevance from verbatim evidence snippets. Provision top-k: an expected "
             "provision is among the first k the assistant ranks of its kind. Differences "
             "are paired (same questions) with a 95% interval; * marks one that excludes 0.",
             "", "| set | role | sha256 | questions scored |", "|---|---|---|---|"]
    lines += [f"| {s['name']} | {s['role']} | {s['hash']} | {s['scored']} of {s['questions']} |"
              for s in report["sets"]]
    lines += ["", "**CI gate (test sets): " + ("passed" if not failures else
                                               "FAILED: " + "; ".join(failures)) + "**", ""]
    lines += [f"Note: {n}" for n in notes]
    missed = G.missed_targets(report)
    lines += ["**Targets on the test sets: " + ("all met" if not missed else
                                                 "not met: " + "; ".join(missed)) + "**", ""]
    for s in report["sets"]:
        lines += _set_section(s, gates or {}, report.get("previous", {}))
    return "\n".join(lines) + "\n"


def render_chart(report: dict, path: Path) -> None:
    """Headline figures of each set with their intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["objective_top1", "objective_top3", "hit@5", "ndcg@10", "refusal_recall",
            "false_refusal_rate", "phrase_present"]
    sets = report["sets"]
    fig, ax = plt.subplots(figsize=(13, 4.5))
    width = 0.8 / max(len(sets), 1)
    for i, s in enumerate(sets):
        xs, ys, lo, hi = [], [], [], []
        for j, k in enumerate(keys):
            est = s["summary"].get(k)
            if est and est["n"]:
                xs.append(j + i * width)
                ys.append(est["value"])
                lo.append(est["value"] - est["low"])
                hi.append(est["high"] - est["value"])
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=f"{s['name']} ({s['role']})")
    ax.set_xticks([j + width * (len(sets) - 1) / 2 for j in range(len(keys))],
                  [_LABELS.get(k, k) for k in keys], fontsize=8)
    ax.set_ylim(0, 1.3)  # room for the legend above the bars
    ax.set_title("Headline figures per set, with 95% bootstrap intervals")
    ax.legend(fontsize=7, loc="upper right", ncols=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_cli(settings: Settings, out_dir: Path | None = None, baselines: bool = True,
            set_gates: bool = False, calibrate_only: bool = False, targets: bool = False,
            names: list[str] | None = None, history: bool = True) -> int:
    """Evaluate, print the summary, write the report; return 1 when a gate fails."""
    from assistant.evaluate.checks import check_answers, failed_answer_checks
    from assistant.evaluate.confidence import calibrate_falls_under
    from assistant.evaluate.run import calibrate, evaluate
    from assistant.pipeline import Assistant

    if calibrate_only:
        assistant = Assistant(settings)
        result = calibrate(assistant)
        result["falls_under"] = calibrate_falls_under(assistant)
        print(json.dumps(result, indent=1))
        return 0
    sets = registered_sets(roles=("dev", "test"))
    if names:
        unknown = set(names) - {s.name for s in sets}
        if unknown:
            raise AssistantError(f"No evaluation set named {', '.join(sorted(unknown))}; "
                                 f"the sets are {', '.join(s.name for s in sets)}.")
        sets = [s for s in sets if s.name in names]
    out_dir = out_dir or EVAL_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    previous_path = out_dir / "report.json"
    previous = json.loads(previous_path.read_text()) if previous_path.exists() else None
    assistant = Assistant(settings)
    report = evaluate(assistant, sets, baselines=baselines)
    # the dev conversations and list questions (eval/followups.jsonl) checked on their own
    checks = check_answers(assistant, questions=[])
    report["answer_checks"] = checks
    report.update(date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  git_sha=G.git_sha(),
                  settings={"k": settings.k, "refusal_threshold": settings.refusal_threshold})
    report["previous"] = G.compare_with_previous(report, previous)
    if set_gates:
        G.write_gates(G.derive_gates(report), out_dir / "gates.json")
    gates_path = out_dir / "gates.json"
    gates = G.load_gates(gates_path if gates_path.exists() else G.GATES_FILE)
    failures, notes = G.check_gates(report, gates)
    failures += failed_answer_checks(checks)
    text = render_markdown(report, gates, failures, notes)
    (out_dir / "report.md").write_text(text, encoding="utf-8")
    (out_dir / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    render_chart(report, out_dir / "report.png")
    if history:
        G.append_history(report, out_dir / "history.jsonl")
    print(summary_text(report, failures, notes))
    if targets:
        failures = failures + G.missed_targets(report)
    if failures:
        print("FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


def summary_text(report: dict, failures: list[str], notes: list[str]) -> str:
    """The terminal summary: headline figures per set, then the gate verdict."""
    lines = []
    for s in report["sets"]:
        lines.append(f"{s['name']} ({s['role']}, sha256 {s['hash']}, "
                     f"{s['scored']}/{s['questions']} scored)")
        lines += [f"  {_LABELS.get(m, m):28} {fmt(s['summary'][m])}"
                  for m in HEADLINE if m in s["summary"]]
    checks = report.get("answer_checks")
    if checks:
        lines.append("dev conversations and lists (eval/followups.jsonl)")
        lines += [f"  {name:28} {share:.3f} (n={checks['counts'][name]})"
                  for name, share in checks["shares"].items() if share is not None]
    lines += [f"note: {n}" for n in notes]
    lines.append("CI gate: " + ("passed" if not failures else "FAILED"))
    return "\n".join(lines)
