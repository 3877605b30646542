"""Consultation: the draft mandate's questions, each with the objectives it relates to."""

from __future__ import annotations

import streamlit as st

from ui import state, theme
from ui.render import location, md_escape, md_text, short_title


def related_objectives(question, objectives) -> tuple[list, bool]:
    """Return (objectives the question relates to, whether it is about the whole mandate).

    A question in a chapter relates to the objectives of that chapter; the overarching
    questions (and any chapter without objectives) relate to the whole mandate.
    """
    mine = [o for o in objectives if o.doc_id == question.doc_id]
    chapter = (question.chapter or "").strip()
    if chapter and chapter.lower() != "overarching":
        same = [o for o in mine if o.section.chapter.strip() == chapter]
        if same:
            return same, False
    return mine, True


def _question(q, index) -> None:
    doc = index.documents.get(q.doc_id)
    related, whole = related_objectives(q, index.objectives)
    with st.container(border=True):
        st.markdown(f"**Question {md_escape(q.number)}.** {md_text(q.text)}")
        chapter = "Overarching question" if whole else f"Chapter {q.chapter}"
        st.caption(md_escape(" · ".join(x for x in (
            chapter, short_title(doc), location("", None, q.page)) if x)))
        if whole:
            st.markdown(f"Relates to **the whole mandate**: all {len(related)} objectives.")
        else:
            numbers = ", ".join(o.number for o in related)
            st.markdown(f"Relates to **objective{'s' if len(related) > 1 else ''} "
                        f"{md_escape(numbers)}** of this chapter:")
        with st.expander(f"The {len(related)} related objectives", expanded=not whole):
            for o in related:
                st.markdown(f"**Objective {md_escape(o.number)}:** {md_text(o.title)}")
        state.ask_button("Ask about this question", q.text, [q.doc_id],
                         key=f"ask-q-{q.doc_id}-{q.number}",
                         help="Find the passages that bear on this question: its chapter's "
                              "paragraphs and objectives.")


def page() -> None:
    theme.setup_page("Consultation")
    assistant = state.require_assistant()
    index = assistant.index
    st.title("Consultation questions")
    if not index.questions:
        st.info("None of the indexed documents contains consultation questions.")
        return
    by_doc: dict[str, list] = {}
    for q in index.questions:
        by_doc.setdefault(q.doc_id, []).append(q)
    for doc_id, questions in by_doc.items():
        doc = index.documents.get(doc_id)
        st.markdown(
            f"The {len(questions)} consultation questions of "
            f"**{md_escape(doc.title if doc else doc_id)}**, each with the chapter and the "
            "objectives it relates to, for respondents preparing an answer."
        )
        for q in questions:
            _question(q, index)


state.guarded(page)
