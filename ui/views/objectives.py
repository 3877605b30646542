"""Objectives and provisions: every objective of every document by document and chapter, and
every other provision (principles, values, rights, pledges, responsibilities) by document
and kind, searchable."""

from __future__ import annotations

import re

import streamlit as st

from assistant.types import ProvisionKind
from ui import state
from ui.render import location, md_escape, md_text, objective_label, short_title

PLURALS = {ProvisionKind.PRINCIPLE: "Principles", ProvisionKind.VALUE: "Values",
           ProvisionKind.RIGHT: "Rights", ProvisionKind.PLEDGE: "Pledges",
           ProvisionKind.RESPONSIBILITY: "Responsibilities"}


def chapter_of(o) -> str:
    """The chapter an objective sits in ('' when its heading is the objective itself)."""
    head = o.section.split(" > ")[0].strip()
    return "" if not head or head == o.title.strip() else head


def _haystack(o, index) -> str:
    intro = " ".join(index.passage(p).text for p in o.intro_passage_ids if p in index.by_id)
    return f"objective {o.number} {o.title} {o.text} {o.section} {intro}".lower()


def matching(objectives, index, query: str):
    """Objectives whose text (or introducing paragraphs) hold every word of `query`."""
    words = re.findall(r"\w+", query.lower())
    if not words:
        return list(objectives)
    return [o for o in objectives if all(w in _haystack(o, index) for w in words)]


def matching_provisions(provisions, query: str):
    """Provisions other than objectives whose text holds every word of `query`."""
    words = re.findall(r"\w+", query.lower())
    skip = {ProvisionKind.OBJECTIVE, ProvisionKind.CONSULTATION_QUESTION}
    mine = [p for p in provisions if p.kind not in skip]
    return [p for p in mine
            if all(w in f"{p.kind.value} {p.text} {p.section}".lower() for w in words)]


def _provisions(doc_id: str, provisions, expanded: bool) -> None:
    """One expander per kind, listing the document's provisions of that kind in order."""
    kinds: dict[ProvisionKind, list] = {}
    for p in provisions:
        if p.doc_id == doc_id:
            kinds.setdefault(p.kind, []).append(p)
    for kind, items in kinds.items():
        plural = PLURALS.get(kind, kind.label)
        with st.expander(f"**{plural}** ({len(items)})", expanded=expanded):
            for p in items:
                where = location(p.section, None, p.page)
                with st.container(border=True):
                    if where:
                        st.caption(md_escape(where))
                    st.markdown(md_text(p.text))


def _objective(o, doc, index, expanded: bool) -> None:
    with st.expander(objective_label(o), expanded=expanded):
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


def page() -> None:
    assistant = state.require_assistant()
    index = assistant.index
    st.title("Objectives")
    st.markdown("Every objective of every document, grouped by document and chapter, with "
                "its full text and the paragraphs that introduce it; then each document's "
                "principles, values, rights, pledges and responsibilities, by kind.")
    query = st.text_input("Search the objectives", key="objective-query",
                          placeholder="e.g. carers, mental health, waiting times",
                          icon=":material/search:")
    found = matching(index.objectives, index, query)
    if query.strip():
        st.caption(f"{len(found)} of {len(index.objectives)} objectives contain every word.")
        if not found:
            closest = assistant.objectives(query, k=5)
            if closest:
                st.info("No objective contains all of these words; these are the closest "
                        "in meaning.")
                by_id = {o.id: o for o in index.objectives}
                found = [by_id[m.id] for m in closest if m.id in by_id]
    if not index.objectives:
        st.info("No objectives were found in the indexed documents.")
    others = matching_provisions(index.provisions, query)
    for doc_id, doc in index.documents.items():
        mine = [o for o in found if o.doc_id == doc_id]
        statements = [p for p in others if p.doc_id == doc_id]
        if not mine and not statements:
            continue
        total = sum(o.doc_id == doc_id for o in index.objectives)
        st.subheader(md_escape(doc.title), divider="gray")
        counts = f"{total} objectives" if total else f"{len(statements)} provisions"
        st.caption(md_escape(f"{short_title(doc)} · {doc.status} · {doc.date} · {counts}"))
        _provisions(doc_id, statements, expanded=bool(query.strip()) and len(statements) <= 3)
        chapters: dict[str, list] = {}
        for o in mine:
            chapters.setdefault(chapter_of(o), []).append(o)
        for chapter, objectives in chapters.items():
            if chapter:
                st.markdown(f"##### {md_escape(chapter)}")
            for o in objectives:
                _objective(o, doc, index, expanded=bool(query.strip()) and len(found) <= 3)


state.guarded(page)
