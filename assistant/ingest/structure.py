"""A document's structure: chapters and headings, numbered paragraphs, objectives (with their
sub-bullets), consultation questions and the other provisions a document declares (principles,
values, rights, pledges, responsibilities), read from its cleaned blocks.

Which kinds a document may have comes from its manifest `kind` (see `provision_kinds`); the
provisions themselves are recognised by their wording and layout, never by document."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.types import Block, Document, ProvisionKind

_OBJECTIVE = re.compile(r"^(?:[\u2022\u00b7*]\s*)?Objective (\d+)\s*:")
_PARAGRAPH = re.compile(r"^(\d{1,2}\.\d{1,2})\s+\S")
_NUMBERED = re.compile(r"^(\d{1,2})\.\s+(\S.*)$", re.S)
_BULLET = re.compile(r"^[\u2022\u2013\u00b7*\-]\s")
_QUESTIONS_HEADING = re.compile(r"^consultation questions?$", re.I)
_ENDS_SENTENCE = re.compile(r"[.!?;,:]$")
_LAYOUT_CHAPTER = re.compile(r"^\d{1,2}[a-z]?\.\s+\S")
_RIGHT = re.compile(r"^(?:you|patients?|staff|everyone|every\w*) (?:have|has) (?:the|a) right\b",
                    re.I)
_RESPONSIBILITY = re.compile(r"^(?:please\b|you should\b|you have a duty\b|you must\b)", re.I)
_PLEDGE = re.compile(r"\(pledge\)|^the nhs (?:also )?commits to\b", re.I)
_PLEDGE_LEAD = re.compile(r"\bcommits?\b[^.]*:$", re.I)
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

    role: chapter | heading | lead | paragraph | objective | subbullet | question | bullet
    | text | footnote | provision (a principle, value, right, pledge or responsibility; its
    kind in `provision`). `section` is the heading path in force at the block ("3. Putting patients
    first > Supporting carers"); `chapter` is its first element.
    """

    block: Block
    role: str
    section: str
    chapter: str
    label: str | None = None
    number: str | None = None
    provision: ProvisionKind | None = None


def analyse(doc: Document) -> list[Unit]:
    """Return one Unit per block of `doc`, in order."""
    blocks = doc.blocks
    has_numbered_objectives = any(
        b.kind == "body" and _OBJECTIVE.match(b.text) for b in blocks
    )
    charter = ProvisionKind.RIGHT in provision_kinds(doc.kind)
    # a document read with its layout says which lines are headings; text is not guessed at
    layout_headings = any(b.level for b in blocks)
    objectives_from_headings = heading_objectives(doc.kind)
    units: list[Unit] = []
    chapter = ""
    heading = ""
    lead = ""  # the line that introduces the current list ("The NHS also commits:")
    in_questions = False
    heading_objectives_seen = 0
    counts: dict[ProvisionKind, int] = {}
    last_role = ""

    def path() -> str:
        return " > ".join(p for p in (chapter, heading) if p)

    for i, block in enumerate(blocks):
        text = block.text.strip()
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        next_is_bullet = bool(nxt and nxt.kind == "body" and _BULLET.match(nxt.text))
        if block.kind == "footnote":
            units.append(Unit(block, "footnote", path(), chapter, f"Footnote {block.footnote}",
                              str(block.footnote)))
            continue
        m_obj = _OBJECTIVE.match(text)
        m_par = _PARAGRAPH.match(text)
        m_num = _NUMBERED.match(text)
        if block.kind == "heading" and block.level == 2 and text.endswith(":") and next_is_bullet:
            lead = text
            units.append(Unit(block, "lead", path(), chapter))
            last_role = "lead"
            continue
        if not _BULLET.match(text):
            lead = "" if block.kind != "heading" else lead
        kind = _provision(text, lead, chapter, bool(m_num)) if charter and block.kind == "body" \
            else None
        if kind is not None:
            counts[kind] = counts.get(kind, 0) + 1
            number = m_num.group(1) if kind is ProvisionKind.PRINCIPLE and m_num \
                else str(counts[kind])
            label = f"{kind.label} {number}" if kind is ProvisionKind.PRINCIPLE else kind.label
            units.append(Unit(block, "provision", path(), chapter, label, number, kind))
            last_role = "provision"
            continue
        if block.kind == "heading" and (block.level == 1 or _LAYOUT_CHAPTER.match(text)):
            role = "chapter"
        elif block.kind == "heading":
            role = "heading"
        elif m_obj:
            units.append(Unit(block, "objective", path(), chapter, f"Objective {m_obj.group(1)}",
                              m_obj.group(1)))
            last_role = "objective"
            continue
        elif m_par:
            units.append(Unit(block, "paragraph", path(), chapter, m_par.group(1)))
            last_role = "paragraph"
            continue
        elif m_num and in_questions and text.rstrip().endswith("?"):
            units.append(Unit(block, "question", path(), chapter, f"Question {m_num.group(1)}",
                              m_num.group(1)))
            last_role = "question"
            continue
        elif _BULLET.match(text):
            role = "subbullet" if last_role in {"objective", "subbullet"} else "bullet"
            units.append(Unit(block, role, path(), chapter))
            if role == "subbullet":
                last_role = "subbullet"
            continue
        elif (m_num and block.indent <= 1 and len(text) <= 80
              and not _ENDS_SENTENCE.search(text)):
            role = "chapter"
        elif not layout_headings and _is_heading(text, next_is_bullet):
            role = "heading"
        else:
            units.append(Unit(block, "text", path(), chapter))
            last_role = "text"
            continue

        # headings change the section path
        name = " ".join(text.split()).rstrip(":").rstrip()
        if role == "chapter":
            chapter, heading = name, ""
            in_questions = False
        else:
            heading = name
            in_questions = bool(_QUESTIONS_HEADING.match(heading))
        if (role == "heading" and next_is_bullet and not has_numbered_objectives
                and objectives_from_headings):
            # in a mandate, a heading followed by bullet goals is itself an objective
            heading_objectives_seen += 1
            n = str(heading_objectives_seen)
            units.append(Unit(block, "objective", path(), chapter, f"Objective {n}", n))
            last_role = "objective"
            continue
        units.append(Unit(block, role, path(), chapter))
        last_role = role
    return units


def _provision(text: str, lead: str, chapter: str, numbered: bool) -> ProvisionKind | None:
    """The kind of provision a body block states, from its wording and the list it is in."""
    bullet = bool(_BULLET.match(text))
    item = _BULLET.sub("", text, count=1) if bullet else text
    if bullet and lead:
        if _PLEDGE_LEAD.search(lead) or _PLEDGE.search(item):
            return ProvisionKind.PLEDGE
        if _RESPONSIBILITY.match(lead):
            return ProvisionKind.RESPONSIBILITY
        return None
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
    return None


def _is_heading(text: str, next_is_bullet: bool) -> bool:
    if _ENDS_SENTENCE.search(text) or text[:1].isdigit() or "\n" in text:
        return False
    words = len(text.split())
    if next_is_bullet:
        return words <= 40
    return words <= 20 and len(text) <= 160
