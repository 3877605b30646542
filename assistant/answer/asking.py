"""What a question for one fact asks: whether it asks for one (how many, when, who, what
date...), and for which kind of fact, read in the clause that asks it."""

from __future__ import annotations

import re

from assistant.types import FactKind

# the nouns of a quantity asked for: "what is the cost of ...", "what was the budget"
_QUANTITY = (r"(?:cost|budget|price|amount|rate|figure|total|size|gap|number|percentage"
             r"|proportion)s?\b")
# A question that asks for one fact (a number, a date, a person) wants the passage that
# states it, not an objective's whole narrative. The wh-phrase opens the question, or
# follows a leading "In the draft mandate, ..." style clause, a "Can you tell me ..." or
# a "Roughly ...".
_FACTOID = re.compile(
    r"^\W*(?:(?:and|so|but|also|then|in|under|according to)\b[^?]*?,\s*)?"
    r"(?:(?:(?:can|could|would) you (?:please )?tell me|do you know|(?:please )?tell me"
    r"|i(?:'d|\u2019d| would) like to know|i want to know)\s+)?"
    r"(?:(?:roughly|approximately|about|around|exactly|precisely|so|and|but|ok|okay)"
    r",?\s+)?(?:in (?:what|which) (?:year|month)"
    r"|how (?:many|much|long|often|big|old|quickly|soon|fast|far|frequently)|when|who|whom"
    r"|whose|until when|from when"
    r"|by (?:when|what date|what year|how much)|since (?:when|which)|on what date"
    r"|what (?:date|year|day|proportion|percentage|share|number|period|age|amount)"
    r"|what(?:'s|\u2019s| is| was)? the (?:deadline|(?:last|closing|final) (?:date|day))"
    r"|what(?:'s|\u2019s| is| was| are| were)? (?:the |its |their )?(?:[\w'\u2019]+ ){0,2}?"
    + _QUANTITY +
    r"|what(?:'s|\u2019s| is| was| are| were)? the names? of"
    r"|which (?:years?|acts?|dates?|laws?|legislation|organi[sz]ations?|bod(?:y|ies)"
    r"|ministers?)"
    r"|after how long)\b",
    re.I,
)
# What a question for one fact asks for (a sentence that states it: `search.sentences`):
# the kind whose cue comes first ("Who was the Health Secretary when ...?" asks for a
# person). DATE and PERSON cues count among the question's first words only.
_FACT_KINDS = [
    (FactKind.DATE, True, re.compile(
        r"\b(?:when|until when|from when|by when|on what date|what (?:date|year|day)"
        r"|in (?:what|which) (?:year|month)"
        r"|which (?:years?|dates?)|by what (?:date|year)|deadline|(?:last|closing|final) date)\b",
        re.I)),
    (FactKind.DURATION, False, re.compile(
        r"\bhow (?:long|often|quickly|soon|fast|frequently)\b|\bafter how long\b"
        r"|\bwhat period\b", re.I)),
    (FactKind.NUMBER, False, re.compile(
        r"\bhow (?:many|much|big|old|far)\b"
        r"|\bwhat (?:proportion|percentage|share|number|age|amount)\b"
        r"|^\W*what\S* (?:[\w'\u2019]+ ){0,4}?" + _QUANTITY,
        re.I)),
    (FactKind.PERSON, True, re.compile(
        r"\b(?:who|whom|whose|which (?:organi[sz]ations?|bod(?:y|ies)|ministers?)"
        r"|what(?:'s|\u2019s| is| was| are| were)? the names? of)\b", re.I)),
    (FactKind.LAW, True, re.compile(r"\bwhich (?:acts?|laws?|legislation)\b", re.I)),
]
_FIRST_WORDS = re.compile(r"^\W*(?:\w+\W+){0,7}")
# where one sentence of a question ends and the next begins
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'\u2018\u201c(]?[A-Z])")
# a leading clause that sets a scene ("When I see my GP, ...", "Once NICE recommends a
# drug, ..."), not a question's own "When does ...?"; after "If ...," a "who" or "how
# much" asks what a rule provides ("If a patient joins a trial, who pays?"), not one fact
_SUBORDINATE = re.compile(
    r"^\W*(?:when|whenever|once|after|before|while|as soon as|now that)\s+"
    r"(?!(?:do|does|did|is|are|was|were|will|would|can|could|should|shall|must|may|might"
    r"|has|have|had|which|what|how|who|when)\b)[^?,;:]*[,;:]\s+", re.I)


def asking_clause(question: str) -> str:
    """The clause a question asks in, without the context people put before it: sentences
    that tell ("I volunteer with ex-offenders. What proportion of prisoners ...?" asks in
    its second sentence) and a leading subordinate clause ("Once NICE recommends a drug,
    how long ...?", "When I see my GP about my back, should they ...?")."""
    sentences = _SENTENCE_BREAK.split(question.strip())
    asking = next((s for s in sentences if s.rstrip().endswith("?")), question)
    return _SUBORDINATE.sub("", asking, count=1)


def asks_for_fact(question: str) -> bool:
    """True when the question asks for a single fact: how many, when, who, what date..."""
    return bool(_FACTOID.search(asking_clause(question)))


def fact_kind(question: str) -> FactKind | None:
    """The kind of fact a question asks for (a date, a number, a person or named body):
    the one whose cue comes first; None when it names none."""
    question = asking_clause(question)
    opening = _FIRST_WORDS.match(question).end()
    found = []
    for kind, opens, rx in _FACT_KINDS:
        m = rx.search(question)
        if m is not None and (not opens or m.start() < opening):
            found.append((m.start(), kind))
    return min(found)[1] if found else None
