"""Safe rendering of answers, sources and objectives.

Document text and user questions are never treated as HTML or Markdown: every such string
goes through `md_escape`, which backslash-escapes all ASCII punctuation, before it reaches
st.markdown. Highlights and markers are added around already-escaped text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import streamlit as st

from assistant.answer.form import display_title
from assistant.types import Answer, Objective, ObjectiveMatch, ProvisionKind, SectionPath

_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
# GFM turns bare URLs and e-mail addresses into links even when escaped; an invisible word
# joiner (U+2060) keeps them plain text
_AUTOLINK = re.compile(r"(?i)(?<=https:)(?=//)|(?<=http:)(?=//)|(?<=\bwww)(?=\.)|(?<=@)")
_BLANK = re.compile(r"\n[ \t]*\n\s*")
HIGHLIGHT = "yellow-background"


def md_escape(text: str) -> str:
    """Return `text` escaped so that Markdown (and HTML inside it) shows it literally."""
    return _PUNCT.sub(r"\\\1", _AUTOLINK.sub("\u2060", text))


def md_text(text: str) -> str:
    """Escaped Markdown for plain text, keeping its paragraphs and line breaks."""
    return highlight(text, 0, 0)


def marked_lines(text: str, start: int, end: int, escape, mark) -> list[list[str]]:
    """The paragraphs of `text`, each a list of its non-empty lines escaped with `escape`,
    with the part of text[start:end] on a line wrapped by `mark` (given it escaped).

    Works line by line, so a highlight that spans paragraphs is drawn in every one of them.
    """
    paragraphs, pos = [], 0
    for para in _BLANK.split(text):
        at = text.index(para, pos) if para else pos
        pos = at + len(para)
        lines, offset = [], at
        for line in para.split("\n"):
            lo, hi = offset, offset + len(line)
            offset = hi + 1
            a, b = max(start, lo) - lo, min(end, hi) - lo
            if a < b and line[a:b].strip():
                rendered = (escape(line[:a].lstrip()) + mark(escape(line[a:b]))
                            + escape(line[b:].rstrip()))
            else:
                rendered = escape(line.strip())
            if rendered:
                lines.append(rendered)
        if lines:
            paragraphs.append(lines)
    return paragraphs


def highlight(text: str, start: int, end: int) -> str:
    """Escaped Markdown of `text` with text[start:end] highlighted."""
    paragraphs = marked_lines(text, start, end, md_escape, lambda m: f":{HIGHLIGHT}[{m}]")
    return "\n\n".join("  \n".join(lines) for lines in paragraphs)


def short_title(doc) -> str:
    return (doc.short_title or doc.title) if doc is not None else ""


def location(section: SectionPath | str, paragraph: str | None, page: int | None,
             title: str = "") -> str:
    """'Chapter › Section · paragraph 3.21 · page 22' (only the parts that are known); a
    citation's `section` comes as written, an objective's as a SectionPath.

    A section that only repeats the document `title` (a web page's) is left out."""
    parts = []
    path = SectionPath.parse(section)
    if path and str(path).strip() != title.strip():
        parts.append(" › ".join(s.strip() for s in path.parts))
    if paragraph:
        parts.append(paragraph if not paragraph[:1].isdigit() else f"paragraph {paragraph}")
    if page:
        parts.append(f"page {page}")
    return " · ".join(parts)


def objective_label(o: Objective | ObjectiveMatch, doc=None, show_scores: bool = False,
                    score: float | None = None) -> str:
    """'Objective 15 · Draft mandate (2012) — Improve the support …' (escaped)."""
    title = display_title(o.title)  # whole: an expander's label wraps
    label = f"**Objective {o.number}**"
    if doc is not None:
        label += f" · {md_escape(short_title(doc))}"
    label += f" — {md_escape(title)}"
    if show_scores and score is not None:
        label += f" · score {score:.2f}"
    return label


def local_zone():
    """The browser's time zone (UTC if it is not known)."""
    try:
        return ZoneInfo(st.context.timezone) if st.context.timezone else UTC
    except (KeyError, ValueError):
        return UTC


def local_time(iso: str | None, zone) -> str:
    """'23 Nov 2026, 14:05' in `zone` for an ISO UTC timestamp."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone(zone).strftime("%-d %b %Y, %H:%M")
    except ValueError:
        return iso


# ------------------------------------------------------------------- download as Markdown


def _quote_block(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.split("\n"))


def conversation_markdown(messages: list[dict], titles: dict[str, str]) -> str:
    """The conversation as a Markdown document, with every citation and quote."""
    out = ["# NHS policy assistant: conversation", ""]
    for m in messages:
        if m["role"] == "user":
            out += [f"## Q: {m['text']}", ""]
            continue
        if "error" in m:
            out += [f"*{m['error']}*", ""]
            continue
        a: Answer = m["answer"]
        out += [a.answer, ""]
        if m.get("doc_ids"):
            out += ["Searched only: " + ", ".join(titles.get(d, d) for d in m["doc_ids"]), ""]
        if a.objectives:
            out += ["**Objectives:**", ""]
            out += [f"- Objective {o.number} ({titles.get(o.doc_id, o.doc_id)}): "
                    f"{display_title(o.title)}"
                    + ("" if o.falls_under else " (related)") for o in a.objectives]
            out.append("")
        provisions = [p for p in a.provisions if p.kind is not ProvisionKind.OBJECTIVE][:3]
        if provisions:
            out += ["**Rights, pledges and other provisions:**", ""]
            out += [f"- {p.kind.label} ({titles.get(p.doc_id, p.doc_id)}): {p.title}"
                    + ("" if p.falls_under else " (related)") for p in provisions]
            out.append("")
        if a.read_with_history:
            out += [f"_Read with the previous question as: \u201c{a.read_with_history}\u201d_",
                    ""]
        sources = a.closest if a.refused else a.citations
        if sources:
            out += ["**Closest passages:**" if a.refused else "**Sources:**", ""]
            for c in sources:
                where = location(c.section, c.paragraph, c.page, c.title)
                out += [f"[{c.marker}] {c.title}" + (f" ({where})" if where else ""), "",
                        _quote_block(c.quote), ""]
        if m.get("feedback"):
            out += [f"_Feedback: thumbs {m['feedback']}_", ""]
    return "\n".join(out).rstrip() + "\n"
