"""The feedback store's turns as CSV and JSON lines, for trainers' spreadsheets and scripts."""

from __future__ import annotations

import csv
import io
import json

_CSV_FIELDS = ("created_at", "session_id", "question", "answer", "refused", "rating",
               "comment", "rated_at", "error", "sources", "objectives")


def to_csv(turns: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for t in turns:
        writer.writerow({**t, "sources": "; ".join(
            f"[{c.get('marker')}] {c.get('title', '')}" for c in t["citations"]),
            "objectives": "; ".join(f"Objective {o['number']}" for o in t["objectives"])})
    return out.getvalue()


def to_jsonl(turns: list[dict]) -> str:
    return "".join(json.dumps({k: v for k, v in t.items() if k != "answer_json"},
                              ensure_ascii=False) + "\n" for t in turns)
