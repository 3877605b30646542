"""Objectives and provisions: every objective of every document by document and chapter, and
every other provision (principles, values, rights, pledges, responsibilities) by document
and kind, searchable."""

from __future__ import annotations

import re

import streamlit as st

from assistant.errors import AssistantError
from assistant.types import ProvisionKind
from ui import state, theme
from ui.render import location, md_escape, md_text, objective_label, short_title

PLURALS = {ProvisionKind.PRINCIPLE: "Principles", ProvisionKind.VALUE: "Values",
           ProvisionKind.RIGHT: "Rights", ProvisionKind.PLEDGE: "Pledges",
           ProvisionKind.RESPONSIBILITY: "Responsibilities"}
_SKIP = {ProvisionKind.OBJECTIVE, ProvisionKind.CONSULTATION_QUESTION}


def chapter_of(o) -> str:
    """The chapter an objective sits in ('' when its heading is the objective itself)."""
    head = o.section.chapter.strip()
    return "" if not head or head == o.title.strip() else head


def _haystack(o, index) -> str:
    intro = " ".join(index.passage(p).text for p in o.intro_passage_ids if p in index.by_id)
    return f"objective {o.number} {o.title} {o.text} {o.section} {intro}".lower()


def _has_word(word: str, tokens: set[str]) -> bool:
    """`word` as a whole word (or its plural): 'mum' is not found in 'maximum'."""
    return word in tokens or f"{word}s" in tokens or f"{word}es" in tokens


def matching(objectives, index, query: str):
    """Objectives whose text (or introducing paragraphs) hold every word of `query`."""
    words = re.findall(r"\w+", query.lower())
    if not words:
        return list(objectives)
    found = []
    for o in objectives:
        tokens = set(re.findall(r"\w+", _haystack(o, index)))
        if all(_has_word(w, tokens) for w in words):
            found.append(o)
    return found


def matching_provisions(provisions, query: str):
    """Provisions other than objectives (and consultation questions) that hold every word
    of `query` as a whole word."""
    words = re.findall(r"\w+", query.lower())
    found = []
    for p in provisions:
        if p.kind in _SKIP:
            continue
        tokens = set(re.findall(r"\w+", f"{p.kind.value} {p.text} {p.section}".lower()))
        if all(_has_word(w, tokens) for w in words):
            found.append(p)
    return found


def ranked_provisions(found, assistant, query: str):
    """`found` in the order the provision ranking puts them for `query` (best first)."""
    return _in_ranked_order(found, lambda: assistant.provisions(
        query, k=len(assistant.index.provisions)))


def _provisions(provisions, expanded: bool, doc=None) -> None:
    """One expander per kind, listing the provisions of that kind in the order given."""
    kinds: dict[ProvisionKind, list] = {}
    for p in provisions:
        kinds.setdefault(p.kind, []).append(p)
    for kind, items in kinds.items():
        label = f"**{PLURALS.get(kind, kind.label)}**"
        if doc is not None:
            label += f" · {md_escape(short_title(doc))}"
        with st.expander(f"{label} ({len(items)})", expanded=expanded):
            for p in items:
                where = location(p.section, None, p.page)
                with st.container(border=True):
                    if where:
                        st.caption(md_escape(where))
                    st.markdown(md_text(p.text))


def ranked(found, assistant, query: str):
    """`found` in the order the objective mapper ranks them for `query` (best first)."""
    return _in_ranked_order(found, lambda: assistant.objectives(
        query, k=len(assistant.index.objectives)))


def _in_ranked_order(found, rank):
    """`found` sorted by where each stands in `rank()`; those it leaves out go last."""
    if len(found) < 2:
        return found
    try:
        order = {m.id: n for n, m in enumerate(rank())}
    except AssistantError:  # a query the mapper refuses (too long): keep document order
        return found
    return sorted(found, key=lambda x: order.get(x.id, len(order)))


def _objective(o, doc, index, expanded: bool, with_doc: bool = False) -> None:
    with st.expander(objective_label(o, doc if with_doc else None), expanded=expanded):
        where = location(o.section, None, o.page, o.title)
        if where:
            st.caption(md_escape(where))
        st.markdown(md_text(o.text))
        intro = [index.passage(p) for p in o.intro_passage_ids if p in index.by_id]
        if intro:
            st.markdown("**The paragraphs that introduce it**")
            for p in intro:
                where = location("", p.paragraph, p.page)
                body = index.documents[p.doc_id].text[p.body_start:p.end]
                with st.container(border=True):
                    if where:
                        st.caption(md_escape(where))
                    st.markdown(md_text(body))
        state.ask_button(
            "Ask about this objective",
            f"What does Objective {o.number} of the {short_title(doc)} say?",
            [o.doc_id], key=f"ask-{o.id}",
        )


def _search(query: str, found, others, assistant) -> None:
    """Search results: the objectives best match first, then the other provisions that
    hold every word, by kind, best match first."""
    index = assistant.index
    if found:
        st.header("Best matches first", anchor=False)
        for o in found:
            doc = index.documents.get(o.doc_id)
            _objective(o, doc, index, expanded=len(found) <= 3, with_doc=True)
    if others:
        st.header("Rights, pledges and other provisions", anchor=False)
        docs: dict[str, list] = {}  # one block per document and kind, best match first
        for p in ranked_provisions(others, assistant, query):
            docs.setdefault(p.doc_id, []).append(p)
        for doc_id, mine in docs.items():
            _provisions(mine, expanded=len(others) <= 3, doc=index.documents.get(doc_id))


def _by_document(found, others, index) -> None:
    """Every document's provisions by kind, then its objectives by chapter."""
    for doc_id, doc in index.documents.items():
        mine = [o for o in found if o.doc_id == doc_id]
        statements = [p for p in others if p.doc_id == doc_id]
        if not mine and not statements:
            continue
        total = sum(o.doc_id == doc_id for o in index.objectives)
        st.header(md_escape(doc.title), divider="gray", anchor=False)
        counts = f"{total} objectives" if total else f"{len(statements)} provisions"
        st.caption(md_escape(f"{short_title(doc)} · {doc.status} · {doc.date} · {counts}"))
        _provisions(statements, expanded=False)
        chapters: dict[str, list] = {}
        for o in mine:
            chapters.setdefault(chapter_of(o), []).append(o)
        for chapter, objectives in chapters.items():
            if chapter:
                st.subheader(md_escape(chapter), anchor=False)
            for o in objectives:
                _objective(o, doc, index, expanded=False)


def page() -> None:
    theme.setup_page("Objectives")
    assistant = state.require_assistant()
    index = assistant.index
    st.title("Objectives")
    st.markdown("Every objective of every document, grouped by document and chapter, with "
                "its full text and the paragraphs that introduce it; then each document's "
                "principles, values, rights, pledges and responsibilities, by kind.")
    query = st.text_input("Search the objectives and provisions", key="objective-query",
                          placeholder="e.g. carers, mental health, waiting times",
                          icon=":material/search:")
    found = matching(index.objectives, index, query)
    others = matching_provisions(index.provisions, query)
    if query.strip():
        found = ranked(found, assistant, query)
        total = sum(p.kind not in _SKIP for p in index.provisions)
        st.caption(f"{len(found)} of {len(index.objectives)} objectives and {len(others)} of "
                   f"{total} other provisions contain every word.")
        if not found and not others:
            closest = assistant.objectives(query, k=5)
            if closest:
                st.info("No objective or provision contains all of these words; these are "
                        "the closest objectives in meaning.")
                by_id = {o.id: o for o in index.objectives}
                found = [by_id[m.id] for m in closest if m.id in by_id]
    if not index.objectives:
        st.info("No objectives were found in the indexed documents.")
    if query.strip():
        _search(query, found, others, assistant)
    else:
        _by_document(found, others, index)


state.guarded(page)
