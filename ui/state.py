"""Server-wide resources and per-session state of the app.

The model and index are loaded once per server process (st.cache_resource) and shared by
every session; a missing index is built first, with a progress bar. Library errors become
one clear message on the page, never a traceback.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

import streamlit as st

from assistant.config import Settings
from assistant.conversations.store import new_id
from assistant.errors import AssistantError, IndexMismatchError
from ui.render import md_escape

logger = logging.getLogger("assistant.ui")

CHAT_PAGE = "views/chat.py"


def settings() -> Settings:
    """The settings of this run: defaults overridden by ASSISTANT_* environment variables."""
    return Settings.from_env()


@st.cache_resource(show_spinner=False)
def _server_locks() -> dict[str, threading.Lock]:
    # one index build at a time per server: first-start builds and uploads share it
    return {"index": threading.Lock()}


def index_lock() -> threading.Lock:
    return _server_locks()["index"]


@st.cache_resource(show_spinner="Loading the model and the index…", max_entries=4)
def _load_assistant(key: str, _settings: Settings):
    """The Assistant for one set of settings (`key` stands for them), loaded once per server."""
    from assistant.pipeline import Assistant

    logger.info("loading assistant for %s", _settings.index_dir)
    return Assistant(_settings)


def reload() -> None:
    """Forget the loaded index so that the next run loads the one just built."""
    _load_assistant.clear()


def build_with_progress(s: Settings, label: str, extra=None):
    """Run build_index with a visible progress bar; return its BuildReport.

    The caller must hold `index_lock()`."""
    from assistant.search.index import build_index

    bar = st.progress(0.0, text=label)

    def progress(fraction: float, text: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{label} {text}…")

    try:
        return build_index(s, extra=extra, progress=progress)
    finally:
        bar.empty()


def get_assistant():
    """Return the shared Assistant, building the index first if there is none."""
    from assistant.search.index import current_build

    s = settings()
    build = current_build(s.index_dir)
    if build is None:
        with index_lock():
            if current_build(s.index_dir) is None:
                note = st.info(md_escape(
                    f"No index yet: building it from the documents in {s.corpus_dir}. "
                    "This happens once and takes about a minute."
                ))
                build_with_progress(s, "Building the index:")
                note.empty()
    # data_dir (feedback) does not change what is loaded, so it is not part of the key
    key = repr(s.with_(data_dir=s.index_dir))
    assistant = _load_assistant(key, s)
    if build is not None and assistant.index.path != build:
        # another process (`assistant ingest`, a second server) switched the index
        reload()
        assistant = _load_assistant(key, s)
    return assistant


def require_assistant():
    """Return the shared Assistant, or show one clear message and stop the page."""
    try:
        return get_assistant()
    except IndexMismatchError as exc:
        st.error(md_escape(str(exc)))
        if st.button("Rebuild the index now", type="primary", key="rebuild-index"):
            _rebuild()
        st.stop()
    except Exception as exc:  # st.stop and st.rerun are BaseExceptions: not caught here
        show_error(exc)
        st.stop()


def _rebuild() -> None:
    s = settings()
    try:
        with index_lock():
            build_with_progress(s, "Rebuilding the index:")
    except AssistantError as exc:
        st.error(md_escape(str(exc)))
        return
    reload()
    st.rerun()


def show_error(exc: BaseException) -> None:
    """Show an exception as one sentence: its own message if the user can act on it."""
    if isinstance(exc, AssistantError):
        st.error(md_escape(str(exc)), icon=":material/error:")
    elif isinstance(exc, OSError):
        st.error(md_escape(f"A file could not be read or written: {exc.strerror or exc}."),
                 icon=":material/error:")
    else:
        logger.exception("unexpected error in the UI")
        st.error(f"Something went wrong ({type(exc).__name__}); the details are in the "
                 "server log.", icon=":material/error:")


SESSION_PARAM = "s"  # the session id in the URL: a reload finds its conversation again


def init_session() -> None:
    """Create (or, after a reload, restore) this session's conversation on its first run."""
    ss = st.session_state
    if "sid" not in ss:
        raw = st.query_params.get(SESSION_PARAM, "")
        known = bool(re.fullmatch(r"[0-9a-f]{32}", raw or ""))
        ss["sid"] = raw if known else new_id()
        ss["messages"] = restore(ss["sid"]) if known else []
    if st.query_params.get(SESSION_PARAM) != ss["sid"]:
        st.query_params[SESSION_PARAM] = ss["sid"]
    ss.setdefault("pending", None)
    ss.setdefault("flash", None)


def session_id() -> str:
    return st.session_state["sid"]


def store():
    """The conversation and feedback store (SQLite in the data folder)."""
    from assistant.conversations.store import open_store

    return open_store(settings())


def restore(sid: str) -> list[dict]:
    """The messages of a session's stored turns (an empty list if there are none)."""
    from assistant.types import Answer

    try:
        turns = store().history(sid)
    except AssistantError as exc:
        logger.warning("conversation %s not restored: %s", sid, exc)
        return []
    messages: list[dict] = []
    for t in turns:
        messages.append({"role": "user", "text": t["question"]})
        if t["error"] or not t["answer_json"]:
            messages.append({"role": "assistant", "id": t["id"], "logged": True,
                             "error": t["error"] or "This answer could not be restored."})
            continue
        messages.append({"role": "assistant", "id": t["id"], "logged": True,
                         "answer": Answer.model_validate_json(t["answer_json"]),
                         "doc_ids": t["doc_ids"], "k": t["k"], "feedback": t["rating"],
                         "comment": t["comment"]})
    return messages


def queue_question(question: str, doc_ids: list[str] | None = None) -> None:
    """Ask `question` on the chat page's next run (used by 'ask about this …' buttons)."""
    st.session_state["pending"] = {"question": question, "doc_ids": doc_ids}


def ask_button(label: str, question: str, doc_ids: list[str] | None, key: str,
               help: str | None = None) -> None:
    """A button that opens the chat page and asks `question` there."""
    if st.button(label, key=key, help=help, icon=":material/chat:"):
        queue_question(question, doc_ids)
        st.switch_page(CHAT_PAGE)


def guarded(page: Callable[[], None]) -> None:
    """Run a page body, turning any error into one message instead of a traceback."""
    try:
        page()
    except Exception as exc:  # st.stop, st.rerun and st.switch_page raise BaseExceptions
        show_error(exc)


# ------------------------------------------------------------------ my documents (private)


@st.cache_resource(show_spinner="Loading your documents…", max_entries=16)
def _load_private(sid: str, build: str, _settings: Settings, _shared):
    """The Assistant over one session's index (`build` keys it), sharing the model."""
    from assistant.pipeline import Assistant

    return Assistant(_settings, embedder=_shared.embedder)


def build_private_with_progress(label: str):
    """A `build(settings, extra)` for ui.private that shows a progress bar."""
    return lambda s, extra: build_with_progress(s, label, extra=extra)


def session_assistant():
    """The Assistant this session searches: the shared one, or, once the session has
    uploaded documents of its own, one over the shared corpus plus its uploads."""
    from assistant.search.index import current_build
    from ui import private

    shared = require_assistant()
    s, sid = settings(), session_id()
    if not private.private_files(s, sid):
        return shared
    try:
        if not private.is_current(s, sid):
            private.build_private(s, sid, build_private_with_progress(
                "Updating the index of your documents:"))
        own = private.private_settings(s, sid)
        return _load_private(sid, str(current_build(own.index_dir)), own, shared)
    except AssistantError as exc:
        st.warning(md_escape(f"Your own documents are not searched just now: {exc}"))
        return shared


def private_ids(assistant) -> set[str]:
    """The documents of `assistant`'s index that this session uploaded."""
    from ui.private import private_doc_ids

    return private_doc_ids(assistant.index, settings(), session_id())
