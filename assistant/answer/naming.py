"""The documents a question names by their titles: "the lone working policy", "the NHS
Constitution", "the draft mandate".

A document is known by its title and short title, each part of a title (split at a colon
or dash) read as a phrase of two or more words without its bracketed parts, years and
leading or trailing small words ("Our NHS care objectives: A draft mandate to the NHS
Commissioning Board" gives "nhs care objectives" and "draft mandate to the nhs
commissioning board"; "Draft mandate (2012)" gives "draft mandate"). A phrase names its
document only when it is the document's alone: no other document's titles hold all its
words ("NHS mandate" would name no mandate where there are several). A word that says what
kind of document it is ("policy", "handbook", "constitution") names the one document whose
title has it: "Who approved this policy?" where one policy is indexed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.types import Document

_WORD = re.compile(r"[a-z]+")
_SMALL = frozenset("a an the of for to and in on our your my by with from at".split())
_PART = re.compile(r"[:|\u2013\u2014]| - ")
# words for kinds of document that a question uses to name one ("the policy"); not "plan",
# "guidance" or "report", which questions use of other things
_KIND_WORDS = frozenset("policy handbook constitution charter strategy procedure protocol"
                        .split())


def _phrases(title: str) -> list[tuple[str, ...]]:
    out = []
    for part in _PART.split(re.sub(r"\([^)]*\)", " ", title)):
        words = _WORD.findall(part.lower())
        while words and words[0] in _SMALL:
            words = words[1:]
        while words and words[-1] in _SMALL:
            words = words[:-1]
        if len([w for w in words if w not in _SMALL]) >= 2:
            out.append(tuple(words))
    return out


class DocumentNames:
    """The phrases that name each document, and `named(question)`."""

    def __init__(self, documents: Iterable[Document]) -> None:
        titles = {d.doc_id: (d.title, d.short_title or "") for d in documents}
        words = {doc: set(_WORD.findall(" ".join(t).lower())) for doc, t in titles.items()}
        self.phrases: dict[str, list[str]] = {}
        for doc, pair in titles.items():
            own = {p for t in pair for p in _phrases(t)
                   if not any(set(p) - _SMALL <= w for o, w in words.items() if o != doc)}
            own |= {(w,) for w in words[doc] & _KIND_WORDS
                    if not any(w in other for o, other in words.items() if o != doc)}
            if own:
                self.phrases[doc] = sorted(f" {' '.join(p)} " for p in own)

    def named(self, question: str) -> tuple[str, ...]:
        """The documents whose own phrase the question holds, in catalogue order."""
        text = f" {' '.join(_WORD.findall(question.lower()))} "
        return tuple(doc for doc, phrases in self.phrases.items()
                     if any(p in text for p in phrases))
