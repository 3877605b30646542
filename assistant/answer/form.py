"""The answer's text form: a lead line (structure only, no claim: "The documents say:"),
then each quote's sentences, each followed by its [n]; a quote that introduces a list is
written as its opening sentence and one "- item [n]" line per item. `render_text` writes it,
`split_answer` and `answer_lead` read it back.
"""

from __future__ import annotations

import re

from assistant.text import BACK_REFERENCE, CELL_BAR, LABELLED_LINE

_ITEM_MARK = re.compile(r"^[\s\u2022\u00b7*\u2013\u2014-]+")
_MARKER = re.compile(r"\s*\[(\d+)\]")
_FOOTNOTE_MARK = re.compile(r"[\u00b9\u00b2\u00b3\u2070-\u2079\d]+$")
_TERMINAL = (".", "?", "!", ".\u201d", "?\u201d", "!\u201d", '."')


def leans_back(s: str) -> bool:
    """True when a sentence cannot stand first: it refers back, or is a list item or a
    fragment (opens in lower case or with a list mark)."""
    body = _ITEM_MARK.sub("", s)
    return bool(BACK_REFERENCE.match(body)) or (body[:1].islower()) or body != s.lstrip()


def is_item(s: str) -> bool:
    """True for a list item: opens with a list mark, or in lower case."""
    body = _ITEM_MARK.sub("", s)
    return body != s.lstrip() or body[:1].islower()


def render_text(quotes: list[tuple[int, list[str]]], lead: str, bullets: bool = False) -> str:
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
        # a quote of list items right after the quote of their lead-in goes on as its list
        listing = bool(lines) and opens_list(_MARKER.sub("", lines[-1])) and bool(
            sentences) and is_item(sentences[0].strip())
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


# the small words inside a name in capitals ("Secretary of State for Health")
_NAME_JOINS = frozenset({"and", "of", "for", "the", "in", "on", "at", "to", "&"})


def opens_list(s: str) -> bool:
    """A sentence that leads into a list: it ends with a colon, or breaks off without a
    full stop ("the four tests that there is"), unless it is a date, a name in capitals
    ("Riverside and Vale Hospitals NHS Foundation Trust"), a table's row or a label with
    its value ("Review date: January 2028")."""
    s = s.rstrip()
    if re.search(r"\b(?:19|20)\d\d$", s):
        return False  # a line that ends in a year is a date ("13 November 2012")
    if CELL_BAR in s or LABELLED_LINE.match(s) and not s.endswith(":"):
        return False  # a table's row, a cover's "Approved by: ...": facts, not a lead-in
    if not s.endswith(":") and all(w[:1].isupper() or w in _NAME_JOINS
                                   for w in re.findall(r"[^\W\d_][\w\u2019'-]*", s)):
        return False
    s = _FOOTNOTE_MARK.sub("", s)
    return s.endswith(":") or not s.endswith(_TERMINAL)


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


def answer_lead(answer: str) -> str:
    """The answer's lead line ("The documents say:"), or "" when it has none."""
    first = answer.split("\n", 1)[0].strip()
    return first if "\n" in answer and first.endswith(":") and not _MARKER.search(first) else ""


def split_answer(answer: str) -> list[tuple[str, int]]:
    """Return the (text, marker) segments of an answer: each quoted sentence or list item
    and its [n]; the lead line, which names where the quotes come from, and the "- " that
    opens a list item are not part of any segment."""
    lead = answer_lead(answer)
    body = answer.split("\n", 1)[1] if lead else answer
    out, pos = [], 0
    for m in _MARKER.finditer(body):
        out.append((_bullet(body[pos : m.start()]), int(m.group(1))))
        pos = m.end()
    if body[pos:].strip():
        out.append((_bullet(body[pos:]), 0))
    return out


def _bullet(text: str) -> str:
    text = text.strip()
    return text[2:].strip() if text.startswith("- ") else text


