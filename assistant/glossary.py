"""A plain-English glossary: the everyday words people use for the documents' policy terms.

New staff and the public ask about "GP-led groups that buy care", "bedsores" or "getting
a break from looking after mum"; the documents say "clinical commissioning groups",
"avoidable harm" and "carers". The embedding model does not bridge such gaps, so a
question that uses an everyday phrase from `glossary.json` is also read with the policy
term it stands for. A one-word phrase matches that exact word, so "closed" never matches
"close the gap"; a longer phrase matches stemmed words in order, so "looking after"
also matches "looks after".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.errors import AssistantError

GLOSSARY_PATH = Path(__file__).with_name("glossary.json")
_WORD = re.compile(r"[a-z0-9&']+")


@dataclass(frozen=True)
class Entry:
    term: str
    plain: tuple[str, ...]


class Glossary:
    """`terms(question)` lists the policy terms a question's everyday phrases stand for;
    `expand(question)` appends them to the question."""

    def __init__(self, entries: list[Entry]) -> None:
        import Stemmer

        self.entries = entries
        self._stemmer = Stemmer.Stemmer("english")
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
            entries = [Entry(r["term"], tuple(r["plain"])) for r in rows]
        except (OSError, ValueError, KeyError, TypeError) as exc:
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



@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    return Glossary.load()
