"""A question analysed once: `QueryReader.read(question, history, doc_ids) -> Query`.

Every rule that reads a question lives here, and nothing after it reads the raw string
again: the clean text, the reading with the conversation (follow-ups), the vector, the
glossary's policy terms, the intent ("asks for one fact", "asks about objectives", "asks
for a list") and the specifics it names (years, numbers, proper names).

Follow-up questions are read with the conversation: "and for children?" after "Which
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
import unicodedata

import numpy as np

from assistant.answer.asking import asks_for_fact, fact_kind
from assistant.answer.glossary import Glossary
from assistant.answer.naming import DocumentNames
from assistant.config import Settings
from assistant.errors import QuestionError, UnknownDocumentError
from assistant.search.sentences import words_of
from assistant.text import strip_years, year_spans, years_in
from assistant.types import Intent, ProvisionKind, Query, Specifics

# ---------------------------------------------------------------------------- intent rules

# a question answered yes or no opens with its verb
_YES_NO = re.compile(r"^\W*(?:do|does|did|is|are|was|were|am|can|could|will|would|should"
                     r"|shall|must|may|might|has|have|had)\b", re.I)
_OBJECTIVE_WORDS = re.compile(
    r"\b(objectives?|goals?|aims?|priorit(?:y|ies)|ambitions?|commitments?)\b", re.I
)
_OBJECTIVE_NUMBER = re.compile(r"\bobjective\s*(?:no\.?|number|#)?\s*(\d{1,2})\b", re.I)
_CONSULTATION = re.compile(r"\bconsult|\bquestions?\b|\brespond", re.I)
_CHAPTER = re.compile(r"\bchapter\s+(\d{1,2})\b", re.I)
# "What is the consultation asking me?": the consultation's questions, listed whole, when
# nothing but these words frames the question
_ASKS_QUESTIONS = re.compile(r"\b(questions?|ask(?:s|ing|ed)?)\b", re.I)
_LIST_FRAME = set("""what which are is the a of does do did me us i we you being this
consultation consultations questions question ask asks asking asked all list there
people respondents answer to in on for mandate draft""".split())
# "What are the NHS values?", "which principles guide the NHS?"
_ASKS_FOR_ALL = re.compile(
    r"\b(?:what|which|list|name)\b(?: are| is)?(?: all)?(?: of)?(?: the| my| your| its| our)?"
    r"(?: \w+){0,2}? (principles|values|rights|pledges|responsibilities|duties)\b", re.I)
_PLURAL = {"principles": ProvisionKind.PRINCIPLE, "values": ProvisionKind.VALUE,
           "rights": ProvisionKind.RIGHT, "pledges": ProvisionKind.PLEDGE,
           "responsibilities": ProvisionKind.RESPONSIBILITY,
           "duties": ProvisionKind.RESPONSIBILITY}
# a question asking how to do something or where to go ("How do I register with ...?",
# "Where can I get ...?", "What time does ... open?"), after an optional polite opening
_HOW_TO = re.compile(
    r"^\W*(?:(?:please|so|and|ok|okay)\W+)?(?:(?:can|could) you (?:please )?tell me\s+)?"
    r"(?:how (?:(?:do|can|could|should|would|might) )?(?:i|we|you|one|someone)\b|how to\b"
    r"|where (?:do|can|could|should|would|is|are)\b|where(?:'s|\u2019s)|what time\b)", re.I)
# a question about the present state of things
_NOW = re.compile(r"\b(?:today|tonight|right now|at the moment|at present|currently|nowadays"
                  r"|these days|this (?:week|month|year|winter|summer|autumn|spring))\b", re.I)
# The kind of provision a question asks about, from how it asks: for an entitlement ("am I
# entitled to", "do I have the right to", "can I"), for a commitment made to the asker ("does
# the NHS promise", "will they"), for what the asker owes ("must I", "am I expected to",
# "my duty"), or for a value or principle by name. A question may ask about several.
_ASKS_KIND = [
    (ProvisionKind.RIGHT, re.compile(
        r"\brights?\b(?! (?:thing|place|time|person|one)\b)|\bentitle\w*|\ballowed\b"
        r"|\b(?:can|may|could) (?:i|we|my|our|he|she|they|patients?|people|staff)\b"
        r"|\bprotect(?:ed|ion)\b", re.I)),
    (ProvisionKind.PLEDGE, re.compile(
        r"\bpledges?\b|\bpromis\w*|\bcommit(?:s|ted|ments?)?\b|\bguarantee\w*"
        r"|\b(?:will|would|does|do|should) (?:the nhs|they|anyone|someone|the hospital"
        r"|the trust|my employer|my trust|my gp|the service)\b", re.I)),
    (ProvisionKind.RESPONSIBILITY, re.compile(
        r"\bresponsib\w*|\bdut(?:y|ies)\b|\bobligations?\b"
        r"|\b(?:am|are) (?:i|we) (?:expected|obliged|required|supposed|meant|bound|responsible)"
        r"|\b(?:must|should|shall) (?:i|we)\b|\b(?:do|would) (?:i|we) (?:have|need) to\b"
        r"|\bis it (?:my|our) (?:job|duty|responsibility)\b", re.I)),
    (ProvisionKind.VALUE, re.compile(r"\bvalues?\b", re.I)),
    (ProvisionKind.PRINCIPLE, re.compile(r"\bprinciples?\b", re.I)),
]
# specifics: a number of three or more digits, a proper name of two or more words
_SPECIFIC_NUMBER = re.compile(r"(?<![\d,.])(\d{1,3}(?:,\d{3})+|\d{3,})(?![\d,])")
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][a-z\u2019']+(?:\s+[A-Z][a-z\u2019']+)+)")
# A question of several sentences is also read one sentence at a time: a story told before
# the actual ask ("My uncle had a heart attack at 52. Is the NHS being asked to ...?")
# dilutes the whole question's vector, and no single sentence of a document is close to all
# of it. A part is a sentence (or a clause closed by ";" or ":") of at least three words.
_PART_END = re.compile(r"(?<=[.?!;:])\s+(?=\S)")
_PART_WORDS = 3
# "the current mandate", "the latest NHS mandate": the newest document of that title
_CURRENT = re.compile(r"\b(?:current|latest|most recent|newest)\s+([A-Za-z]+)(?:\s+([A-Za-z]+))?",
                      re.I)


def is_objective_question(question: str) -> bool:
    """True when the question asks about objectives (or names one by number)."""
    return bool(_OBJECTIVE_WORDS.search(question))


def named_number(question: str) -> str | None:
    """The number of the objective the question names ("objective 15" -> "15"), or None."""
    m = _OBJECTIVE_NUMBER.search(question)
    return str(int(m.group(1))) if m else None


def asked_kinds(question: str) -> tuple[ProvisionKind, ...]:
    """The kinds of provision a question asks about (see `_ASKS_KIND`), in catalogue order."""
    return tuple(kind for kind, rx in _ASKS_KIND if rx.search(question))


def intent_of(question: str) -> Intent:
    """Everything later steps need to know about what the question asks for."""
    fact = asks_for_fact(question)
    objectives = is_objective_question(question)
    consultation = bool(_CONSULTATION.search(question))
    chapter = _CHAPTER.search(question)
    listing = _ASKS_FOR_ALL.search(question)
    lists_questions = (consultation and bool(_ASKS_QUESTIONS.search(question))
                       and all(w in _LIST_FRAME for w in re.findall(r"[a-z]+", question.lower())))
    return Intent(
        asks_for_fact=fact, fact_kind=fact_kind(question) if fact else None,
        asks_yes_no=bool(_YES_NO.match(question)),
        about_objectives=objectives, objective_number=named_number(question),
        about_consultation=consultation, lists_consultation_questions=lists_questions,
        chapter=int(chapter.group(1)) if chapter and objectives else None,
        lists_kind=_PLURAL[listing.group(1).lower()] if listing else None,
        cues=cues_of(question), provision_kinds=asked_kinds(question))


def cues_of(question: str) -> tuple[str, ...]:
    """The wordings of a question that policy documents seldom answer: "how_to" (how to do
    something, where to go) and "now" (the present state of things)."""
    return tuple(name for name, rx in (("how_to", _HOW_TO), ("now", _NOW)) if rx.search(question))


def specifics_of(question: str) -> Specifics:
    """The years, numbers and proper names a question names."""
    names = []
    for name in _NAME.findall(question):
        words = [w.lower().removesuffix("'s").removesuffix("\u2019s") for w in name.split()]
        names.append((name, tuple(words)))
    return Specifics(
        years=tuple((text, tuple(ys)) for text, ys in year_spans(question)),
        numbers=tuple(_SPECIFIC_NUMBER.findall(strip_years(question))),
        names=tuple(names))


def question_parts(question: str) -> tuple[str, ...]:
    """The sentences of a question of more than one, each of at least three words; () for
    a question of one sentence."""
    parts = tuple(p.strip() for p in _PART_END.split(question)
                  if len(p.split()) >= _PART_WORDS)
    return parts if len(parts) > 1 else ()


def named_current(question: str) -> str | None:
    """The word a question names as the newest of its kind ("the current mandate" ->
    "mandate", "the latest NHS mandate" -> "nhs mandate"), else None: the one or two words
    after "current", "latest", "most recent" or "newest"."""
    m = _CURRENT.search(question)
    return " ".join(w for w in m.groups() if w).lower() if m else None


def clean_question(question: str, max_chars: int) -> str:
    """Return the question stripped of control characters; raise QuestionError if unusable."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    text = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"} else ch
        for ch in question
    )
    text = " ".join(text.split())
    if not text:
        raise QuestionError("The question is empty; type a question about the NHS documents.")
    if len(text) > max_chars:
        raise QuestionError(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. "
            "Ask a shorter question."
        )
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("The question has no words in it; type a question in words.")
    return text


class QueryReader:
    """Builds the `Query` every step of a question works from."""

    def __init__(self, embedder, glossary: Glossary, settings: Settings,
                 doc_ids: list[str], names: DocumentNames | None = None) -> None:
        self.embedder = embedder
        self.names = names
        self.glossary = glossary
        self.max_chars = settings.max_question_chars
        self.followup_words = settings.followup_words
        self.known_docs = list(doc_ids)

    def check_docs(self, doc_ids: list[str] | None) -> tuple[str, ...] | None:
        """The requested document ids, or raise naming the ones that do not exist."""
        if not doc_ids:
            return None
        known = set(self.known_docs)
        unknown = [d for d in doc_ids if d not in known]
        if unknown:
            raise UnknownDocumentError(
                f"Unknown document id {', '.join(repr(u) for u in unknown)}; "
                f"known ids: {', '.join(self.known_docs)}."
            )
        return tuple(doc_ids)

    def read(self, question: str, history: list[dict] | None = None,
             doc_ids: list[str] | None = None, mapping_only: bool = False) -> Query:
        """The question analysed: raise QuestionError or UnknownDocumentError for bad input.
        `mapping_only`: the query is only mapped to objectives, so its parts are not
        embedded (`part_vectors` is None)."""
        text = clean_question(question, self.max_chars)
        docs = self.check_docs(doc_ids)
        read = resolve(text, history, self.followup_words) if history else None
        asked = read or text
        terms = tuple(self.glossary.terms(asked))
        vector = self.embedder.embed(asked)
        parts = () if mapping_only else question_parts(asked)
        # each part is embedded alone (as every text is), so together they cost about
        # what the whole question does
        part_vectors = self.embedder.embed_batch(list(parts)) if parts else None
        previous = next((str(t.get("question") or "").strip() for t in reversed(history or [])
                         if (t or {}).get("question")), None)
        return Query(text=text, asked=asked, vector=np.asarray(vector), terms=terms,
                     expanded=self.glossary.expand(asked),
                     intent=intent_of(asked), specifics=specifics_of(asked),
                     years=tuple(years_in(asked)), doc_ids=docs, previous=previous,
                     read_with_history=read, words=words_of(asked),
                     part_vectors=part_vectors, current=named_current(asked),
                     named_docs=self.names.named(asked) if self.names else ())


# ------------------------------------------------------------ follow-ups read with history

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
_SHORT = Settings.model_fields["followup_words"].default
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


def leans_on_previous(question: str, short: int = _SHORT) -> bool:
    """True when the question cannot be read without the previous turn."""
    words = _WORD.findall(question)
    if _CONNECTIVE.match(question) and len(words) <= short:
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


def read_with(question: str, previous: str, short: int = _SHORT) -> str | None:
    """The question as read with the previous (already resolved) question, or None when
    it stands on its own."""
    if not previous or not leans_on_previous(question, short):
        return None
    span = _topic_span(previous)
    if span is None:
        return None
    topic = previous[span[0]:span[1]]
    if _CONNECTIVE.match(question) and len(_WORD.findall(question)) <= short:
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


def resolve(question: str, history: list[dict] | None, short: int = _SHORT) -> str | None:
    """The question as read with the conversation so far (oldest turn first), or None
    when it is read as asked. Each earlier question is itself read with its own past, so
    "and for children?" then "what about older people?" both keep the first frame."""
    previous = ""
    for turn in history or []:
        asked = str((turn or {}).get("question") or "").strip()
        if not asked:
            continue
        previous = read_with(asked, previous, short) or asked
    return read_with(question, previous, short)
