"""What a quote prints that a reader could take for the assistant's own slip: a name that
English always capitalises, printed in lower case ("in england", "from april"), and a
placeholder a draft left for a figure ("by X% by 2015", "X life years"). Quotes stay
verbatim; each citation names these (`Citation.as_printed`) so that the reader can see
that they come from the document as printed.
"""

from __future__ import annotations

import re

# Words English always writes with a capital: the months, the days of the week, the nations
# of the United Kingdom and their adjectives.
_ALWAYS_CAPITAL = frozenset("""
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday
england scotland wales britain english scottish welsh british
""".split()) - {"may", "march"}  # also everyday verbs
_LOWER_WORD = re.compile(r"(?<![\w'\u2019-])([a-z]+)\b")
# a lone capital X (or XX) standing for a figure: "X%", "X per cent", or after a word that
# takes a figure ("by X", "saving X life years")
_PLACEHOLDER = re.compile(
    r"(?<![\w-])X{1,2}(?:%| per cent\b)"
    r"|\b(?:by|to|of|save|saving|reduce|reducing|cut|lose) (X{1,2})\b(?![-%])")


def as_printed(quote: str) -> list[str]:
    """The words of `quote`, in its order and once each, that it prints as its document
    printed them though they read like slips: always-capitalised names in lower case, and
    placeholders for figures."""
    found = [(m.start(), m.group(1)) for m in _LOWER_WORD.finditer(quote)
             if m.group(1) in _ALWAYS_CAPITAL]
    found += [(m.start(), m.group(1) or m.group()) for m in _PLACEHOLDER.finditer(quote)]
    out: list[str] = []
    for _, text in sorted(found):
        if text not in out:
            out.append(text)
    return out
