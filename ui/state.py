"""Server-wide resources and per-session state of the app.

The model and index are loaded once per server process (st.cache_resource) and shared by
every session; a missing index is built first, with a progress bar. Library errors become
one clear message on the page, never a traceback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import streamlit as st

from assistant.config import Settings
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
    from assistant.answer import Assistant

    logger.info("loading assistant for %s", _settings.index_dir)
    return Assistant(_settings)


def reload() -> None:
    """Forget the loaded index so that the next run loads the one just built."""
    _load_assistant.clear()


def build_with_progress(s: Settings, label: str, extra=None):
    """Run build_index with a visible progress bar; return its BuildReport.

    The caller must hold `index_lock()`."""
    from assistant.index import build_index

    bar = st.progress(0.0, text=label)

    def progress(fraction: float, text: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{label} {text}…")

    try:
        return build_index(s, extra=extra, progress=progress)
    finally:
        bar.empty()


def get_assistant():
    """Return the shared Assistant, building the index first if there is none."""
    from assistant.index import current_build

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


def init_session() -> None:
    """Create this session's conversation and settings on its first run."""
    ss = st.session_state
    ss.setdefault("messages", [])
    ss.setdefault("pending", None)
    ss.setdefault("flash", None)


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
