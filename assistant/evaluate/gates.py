"""CI gates on the frozen test sets, derived from measured figures, and the run history.

A gate is today's figure less its interval: the lower end of the 95% bootstrap interval
for a figure where higher is better (the upper end where lower is better), never better
than what was measured. A later change that moves a figure by more than its interval fails.
`eval/gates.json` is written only by `assistant eval --set-gates`, so gates are re-derived
in one step when the corpus or the test sets change (a new document, a merged branch).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
from pathlib import Path

from assistant.config import PROJECT_ROOT
from assistant.errors import AssistantError
from assistant.evaluate.sets import EVAL_DIR

GATES_FILE = EVAL_DIR / "gates.json"
HISTORY_FILE = EVAL_DIR / "history.jsonl"
# the figures gated on each test set, when at least MIN_N questions carry them (on fewer,
# a bootstrap interval says little: six of six refused gives the interval [1, 1])
GATED = ["objective_top1", "objective_top3", "provision_top1", "provision_top3", "ndcg@10",
         "recall@5", "refusal_recall", "false_refusal_rate", "phrase_present", "grounding",
         "opens_cleanly", "no_duplicate_sources"]
MIN_N = 10
# Figures that are promises, not estimates: every quote verbatim and cited, every answer
# opening cleanly with no quote cited twice. Their gate is the promise itself, on any n.
HARD = {"grounding": 1.0, "opens_cleanly": 1.0, "no_duplicate_sources": 1.0}
# The bars the project aims for on blind lay questions (issue: evaluation that can be
# trusted). Reported, and enforced only with `assistant eval --targets`.
TARGETS = [("objective_top1", ">=", 0.85), ("objective_top3", ">=", 0.95),
           ("false_refusal_rate", "<=", 0.05), ("refusal_recall", ">=", 0.83),
           ("grounding", ">=", 1.0)]


def git_sha() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def higher_is_better(metric: str) -> bool:
    return metric != "false_refusal_rate"


def derive_gates(report: dict) -> dict:
    """Gates from a report: each gated figure of each test set, less its interval."""
    gates = []
    for s in report["sets"]:
        if s["role"] != "test":
            continue
        for metric in GATED:
            est = s["summary"].get(metric)
            if est and metric in HARD:
                gates.append({"set": s["name"], "metric": metric, "op": ">=",
                              "gate": HARD[metric], "measured": round(est["value"], 4),
                              "n": est["n"]})
                continue
            if not est or est["n"] < MIN_N:
                continue
            up = higher_is_better(metric)
            bound = est["low"] if up else est["high"]
            gate = min(bound, est["value"]) if up else max(bound, est["value"])
            gates.append({"set": s["name"], "metric": metric, "op": ">=" if up else "<=",
                          "gate": _floor(gate) if up else -_floor(-gate),
                          "measured": round(est["value"], 4), "n": est["n"]})
    return {"derived": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "git_sha": git_sha(),
            "sets": {s["name"]: s["hash"] for s in report["sets"] if s["role"] == "test"},
            "gates": gates}


def _floor(x: float) -> float:
    """x rounded down to 4 decimals (a gate is never stricter than the measured bound)."""
    return math.floor(x * 10_000 + 1e-9) / 10_000


def write_gates(gates: dict, path: Path = GATES_FILE) -> None:
    path.write_text(json.dumps(gates, indent=1) + "\n", encoding="utf-8")


def load_gates(path: Path = GATES_FILE) -> dict | None:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise AssistantError(f"The gates file {path} cannot be read ({exc}); re-derive it "
                             "with `assistant eval --set-gates`.") from exc


def check_gates(report: dict, gates: dict | None) -> tuple[list[str], list[str]]:
    """(failures, notes): a sentence for each gate a figure misses, and for a frozen test
    set whose content changed since the gates were derived (that fails too)."""
    if not gates:
        return ["no gates: derive them with `assistant eval --set-gates`"], []
    sets = {s["name"]: s for s in report["sets"]}
    failures, notes = [], []
    for name, digest in gates.get("sets", {}).items():
        if name in sets and sets[name]["hash"] != digest:
            failures.append(f"{name} changed (hash {sets[name]['hash']}, gates derived on "
                            f"{digest}): a frozen test set is never edited")
    for g in gates.get("gates", []):
        s = sets.get(g["set"])
        if s is None:
            failures.append(f"{g['set']} is gated but was not evaluated")
            continue
        est = s["summary"].get(g["metric"])
        if est is None:
            failures.append(f"{g['set']} {g['metric']} is gated but no question carries it")
            continue
        value = est["value"]
        ok = value >= g["gate"] if g["op"] == ">=" else value <= g["gate"]
        if not ok:
            failures.append(f"{g['set']} {g['metric']} = {value:.3f}, gate {g['op']} "
                            f"{g['gate']:.3f} (measured {g['measured']:.3f} when derived)")
        if est["n"] != g.get("n"):
            notes.append(f"{g['set']} {g['metric']} now rests on {est['n']} questions, "
                         f"not {g.get('n')}: re-derive the gates with --set-gates")
    gated = {(g["set"], g["metric"]) for g in gates.get("gates", [])}
    for s in report["sets"]:
        loose = [m for m in GATED if s["role"] == "test" and (s["name"], m) not in gated
                 and s["summary"].get(m, {}).get("n", 0) >= MIN_N]
        if loose:
            notes.append(f"{s['name']} has figures without a gate ({', '.join(loose)}): "
                         "re-derive the gates with --set-gates")
    return failures, notes


def missed_targets(report: dict) -> list[str]:
    """A sentence for each target bar a test set misses."""
    out = []
    for s in report["sets"]:
        if s["role"] != "test":
            continue
        for metric, op, bar in TARGETS:
            est = s["summary"].get(metric)
            if est is None:
                continue
            ok = est["value"] >= bar if op == ">=" else est["value"] <= bar
            if not ok:
                out.append(f"{s['name']} {metric} = {est['value']:.3f}, target {op} {bar}")
    return out


def headline(report: dict) -> dict:
    """{set: {metric: value}} of the gated figures, for the history."""
    return {s["name"]: {m: round(s["summary"][m]["value"], 4) for m in GATED
                        if m in s["summary"]} for s in report["sets"]}


def append_history(report: dict, path: Path = HISTORY_FILE) -> dict:
    """Append one line for this run: date, git sha, set hashes, headline figures."""
    line = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "git_sha": git_sha(),
            "sets": {s["name"]: s["hash"] for s in report["sets"]},
            "figures": headline(report)}
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
    return line


def compare_with_previous(report: dict, previous: dict | None) -> dict:
    """Per set with unchanged content: the paired difference (now - before) of each headline
    figure over the questions both runs scored."""
    from assistant.evaluate import metrics as M
    from assistant.evaluate.run import HEADLINE, values_of

    if not previous or "sets" not in previous:
        return {}
    before = {s["name"]: s for s in previous["sets"]}
    out = {}
    for s in report["sets"]:
        old = before.get(s["name"])
        if not old or old.get("hash") != s["hash"]:
            continue
        diffs = {}
        for metric in HEADLINE:
            d = M.paired_difference(values_of(s["items"], metric),
                                    values_of(old["items"], metric))
            if d:
                diffs[metric] = d
        out[s["name"]] = {"git_sha": previous.get("git_sha", "unknown"), "diffs": diffs}
    return out
