"""A plain-English glossary: the everyday words people use for the documents' policy terms.

New staff and the public ask about "bedsores", "respite" or "a hip fracture"; the documents
say "avoidable harm", "carers" and "recovery from illness or injury". The embedding model
does not bridge such gaps, so a question that uses an everyday phrase from `glossary.json`
is also read with the policy term it stands for, to map it to provisions and rank passages
(never as evidence that the documents answer it: see `Assistant._judge`).

Each entry records where it came from: its `term` is the documents' own wording (every
comma-separated part occurs in one of its `documents`), and its phrases are grouped by
their source: "everyday synonym" (general English, NHS A-Z style wording), "condition name"
(the everyday name of an illness) or "abbreviation". No phrase is taken from an evaluation
question (`tests/test_glossary.py` checks the test sets). A one-word phrase matches that
exact word, so "closed" never matches "close the gap"; a longer phrase matches stemmed
words in order, so "respite care" also matches "respite cares".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.errors import AssistantError
from assistant.text import stemmer

GLOSSARY_PATH = Path(__file__).with_name("glossary.json")
_WORD = re.compile(r"[a-z0-9&']+")


SOURCES = ("everyday synonym", "condition name", "abbreviation")


@dataclass(frozen=True)
class Entry:
    term: str
    plain: tuple[str, ...]
    # where each phrase came from, in the order of `plain` (one of SOURCES)
    sources: tuple[str, ...] = ()
    # the documents whose wording the term is
    documents: tuple[str, ...] = ()


class Glossary:
    """`terms(question)` lists the policy terms a question's everyday phrases stand for;
    `expand(question)` appends them to the question."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self._stemmer = stemmer()
        # one-word phrases by their word; longer phrases by their first stem
        self._single: dict[str, set[int]] = {}
        self._multi: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for n, entry in enumerate(entries):
            for phrase in entry.plain:
                words, stems = self._words(phrase)
                if len(words) == 1:
                    self._single.setdefault(words[0], set()).add(n)
                elif words:
                    self._multi.setdefault(stems[0], []).append((stems, n))
        self._memo = lru_cache(maxsize=1024)(self._terms)

    @classmethod
    def load(cls, path: Path = GLOSSARY_PATH) -> Glossary:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            entries = [_entry(r) for r in rows]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AssistantError(f"The glossary {path} cannot be read ({exc}).") from exc
        return cls(entries)

    def _words(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The text's words, lower-cased, and their stems."""
        words = _WORD.findall(text.lower().replace("’", "'").replace("-", " "))
        return tuple(words), tuple(self._stemmer.stemWords(words))

    def terms(self, question: str) -> list[str]:
        """The policy terms whose everyday phrases occur in the question, in glossary order."""
        return list(self._memo(question))

    def _terms(self, question: str) -> tuple[str, ...]:
        words, stems = self._words(question)
        found: set[int] = set()
        for word in words:
            found.update(self._single.get(word, ()))
        for i, stem in enumerate(stems):
            for phrase, n in self._multi.get(stem, ()):
                if stems[i:i + len(phrase)] == phrase:
                    found.add(n)
        return tuple(self.entries[n].term for n in sorted(found))

    def expand(self, question: str) -> str:
        """The question followed by the policy terms it stands for (unchanged if none)."""
        terms = self.terms(question)
        return f"{question} ({'; '.join(terms)})" if terms else question


def _entry(row: dict) -> Entry:
    """An Entry from one row of glossary.json: {"term", "documents", "plain": {source: [...]}}."""
    pairs = [(phrase, source) for source, phrases in row["plain"].items() for phrase in phrases]
    unknown = {source for _, source in pairs} - set(SOURCES)
    if unknown or not pairs:
        raise ValueError(f"entry {row['term']!r}: phrase sources must be one of {SOURCES}")
    return Entry(row["term"], tuple(p for p, _ in pairs), tuple(s for _, s in pairs),
                 tuple(row.get("documents", ())))


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    return Glossary.load()
