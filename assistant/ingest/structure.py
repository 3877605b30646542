"""A document's structure: chapters and headings, numbered paragraphs, objectives (with their
sub-bullets), consultation questions and the other provisions a document declares (principles,
values, rights, pledges, responsibilities), read from its cleaned blocks.

Which kinds a document may have comes from its manifest `kind` (see `provision_kinds`); the
provisions themselves are recognised by their wording and layout, never by document."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.types import Block, BlockKind, Document, ProvisionKind, Role, SectionPath

_OBJECTIVE = re.compile(r"^(?:[\u2022\u00b7*]\s*)?Objective (\d+)\s*:")
# a numbered paragraph, to three levels below the chapter: "3.21 ...", "4.2.1 ..."
_PARAGRAPH = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){1,3})\s+\S")
_NUMBERED = re.compile(r"^(\d{1,2})\.\s+(\S.*)$", re.S)
# bullets as documents print them: "•", "–", "▪", "●", "◦", "■", "‣" and the Symbol font's
# private-use bullet that word processors write into PDFs
_BULLET = re.compile(r"^[\u2022\u2013\u00b7*\-\u25aa\u25cf\u25e6\u25a0\u2023\uf0b7\uf0a7]\s")
# lettered, roman or bracketed numbers that open the items of a list: "(a)", "b)", "iv)", "2)"
_LISTED = re.compile(r"^\(?(?:[a-z]|[ivx]{1,4}|\d{1,2})\)\s+\S")
_ITEM_LABEL = re.compile(_BULLET.pattern + "|" + _LISTED.pattern[:-2])
# a line of its own that names what follows and ends in a colon ("Informed choice:"), over
# a paragraph rather than a list; and the start of such a paragraph
_SUBHEADING = re.compile(r"^[A-Z][^\n.;:!?]{2,80}:$")
_PROSE = re.compile(r"^[A-Z\u201c\u2018\"']")
# the longest paragraph a sub-heading that names one kind makes a provision of that kind
_STATEMENT_WORDS = 60
_QUESTIONS_HEADING = re.compile(r"^consultation questions?$", re.I)
_ENDS_SENTENCE = re.compile(r"[.!?;,:]$")
_LAYOUT_CHAPTER = re.compile(r"^\d{1,2}[a-z]?\.\s+\S")
_PRINCIPLES = re.compile(r"\bprinciples?\b", re.I)
_VALUES = re.compile(r"\bvalues\b", re.I)
_VALUE_NAME = re.compile(r"^([A-Z][^.!?:]{2,60})\.\s+\S")


def provision_kinds(doc_kind: str) -> set[ProvisionKind]:
    """The provision kinds a document of manifest kind `doc_kind` may have.

    Numbered "Objective N:" items and numbered paragraphs are recognised in any document;
    headings that lead bullet goals are objectives only in a mandate; principles, values,
    rights, pledges and responsibilities in a constitution, a charter, a handbook or a
    document the manifest does not describe (where they are detected from their wording).
    """
    k = doc_kind.lower()
    kinds = {ProvisionKind.OBJECTIVE, ProvisionKind.PARAGRAPH,
             ProvisionKind.CONSULTATION_QUESTION}
    charter = ("constitution", "charter", "handbook", "policy", "strategy", "document")
    if not k or any(w in k for w in charter) and "mandate" not in k:
        kinds |= {ProvisionKind.PRINCIPLE, ProvisionKind.VALUE, ProvisionKind.RIGHT,
                  ProvisionKind.PLEDGE, ProvisionKind.RESPONSIBILITY}
    return kinds


def heading_objectives(doc_kind: str) -> bool:
    """Whether a heading followed by bullet goals is an objective (a mandate summary)."""
    return "mandate" in doc_kind.lower() or "objective" in doc_kind.lower()


@dataclass
class Unit:
    """A block with its structural role.

    role: a `Role`; a provision (a principle, value, right, pledge or responsibility) has
    its kind in `provision`. `section` is the heading path in force at the block ("3.
    Putting patients first > Supporting carers"); `chapter` is its first element.
    """

    block: Block
    role: Role
    section: SectionPath
    chapter: str
    label: str | None = None
    number: str | None = None
    provision: ProvisionKind | None = None


def analyse(doc: Document) -> list[Unit]:
    """Return one Unit per block of `doc`, in order."""
    return _Analyser(doc).run()


class _Analyser:
    """Walks a document's blocks once, keeping the heading path, the list lead-in in force
    and the counts of each provision kind."""

    def __init__(self, doc: Document) -> None:
        self.blocks = doc.blocks
        self.has_numbered_objectives = any(
            b.kind is BlockKind.BODY and _OBJECTIVE.match(b.text) for b in self.blocks)
        self.charter = ProvisionKind.RIGHT in provision_kinds(doc.kind)
        # a document read with its layout says which lines are headings; text is not guessed at
        self.layout_headings = any(b.level for b in self.blocks)
        self.objectives_from_headings = heading_objectives(doc.kind)
        self.units: list[Unit] = []
        self.chapter = ""
        self.heading = ""
        self.lead = ""  # the line that introduces the current list ("The NHS also commits:")
        self.in_questions = False
        self.heading_objectives_seen = 0
        self.counts: dict[ProvisionKind, int] = {}
        self.last_role: Role | None = None

    def path(self, lead: bool = False) -> SectionPath:
        return SectionPath.of(self.chapter, self.heading,
                              _name(_last_sentence(self.lead)) if lead else "")

    def add(self, block: Block, role: Role, label: str | None = None,
            number: str | None = None, provision: ProvisionKind | None = None,
            remember: bool = True) -> None:
        in_list = provision is not None and bool(self.lead) and self.is_item(block.text, True)
        self.units.append(Unit(block, role, self.path(in_list), self.chapter, label, number,
                               provision))
        if remember:
            self.last_role = role

    def run(self) -> list[Unit]:
        for i, block in enumerate(self.blocks):
            nxt = self.blocks[i + 1] if i + 1 < len(self.blocks) else None
            self.step(block, nxt if nxt is not None and nxt.kind is BlockKind.BODY else None)
        return self.units

    def step(self, block: Block, nxt: Block | None) -> None:
        next_is_bullet = bool(nxt and _BULLET.match(nxt.text))
        next_is_item = bool(nxt and self.is_item(nxt.text, True))
        text = block.text.strip()
        if block.kind is BlockKind.FOOTNOTE:
            self.units.append(Unit(block, Role.FOOTNOTE, self.path(), self.chapter,
                                   f"Footnote {block.footnote}", str(block.footnote)))
            return
        if next_is_item and text.endswith(":") and self.opens_list(block, text):
            self.lead = text
            self.add(block, Role.LEAD)
            return
        if not self.is_item(text, bool(self.lead)) and block.kind is not BlockKind.HEADING:
            self.lead = ""
        if self.charter and block.kind is BlockKind.BODY and self.provision(block, text):
            return
        role = self.heading_role(block, text, next_is_bullet, nxt)
        if role is None:
            self.body(block, text)
            return
        self.enter(block, role, text, next_is_bullet)

    def is_item(self, text: str, numbered: bool) -> bool:
        """Whether a block is a list item; "2. ..." counts when `numbered` and the document
        has provisions (the items of a lead-in such as "You have the right to:")."""
        if _is_item(text):
            return True
        # a short numbered line with no closing stop is a chapter ("2. Your responsibilities")
        return numbered and self.charter and bool(_NUMBERED.match(text)) and not (
            len(text) <= 80 and not _ENDS_SENTENCE.search(text.rstrip()))

    def opens_list(self, block: Block, text: str) -> bool:
        """A line ending in a colon before a list leads into it: a layout sub-heading, or,
        in a document with provisions, a sentence that says what kind its items are."""
        if block.kind is BlockKind.HEADING:
            return block.level == 2
        return self.charter and lead_kind(text) is not None

    def provision(self, block: Block, text: str) -> bool:
        m_num = _NUMBERED.match(text)
        kind = item_kind(text, self.lead if self.is_item(text, True) else "", self.chapter,
                         self.heading, bool(m_num))
        if kind is None:
            return False
        self.counts[kind] = self.counts.get(kind, 0) + 1
        number = m_num.group(1) if kind is ProvisionKind.PRINCIPLE and m_num \
            else str(self.counts[kind])
        label = f"{kind.label} {number}" if kind is ProvisionKind.PRINCIPLE else kind.label
        self.add(block, Role.PROVISION, label, number, kind)
        return True

    def heading_role(self, block: Block, text: str, next_is_bullet: bool, nxt: Block | None
                     ) -> Role | None:
        """CHAPTER or HEADING when the block starts a section, else None."""
        if block.kind is BlockKind.HEADING:
            return Role.CHAPTER if block.level == 1 or _LAYOUT_CHAPTER.match(text) else Role.HEADING
        m_par = _PARAGRAPH.match(text)
        if m_par and nxt is not None and nxt.text.startswith(m_par.group(1) + ".") \
                and len(text) <= 80 and not _ENDS_SENTENCE.search(text.rstrip()):
            return Role.HEADING  # "4.2 Line managers" over its 4.2.1, 4.2.2 ...
        if _OBJECTIVE.match(text) or m_par or _BULLET.match(text):
            return None
        m_num = _NUMBERED.match(text)
        if m_num and self.in_questions and text.rstrip().endswith("?"):
            return None
        if m_num and block.indent <= 1 and len(text) <= 80 and not _ENDS_SENTENCE.search(text):
            return Role.CHAPTER
        if not self.layout_headings and _is_heading(text, next_is_bullet):
            return Role.HEADING
        if self.charter and _SUBHEADING.match(text) and nxt is not None \
                and _PROSE.match(nxt.text) and not _is_item(nxt.text):
            return Role.HEADING  # "Access to health services:" over the rights it files
        return None

    def body(self, block: Block, text: str) -> None:
        """A block that is not a heading: an objective, a numbered paragraph, a consultation
        question, a list item or running text."""
        m_obj = _OBJECTIVE.match(text)
        m_num = _NUMBERED.match(text)
        if m_obj:
            self.add(block, Role.OBJECTIVE, f"Objective {m_obj.group(1)}", m_obj.group(1))
        elif _PARAGRAPH.match(text):
            number = _PARAGRAPH.match(text).group(1)
            under = _PARAGRAPH.match(self.heading)
            if under and not number.startswith(under.group(1) + "."):
                self.heading = ""  # "4.4" is past the sub-heading "4.2 Line managers"
            self.add(block, Role.PARAGRAPH, number)
        elif m_num and self.in_questions and text.rstrip().endswith("?"):
            self.add(block, Role.QUESTION, f"Question {m_num.group(1)}", m_num.group(1))
        elif _BULLET.match(text):
            role = Role.SUBBULLET if self.last_role in {Role.OBJECTIVE, Role.SUBBULLET} \
                else Role.BULLET
            self.add(block, role, remember=role is Role.SUBBULLET)
        else:
            self.add(block, Role.TEXT)

    def enter(self, block: Block, role: Role, text: str, next_is_bullet: bool) -> None:
        """A heading: it changes the section path (and, in a mandate, a heading followed by
        bullet goals is itself an objective)."""
        name = _name(text)
        self.lead = ""
        if role is Role.CHAPTER:
            self.chapter, self.heading = name, ""
            self.in_questions = False
        else:
            self.heading = name
            self.in_questions = bool(_QUESTIONS_HEADING.match(name))
        if (role is Role.HEADING and next_is_bullet and not self.has_numbered_objectives
                and self.objectives_from_headings):
            self.heading_objectives_seen += 1
            n = str(self.heading_objectives_seen)
            self.add(block, Role.OBJECTIVE, f"Objective {n}", n)
            return
        self.add(block, role)


def _last_sentence(text: str) -> str:
    """The sentence of a lead-in paragraph that introduces its list: its last."""
    return re.split(r"(?<=[.!?])\s+(?=[A-Z\u201c\u2018])", text.strip())[-1]


def _name(text: str) -> str:
    return " ".join(text.split()).rstrip(":").rstrip()


_RIGHT = re.compile(r"^(?:you|patients?|staff|everyone|every\w*) (?:have|has) (?:the|a) right\b",
                    re.I)
_RESPONSIBILITY = re.compile(r"^(?:please\b|you should\b|you have a duty\b|you must\b)", re.I)
_PLEDGE = re.compile(r"^the nhs (?:also )?commits to\b", re.I)
# a kind stated after the item: "... to research studies (pledge); and"
_MARKER = re.compile(r"\((right|pledge|responsibility|duty|principle|value)\)", re.I)
# the words that name a kind in a lead-in or a heading ("The rights are there to ensure that
# staff:", "The NHS also commits:", "Your responsibilities")
_KIND_WORDS = (
    (ProvisionKind.RIGHT, re.compile(r"\brights?\b", re.I)),
    (ProvisionKind.PLEDGE, re.compile(r"\b(?:pledges?|commits?|promises?)\b", re.I)),
    (ProvisionKind.RESPONSIBILITY,
     re.compile(r"\b(?:responsibilit(?:y|ies)|duty|duties|you should|you must|please)\b",
                re.I)),
    (ProvisionKind.PRINCIPLE, re.compile(r"\bprinciples?\b", re.I)),
    (ProvisionKind.VALUE, re.compile(r"\bvalues\b", re.I)),
)
_MARKER_KIND = {"right": ProvisionKind.RIGHT, "pledge": ProvisionKind.PLEDGE,
                "responsibility": ProvisionKind.RESPONSIBILITY,
                "duty": ProvisionKind.RESPONSIBILITY, "principle": ProvisionKind.PRINCIPLE,
                "value": ProvisionKind.VALUE}


def named_kind(text: str) -> ProvisionKind | None:
    """The one provision kind a lead-in or heading names, or None when it names none or
    several ("your rights and NHS pledges to you")."""
    named = [kind for kind, words in _KIND_WORDS if words.search(text)]
    return named[0] if len(named) == 1 else None


def lead_kind(text: str) -> ProvisionKind | None:
    """The kind of the items a lead-in ending in a colon introduces ("You have the right
    to:", "The NHS also commits:"), read from its last sentence; or None."""
    return named_kind(_last_sentence(text)) if text.rstrip().endswith(":") else None


def item_kind(text: str, lead: str, chapter: str, heading: str, numbered: bool
              ) -> ProvisionKind | None:
    """The kind of provision a body block states: from a kind marker after it ("(pledge)"),
    the lead-in of its list, its own wording ("You have the right to ..."), or the heading
    over it when that names one kind: a list item under its sub-heading or chapter ("Your
    responsibilities"), a short paragraph under its sub-heading ("Our pledges to carers")."""
    bullet = _is_item(text) or bool(lead)
    item = _ITEM_LABEL.sub("", text, count=1) if bullet else text
    marker = _MARKER.search(item)
    if marker:
        return _MARKER_KIND[marker.group(1).lower()]
    if bullet and lead:
        return lead_kind(lead)
    if _RIGHT.match(item):
        return ProvisionKind.RIGHT
    if _PLEDGE.search(item):
        return ProvisionKind.PLEDGE
    if _RESPONSIBILITY.match(item):
        return ProvisionKind.RESPONSIBILITY
    if numbered and _PRINCIPLES.search(chapter) and len(text) > 80:
        return ProvisionKind.PRINCIPLE
    if _VALUES.search(chapter) and _VALUE_NAME.match(item) and len(item.split(".")[0].split()) <= 6:
        return ProvisionKind.VALUE
    if bullet:
        return named_kind(heading) or named_kind(chapter)
    if heading and len(item.split()) <= _STATEMENT_WORDS and item.rstrip()[-1:] in ".!?":
        return named_kind(heading)  # a short paragraph under "Our pledges to carers"
    return None


def _is_item(text: str) -> bool:
    """Whether a block is an item of a list: bulleted, lettered or numbered in brackets."""
    return bool(_BULLET.match(text) or _LISTED.match(text))


def _is_heading(text: str, next_is_bullet: bool) -> bool:
    if _ENDS_SENTENCE.search(text) or text[:1].isdigit() or "\n" in text:
        return False
    words = len(text.split())
    if next_is_bullet:
        return words <= 40
    return words <= 20 and len(text) <= 160
