"""Chat: ask a question, read the cited passages, see its objectives, rate the answer.

Each answer is drawn as one cached block of HTML (ui.answer_html), so a rerun costs about
the same at the thirtieth turn as at the first. Every turn is logged in the conversation
store (unless ASSISTANT_LOG_QUESTIONS=false), which is how a reload brings it back.
"""

from __future__ import annotations

import logging

import streamlit as st

from assistant.conversations.store import make_turn, new_id
from assistant.errors import AssistantError
from ui import state, theme
from ui.answer_html import answer_html, esc, question_html
from ui.render import conversation_markdown, md_escape, short_title

logger = logging.getLogger("assistant.ui")

EXAMPLES = [
    "Which objective covers carers?",
    "What does the mandate say about mental health?",
    "How will progress against the mandate be assessed?",
    "What support is there for the armed forces?",
]
LIVE_TURNS = 2  # answers that keep their rating and comment controls
_SHOWN_CHARS = 2000  # a pasted essay is shown cut short; the error says why it was refused

# A live region outside Streamlit's own tree (which replaces its nodes on every run), so
# that screen readers announce each new answer once.
_LIVE = """<script>
(function () {
  if (document.getElementById("answer-live")) return;
  const live = document.createElement("div");
  live.id = "answer-live"; live.className = "sr-only";
  live.setAttribute("role", "status"); live.setAttribute("aria-live", "polite");
  document.body.appendChild(live);
  let last = "";
  new MutationObserver(function () {
    const all = document.querySelectorAll(".answer");
    if (!all.length) return;
    // the lead line and the first quote (or the refusal)
    const first = all[all.length - 1].querySelectorAll(":scope > p:not(.where), :scope > ul");
    const text = Array.from(first).slice(0, 2).map(function (e) { return e.innerText; })
      .join(" ").slice(0, 300);
    const key = all.length + ":" + text;
    if (key !== last) { last = key; live.textContent = "New answer: " + text; }
  }).observe(document.body, {childList: true, subtree: true});
})();
</script>"""


def _find(msg_id: str) -> dict | None:
    return next((m for m in st.session_state["messages"] if m.get("id") == msg_id), None)


def _ensure_logged(msg: dict) -> None:
    """Store a turn that was not logged (logging off) before it is rated or commented."""
    if not msg.get("logged"):
        state.store().log_turn(make_turn(msg["answer"], session_id=state.session_id(),
                                         turn_id=msg["id"], doc_ids=msg.get("doc_ids"),
                                         k=msg.get("k")))
        msg["logged"] = True


def _rate(msg_id: str) -> None:
    """Store, replace or clear the rating of one answer (feedback widget callback)."""
    value = st.session_state.get(f"fb-{msg_id}")
    rating = None if value is None else ("up" if value == 1 else "down")
    _store_feedback(msg_id, "feedback", rating, lambda store: store.rate(msg_id, rating))


def _comment(msg_id: str) -> None:
    """Store the comment on one answer (text area callback)."""
    text = st.session_state.get(f"cm-{msg_id}", "")
    _store_feedback(msg_id, "comment", text.strip(), lambda store: store.comment(msg_id, text))


def _store_feedback(msg_id: str, field: str, value, write) -> None:
    """Log the turn if it was not, `write(store)`, and keep `value` on the message as
    `field`; a store that refuses leaves one sentence on the message instead."""
    msg = _find(msg_id)
    if msg is None or "answer" not in msg:
        return
    try:
        _ensure_logged(msg)
        write(state.store())
    except AssistantError as exc:
        msg["feedback_error"] = str(exc)
        return
    msg[field] = value
    msg.pop("feedback_error", None)


def _html(msg: dict, assistant, show_scores: bool, private: set[str]) -> str:
    """The answer's HTML, made once per message and scores setting."""
    cache = msg.setdefault("_html", {})
    if show_scores not in cache:
        docs = assistant.index.documents
        searched = ", ".join(short_title(docs.get(d)) or d for d in msg.get("doc_ids") or [])
        cache[show_scores] = answer_html(msg["answer"], assistant.index, show_scores,
                                         msg["id"], private, searched,
                                         assistant.settings.refusal_threshold)
    return cache[show_scores]


def _feedback_row(msg: dict) -> None:
    mid = msg["id"]
    default = {"up": 1, "down": 0}.get(msg.get("feedback") or "")
    left, right = st.columns([1, 1], vertical_alignment="center")
    with left:
        st.feedback("thumbs", key=f"fb-{mid}", default=default, on_change=_rate, args=(mid,))
    with right, st.popover("Comment", icon=":material/comment:"):
        st.text_area("Comment for the trainers (optional)", value=msg.get("comment") or "",
                     key=f"cm-{mid}", on_change=_comment, args=(mid,), max_chars=2000)
    if msg.get("feedback_error"):
        st.error(md_escape(msg["feedback_error"]))
    elif msg.get("feedback") or msg.get("comment"):
        st.caption("Thanks: your feedback was saved for the trainers. Select the same thumb "
                   "again to clear your rating.")


_RATED = {"up": "You rated this answer helpful.", "down": "You rated this answer not helpful."}


def _earlier(messages: list[dict], assistant, show_scores: bool, private: set[str]) -> None:
    """The earlier turns as one block of HTML, without widgets (each turn's HTML is made
    once), so a long conversation costs about as much per turn as a short one."""
    parts = []
    for msg in messages:
        if msg["role"] == "user":
            text = msg["text"]
            parts.append(question_html(text if len(text) <= _SHOWN_CHARS
                                       else text[:_SHOWN_CHARS] + " …"))
        elif "error" in msg:
            parts.append(f'<p class="refusal">{esc(msg["error"])}</p>')
        else:
            rated = _RATED.get(msg.get("feedback") or "", "")
            parts.append(_html(msg, assistant, show_scores, private)
                         + (f'<p class="where">{rated}</p>' if rated else ""))
    st.html('<div class="earlier">' + "".join(parts) + "</div>")


def _show(msg: dict, assistant, show_scores: bool, private: set[str]) -> None:
    if msg["role"] == "user":
        with st.chat_message("user"):
            text = msg["text"]
            st.html(question_html(text if len(text) <= _SHOWN_CHARS
                                  else text[:_SHOWN_CHARS] + " …"))
        return
    with st.chat_message("assistant"):
        _body(msg, assistant, show_scores, private)


def _body(msg: dict, assistant, show_scores: bool, private: set[str]) -> None:
    if "error" in msg:
        st.error(md_escape(msg["error"]), icon=":material/error:")
        return
    st.html(_html(msg, assistant, show_scores, private))
    _feedback_row(msg)


def history(messages: list[dict]) -> list[dict]:
    """The conversation so far as the assistant reads it: each question with its answer,
    oldest first (questions that failed are left out). After a reload the messages are the
    conversation store's turns (ui.state.restore), so a follow-up is still read with them."""
    turns = []
    for asked, reply in zip(messages, messages[1:], strict=False):
        if asked.get("role") == "user" and "answer" in reply:
            turns.append({"question": asked["text"], "answer": reply["answer"].answer})
    return turns


def _answer(question: str, doc_ids, k: int, assistant, past: list[dict]) -> dict:
    """Ask (read with the conversation `past`), and log the turn when logging is on."""
    msg_id = new_id()
    answer, error = None, None
    try:
        answer = assistant.ask(question, k=k, doc_ids=doc_ids, history=past)
    except AssistantError as exc:
        error = str(exc)
    except Exception as exc:  # a bug: one line here, the traceback in the log
        logger.exception("answering %r failed", question)
        error = (f"Something went wrong ({type(exc).__name__}); the details are in the "
                 "server log.")
    msg = {"role": "assistant", "id": msg_id, "doc_ids": doc_ids, "k": k, "feedback": None}
    msg.update({"error": error} if error else {"answer": answer})
    if state.settings().log_questions:
        try:
            state.store().log_turn(make_turn(answer, question=question,
                                             session_id=state.session_id(), turn_id=msg_id,
                                             doc_ids=doc_ids, k=k, error=error))
            msg["logged"] = True
        except AssistantError as exc:
            logger.warning("turn not logged: %s", exc)
    return msg


def _ask(question: str, doc_ids, k: int, assistant, show_scores: bool,
         private: set[str]) -> None:
    """Answer one question, read with the conversation before it, and show it."""
    messages = st.session_state["messages"]
    past = history(messages)
    user = {"role": "user", "text": question}
    messages.append(user)
    _show(user, assistant, show_scores, private)
    with st.chat_message("assistant"):
        with st.spinner("Searching the documents…"):
            msg = _answer(question, doc_ids, k, assistant, past)
        messages.append(msg)
        _body(msg, assistant, show_scores, private)


def _example() -> None:
    """Ask the example question that was clicked (pills callback)."""
    question = st.session_state.get("example")
    st.session_state["example"] = None
    if question:
        state.queue_question(question)


def _clear() -> None:
    try:
        state.store().end_conversation(state.session_id())
    except AssistantError as exc:
        logger.warning("conversation not detached: %s", exc)
    st.session_state["messages"] = []
    st.session_state["pending"] = None


def _intro() -> None:
    st.markdown(
        "Ask a question in plain English about the NHS mandate, its objectives and the "
        "consultation. Every sentence of an answer is quoted from the documents and cited; "
        "when the documents do not cover a question, you are told so. A short follow-up "
        "such as \u201cand for children?\u201d is read with the question before it."
    )
    st.pills("Try one of these", EXAMPLES, key="example", on_change=_example)


def _toolbar(assistant, private: set[str], asking: bool
             ) -> tuple[list[str] | None, int, bool]:
    """Search settings, Clear and Download; returns (document ids or None, k, scores)."""
    docs = assistant.index.documents
    total = len(assistant.index.passages)
    messages = st.session_state["messages"]
    empty = not messages and not asking
    a, b, c = st.columns([2, 1, 1], vertical_alignment="center")
    with a.popover("Search settings", icon=":material/tune:", width="stretch"):
        st.multiselect(
            "Documents to search", options=list(docs), key="docs",
            format_func=lambda d: (short_title(docs.get(d)) or d)
            + (" (uploaded by you)" if d in private else ""),
            placeholder="All documents", help="Leave empty to search every document.")
        top = max(1, min(20, total))
        if "k" not in st.session_state:
            st.session_state["k"] = min(assistant.settings.k, top)
        st.slider("Passages to draw on", 1, top, key="k",
                  help="How many passages are retrieved for each question.")
        st.toggle("Show scores", key="show_scores",
                  help="Show the similarity score of every source and objective.")
    b.button("Clear", on_click=_clear, disabled=empty, key="clear",
             icon=":material/delete:", width="stretch")
    titles = {d: doc.title for d, doc in docs.items()}
    c.download_button(
        "Download", data=lambda: conversation_markdown(messages, titles),
        file_name="nhs-assistant-conversation.md", mime="text/markdown",
        disabled=empty, key="download", on_click="ignore",
        icon=":material/download:", width="stretch",
        help="The conversation as Markdown, with every citation and quote.")
    chosen = [d for d in st.session_state.get("docs", []) if d in docs]
    return (chosen or None, int(st.session_state.get("k", assistant.settings.k)),
            bool(st.session_state.get("show_scores", False)))


def page() -> None:
    theme.setup_page("Ask")
    assistant = state.session_assistant()
    private = state.private_ids(assistant)
    st.title("Ask the NHS policy documents")
    st.html(_LIVE, unsafe_allow_javascript=True)
    # the input stays pinned at the bottom wherever it is called; calling it first lets
    # this run know whether a question is coming
    prompt = st.chat_input("Ask about the mandate, its objectives or the consultation…")
    pending, st.session_state["pending"] = st.session_state.get("pending"), None
    doc_ids, k, show_scores = _toolbar(assistant, private, bool(pending) or prompt is not None)
    messages = st.session_state["messages"]
    if not messages and not pending and prompt is None:
        _intro()
    # the last few answers keep their rating and comment controls; earlier ones are drawn
    # as one block without widgets
    asking = bool(pending) or prompt is not None
    first_live = max(0, len(messages) - 2 * (LIVE_TURNS - asking))
    if first_live:
        _earlier(messages[:first_live], assistant, show_scores, private)
    for msg in messages[first_live:]:
        _show(msg, assistant, show_scores, private)
    if pending:
        _ask(pending["question"], pending.get("doc_ids") or doc_ids, k, assistant,
             show_scores, private)
    elif prompt is not None:
        _ask(prompt, doc_ids, k, assistant, show_scores, private)
    st.caption("Offline: answers are built only from the indexed documents, each sentence "
               "cited. Questions and answers are kept on this machine for the trainers' "
               "review." if state.settings().log_questions else
               "Offline: answers are built only from the indexed documents, each sentence "
               "cited. Questions are not logged; only answers you rate are kept.")


state.guarded(page)
