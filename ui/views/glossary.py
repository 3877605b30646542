"""Plain English: the everyday phrases the assistant reads as the documents' policy terms,
with the objective closest to each term, for trainers and new staff learning the vocabulary."""

from __future__ import annotations

import streamlit as st

from ui import state, theme
from ui.render import md_escape


@st.cache_data(show_spinner=False, max_entries=4)
def _objective_of(terms: tuple[str, ...], build: str) -> dict[str, tuple[str, str]]:
    """The objective closest to each term, as (label, title); `build` (the corpus hash)
    keys the cache, so a changed corpus is mapped afresh."""
    assistant = state.require_assistant()
    docs = assistant.index.documents
    out = {}
    for term in terms:
        ranked = assistant.objectives(term, k=1)
        if ranked:
            m = ranked[0]
            short = getattr(docs.get(m.doc_id), "short_title", m.doc_id)
            out[term] = (f"Objective {m.number} ({short})", m.title)
    return out


def page() -> None:
    theme.setup_page("Plain English")
    assistant = state.require_assistant()
    glossary = assistant.glossary
    st.title("Plain English")
    st.markdown(
        "People rarely ask in the documents' own words. When a question uses one of these "
        "everyday phrases, the assistant also reads it as the policy term beside it, and "
        "the answer says so (\"Your wording was also read as…\").")
    query = st.text_input("Search terms and phrases", key="glossary-query",
                          placeholder="e.g. bedsores, respite, brexit",
                          icon=":material/search:")
    words = query.lower().split()
    entries = [(n, e) for n, e in enumerate(glossary.entries)
               if all(w in f"{e.term} {' '.join(e.plain)}".lower() for w in words)]
    if words:
        st.caption(f"{len(entries)} of {len(glossary.entries)} terms match.")
    mapped = _objective_of(tuple(e.term for e in glossary.entries),
                           str(assistant.index.manifest.get("corpus_hash", "")))
    for n, e in entries:
        with st.container(border=True):
            st.markdown(f"**{md_escape(e.term)}**")
            st.markdown("Everyday wording: " + ", ".join(f"“{md_escape(p)}”" for p in e.plain))
            if e.term in mapped:
                label, title = mapped[e.term]
                st.caption(md_escape(f"Closest objective: {label}: {title}"))
            state.ask_button("Ask about this", f"What do the documents say about {e.term}?",
                             None, key=f"ask-term-{n}")


state.guarded(page)
