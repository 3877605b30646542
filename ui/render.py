"""Safe rendering of answers, sources and objectives.

Document text and user questions are never treated as HTML or Markdown: every such string
goes through `md_escape`, which backslash-escapes all ASCII punctuation, before it reaches
st.markdown. Highlights and markers are added around already-escaped text.
"""

from __future__ import annotations

import re

import streamlit as st

from assistant.answer import answer_lead, split_answer
from assistant.compose import display_title
from assistant.types import Answer, Citation, Objective, ObjectiveMatch, ProvisionMatch

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


def highlight(text: str, start: int, end: int) -> str:
    """Escaped Markdown of `text` with text[start:end] highlighted.

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
                pre, mid, post = line[:a], line[a:b], line[b:]
                rendered = (md_escape(pre.lstrip()) + f":{HIGHLIGHT}[{md_escape(mid)}]"
                            + md_escape(post.rstrip()))
            else:
                rendered = md_escape(line.strip())
            if rendered:
                lines.append(rendered)
        if lines:
            paragraphs.append("  \n".join(lines))
    return "\n\n".join(paragraphs)


def short_title(doc) -> str:
    return (doc.short_title or doc.title) if doc is not None else ""


def location(section: str, paragraph: str | None, page: int | None, title: str = "") -> str:
    """'Chapter › Section · paragraph 3.21 · page 22' (only the parts that are known).

    A section that only repeats the document `title` (a web page's) is left out."""
    parts = []
    if section and section.strip() != title.strip():
        parts.append(" › ".join(s.strip() for s in section.split(" > ")))
    if paragraph:
        parts.append(paragraph if not paragraph[:1].isdigit() else f"paragraph {paragraph}")
    if page:
        parts.append(f"page {page}")
    return " · ".join(parts)


def render_question(text: str) -> None:
    st.markdown(md_text(text))


def render_answer_text(answer: Answer) -> None:
    """The lead line, then each quote's sentences followed by bold [n] markers; a list's
    items as bullets."""
    lead = answer_lead(answer.answer)
    body = answer.answer.split("\n", 1)[1] if lead else answer.answer
    blocks = [md_escape(lead)] if lead else []
    for line in body.split("\n"):
        if not line.strip():
            continue
        bullet = line.startswith("- ")
        pieces = []
        for text, marker in split_answer(line):
            piece = md_escape(text)
            if marker:
                piece += f" **\\[{marker}\\]**"
            pieces.append(piece)
        text = " ".join(pieces)
        if bullet:
            if blocks and blocks[-1].startswith("- "):
                blocks[-1] += "\n- " + text
            else:
                blocks.append("- " + text)
        else:
            blocks.append(text)
    st.markdown("\n\n".join(blocks))


def render_source(c: Citation, assistant, show_scores: bool) -> None:
    """One cited passage: where it is, and the quote highlighted inside its paragraph."""
    index = assistant.index
    doc = index.documents.get(c.doc_id)
    with st.container(border=True):
        head = f"**\\[{c.marker}\\]** {md_escape(c.title)}"
        st.markdown(head)
        where = location(c.section, c.paragraph, c.page, c.title)
        if show_scores:
            where += f" · score {c.score:.2f}"
        if where:
            st.caption(md_escape(where))
        passage = index.passage(c.passage_id) if c.passage_id in index.by_id else None
        if doc is not None and passage is not None and c.end > c.start:
            lo, hi = min(passage.body_start, c.start), max(passage.end, c.end)
            context = doc.text[lo:hi]
            st.markdown(highlight(context, c.start - lo, c.end - lo))
        else:
            st.markdown(highlight(c.quote, 0, len(c.quote)))


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


def render_objective_card(match: ObjectiveMatch, assistant, show_scores: bool,
                          key: str) -> None:
    """An objective the question maps to: a labelled card that opens its full text."""
    index = assistant.index
    doc = index.documents.get(match.doc_id)
    objective = next((o for o in index.objectives if o.id == match.id), None)
    with st.expander(objective_label(match, doc, show_scores, match.score),
                     icon=":material/flag:"):
        if objective is None:
            st.markdown(md_text(match.title))
            return
        where = location(objective.section, None, objective.page, objective.title)
        st.caption(md_escape(" · ".join(x for x in (doc.title if doc else match.doc_id, where)
                                        if x)))
        st.markdown(md_text(objective.text))


def provision_label(match: ProvisionMatch, doc=None, show_scores: bool = False) -> str:
    """'Right · NHS Constitution (2015) — You have the right to choose …' (escaped); an
    objective keeps its number ('Objective 15 · …')."""
    if match.kind == "objective":
        return objective_label(match, doc, show_scores, match.score)
    title = match.title if len(match.title) <= 110 else match.title[:107].rstrip() + "…"
    kind = match.kind.replace("_", " ").capitalize()
    label = f"**{kind}**"
    if doc is not None:
        label += f" · {md_escape(short_title(doc))}"
    label += f" — {md_escape(title)}"
    if show_scores:
        label += f" · score {match.score:.2f}"
    return label


def render_provision_card(match: ProvisionMatch, assistant, show_scores: bool) -> None:
    """A right, pledge, principle... the question falls under, opening to its full text."""
    index = assistant.index
    doc = index.documents.get(match.doc_id)
    provision = next((p for p in index.provisions if p.id == match.id), None)
    with st.expander(provision_label(match, doc, show_scores), icon=":material/gavel:"):
        where = location(match.section, None, match.page)
        st.caption(md_escape(" · ".join(x for x in (doc.title if doc else match.doc_id, where)
                                        if x)))
        st.markdown(md_text(provision.text if provision else match.title))


def render_answer(answer: Answer, assistant, show_scores: bool, key: str) -> None:
    """An answer: its text with [n] markers, the objectives it maps to, then its sources."""
    if answer.refused:
        st.warning(md_escape(answer.answer), icon=":material/search_off:")
        if answer.closest:
            st.markdown("**Closest passages**")
            for c in answer.closest:
                render_source(c, assistant, show_scores)
        return
    render_answer_text(answer)
    # an objective is said to be one the question falls under only at the confidence
    # calibrated on dev questions; the others are shown as related
    for heading, falls in (("Objectives this question falls under", True),
                           ("Related objectives", False)):
        shown = [(i, m) for i, m in enumerate(answer.objectives) if m.falls_under == falls]
        if shown:
            st.markdown(f"**{heading}**")
        for i, m in shown:
            render_objective_card(m, assistant, show_scores, key=f"{key}-obj-{i}")
    statements = [m for m in answer.provisions if m.kind != "objective"][:3]
    if statements:
        st.markdown("**Rights, pledges and other provisions it falls under**")
        for m in statements:
            render_provision_card(m, assistant, show_scores)
    if answer.citations:
        st.markdown("**Sources**")
        for c in answer.citations:
            render_source(c, assistant, show_scores)


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
