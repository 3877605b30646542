"""A document's structure: chapters and headings, numbered paragraphs, objectives (with their
sub-bullets) and consultation questions, read from its cleaned blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.types import Block, Document

_OBJECTIVE = re.compile(r"^(?:[\u2022\u00b7*]\s*)?Objective (\d+)\s*:")
_PARAGRAPH = re.compile(r"^(\d{1,2}\.\d{1,2})\s+\S")
_NUMBERED = re.compile(r"^(\d{1,2})\.\s+(\S.*)$", re.S)
_BULLET = re.compile(r"^[\u2022\u2013\u00b7*\-]\s")
_QUESTIONS_HEADING = re.compile(r"^consultation questions?$", re.I)
_ENDS_SENTENCE = re.compile(r"[.!?;,:]$")


@dataclass
class Unit:
    """A block with its structural role.

    role: chapter | heading | paragraph | objective | subbullet | question | bullet | text
    | footnote. `section` is the heading path in force at the block ("3. Putting patients
    first > Supporting carers"); `chapter` is its first element.
    """

    block: Block
    role: str
    section: str
    chapter: str
    label: str | None = None
    number: str | None = None


def analyse(doc: Document) -> list[Unit]:
    """Return one Unit per block of `doc`, in order."""
    blocks = doc.blocks
    has_numbered_objectives = any(
        b.kind == "body" and _OBJECTIVE.match(b.text) for b in blocks
    )
    units: list[Unit] = []
    chapter = ""
    heading = ""
    in_questions = False
    heading_objectives = 0
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
        if block.kind == "heading":
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
        elif _is_heading(text, next_is_bullet):
            role = "heading"
        else:
            units.append(Unit(block, "text", path(), chapter))
            last_role = "text"
            continue

        # headings change the section path
        if role == "chapter":
            chapter, heading = " ".join(text.split()), ""
            in_questions = False
        else:
            heading = " ".join(text.split())
            in_questions = bool(_QUESTIONS_HEADING.match(heading))
        if role == "heading" and next_is_bullet and not has_numbered_objectives:
            # a heading followed by bullet goals is itself an objective (e.g. a mandate summary)
            heading_objectives += 1
            units.append(Unit(block, "objective", path(), chapter,
                              f"Objective {heading_objectives}", str(heading_objectives)))
            last_role = "objective"
            continue
        units.append(Unit(block, role, path(), chapter))
        last_role = role
    return units


def _is_heading(text: str, next_is_bullet: bool) -> bool:
    if _ENDS_SENTENCE.search(text) or text[:1].isdigit() or "\n" in text:
        return False
    words = len(text.split())
    if next_is_bullet:
        return words <= 40
    return words <= 20 and len(text) <= 160
