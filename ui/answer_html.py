"""An answer as one block of HTML: its lead line and text with [n] links, the objectives it
falls under (or is related to), the rights, pledges and other provisions it falls under, and
its sources as headed, anchored quotes.

One element per answer (instead of a dozen widgets) keeps a rerun cheap however long the
conversation grows, and gives what Markdown cannot: [n] markers that link to their source,
"Sources" as a real heading, and a highlight that survives a projector. Every document
string and question goes through `html.escape`; the result is also sanitised by st.html.
"""

from __future__ import annotations

import html
import re

from assistant.answer.form import answer_lead, display_title, split_answer
from assistant.types import Answer, Citation, ObjectiveMatch, ProvisionKind, ProvisionMatch
from ui.render import location, marked_lines, short_title

_BLANK = re.compile(r"\n[ \t]*\n\s*")


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def html_highlight(text: str, start: int, end: int) -> str:
    """Escaped HTML paragraphs of `text` with text[start:end] marked (line by line)."""
    paragraphs = marked_lines(text, start, end, esc, lambda m: f"<mark>{m}</mark>")
    return "".join("<p>" + "<br>".join(lines) + "</p>" for lines in paragraphs)


def anchor(msg_id: str, marker: int) -> str:
    return f"src-{msg_id[:12]}-{marker}"


def _sentence(text: str, marker: int, msg_id: str) -> str:
    piece = _BLANK.sub("<br><br>", esc(text).strip()).replace("\n", "<br>")
    if marker:
        piece += (f' <a class="cite" href="#{anchor(msg_id, marker)}" '
                  f'aria-label="source {marker}">[{marker}]</a>')
    return piece


def _text(answer: Answer, msg_id: str) -> str:
    """The lead line, then each quote's sentences with their [n] links; a list's items as
    a bulleted list."""
    lead = answer_lead(answer.answer)
    body = answer.answer.split("\n", 1)[1] if lead else answer.answer
    blocks = [f"<p>{esc(lead)}</p>"] if lead else []
    items: list[str] = []
    for line in body.split("\n"):
        if not line.strip():
            continue
        text = " ".join(_sentence(t, m, msg_id) for t, m in split_answer(line))
        if line.startswith("- "):
            items.append(f"<li>{text}</li>")
            continue
        if items:
            blocks.append("<ul>" + "".join(items) + "</ul>")
            items = []
        blocks.append(f"<p>{text}</p>")
    if items:
        blocks.append("<ul>" + "".join(items) + "</ul>")
    return "".join(blocks)


def _source(c: Citation, index, show_scores: bool, msg_id: str, private: set[str]) -> str:
    doc = index.documents.get(c.doc_id)
    where = location(c.section, c.paragraph, c.page, c.title)
    if show_scores:
        where += f" · score {c.score:.2f}"
    passage = index.passage(c.passage_id) if c.passage_id in index.by_id else None
    if doc is not None and passage is not None and c.end > c.start:
        lo, hi = min(passage.body_start, c.start), max(passage.end, c.end)
        body = html_highlight(doc.text[lo:hi], c.start - lo, c.end - lo)
    else:
        body = html_highlight(c.quote, 0, len(c.quote))
    label = (' <span class="private">uploaded by you, not an official document</span>'
             if c.doc_id in private else "")
    return (f'<section class="source" id="{anchor(msg_id, c.marker)}">'
            f'<h4>[{c.marker}] {esc(c.title)}{label}</h4>'
            + (f'<p class="where">{esc(where)}</p>' if where else "")
            + f'<div class="quote">{body}</div>' + _as_printed(c) + '</section>')


def _as_printed(c: Citation) -> str:
    """A note under a quote naming what it prints that reads like a slip ("england", "X%")."""
    if not c.as_printed:
        return ""
    words = ", ".join(f"\u201c{esc(w)}\u201d" for w in c.as_printed)
    return f'<p class="as-printed">{words}: as printed in the document.</p>'


def _objective(m: ObjectiveMatch, index, show_scores: bool) -> str:
    doc = index.documents.get(m.doc_id)
    objective = next((o for o in index.objectives if o.id == m.id), None)
    summary = f"<strong>Objective {esc(m.number)}</strong>"
    if doc is not None:
        summary += f" · {esc(short_title(doc))}"
    summary += f" — {esc(display_title(m.title))}"  # whole: a summary wraps
    if show_scores:
        summary += f" · score {m.score:.2f}"
    body = ""
    if objective is not None:
        where = location(objective.section, None, objective.page, objective.title)
        line = " · ".join(x for x in (doc.title if doc else "", where) if x)
        body = f'<p class="where">{esc(line)}</p>{html_highlight(objective.text, 0, 0)}'

    return f"<details class=\"objective\"><summary>{summary}</summary>{body}</details>"


def _objectives(answer: Answer, index, show_scores: bool) -> list[str]:
    """The objectives the question falls under (at the confidence calibrated on dev
    questions), then the others as related, each under its own heading."""
    parts = []
    for heading, falls in (("Objectives this question falls under", True),
                           ("Related objectives", False)):
        shown = [m for m in answer.objectives if m.falls_under == falls]
        if shown:
            parts.append(f"<h3>{heading}</h3>")
            parts += [_objective(m, index, show_scores) for m in shown]
    return parts


def provision_summary(m: ProvisionMatch, doc, show_scores: bool) -> str:
    """'<strong>Right</strong> · NHS Constitution (2015) — You have the right to …'."""
    kind = m.kind.label
    summary = f"<strong>{esc(kind)}</strong>"
    if doc is not None:
        summary += f" · {esc(short_title(doc))}"
    title = m.title if len(m.title) <= 110 else m.title[:107].rstrip() + "\u2026"
    summary += f" — {esc(title)}"
    if show_scores:
        summary += f" · score {m.score:.2f}"
    return summary


def _provisions(answer: Answer, index, show_scores: bool, related_floor: float) -> list[str]:
    """The rights, pledges, principles... the question falls under (objectives have their
    own block), then those only related to it: of a document the answer quotes, and scoring
    at least `related_floor`; three at most, each opening to its full text."""
    quoted = {c.doc_id for c in answer.citations}
    shown = [m for m in answer.provisions if m.kind is not ProvisionKind.OBJECTIVE
             and (m.falls_under or (m.doc_id in quoted and m.score >= related_floor))][:3]
    by_id = {p.id: p for p in index.provisions} if shown else {}
    parts: list[str] = []
    for falls, heading in ((True, "Rights, pledges and other provisions it falls under"),
                           (False, "Related rights, pledges and other provisions")):
        group = [m for m in shown if m.falls_under == falls]
        if group:
            parts.append(f"<h3>{heading}</h3>")
            parts += [_provision(m, index, by_id.get(m.id), show_scores) for m in group]
    return parts


def _provision(m: ProvisionMatch, index, provision, show_scores: bool) -> str:
    """One provision card: its summary, opening to where it is and its full text."""
    doc = index.documents.get(m.doc_id)
    where = location(m.section, None, m.page)
    line = " · ".join(x for x in (doc.title if doc else m.doc_id, where) if x)
    text = provision.text if provision is not None else m.title
    return (f'<details class="provision"><summary>{provision_summary(m, doc, show_scores)}'
            f'</summary><p class="where">{esc(line)}</p>{html_highlight(text, 0, 0)}</details>')


def answer_html(answer: Answer, index, show_scores: bool, msg_id: str,
                private: set[str] | frozenset = frozenset(), searched: str = "",
                related_floor: float = 0.0) -> str:
    """The whole of one answer as sanitisable HTML."""
    parts = []
    if answer.refused:
        parts.append(f'<p class="refusal" role="note">{esc(answer.answer)}</p>')
        heading, sources = "Closest passages", answer.closest
    else:
        parts.append(_text(answer, msg_id))
        heading, sources = "Sources", answer.citations
        parts += _objectives(answer, index, show_scores)
        parts += _provisions(answer, index, show_scores, related_floor)
    if answer.read_with_history:
        parts.append('<p class="where">Read with the previous question as: '
                     f'\u201c{esc(answer.read_with_history)}\u201d</p>')
    if answer.read_as:
        parts.append('<p class="where">Your wording was also read as the documents\' terms: '
                     f'{esc("; ".join(answer.read_as))}</p>')
    if searched:
        parts.append(f'<p class="where">Searched only: {esc(searched)}</p>')
    if sources:
        parts.append(f"<h3>{heading}</h3>")
        parts += [_source(c, index, show_scores, msg_id, set(private)) for c in sources]
    return f'<div class="answer">{"".join(parts)}</div>'


def question_html(text: str) -> str:
    """A question as a level-2 heading (screen readers can jump from question to question)."""
    return f'<h2 class="question">{esc(text)}</h2>'
