"""Evaluation sets: which files are dev and which are frozen test sets, their items in one
shape, and where each item's evidence lies in the index.

`eval/sets.json` lists every set with its role: `dev` sets are tuned on freely, `test` sets
are written before the change they judge, frozen, and gate CI; `calibration` questions
choose the refusal threshold. Items come in the format of `eval/test/SCHEMA.md` (evidence
and provisions located by verbatim snippets) or the older dev format (`relevant`,
`expected_objectives`); both are read into `EvalItem`.

A snippet is matched on a normalised form (lower case, letters and digits only), so line
breaks, hyphenation spaces and layout do not matter; the passages relevant to it are those
that overlap where it lies in the document's text.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import PROJECT_ROOT
from assistant.errors import AssistantError
from assistant.search.index import IndexData

EVAL_DIR = PROJECT_ROOT / "eval"
SETS_FILE = EVAL_DIR / "sets.json"
ROLES = ("dev", "test", "calibration")
TYPES = ("objective", "provision", "fact", "list", "consultation", "offtopic", "followup")
_LEGACY_TYPES = {"factual": "fact"}


@dataclass
class EvalItem:
    id: str
    type: str
    question: str
    history: list[str] = field(default_factory=list)
    doc_id: str | None = None
    # {"doc_id", "kind", "number" (or None), "contains" (or None)}
    provisions: list[dict] = field(default_factory=list)
    # {"doc_id", "contains"} or, in the older format, {"doc_id", "paragraph"}
    evidence: list[dict] = field(default_factory=list)
    must_contain: list[str] = field(default_factory=list)
    expect_refusal: bool = False

    @property
    def docs(self) -> set[str]:
        """Every document the item's answer, evidence or provisions come from."""
        out = {self.doc_id} if self.doc_id else set()
        out.update(x["doc_id"] for x in self.evidence + self.provisions)
        return out

    @property
    def kinds(self) -> list[str]:
        return sorted({p["kind"] for p in self.provisions})


@dataclass
class EvalSet:
    name: str
    path: Path
    role: str
    note: str = ""

    @property
    def hash(self) -> str:
        """The first 12 hex digits of the file's SHA-256: names the exact questions scored."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:12]

    def items(self) -> list[EvalItem]:
        return load_items(self.path)


def registered_sets(folder: Path = EVAL_DIR, roles: tuple[str, ...] = ROLES) -> list[EvalSet]:
    """The sets listed in `folder/sets.json` whose files exist, in the listed order."""
    path = folder / "sets.json"
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        sets = [EvalSet(r["name"], folder / r["file"], r["role"], r.get("note", ""))
                for r in rows]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AssistantError(f"The list of evaluation sets {path} cannot be read ({exc}).") \
            from exc
    bad = [s.name for s in sets if s.role not in ROLES]
    if bad:
        raise AssistantError(f"{path.name}: sets {bad} have a role other than {ROLES}.")
    return [s for s in sets if s.role in roles and s.path.exists()]


def load_items(path: Path) -> list[EvalItem]:
    """The items of a JSONL file in either format (raises AssistantError if malformed)."""
    items, seen = [], set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = _item(json.loads(line))
        except (ValueError, TypeError, KeyError) as exc:
            raise AssistantError(f"{path.name} line {n} is not a valid item ({exc}).") from exc
        if item.id in seen:
            raise AssistantError(f"{path.name} line {n}: duplicate id {item.id!r}.")
        seen.add(item.id)
        items.append(item)
    return items


def _item(row: dict) -> EvalItem:
    kind = _LEGACY_TYPES.get(row["type"], row["type"])
    if kind not in TYPES:
        raise ValueError(f"type {row['type']!r} is not one of {TYPES}")
    if "relevant" in row or "expected_objectives" in row:  # the older dev format
        evidence = list(row.get("relevant", []))
        doc = evidence[0]["doc_id"] if evidence else None
        provisions = [{"doc_id": o.split("/")[0], "kind": "objective",
                       "number": o.split("/")[1], "contains": None}
                      for o in row.get("expected_objectives", [])]
        if row.get("expected_question") is not None and doc:
            provisions.append({"doc_id": doc, "kind": "consultation_question",
                               "number": str(row["expected_question"]), "contains": None})
        return EvalItem(row["id"], kind, row["question"], [], doc, provisions, evidence,
                        list(row.get("must_contain", [])), bool(row.get("expect_refusal")))
    return EvalItem(
        id=row["id"], type=kind, question=row["question"],
        history=[h["question"] for h in row.get("history", [])],
        doc_id=row.get("doc_id"),
        provisions=[{"doc_id": p["doc_id"], "kind": p["kind"],
                     "number": None if p.get("number") is None else str(p["number"]),
                     "contains": p.get("contains")} for p in row.get("expected_provisions", [])],
        evidence=[{"doc_id": e["doc_id"], "contains": e["contains"]}
                  for e in row.get("evidence", [])],
        must_contain=list(row.get("must_contain", [])),
        expect_refusal=bool(row.get("expect_refusal")))


def normalise(text: str) -> str:
    """Lower case, letters and digits only: the form snippets and answers are compared in."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def question_key(question: str) -> str:
    """A question's identity for overlap checks: its normalised words."""
    return " ".join(re.findall(r"[0-9a-z]+", question.lower()))


class Locator:
    """Finds the passages a snippet or paragraph label points at, in one index."""

    def __init__(self, index: IndexData) -> None:
        self.index = index
        self._norm: dict[str, tuple[str, list[int]]] = {}
        self._passages: dict[str, list] = {}
        for p in index.passages:
            self._passages.setdefault(p.doc_id, []).append(p)
        for doc_id, doc in index.documents.items():
            keep = [i for i, ch in enumerate(doc.text) if ch.isascii() and ch.isalnum()]
            self._norm[doc_id] = ("".join(doc.text[i] for i in keep).lower(), keep)

    def has(self, doc_id: str) -> bool:
        return doc_id in self._norm

    def passages(self, locator: dict) -> set[str]:
        """Ids of the passages the locator points at (empty if it points nowhere)."""
        doc_id = locator["doc_id"]
        if locator.get("paragraph"):
            return {p.id for p in self._passages.get(doc_id, [])
                    if p.paragraph == locator["paragraph"]}
        return {p.id for p in self.span_passages(doc_id, locator["contains"])}

    def span_passages(self, doc_id: str, snippet: str) -> list:
        """The passages overlapping the first place the snippet occurs in the document."""
        text, keep = self._norm.get(doc_id, ("", []))
        needle = normalise(snippet)
        at = text.find(needle) if needle else -1
        if at < 0:
            return []
        start, end = keep[at], keep[at + len(needle) - 1] + 1
        doc_passages = sorted(self._passages.get(doc_id, []), key=lambda p: p.start)
        starts = [p.start for p in doc_passages]
        i = max(bisect.bisect_right(starts, start) - 1, 0)
        out = []
        for p in doc_passages[i:]:
            if p.start >= end:
                break
            if p.end > start:
                out.append(p)
        return out

    def relevant(self, item: EvalItem) -> tuple[set[str], list[dict]]:
        """The passages that answer the item (its evidence), and the evidence locators that
        point at no indexed passage (text the documents hold but the index left out, such
        as readers' comments, or a snippet that is not verbatim: see tests/test_evalsets)."""
        found: set[str] = set()
        missing = []
        for loc in item.evidence:
            ids = self.passages(loc)
            found |= ids
            if not ids:
                missing.append(loc)
        return found, missing

    def answerable_here(self, item: EvalItem) -> bool:
        """False when the item's documents are not all in this index (it cannot be scored)."""
        return all(self.has(d) for d in item.docs)
