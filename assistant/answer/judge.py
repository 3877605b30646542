"""Whether the documents can answer a question at all.

Two tests, either of which refuses:
1. Weak evidence: the best sentence of the retrieved passages is less similar to the
   question than `Settings.refusal_threshold` (chosen on eval/calibration.jsonl, see
   `assistant eval --calibrate`).
2. Unknown specifics: the question names something precise that the documents never
   mention: a year absent from the retrieved passages and from every document's title and
   date ("the 2023/24 mandate"), a number absent from the corpus ("NHS 111"), or a proper
   name with a word the corpus does not contain ("Leeds General Infirmary").
"""

from __future__ import annotations

import re

from assistant.types import Hit

_YEAR = re.compile(r"\b((?:19|20)\d{2})(?:\s*[/\u2013-]\s*(\d{2}))?\b")
_NUMBER = re.compile(r"(?<![\d,.])(\d{1,3}(?:,\d{3})+|\d{3,})(?![\d,])")
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][a-z\u2019']+(?:\s+[A-Z][a-z\u2019']+)+)")
_WORD = re.compile(r"[a-z0-9]+")


def vocabulary(texts) -> set[str]:
    """Lower-case words and comma-free numbers of the given texts."""
    vocab: set[str] = set()
    for text in texts:
        vocab.update(_WORD.findall(text.lower().replace(",", "")))
    return vocab


def years_in(question: str) -> list[str]:
    out = []
    for m in _YEAR.finditer(question):
        out.append(m.group(1))
        if m.group(2):
            out.append(m.group(1)[:2] + m.group(2))
    return out


def unknown_specifics(question: str, hits: list[Hit], vocab: set[str],
                      known_years: set[str]) -> list[str]:
    """Return the specifics the question names that the documents do not contain."""
    missing = []
    evidence = " ".join(h.passage.text for h in hits)
    for m in _YEAR.finditer(question):
        years = years_in(m.group(0))
        if m.group(0) in evidence or any(y in known_years or y in evidence for y in years):
            continue
        missing.extend(years)
    stripped = _YEAR.sub(" ", question)
    for number in _NUMBER.findall(stripped):
        if number.replace(",", "") not in vocab:
            missing.append(number)
    for name in _NAME.findall(question):
        words = [w.lower().removesuffix("'s").removesuffix("\u2019s") for w in name.split()]
        if any(w not in vocab for w in words):
            missing.append(name)
    return missing
