"""The sidebar: which documents to search, how many passages, scores, and the conversation."""

from __future__ import annotations

import streamlit as st

from ui.render import conversation_markdown, short_title


def _clear() -> None:
    st.session_state["messages"] = []
    st.session_state["pending"] = None


def search_options(assistant) -> tuple[list[str] | None, int, bool]:
    """Return (document ids or None for all, k, show scores) as set in the sidebar."""
    docs = [d for d in st.session_state.get("docs", []) if d in assistant.index.documents]
    return (docs or None, int(st.session_state.get("k", assistant.settings.k)),
            bool(st.session_state.get("show_scores", False)))


def render_search(assistant) -> None:
    """The search settings (read by pages through `search_options`)."""
    docs = assistant.index.documents
    total = len(assistant.index.passages)
    with st.sidebar:
        st.subheader("Search")
        st.multiselect(
            "Documents to search", options=list(docs), key="docs",
            format_func=lambda d: short_title(docs.get(d)) or d,
            placeholder="All documents",
            help="Leave empty to search every document.",
        )
        top = max(1, min(20, total))
        st.slider("Passages to draw on", 1, top, value=min(assistant.settings.k, top), key="k",
                  help="How many passages are retrieved for each question.")
        st.toggle("Show scores", key="show_scores",
                  help="Show the similarity score of every source and objective.")

def render_conversation(assistant, where) -> None:
    """Clear and download, drawn into `where` after the page ran so they see its last turn."""
    docs = assistant.index.documents
    messages = st.session_state.get("messages", [])
    with where:
        st.subheader("Conversation")
        left, right = st.columns(2)
        left.button("Clear", on_click=_clear, disabled=not messages, key="clear",
                    icon=":material/delete:", width="stretch")
        titles = {d: doc.title for d, doc in docs.items()}
        right.download_button(
            "Download", data=conversation_markdown(messages, titles),
            file_name="nhs-assistant-conversation.md", mime="text/markdown",
            disabled=not messages, key="download", on_click="ignore",
            icon=":material/download:", width="stretch",
            help="The conversation as Markdown, with every citation and quote.",
        )
        st.caption("Offline: answers are built only from the indexed documents, "
                   "each sentence cited.")
