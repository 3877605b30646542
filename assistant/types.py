"""The data that flows through the assistant: files -> Document -> Passage -> Hit -> Answer,
and a question: text -> Query -> Hits -> Evidence -> Answer. Internal records are
dataclasses; the JSON contract (Citation, Answer...) is pydantic.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

# A section is written as its headings, outermost first, joined by this: "3. Chapter > Heading".
SECTION_SEPARATOR = " > "


@dataclass(frozen=True, slots=True)
class SectionPath:
    """Where a passage sits: its headings, outermost first ("3. Putting patients first",
    "Supporting carers"). `str()` writes it as files, JSON and screens show it,
    "3. Putting patients first > Supporting carers"; `parse` reads that form back. No other
    code splits or joins the written form."""

    parts: tuple[str, ...] = ()

    @classmethod
    def of(cls, *headings: str) -> SectionPath:
        """The path of these headings, outermost first, leaving out empty ones."""
        return cls(tuple(h for h in headings if h))

    @classmethod
    def parse(cls, section: SectionPath | str) -> SectionPath:
        """The path a written section names ("" names none); a SectionPath is returned as is."""
        if isinstance(section, SectionPath):
            return section
        return cls(tuple(section.split(SECTION_SEPARATOR)) if section else ())

    @property
    def chapter(self) -> str:
        """The outermost heading (the chapter), or ""."""
        return self.parts[0] if self.parts else ""

    @property
    def heading(self) -> str:
        """The innermost heading, or ""."""
        return self.parts[-1] if self.parts else ""

    @property
    def depth(self) -> int:
        """How many headings deep: 0 for none, 1 for a chapter alone."""
        return len(self.parts)

    def __str__(self) -> str:
        return SECTION_SEPARATOR.join(self.parts)

    def __bool__(self) -> bool:
        return bool(self.parts)


class BlockKind(StrEnum):
    """What a cleaned block of text is, as read from the layout."""

    BODY = "body"
    FOOTNOTE = "footnote"
    HEADING = "heading"  # a line the layout prints as a heading (its level in `Block.level`)


class Role(StrEnum):
    """The structural role of a block in its document (`assistant.ingest.structure`)."""

    CHAPTER = "chapter"
    HEADING = "heading"
    LEAD = "lead"  # the line that introduces a list ("You have the right to:")
    PARAGRAPH = "paragraph"  # a numbered paragraph ("3.21 ...")
    OBJECTIVE = "objective"
    SUBBULLET = "subbullet"  # a bullet of an objective
    QUESTION = "question"  # a consultation question
    BULLET = "bullet"
    TEXT = "text"
    FOOTNOTE = "footnote"
    PROVISION = "provision"  # a principle, value, right, pledge or responsibility


@dataclass
class Block:
    """A cleaned run of text (a paragraph, a heading, a bullet, a footnote) inside a document.

    `start`/`end` are offsets into `Document.text`; `pages` lists (offset, page) change points
    so a block that runs over a page break knows both pages."""

    text: str
    start: int
    end: int
    pages: list[tuple[int, int]]
    kind: BlockKind = BlockKind.BODY
    indent: int = 0
    page_start: bool = False
    footnote: int | None = None
    level: int = 0  # heading level read from the layout: 1 large type, 2 a bold line

    def __post_init__(self) -> None:
        self.kind = BlockKind(self.kind)  # also from the plain strings of a raw block


@dataclass
class Document:
    """One ingested file after clean-up. `text` is what every quote is taken from."""

    doc_id: str
    title: str
    text: str
    path: str = ""
    kind: str = "document"
    status: str = "unknown"
    date: str = ""
    source: str = ""
    short_title: str = ""
    sha256: str = ""
    n_pages: int = 0
    # sorted (offset, page) change points: the page of any offset is found by bisection
    page_points: list[tuple[int, int]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)

    def page_at(self, offset: int) -> int | None:
        """Return the page holding character `offset` of the clean text (None if unpaged)."""
        if not self.page_points:
            return None
        i = bisect.bisect_right(self.page_points, (offset, float("inf"))) - 1
        return self.page_points[max(i, 0)][1]

    def meta(self) -> dict:
        """Return the manifest-level description of the document (no text)."""
        d = asdict(self)
        for key in ("text", "blocks", "page_points"):
            d.pop(key)
        return d


class PassageKind(StrEnum):
    """What a passage holds: a numbered paragraph, an objective with its bullets, a
    consultation question, packed running text, a footnote, or one provision of the kinds
    a charter declares (its `ProvisionKind` value)."""

    PARAGRAPH = "paragraph"
    OBJECTIVE = "objective"
    QUESTION = "question"
    TEXT = "text"
    FOOTNOTE = "footnote"
    PRINCIPLE = "principle"
    VALUE = "value"
    RIGHT = "right"
    PLEDGE = "pledge"
    RESPONSIBILITY = "responsibility"


@dataclass(slots=True)
class Passage:
    """A retrieval unit that knows exactly where it came from."""

    id: str
    doc_id: str
    kind: PassageKind
    section: SectionPath
    paragraph: str | None
    page: int | None
    start: int  # offsets into Document.text; text == document.text[start:end]
    end: int
    text: str
    body_start: int = 0  # where the passage's own text starts after any attached heading
    page_end: int | None = None
    number: str | None = None  # objective or consultation-question number
    sentences: list[tuple[int, int]] = field(default_factory=list)  # document offsets

    def __post_init__(self) -> None:
        self.kind = PassageKind(self.kind)
        self.section = SectionPath.parse(self.section)  # also as written in a file

    def to_dict(self) -> dict:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["section"] = str(self.section)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Passage:
        d = dict(d)
        d["sentences"] = [tuple(s) for s in d.get("sentences", [])]
        return cls(**d)


@dataclass
class Objective:
    """A numbered objective (or, in documents that use headings, an objective heading)."""

    id: str  # "<doc_id>/<number>"
    doc_id: str
    number: str
    title: str
    text: str
    section: SectionPath
    page: int | None
    passage_id: str
    intro_passage_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.section = SectionPath.parse(self.section)  # also as written in a file

    def to_dict(self) -> dict:
        return {**asdict(self), "section": str(self.section)}


class ProvisionKind(StrEnum):
    """The kinds of provision a policy document can declare (see DESIGN.md)."""

    OBJECTIVE = "objective"
    CONSULTATION_QUESTION = "consultation_question"
    PRINCIPLE = "principle"
    VALUE = "value"
    RIGHT = "right"
    PLEDGE = "pledge"
    RESPONSIBILITY = "responsibility"
    PARAGRAPH = "paragraph"

    @property
    def label(self) -> str:
        """How a reader names one: "Right", "Consultation question"."""
        return self.value.replace("_", " ").capitalize()


@dataclass
class Provision:
    """One provision of a document: an objective, a right, a pledge, a principle...

    `number` is the document's own number where it prints one (objectives, principles,
    consultation questions), else the provision's order among its kind in the document."""

    id: str  # "<doc_id>/<kind>/<number>"
    doc_id: str
    kind: ProvisionKind
    number: str
    title: str
    text: str
    section: SectionPath
    page: int | None
    passage_id: str

    def __post_init__(self) -> None:
        self.section = SectionPath.parse(self.section)  # also as written in a file

    def to_dict(self) -> dict:
        return {**asdict(self), "kind": self.kind.value, "section": str(self.section)}

    @classmethod
    def from_dict(cls, d: dict) -> Provision:
        return cls(**{**d, "kind": ProvisionKind(d["kind"])})


@dataclass
class ConsultationQuestion:
    doc_id: str
    number: str
    text: str
    chapter: str
    passage_id: str
    page: int | None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Hit:
    """A retrieved passage with its fused score and the evidence behind it."""

    passage: Passage
    score: float  # reciprocal-rank-fusion score
    dense: float  # cosine similarity of passage and query
    bm25: float
    rank: int


class ScoredSentence(NamedTuple):
    """One sentence of a retrieved passage, scored for the answer (`search.sentences`)."""

    score: float  # for choosing what to quote: the cosine adjusted (see `score_sentences`)
    cos: float  # cosine similarity of the sentence and the question
    hit: Hit
    j: int  # the sentence's index in `hit.passage.sentences`


class FactKind(StrEnum):
    """The one fact a question asks for: when, how many, how long, who, which law."""
    DATE = "date"
    NUMBER = "number"
    DURATION = "duration"
    PERSON = "person"
    LAW = "law"


@dataclass(frozen=True)
class Intent:
    """What a question asks for, read once from its words (`assistant.answer.query`)."""
    asks_for_fact: bool = False  # one fact: how many, when, who...
    asks_yes_no: bool = False  # "Do I have to pay?", "Are pledges binding?"
    fact_kind: FactKind | None = None
    about_objectives: bool = False  # names objectives, goals, priorities...
    objective_number: str | None = None  # "objective 15"
    about_consultation: bool = False
    lists_consultation_questions: bool = False  # "what is the consultation asking?"
    chapter: int | None = None  # "the objectives of chapter 3"
    lists_kind: ProvisionKind | None = None  # "what are the NHS values?"
    cues: tuple[str, ...] = ()  # "how_to", "now": wordings the documents seldom answer
    provision_kinds: tuple[ProvisionKind, ...] = ()  # asked about: "am I entitled" a right


@dataclass(frozen=True)
class Specifics:
    """What a question names that the documents must hold to answer it (`answer.judge`)."""
    years: tuple[tuple[str, tuple[str, ...]], ...] = ()  # as written, the years it names
    numbers: tuple[str, ...] = ()
    names: tuple[tuple[str, tuple[str, ...]], ...] = ()  # a proper name and its words


@dataclass(frozen=True, eq=False)
class Query:
    """A question analysed once, at the start, and handed down every later step."""

    text: str  # as asked, cleaned
    asked: str  # as read: with the previous turn when it leans on it, else `text`
    vector: Any  # unit vector of `asked` (numpy)
    terms: tuple[str, ...]  # the glossary's policy terms for its everyday phrases
    expanded: str  # `asked` followed by `terms` (`asked` when there are none)
    intent: Intent
    specifics: Specifics
    years: tuple[str, ...]  # every year it names
    doc_ids: tuple[str, ...] | None = None  # only these documents (None: all)
    previous: str | None = None  # the conversation's previous question
    read_with_history: str | None = None  # `asked` when it differs from `text`
    words: frozenset[str] = frozenset()  # the stemmed content words of `asked`
    part_vectors: Any = None  # unit vectors of its sentences if several (`question_parts`)
    current: str | None = None  # what it names the newest of ("the current mandate": "mandate")
    named_docs: tuple[str, ...] = ()  # the documents it names by title ("the NHS Constitution")


class Citation(BaseModel):
    marker: int
    doc_id: str
    title: str
    section: str
    paragraph: str | None
    page: int | None
    quote: str
    score: float
    passage_id: str = ""
    start: int = 0
    end: int = 0
    as_printed: list[str] = Field(default_factory=list)  # slips as printed (answer.printed)


class ObjectiveMatch(BaseModel):
    id: str
    doc_id: str
    number: str
    title: str
    score: float
    # the question falls under it at or above the calibrated confidence, else it is related
    falls_under: bool = False


class ProvisionMatch(BaseModel):
    id: str
    doc_id: str
    kind: ProvisionKind
    number: str
    title: str
    section: str = ""
    page: int | None = None
    score: float
    falls_under: bool = False  # quoted by the answer, or scored at or above the confidence


class Answer(BaseModel):
    question: str
    answer: str
    refused: bool
    citations: list[Citation] = Field(default_factory=list)
    objectives: list[ObjectiveMatch] = Field(default_factory=list)
    # every kind of provision the question falls under (objectives included)
    provisions: list[ProvisionMatch] = Field(default_factory=list)
    closest: list[Citation] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    # the policy terms the question's everyday phrases were read as (see assistant.answer.glossary)
    read_as: list[str] = Field(default_factory=list)
    # the question as read with the conversation's previous turn (None: read as asked)
    read_with_history: str | None = None
    # the answer's first line: where the quotes come from, with no claim of its own
    lead: str = ""
