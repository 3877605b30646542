"""Follow-up questions read with the conversation: "and for children?" after "Which
objective covers carers?" is read as "Which objective covers children?".

A question leans on the previous turn when it opens with a connective ("and ...", "what
about ...", "how about ...") and is short, or when it refers back with a pronoun ("what
does it say about them?"). The previous question (itself read with its own history) is
split into its frame ("Which objective covers") and its topic ("carers"): a connective
follow-up keeps the frame and brings its own topic; a pronoun follow-up keeps its own
words and takes the previous topic in place of the pronoun. Anything else is read as
asked.
"""

from __future__ import annotations

import re

# "and for children?", "what about mental health?", "how about for older people?"
_CONNECTIVE = re.compile(
    r"^\W*(?:(?:and|but|also|or)\s+)?(?:what|how)\s+about\s+(?:for\s+|the\s+)?"
    r"|^\W*(?:and|but|also|or)\s+(?:(?:for|about|on|with|regarding|in)\s+)?",
    re.I,
)
# a pronoun standing for the previous topic, after a preposition or verb
_PRONOUN = re.compile(r"\b(?:about|for|on|to|with|regarding|of|cover|covers|help|support)"
                      r"\s+(them|those|these|this|that|it|they)\b", re.I)
_QUESTION_WORD = re.compile(r"(?:what|which|who|whom|whose|when|where|why|how|is|are|was"
                            r"|were|does|do|did|can|could|should|will|would)\b", re.I)
# a follow-up of more words than this stands on its own unless it refers back
_SHORT = 6
# words that frame a question without naming its topic
_FRAME = set("""
a an the and or but of in on for to with about by from at as is are was were be been do
does did doing has have had can could should would will shall may might must what which
who whom whose when where why how whether there their they them it its this that these
those i me my we us our you your he she his her say says said cover covers covered
covering mention mentions mentioned mandate mandates nhs document documents draft
objective objectives goal goals aim aims priority priorities commitment commitments
target targets plan plans policy policies text any anything something tell explain
describe expect expects expected government board commissioning set sets out
""".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")


def leans_on_previous(question: str) -> bool:
    """True when the question cannot be read without the previous turn."""
    words = _WORD.findall(question)
    if _CONNECTIVE.match(question) and len(words) <= _SHORT:
        return True
    return bool(_PRONOUN.search(question)) and not _topic_span(question)


def _topic_span(question: str) -> tuple[int, int] | None:
    """Where the question's topic lies: from its first word that is not framing to the
    end (without the closing punctuation); None when every word frames."""
    for m in _WORD.finditer(question):
        if m.group(0).lower().strip("'\u2019") not in _FRAME:
            end = len(question.rstrip(" ?.!"))
            return m.start(), max(end, m.end())
    return None


def _own_topic(question: str) -> str:
    """A connective follow-up's own topic: what follows the connective."""
    rest = _CONNECTIVE.sub("", question, count=1)
    return rest.strip(" ?.!")


def read_with(question: str, previous: str) -> str | None:
    """The question as read with the previous (already resolved) question, or None when
    it stands on its own."""
    if not previous or not leans_on_previous(question):
        return None
    span = _topic_span(previous)
    if span is None:
        return None
    topic = previous[span[0]:span[1]]
    if _CONNECTIVE.match(question) and len(_WORD.findall(question)) <= _SHORT:
        own = _own_topic(question)
        if not own or _PRONOUN.search(question) or _QUESTION_WORD.match(own):
            return None  # "and what is the NHS Constitution?" is a question of its own
        frame = previous[:span[0]].rstrip()
        return f"{frame} {own}?" if frame else f"{own}?"
    m = _PRONOUN.search(question)
    if m is None:
        return None
    s, e = m.span(1)
    text = f"{question[:s]}{topic}{question[e:]}"
    return text[:1].upper() + text[1:]


def resolve(question: str, history: list[dict] | None) -> str | None:
    """The question as read with the conversation so far (oldest turn first), or None
    when it is read as asked. Each earlier question is itself read with its own past, so
    "and for children?" then "what about older people?" both keep the first frame."""
    previous = ""
    for turn in history or []:
        asked = str((turn or {}).get("question") or "").strip()
        if not asked:
            continue
        previous = read_with(asked, previous) or asked
    return read_with(question, previous)
