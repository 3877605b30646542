"""A document's clean text as readable HTML: its passages in order, each with an anchor
(`#passage-<id>`) and its paragraph number, and a marker where a new page begins."""

from __future__ import annotations

from ui.answer_html import esc, html_highlight


def passage_anchor(passage_id: str) -> str:
    return "passage-" + "".join(ch if ch.isalnum() else "-" for ch in passage_id)[:60]


def document_html(index, doc_id: str) -> str:
    """The whole clean text of one document, passage by passage, with page numbers."""
    doc = index.documents[doc_id]
    passages = sorted((p for p in index.passages if p.doc_id == doc_id), key=lambda p: p.start)
    parts = [f'<div class="doc-text" lang="en"><h3>{esc(doc.title)}</h3>']
    page, pos = None, 0
    for p in passages:
        if p.start < pos:  # an overlapping split: show each character once
            continue
        if p.page and p.page != page:
            page = p.page
            parts.append(f'<p class="page">Page {page}</p>')
        label = (f"<strong>{esc(p.paragraph)}</strong> "
                 if p.paragraph and p.paragraph[:1].isdigit() else "")
        body = html_highlight(doc.text[p.start:p.end], 0, 0)
        if label and body.startswith("<p>"):
            body = "<p>" + label + body[3:]
        parts.append(f'<div id="{passage_anchor(p.id)}">{body}</div>')
        pos = p.end
    parts.append("</div>")
    return "".join(parts)
