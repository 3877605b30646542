"""Composing a readable answer from chosen sentences: whole sentences, their referents,
whole lists, one citation per quote, and a lead line that says where the answer comes from.

The answer text is a lead line (structure only, no claim: "The documents say:"), then each
quote's sentences, each followed by its [n]; a quote that introduces a list is written as
its opening sentence and one "- item [n]" line per item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.types import Passage

# A sentence opening with one of these words leans on the sentence before it.
BACK_REFERENCE = re.compile(
    r"^\W*(?:this|these|those|that|it|its|they|their|them|such|both|he|she|his|her)\b"
    r"|^\W*(?:however|also|in addition|furthermore|moreover|therefore|thus)\b",
    re.I,
)
_ITEM_MARK = re.compile(r"^[\s\u2022\u00b7*\u2013\u2014-]+")
# the mark that opens the next list item, left at the end of the sentence before it
_TRAILING_MARK = re.compile(r"\s+[\u2022\u00b7*\u2013\u2014-]?\s*$")
# at most this many words of quotes, unless a list was asked for ("about 120")
ANSWER_WORDS = 130
_FOOTNOTE_MARK = re.compile(r"[\u00b9\u00b2\u00b3\u2070-\u2079\d]+$")
_TERMINAL = (".", "?", "!", ".\u201d", "?\u201d", "!\u201d", '."')


@dataclass
class Span:
    """Sentences a..b (inclusive) of one passage, quoted together."""

    passage: Passage
    a: int
    b: int
    score: float


def sentence(text: str, p: Passage, j: int) -> str:
    return text[slice(*p.sentences[j])].strip()


def leans_back(s: str) -> bool:
    """True when a sentence cannot stand first: it refers back, or is a list item or a
    fragment (opens in lower case or with a list mark)."""
    body = _ITEM_MARK.sub("", s)
    return bool(BACK_REFERENCE.match(body)) or (body[:1].islower()) or body != s.lstrip()


def is_item(s: str) -> bool:
    """True for a list item: opens with a list mark, or in lower case."""
    body = _ITEM_MARK.sub("", s)
    return body != s.lstrip() or body[:1].islower()


def widen(text: str, p: Passage, j: int, list_end) -> tuple[int, int, bool]:
    """The whole quote sentence j needs: back to the sentence it refers to (or the list's
    opening sentence), and on to the end of a list it opens. Returns (a, b, dangling):
    dangling when the passage's first sentence still leans back."""
    a = j
    while a > 0 and leans_back(sentence(text, p, a)):
        a -= 1
    first = sentence(text, p, a)
    b = max(j, list_end(p, a), list_end(p, j))
    return a, b, leans_back(first)


def merge(spans: list[Span]) -> list[Span]:
    """Spans of one passage that overlap or touch become one; order of first appearance."""
    out: list[Span] = []
    for s in spans:
        for o in out:
            if o.passage.id == s.passage.id and s.a <= o.b + 1 and o.a <= s.b + 1:
                o.a, o.b, o.score = min(o.a, s.a), max(o.b, s.b), max(o.score, s.score)
                break
        else:
            out.append(Span(s.passage, s.a, s.b, s.score))
    return out


def words(text: str, span: Span) -> int:
    p = span.passage
    return len(text[p.sentences[span.a][0]:p.sentences[span.b][1]].split())


def render(quotes: list[tuple[int, list[str]]], lead: str, bullets: bool = False) -> str:
    """The answer text: the lead line, then one line per quote with each sentence followed
    by its [n]; after a sentence that opens a list (ends with a colon), the quote's other
    sentences are its items, one "- item [n]" line each. `quotes` holds (marker, the
    quote's sentences)."""
    lines = [lead] if lead else []
    for marker, sentences in quotes:
        if bullets:  # a list asked for: one quote per item
            lines.append("- " + " ".join(f"{s.strip()} [{marker}]" for s in sentences
                                         if s.strip()))
            continue
        prose: list[str] = []
        listing = False
        for s in (s.strip() for s in sentences):
            if not s:
                continue
            if listing:
                lines.append(f"- {_ITEM_MARK.sub('', s)} [{marker}]")
                continue
            prose.append(f"{s} [{marker}]")
            if opens_list(s):
                lines.append(" ".join(prose))
                prose, listing = [], True
        if prose:
            lines.append(" ".join(prose))
    return "\n".join(lines)


def opens_list(s: str) -> bool:
    """A sentence that leads into a list: it ends with a colon, or breaks off without a
    full stop ("the four tests that there is")."""
    s = _FOOTNOTE_MARK.sub("", s.rstrip())
    return s.endswith(":") or not s.endswith(_TERMINAL)


def quote_sentences(text: str, p: Passage, start: int, end: int) -> list[str]:
    """The quote [start, end) of passage p cut at its sentences: each piece runs to where
    the next sentence starts, so what lies between sentences (a footnote mark) is kept."""
    cuts = sorted({max(s, start) for s, e in p.sentences if s < end and e > start} | {start})
    pieces = [_TRAILING_MARK.sub("", text[a:b])
              for a, b in zip(cuts, [*cuts[1:], end], strict=True)]
    return [x for x in pieces if x.strip()] or [text[start:end]]


def objective_lead(number: str, short_title: str) -> str:
    """'Objective 15 of the draft mandate (2012) covers this:'."""
    name = short_title[:1].lower() + short_title[1:] if short_title else "the documents"
    return f"Objective {number} of the {name} covers this:"


def listing_lead(kind: str, n: int, short_title: str) -> str:
    """'The 12 consultation questions of the draft mandate (2012):'."""
    name = short_title[:1].lower() + short_title[1:] if short_title else "the documents"
    return f"The {n} {kind} of the {name}:"


GENERIC_LEAD = "The documents say:"


# What a question for one fact asks for, and what a sentence stating it carries.
_FACT_KINDS = [
    ("date", re.compile(r"^\W*(?:\w+\W+){0,6}?(?:when|until when|from when|by when|on what date"
                        r"|what (?:date|year|day)|which (?:year|date)|by what (?:date|year))\b",
                        re.I)),
    ("number", re.compile(r"\bhow (?:many|much|long|often|big|old)\b|\bwhat (?:proportion|"
                          r"percentage|share|number|period|age)\b", re.I)),
    ("person", re.compile(r"^\W*(?:\w+\W+){0,6}?(?:who|whom|whose)\b", re.I)),
]
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november"
           "|december")
_CARRIES = {
    "date": re.compile(rf"\b(?:{_MONTHS})\b|\b(?:19|20)\d\d\b|\b\d{{1,2}}(?:st|nd|rd|th)\b",
                       re.I),
    "number": re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven"
                         r"|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion"
                         r"|half|quarter|third|dozen|once|twice|annual|yearly|weeks?|months?"
                         r"|years?|days?)\b", re.I),
    "person": re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+ [A-Z][a-z]+\b"),
}


def fact_kind(question: str) -> str | None:
    """'date', 'number' or 'person' for a question asking for one of these, else None."""
    return next((kind for kind, rx in _FACT_KINDS if rx.search(question)), None)


def carries(kind: str | None, text: str) -> bool:
    """True when the sentence states the kind of fact asked for (a date, a number, a name)."""
    return kind is not None and bool(_CARRIES[kind].search(text))


def display_title(title: str) -> str:
    """An objective's title to show whole: a closing clause that only leads into a list
    ("..., in particular by:") is left off, at the last comma or full stop before it; a
    title that ends in a colon otherwise ends in an ellipsis."""
    title = " ".join(title.split())
    if not title.endswith(":"):
        return title
    cut = max(title.rfind(","), title.rfind(". "), title.rfind(";"))
    if cut > 0 and len(title[cut + 1:].split()) <= 5:
        return title[:cut].rstrip()
    return title[:-1].rstrip() + " \u2026"
