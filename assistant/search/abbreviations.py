"""Abbreviations as the documents define them: "clinical commissioning groups (CCGs)",
"the NHS Commissioning Board's (NHS CB)", "NICE (the National Institute for Health and
Care Excellence)". A sentence that writes one form holds the other's words too, so "How
many people work for the NHS Commissioning Board?" finds "the NHS CB's role is to deploy
its 4,000 staff", and a question about "CCGs" finds "clinical commissioning groups".

Only definitions the documents print are read: a short form in brackets whose letters are
the initials (or whole words) of the words just before it, or the reverse.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass

# "... long form (ABBR)" or "ABBR (the long form)"; ABBR of capitals, an optional plural
# "s", at most two words ("NHS CB")
_SHORT = r"[A-Z][A-Z&]{1,7}s?(?: [A-Z]{1,7}s?)?"
_AFTER = re.compile(rf"\((?:the )?({_SHORT})\)")
_BEFORE = re.compile(rf"\b({_SHORT}) \((?:the )?([^()]{{5,120}})\)")
_LONG_WORD = re.compile(r"[A-Za-z][A-Za-z\u2019'-]*")
# words a long form may hold that its short form skips
_SKIPPED = frozenset("of and the for to in on with at".split())
# how many words before the brackets a long form may take
_MOST_WORDS = 10
_CACHE: dict[int, Abbreviations] = {}


@dataclass(frozen=True)
class Abbreviations:
    """Each short form's stems (as written and without its plural "s": "ccgs", "ccg")
    with its long form's."""

    pairs: tuple[tuple[frozenset[str], frozenset[str]], ...] = ()

    def expand(self, words: frozenset[str]) -> frozenset[str]:
        """`words` with the other form's words of every abbreviation they hold."""
        extra: set[str] = set()
        for short, long in self.pairs:
            if short & words:
                extra |= long | short
            elif long <= words:
                extra |= short
        return words | extra if extra else words


def _letters(short: str) -> str:
    return re.sub(r"[^A-Z]", "", re.sub(r"s\b", "", short))


def long_form(short: str, words: list[str]) -> list[str] | None:
    """The words at the end of `words` that `short` abbreviates, or None: read backwards,
    each word either is a whole word of the short form ("NHS"), gives its next initial, or
    is a small word the short form skips."""
    letters = _letters(short)
    taken: list[str] = []
    for word in reversed(words[-_MOST_WORDS:]):
        if not letters:
            break
        bare = word.rstrip("\u2019's") if word.endswith(("\u2019s", "'s")) else word
        if bare.upper() == bare and letters.endswith(bare) and len(bare) > 1:
            letters = letters[:-len(bare)]
        elif bare[:1].upper() == letters[-1:]:
            letters = letters[:-1]
        elif bare.lower() in _SKIPPED and taken:
            pass
        else:
            return None
        taken.append(bare)
    if letters or len(taken) < 2:
        return None
    while taken and taken[-1].lower() in _SKIPPED:
        taken.pop()
    return list(reversed(taken))


def defined_abbreviations(text: str) -> list[tuple[str, str]]:
    """The (short form, long form) pairs a text defines."""
    found: list[tuple[str, str]] = []
    for m in _AFTER.finditer(text):
        before = _LONG_WORD.findall(text[max(0, m.start() - 200):m.start()])
        words = long_form(m.group(1), before)
        if words:
            found.append((m.group(1), " ".join(words)))
    for m in _BEFORE.finditer(text):
        inside = _LONG_WORD.findall(m.group(2))
        # the long form is the bracket's words, read from their start
        for n in range(2, min(len(inside), _MOST_WORDS) + 1):
            words = long_form(m.group(1), inside[:n])
            if words and len(words) == n:
                found.append((m.group(1), " ".join(words)))
                break
    return found


def abbreviations(index, words_of: Callable[[str], frozenset[str]]) -> Abbreviations:
    """The abbreviations the index's documents define, as stems by `words_of` (computed
    once per loaded index)."""
    cached = _CACHE.get(id(index))
    if cached is not None:
        return cached
    pairs: dict[frozenset[str], frozenset[str]] = {}
    for doc in index.documents.values():
        for short, long in defined_abbreviations(doc.text):
            long_words = words_of(long)
            short_words = (words_of(short) | words_of(_letters(short))) - long_words
            if short_words and long_words:
                pairs.setdefault(short_words, long_words)
    result = Abbreviations(tuple(pairs.items()))
    _CACHE[id(index)] = result
    weakref.finalize(index, _CACHE.pop, id(index), None)
    return result
