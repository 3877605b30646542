"""Chat: ask a question, read the cited passages, see its objectives, rate the answer."""

from __future__ import annotations

import logging
import uuid

import streamlit as st

from assistant.errors import AssistantError
from assistant.feedback import record_feedback
from ui import render, sidebar, state
from ui.render import md_escape, short_title

logger = logging.getLogger("assistant.ui")

EXAMPLES = [
    "Which objective covers carers?",
    "What does the mandate say about mental health?",
    "How will progress against the mandate be assessed?",
    "What support is there for the armed forces?",
]
_SHOWN_CHARS = 2000  # a pasted essay is shown cut short; the error says why it was refused


def _rate(msg_id: str) -> None:
    """Store a thumbs up/down (feedback widget callback)."""
    value = st.session_state.get(f"fb-{msg_id}")
    msg = next((m for m in st.session_state["messages"] if m.get("id") == msg_id), None)
    if msg is None or value is None or "answer" not in msg:
        return
    rating = "up" if value == 1 else "down"
    try:
        record_feedback(state.settings(), rating, msg["answer"], doc_ids=msg.get("doc_ids"),
                        k=msg.get("k"))
    except AssistantError as exc:
        msg["feedback_error"] = str(exc)
        return
    msg["feedback"] = rating
    msg.pop("feedback_error", None)


def _body(msg: dict, assistant, show_scores: bool) -> None:
    """The contents of one assistant message."""
    if "error" in msg:
        st.error(md_escape(msg["error"]), icon=":material/error:")
        return
    render.render_answer(msg["answer"], assistant, show_scores, key=msg["id"])
    if msg["answer"].read_with_history:
        st.caption(md_escape("Read with the previous question as: "
                             f"\u201c{msg['answer'].read_with_history}\u201d"))
    if msg["answer"].read_as:
        terms = "; ".join(msg["answer"].read_as)
        st.caption(md_escape(f"Your wording was also read as the documents' terms: {terms}"))
    docs = assistant.index.documents
    if msg.get("doc_ids"):
        names = ", ".join(short_title(docs.get(d)) or d for d in msg["doc_ids"])
        st.caption(md_escape(f"Searched only: {names}"))
    left, right = st.columns([1, 5], vertical_alignment="center")
    with left:
        st.feedback("thumbs", key=f"fb-{msg['id']}", on_change=_rate, args=(msg["id"],))
    with right:
        if msg.get("feedback_error"):
            st.error(md_escape(msg["feedback_error"]))
        elif msg.get("feedback"):
            st.caption("Thanks: your feedback was saved for the trainers.")


def _show(msg: dict, assistant, show_scores: bool) -> None:
    if msg["role"] == "user":
        with st.chat_message("user"):
            text = msg["text"]
            shown = text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + " …"
            render.render_question(shown)
        return
    with st.chat_message("assistant"):
        _body(msg, assistant, show_scores)


def history(messages: list[dict]) -> list[dict]:
    """The conversation so far as the assistant reads it: each question with its answer,
    oldest first (questions that failed are left out)."""
    turns = []
    for asked, reply in zip(messages, messages[1:], strict=False):
        if asked.get("role") == "user" and "answer" in reply:
            turns.append({"question": asked["text"], "answer": reply["answer"].answer})
    return turns


def _ask(question: str, doc_ids: list[str] | None, k: int, assistant, show_scores: bool
         ) -> None:
    """Answer one question, read with the conversation before it, and show it."""
    messages = st.session_state["messages"]
    past = history(messages)
    user = {"role": "user", "text": question}
    messages.append(user)
    _show(user, assistant, show_scores)
    with st.chat_message("assistant"):
        with st.spinner("Searching the documents…"):
            try:
                answer = assistant.ask(question, k=k, doc_ids=doc_ids, history=past)
                msg = {"role": "assistant", "id": uuid.uuid4().hex, "answer": answer,
                       "doc_ids": doc_ids, "k": k, "feedback": None}
            except AssistantError as exc:
                msg = {"role": "assistant", "error": str(exc)}
            except Exception as exc:  # a bug: one line here, the traceback in the log
                logger.exception("answering %r failed", question)
                msg = {"role": "assistant",
                       "error": f"Something went wrong ({type(exc).__name__}); the details "
                                "are in the server log."}
        messages.append(msg)
        _body(msg, assistant, show_scores)


def _example() -> None:
    """Ask the example question that was clicked (pills callback)."""
    question = st.session_state.get("example")
    st.session_state["example"] = None
    if question:
        state.queue_question(question)


def _intro() -> None:
    st.markdown(
        "Ask a question in plain English about the NHS mandate, its objectives and the "
        "consultation. Every sentence of an answer is quoted from the documents and cited; "
        "when the documents do not cover a question, you are told so. A short follow-up "
        "such as \u201cand for children?\u201d is read with the question before it."
    )
    st.pills("Try one of these", EXAMPLES, key="example", on_change=_example)


def page() -> None:
    assistant = state.require_assistant()
    doc_ids, k, show_scores = sidebar.search_options(assistant)
    st.title("Ask the NHS policy documents")
    # the input stays pinned at the bottom wherever it is called; calling it first lets
    # this run know whether a question is coming
    prompt = st.chat_input("Ask about the mandate, its objectives or the consultation…")
    pending, st.session_state["pending"] = st.session_state.get("pending"), None
    messages = st.session_state["messages"]
    if not messages and not pending and prompt is None:
        _intro()
    for msg in messages:
        _show(msg, assistant, show_scores)
    if pending:
        _ask(pending["question"], pending.get("doc_ids") or doc_ids, k, assistant,
             show_scores)
    elif prompt is not None:
        _ask(prompt, doc_ids, k, assistant, show_scores)


state.guarded(page)
